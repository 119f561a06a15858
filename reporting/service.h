#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "common/db.h"
#include "common/rpc.h"
#include "common/server.h"
#include "common/service_client.h"
#include "ctg/reporting/v1/reporting.ctg.h"
#include "partners/client/partners_client.h"
#include "reporting/access.h"
#include "reporting/job_notifier.h"
#include "reporting/job_queue.h"
#include "reporting/report_store.h"

namespace ctg::reporting {

namespace v1 = ::ctg::reporting::v1;

// The reporting API: reports asked for as jobs of the queue (job_queue.h), watched while a
// worker assembles them. Conventions are read through the partners API (never its tables),
// before any database connection is taken; which caller sees which convention is access.h.
class ReportingService final : public v1::ReportingServiceBase {
 public:
  // `outbox` is the directory packages for the CDSF are placed in ("": none configured);
  // `watch_interval` is how often WatchReportJob looks at a running job at the latest;
  // `notifier` (optional) wakes it as soon as a job changes.
  ReportingService(ConnectionPool& pool, UnaryRunner& runner,
                   std::shared_ptr<grpc::Channel> partners, ServiceIdentity& identity,
                   QueueOptions options, std::string outbox = "",
                   std::chrono::milliseconds watch_interval = std::chrono::milliseconds(250),
                   std::shared_ptr<JobNotifier> notifier = nullptr);

  void RequestReport(const CallContext& call, const v1::RequestReportRequest& req,
                     v1::RequestReportResponse& resp) override;
  void GetReportJob(const CallContext& call, const v1::GetReportJobRequest& req,
                    v1::ReportJob& resp) override;
  void ListReportJobs(const CallContext& call, const v1::ListReportJobsRequest& req,
                      v1::ListReportJobsResponse& resp) override;
  void WatchReportJob(const CallContext& call, const v1::WatchReportJobRequest& req,
                      ResponseStream& responses) override;
  void CancelReportJob(const CallContext& call, const v1::CancelReportJobRequest& req,
                       v1::ReportJob& resp) override;
  void GetReport(const CallContext& call, const v1::GetReportRequest& req,
                 v1::ReportInfo& resp) override;
  void DownloadArtefact(const CallContext& call, const v1::DownloadArtefactRequest& req,
                        ResponseStream& responses) override;
  // Calendars (schedules.cc).
  void GetReportSchedule(const CallContext& call, const v1::GetReportScheduleRequest& req,
                         v1::ReportSchedule& resp) override;
  void UpdateReportSchedule(const CallContext& call, const v1::UpdateReportScheduleRequest& req,
                            v1::ReportSchedule& resp) override;
  // Agreements and transmissions (transmissions.cc).
  void RecordAgreement(const CallContext& call, const v1::RecordAgreementRequest& req,
                       v1::Agreement& resp) override;
  void ListAgreements(const CallContext& call, const v1::ListAgreementsRequest& req,
                      v1::ListAgreementsResponse& resp) override;
  void TransmitReport(const CallContext& call, const v1::TransmitReportRequest& req,
                      v1::Transmission& resp) override;
  void AcknowledgeTransmission(const CallContext& call,
                               const v1::AcknowledgeTransmissionRequest& req,
                               v1::Transmission& resp) override;

 private:
  // The convention `name` if the caller may see it (its scope in `*scope`); NotFoundError
  // naming `field` otherwise, as for a convention that does not exist.
  partners::ConventionFacts SeenConvention(const Principal& principal, const std::string& name,
                                           const std::string& field, ReportScope* scope);
  // The job `name` if the caller may see its convention; NotFoundError otherwise.
  Job SeenJob(const Principal& principal, const std::string& name, const std::string& field,
              ReportScope* scope);

  // The report `name` if the caller may see its convention; NotFoundError otherwise.
  StoredReport SeenReport(const Principal& principal, const std::string& name,
                          const std::string& field);

  ConnectionPool& pool_;
  partners::PartnersClient partners_;
  std::unique_ptr<::ctg::partners::v1::PartnerService::Stub> partners_stub_;
  ServiceIdentity& identity_;
  const std::string outbox_;
  JobQueue queue_;
  const std::chrono::milliseconds watch_interval_;
  const std::shared_ptr<JobNotifier> notifier_;
};

// The job as the API shows it.
v1::ReportJob PresentJob(const Job& job);

// Every named statement of the reporting schema (queue, reports, transmissions, calendars), for
// a pool on it.
const std::vector<PreparedStatement>& ReportingStatements();

// Everything the runtime needs to host the reporting service. The partners service address
// comes from the `partners` entry of --backends.
ServiceSpec ReportingServiceSpec();

}  // namespace ctg::reporting
