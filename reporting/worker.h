#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/db.h"
#include "common/service_client.h"
#include "ctg/action_plan/v1/action_plan.grpc.pb.h"
#include "ctg/consents/v1/consents.grpc.pb.h"
#include "ctg/indicators/v1/indicators.grpc.pb.h"
#include "ctg/partners/v1/partners.grpc.pb.h"
#include "ctg/reporting/v1/reporting.pb.h"
#include "partners/client/partners_client.h"
#include "reporting/job_queue.h"
#include "reporting/report_metrics.h"
#include "reporting/report_store.h"

namespace ctg::reporting {

// Thrown by JobProgress when the worker's claim is no longer current (its lease ended and
// another worker took the job, or the job was cancelled): the worker drops the job.
class ClaimLostError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a job reports while it runs; the worker's heartbeat carries it to the queue.
class JobProgress {
 public:
  virtual ~JobProgress() = default;
  // Records the stage and percentage; throws ClaimLostError once the claim is lost.
  virtual void Stage(const std::string& stage, int percent) = 0;
};

// What a source gathers for a report: its content, and renditions the source services produce
// themselves (the tracking table's XLSX, exported by the action plan).
struct Gathered {
  v1::Report report;
  std::vector<ArtefactFile> artefacts;
};

// Where a report's content comes from. The real one (ServicesSource) reads the other services'
// APIs as the reporting service's identity; tests pass one that fails or stalls on purpose.
class ReportSource {
 public:
  virtual ~ReportSource() = default;
  // The content of the report `job` asks for, as of its cut-off. Throws on any failure (the
  // attempt is then retried).
  virtual Gathered Gather(const Job& job, JobProgress& progress) = 0;
};

// The services a report is gathered from.
struct SourceChannels {
  std::shared_ptr<grpc::Channel> partners;
  std::shared_ptr<grpc::Channel> plan;
  std::shared_ptr<grpc::Channel> indicators;
  std::shared_ptr<grpc::Channel> consents;
};

// Gathers through the services' APIs (never their tables): the convention, its parties and
// signatories (partners); the tracking table of the cut-off's quarter and its XLSX export
// (action plan); every indicator's progress on the convention's territory as of the cut-off
// (indicators); the exchange requests under the convention (consents).
class ServicesSource : public ReportSource {
 public:
  // `identity` must outlive the source.
  ServicesSource(const SourceChannels& channels, ServiceIdentity& identity);
  Gathered Gather(const Job& job, JobProgress& progress) override;

 private:
  std::unique_ptr<::ctg::partners::v1::PartnerService::Stub> partners_;
  partners::PartnersClient partners_client_;  // conventions and AO collectivities
  std::unique_ptr<::ctg::action_plan::v1::ActionPlanService::Stub> plan_;
  std::unique_ptr<::ctg::indicators::v1::IndicatorService::Stub> indicators_;
  std::unique_ptr<::ctg::consents::v1::ConsentService::Stub> consents_;
  ServiceIdentity& identity_;
};

// The quarter ("2026-Q2") a date falls in.
std::string QuarterOf(const std::string& date);
// The French title of a report ("Bilan intermédiaire de la CTG « ... »").
std::string ReportTitle(ReportKind kind, int year, const std::string& convention_title);

struct WorkerOptions {
  // Names this worker in leases and logs; unique per process (default: host, pid, random).
  std::string id;
  // How often a running job's lease is renewed (well under the queue's lease).
  std::chrono::milliseconds heartbeat{std::chrono::seconds(3)};
  // How long an idle worker waits before looking at the queue again.
  std::chrono::milliseconds idle_poll{std::chrono::seconds(1)};
  // Where attempts and stages are counted (none: not counted).
  ReportMetrics* metrics = nullptr;
};

// Runs report jobs: claims one, gathers its content while a heartbeat renews the lease,
// renders its artefacts, then writes the report and marks the job succeeded in one transaction
// guarded by the claim — so a worker that lost its lease publishes nothing, and a job gets one
// report. A failure is recorded as a failed attempt (retried with backoff by the queue).
class ReportWorker {
 public:
  ReportWorker(ConnectionPool& pool, JobQueue& queue, ReportSource& source, WorkerOptions options,
               Clock clock = SystemClock());
  ~ReportWorker();

  // Claims and runs one job; false when none was claimable.
  bool RunOnce();
  // Runs jobs on a thread of its own until Stop.
  void Start();
  // Lets the job in hand finish (or fail), then stops.
  void Stop();
  // Ends an idle wait now (a job was announced): the worker looks at the queue at once.
  void Wake();

  const std::string& id() const { return options_.id; }

 private:
  void Run(const Job& claim);

  ConnectionPool& pool_;
  JobQueue& queue_;
  ReportSource& source_;
  WorkerOptions options_;
  const Clock clock_;
  std::mt19937_64 random_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread loop_;
};

}  // namespace ctg::reporting
