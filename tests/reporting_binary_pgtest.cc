// The real ctg-reporting binary, its report worker included, behind the real gateway, with the
// real ctg-partners, ctg-action-plan, ctg-indicators and ctg-consents binaries: a report asked for
// from outside, watched through the gateway as it runs (server streaming), then downloaded in
// chunks and checked against its SHA-256 and against what was loaded.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <pqxx/pqxx>
#include <thread>

#include "common/api.h"
#include "common/auth.h"
#include "ctg/action_plan/v1/action_plan.grpc.pb.h"
#include "ctg/partners/v1/partners.grpc.pb.h"
#include "ctg/reporting/v1/reporting.grpc.pb.h"
#include "e2e_support.h"

namespace ctg::e2e {
namespace {

namespace pv1 = ::ctg::partners::v1;
namespace av1 = ::ctg::action_plan::v1;
namespace rv1 = ::ctg::reporting::v1;
using grpc::health::v1::HealthCheckResponse;
using std::chrono::seconds;

// Artefact `name` of `report`, downloaded in chunks and checked against the size and SHA-256
// that GetReport gives for it ("" after a failure, which is recorded).
std::string DownloadChecked(rv1::ReportingService::Stub& stub, const std::string& token,
                            const std::string& report, const std::string& name) {
  rv1::GetReportRequest get;
  get.set_name(report);
  rv1::ReportInfo info;
  const auto got = stub.GetReport(Context(token).get(), get, &info);
  if (!got.ok()) {
    ADD_FAILURE() << "GetReport: " << got.error_message();
    return "";
  }
  const auto artefact = std::find_if(info.artefacts().begin(), info.artefacts().end(),
                                     [&](const auto& a) { return a.name() == name; });
  if (artefact == info.artefacts().end()) {
    ADD_FAILURE() << "no artefact " << name;
    return "";
  }
  rv1::DownloadArtefactRequest download;
  download.set_report(report);
  download.set_artefact(name);
  auto context = Context(token);
  auto chunks = stub.DownloadArtefact(context.get(), download);
  std::string content;
  rv1::ArtefactChunk chunk;
  while (chunks->Read(&chunk)) content += chunk.data();
  const auto finished = chunks->Finish();
  EXPECT_TRUE(finished.ok()) << finished.error_message();
  EXPECT_EQ(static_cast<int64_t>(content.size()), artefact->size_bytes()) << name;
  EXPECT_EQ(Sha256Hex(content), artefact->sha256()) << name;
  return content;
}

TEST(ReportingBinary, AReportAskedThroughTheGatewayIsAssembledWatchedAndDownloaded) {
  EmptyDatabase db;
  PartnersProcess partners(db.url());
  ASSERT_TRUE(partners.WaitForHealth(HealthCheckResponse::SERVING, seconds(30))) << partners.log();
  ActionPlanProcess plan(db.url(), partners.address());
  ASSERT_TRUE(plan.WaitForHealth(HealthCheckResponse::SERVING, seconds(30))) << plan.log();
  IndicatorsProcess indicators(db.url(), partners.address());
  ASSERT_TRUE(indicators.WaitForHealth(HealthCheckResponse::SERVING, seconds(30)))
      << indicators.log();
  ConsentsProcess consents(db.url(), partners.address());
  ASSERT_TRUE(consents.WaitForHealth(HealthCheckResponse::SERVING, seconds(30))) << consents.log();
  ReportingProcess reporting(db.url(),
                             {{"partners", partners.address()},
                              {"action-plan", plan.address()},
                              {"indicators", indicators.address()},
                              {"consents", consents.address()}},
                             {"--report-lease-seconds=4", "--report-heartbeat-seconds=1"});
  ASSERT_TRUE(reporting.WaitForHealth(HealthCheckResponse::SERVING, seconds(30)))
      << reporting.log();
  GatewayProcess gateway(PartnersRoutes({partners.address()}) +
                             "ctg.action_plan.v1.ActionPlanService = " + plan.address() + "\n" +
                             "ctg.reporting.v1.ReportingService = " + reporting.address() + "\n",
                         partners.key_file(), {"--rate-limit-rps=0"});
  ASSERT_TRUE(gateway.WaitForHealth(HealthCheckResponse::SERVING, seconds(30))) << gateway.log();

  // A convention with one action and its quarterly report, loaded through the gateway.
  auto p = pv1::PartnerService::NewStub(gateway.channel());
  auto org = [&](pv1::OrganisationKind kind, const std::string& name) {
    pv1::CreateOrganisationRequest req;
    req.mutable_organisation()->set_kind(kind);
    req.mutable_organisation()->set_display_name(name);
    pv1::Organisation out;
    EXPECT_TRUE(p->CreateOrganisation(Context(Token({"registry_admin"})).get(), req, &out).ok());
    return out.name();
  };
  const std::string epci = org(pv1::EPCI, "Val de Garonne Agglomération");
  const std::string caf = org(pv1::CAF, "Caf de Lot-et-Garonne");
  pv1::CreateConventionRequest creq;
  creq.mutable_convention()->set_title("CTG Val de Garonne");
  creq.mutable_convention()->set_territory(epci);
  *creq.mutable_convention()->mutable_start_date() = CivilDate{2022, 1, 1}.ToProto();
  *creq.mutable_convention()->mutable_end_date() = CivilDate{2026, 12, 31}.ToProto();
  for (const auto& o : {epci, caf}) creq.mutable_convention()->add_parties()->set_organisation(o);
  pv1::Convention convention;
  ASSERT_TRUE(
      p->CreateConvention(Context(Token({"caf_agent"}, caf)).get(), creq, &convention).ok());
  auto a = av1::ActionPlanService::NewStub(gateway.channel());
  const std::string secretariat = Token({"copil_secretariat"}, epci);
  av1::CreateAxisRequest axis;
  axis.mutable_axis()->set_convention(convention.name());
  axis.mutable_axis()->set_number(1);
  axis.mutable_axis()->set_title("Accueil du jeune enfant");
  av1::Axis made_axis;
  ASSERT_TRUE(a->CreateAxis(Context(secretariat).get(), axis, &made_axis).ok());
  av1::CreateActionRequest action;
  action.mutable_action()->set_convention(convention.name());
  action.mutable_action()->set_axis(made_axis.name());
  action.mutable_action()->set_number(1);
  action.mutable_action()->set_title("Étendre les horaires des crèches");
  action.mutable_action()->add_pilots(epci);
  av1::Action made_action;
  ASSERT_TRUE(a->CreateAction(Context(secretariat).get(), action, &made_action).ok());

  // Asked for from outside, then watched through the gateway until it is done.
  auto r = rv1::ReportingService::NewStub(gateway.channel());
  rv1::RequestReportRequest ask;
  ask.set_convention(convention.name());
  ask.set_kind(rv1::ANNUAL_REVIEW);
  ask.set_year(2024);
  rv1::RequestReportResponse asked;
  const auto requested = r->RequestReport(Context(secretariat).get(), ask, &asked);
  ASSERT_TRUE(requested.ok()) << requested.error_message();
  rv1::WatchReportJobRequest watch;
  watch.set_name(asked.job().name());
  auto context = Context(secretariat, seconds(30));
  auto reader = r->WatchReportJob(context.get(), watch);
  rv1::ReportJob job;
  std::vector<rv1::ReportJob::State> states;
  while (reader->Read(&job)) states.push_back(job.state());
  const auto watched = reader->Finish();
  ASSERT_TRUE(watched.ok()) << watched.error_message() << "\n" << reporting.log();
  ASSERT_EQ(job.state(), rv1::ReportJob::SUCCEEDED) << job.last_error();
  ASSERT_FALSE(states.empty());
  EXPECT_EQ(states.back(), rv1::ReportJob::SUCCEEDED);

  rv1::GetReportRequest get;
  get.set_name(job.report());
  rv1::ReportInfo info;
  ASSERT_TRUE(r->GetReport(Context(secretariat).get(), get, &info).ok());
  ASSERT_EQ(info.artefacts_size(), 4);
  const std::string json = DownloadChecked(*r, secretariat, job.report(), "report.json");
  // The same file as a browser downloads it from the gateway: an attachment, with its token.
  const std::string id = job.report().substr(std::string("reports/").size());
  const std::string attachment = HttpGet(gateway.http_port(), "/downloads/" + id + "/report.json",
                                         {"Authorization: Bearer " + secretariat});
  EXPECT_EQ(attachment.rfind("HTTP/1.0 200", 0), 0u) << attachment.substr(0, 300);
  EXPECT_NE(attachment.find("Content-Disposition: attachment; filename=\"report.json\""),
            std::string::npos);
  EXPECT_NE(attachment.find("Content-Type: application/json"), std::string::npos);
  EXPECT_EQ(attachment.substr(attachment.find("\r\n\r\n") + 4), json);
  // Without a token, for a stranger, for an artefact that is not there, for a path that climbs.
  EXPECT_EQ(
      HttpGet(gateway.http_port(), "/downloads/" + id + "/report.json").rfind("HTTP/1.0 401", 0),
      0u);
  EXPECT_EQ(
      HttpGet(gateway.http_port(), "/downloads/" + id + "/report.json",
              {"Authorization: Bearer " +
               Token({"collectivity_agent"}, "organisations/6f2d3c1a-0b4e-4a8f-9c7d-1e2f3a4b5c6d")})
          .rfind("HTTP/1.0 404", 0),
      0u);
  EXPECT_EQ(HttpGet(gateway.http_port(), "/downloads/" + id + "/nope.pdf",
                    {"Authorization: Bearer " + secretariat})
                .rfind("HTTP/1.0 404", 0),
            0u);
  EXPECT_EQ(HttpGet(gateway.http_port(), "/downloads/../../etc/passwd",
                    {"Authorization: Bearer " + secretariat})
                .rfind("HTTP/1.0 404", 0),
            0u);
  EXPECT_EQ(DownloadChecked(*r, secretariat, job.report(), "rapport.pdf").substr(0, 5), "%PDF-");
  rv1::Report report;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &report).ok());
  EXPECT_EQ(report.title(), "Point d'étape 2024 — CTG Val de Garonne");
  ASSERT_EQ(report.tracking().rows_size(), 1);
  EXPECT_EQ(report.tracking().rows(0).action().title(), "Étendre les horaires des crèches");
  EXPECT_TRUE(report.tracking().rows(0).missing_update());
  // No commune party: no AO collectivity, an empty petite enfance part, no reason to give.
  EXPECT_EQ(report.petite_enfance_size(), 0);
  EXPECT_EQ(report.petite_enfance_unavailable(), "");

  // What the worker did, in the service's metrics: counted once its result is committed, so a
  // watcher can see the job done a moment before the counter moves.
  const std::string counted =
      "ctg_report_jobs_total{kind=\"annual_review\",outcome=\"succeeded\"} 1";
  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    metrics = HttpGet(reporting.metrics_port(), "/metrics");
    if (metrics.find(counted) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(metrics.find(counted), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("ctg_report_last_success_timestamp_seconds{kind=\"annual_review\"}"),
            std::string::npos);
  EXPECT_NE(
      metrics.find("ctg_report_stage_seconds_count{kind=\"annual_review\",stage=\"gather\"} 1"),
      std::string::npos);
  EXPECT_NE(metrics.find("ctg_report_queue_jobs{state=\"available\"}"), std::string::npos);
  EXPECT_FALSE(std::isnan(SampleValue(metrics, "ctg_report_oldest_available_age_seconds")));
}

// The state, stage and attempt of a job, read from its row.
struct JobRow {
  std::string state, stage;
  int attempt = 0;
  int reports = 0;  // reports published for it
};

JobRow ReadJob(pqxx::connection& sql, const std::string& id) {
  pqxx::nontransaction tx(sql);
  const auto row = tx.exec_params1(
      "SELECT CASE j.state WHEN 1 THEN 'available' WHEN 2 THEN 'running' WHEN 3 THEN "
      "'succeeded' WHEN 4 THEN 'failed' ELSE 'cancelled' END, j.stage, j.attempt, (SELECT count(*) "
      "FROM reporting.reports r "
      "WHERE r.job = j.id) FROM reporting.report_jobs j WHERE j.id = $1",
      id);
  return {row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<int>(), row[3].as<int>()};
}

// A worker process killed (SIGKILL) while it gathers (blocked on a source service), while it
// renders, and while it writes (blocked on a lock the test holds): each time nothing is
// published, and a worker started afterwards takes the job over once the dead one's lease ends
// and publishes it exactly once, in a second attempt.
TEST(ReportingBinary, AWorkerKilledAtEachStagePublishesNothingAndAnotherFinishesTheJobOnce) {
  EmptyDatabase db;
  PartnersProcess partners(db.url());
  ASSERT_TRUE(partners.WaitForHealth(HealthCheckResponse::SERVING, seconds(30))) << partners.log();
  ActionPlanProcess plan(db.url(), partners.address());
  IndicatorsProcess indicators(db.url(), partners.address());
  ConsentsProcess consents(db.url(), partners.address());
  for (auto* p : std::vector<ServiceProcess*>{&plan, &indicators, &consents}) {
    ASSERT_TRUE(p->WaitForHealth(HealthCheckResponse::SERVING, seconds(30))) << p->log();
  }
  const LoadedVga vga = LoadVga(partners, plan, indicators, consents);
  const std::map<std::string, std::string> backends = {{"partners", partners.address()},
                                                       {"action-plan", plan.address()},
                                                       {"indicators", indicators.address()},
                                                       {"consents", consents.address()}};
  const std::vector<std::string> flags = {"--report-lease-seconds=2",
                                          "--report-heartbeat-seconds=1"};
  const std::string token = Token({"copil_secretariat"}, vga.secretariat);
  pqxx::connection sql(db.url());
  pqxx::connection locker(db.url());

  for (const std::string stage : {"gather", "render", "write"}) {
    SCOPED_TRACE("killed at " + stage);
    auto doomed = std::make_unique<ReportingProcess>(db.url(), backends, flags);
    ASSERT_TRUE(doomed->WaitForHealth(HealthCheckResponse::SERVING, seconds(30))) << doomed->log();
    std::unique_ptr<pqxx::work> lock;
    if (stage == "write") {
      // Reads go on; the report's INSERT waits.
      lock = std::make_unique<pqxx::work>(locker);
      lock->exec("LOCK TABLE reporting.reports IN EXCLUSIVE MODE");
    }
    if (stage == "gather") indicators.process().Signal(SIGSTOP);  // the gathering blocks there

    auto stub = rv1::ReportingService::NewStub(doomed->channel());
    rv1::RequestReportRequest ask;
    ask.set_convention(vga.convention);
    ask.set_kind(rv1::INTERMEDIATE_REVIEW);
    ask.set_new_version(true);
    rv1::RequestReportResponse asked;
    const auto status = stub->RequestReport(Context(token).get(), ask, &asked);
    ASSERT_TRUE(status.ok()) << status.error_message();
    const std::string id = asked.job().name().substr(std::string("reportJobs/").size());

    // Wait for the worker to be in the stage.
    const auto deadline = std::chrono::steady_clock::now() + seconds(30);
    JobRow row;
    while (std::chrono::steady_clock::now() < deadline) {
      row = ReadJob(sql, id);
      if (row.state == "running" && row.stage == stage) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_EQ(row.stage, stage) << row.state << "\n" << doomed->log();
    if (stage == "render") doomed->process().Signal(SIGSTOP);  // frozen while it renders
    if (stage == "gather") std::this_thread::sleep_for(std::chrono::milliseconds(300));
    if (stage == "write") {
      ASSERT_TRUE(WaitForLockWaiters(db, 1, seconds(10)));
    }
    row = ReadJob(sql, id);
    ASSERT_EQ(row.stage, stage);
    EXPECT_EQ(row.reports, 0);
    doomed->process().Signal(SIGKILL);
    ASSERT_TRUE(doomed->process().WaitExit(seconds(10)));
    if (stage == "gather") indicators.process().Signal(SIGCONT);
    if (lock) {
      lock->abort();
      lock.reset();
    }
    // Killed: nothing published, the job still held by the dead worker until its lease ends.
    row = ReadJob(sql, id);
    EXPECT_EQ(row.reports, 0);
    EXPECT_EQ(row.state, "running");
    EXPECT_EQ(row.attempt, 1);

    ReportingProcess heir(db.url(), backends, flags);
    ASSERT_TRUE(heir.WaitForHealth(HealthCheckResponse::SERVING, seconds(30))) << heir.log();
    const auto finish_by = std::chrono::steady_clock::now() + seconds(60);
    while (std::chrono::steady_clock::now() < finish_by) {
      row = ReadJob(sql, id);
      if (row.state != "running" && row.state != "available") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_EQ(row.state, "succeeded") << heir.log();
    EXPECT_EQ(row.attempt, 2);
    EXPECT_EQ(row.reports, 1);
    // The report is whole: the PDF downloads and matches its recorded hash.
    rv1::GetReportJobRequest get_job;
    get_job.set_name(asked.job().name());
    rv1::ReportJob job;
    auto heir_stub = rv1::ReportingService::NewStub(heir.channel());
    ASSERT_TRUE(heir_stub->GetReportJob(Context(token).get(), get_job, &job).ok());
    const std::string pdf = DownloadChecked(*heir_stub, token, job.report(), "rapport.pdf");
    EXPECT_EQ(pdf.substr(0, 5), "%PDF-");
  }
}

}  // namespace
}  // namespace ctg::e2e
