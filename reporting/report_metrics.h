#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

#include "reporting/job_queue.h"

namespace ctg::reporting {

// The metrics of report jobs, on the service's registry (its /metrics endpoint):
//   ctg_report_jobs_total{kind, outcome}           attempts by outcome (succeeded, failed,
//                                                  claim_lost)
//   ctg_report_stage_seconds{kind, stage}          time spent per stage (gather, render, write)
//   ctg_report_job_seconds{kind}                   whole attempts
//   ctg_report_queue_jobs{state}                   available and running jobs
//   ctg_report_oldest_available_age_seconds        how long the oldest available job has waited
//   ctg_report_last_success_timestamp_seconds{kind}
class ReportMetrics {
 public:
  explicit ReportMetrics(prometheus::Registry& registry);

  // Counts one attempt of a job of `kind` and how it ended, with its duration.
  void Attempt(ReportKind kind, const std::string& outcome, double seconds);
  void Stage(ReportKind kind, const std::string& stage, double seconds);
  // A report of `kind` was published at `unix_seconds`.
  void Success(ReportKind kind, double unix_seconds);
  void Queue(const QueueStats& stats);

 private:
  prometheus::Family<prometheus::Counter>& attempts_;
  prometheus::Family<prometheus::Histogram>& stages_;
  prometheus::Family<prometheus::Histogram>& jobs_;
  prometheus::Family<prometheus::Gauge>& queue_;
  prometheus::Gauge& oldest_;
  prometheus::Family<prometheus::Gauge>& last_success_;
};

// "annual_review", "intermediate_review", "final_review" (metric labels).
std::string KindLabel(ReportKind kind);

}  // namespace ctg::reporting
