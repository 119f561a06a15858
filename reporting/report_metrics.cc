#include "reporting/report_metrics.h"

namespace ctg::reporting {
namespace {

const prometheus::Histogram::BucketBoundaries& SecondsBuckets() {
  static const prometheus::Histogram::BucketBoundaries b = {0.01, 0.05, 0.1, 0.25, 0.5, 1,
                                                            2.5,  5,    10,  30,   60,  300};
  return b;
}

}  // namespace

std::string KindLabel(ReportKind kind) {
  switch (kind) {
    case ReportKind::kAnnualReview:
      return "annual_review";
    case ReportKind::kIntermediateReview:
      return "intermediate_review";
    case ReportKind::kFinalReview:
      return "final_review";
  }
  return "unknown";
}

ReportMetrics::ReportMetrics(prometheus::Registry& registry)
    : attempts_(prometheus::BuildCounter()
                    .Name("ctg_report_jobs_total")
                    .Help("Attempts of report jobs, by kind and outcome")
                    .Register(registry)),
      stages_(prometheus::BuildHistogram()
                  .Name("ctg_report_stage_seconds")
                  .Help("Time report jobs spend in each stage")
                  .Register(registry)),
      jobs_(prometheus::BuildHistogram()
                .Name("ctg_report_job_seconds")
                .Help("Duration of report job attempts")
                .Register(registry)),
      queue_(prometheus::BuildGauge()
                 .Name("ctg_report_queue_jobs")
                 .Help("Report jobs waiting (available) and being assembled (running)")
                 .Register(registry)),
      oldest_(prometheus::BuildGauge()
                  .Name("ctg_report_oldest_available_age_seconds")
                  .Help("How long the oldest available report job has waited")
                  .Register(registry)
                  .Add({})),
      last_success_(prometheus::BuildGauge()
                        .Name("ctg_report_last_success_timestamp_seconds")
                        .Help("When a report of each kind was last published (Unix time)")
                        .Register(registry)) {}

void ReportMetrics::Attempt(ReportKind kind, const std::string& outcome, double seconds) {
  attempts_.Add({{"kind", KindLabel(kind)}, {"outcome", outcome}}).Increment();
  jobs_.Add({{"kind", KindLabel(kind)}}, SecondsBuckets()).Observe(seconds);
}

void ReportMetrics::Stage(ReportKind kind, const std::string& stage, double seconds) {
  stages_.Add({{"kind", KindLabel(kind)}, {"stage", stage}}, SecondsBuckets()).Observe(seconds);
}

void ReportMetrics::Success(ReportKind kind, double unix_seconds) {
  last_success_.Add({{"kind", KindLabel(kind)}}).Set(unix_seconds);
}

void ReportMetrics::Queue(const QueueStats& stats) {
  queue_.Add({{"state", "available"}}).Set(static_cast<double>(stats.available));
  queue_.Add({{"state", "running"}}).Set(static_cast<double>(stats.running));
  oldest_.Set(static_cast<double>(stats.oldest_available_age.count()));
}

}  // namespace ctg::reporting
