// The reporting service over real gRPC on a real PostgreSQL, with the real partners service
// in-process answering its convention checks: reports asked for as jobs, who may see and ask
// for them, bad requests, and a job watched while a worker (the queue, as the worker uses it)
// runs it. Both services run on a clock stopped on kToday.
#include <gtest/gtest.h>

#include <thread>

#include "common/api.h"
#include "common/testing/test_database.h"
#include "common/testing/test_host.h"
#include "partners/service.h"
#include "reporting/service.h"

namespace ctg::reporting {
namespace {

namespace pv1 = ::ctg::partners::v1;
using ::ctg::testing::AuthedContext;
using ::ctg::testing::TestToken;
using ::ctg::testing::ViolatedFields;

constexpr CivilDate kToday{2026, 6, 15};
std::chrono::system_clock::time_point TestNow() {
  return std::chrono::system_clock::time_point(
      std::chrono::seconds(kToday.ToDays() * 86400 + 36000));
}

class ReportingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new ctg::testing::TestDatabase(
        {partners::PartnerServiceSpec().migrations, ReportingServiceSpec().migrations});
    partners_ = new ctg::testing::InProcessService(partners::PartnerServiceSpec(), db_->url(), {},
                                                   FixedClock(TestNow()));
    // The API only: these tests drive the queue as a worker would.
    ServiceSpec spec = ReportingServiceSpec();
    spec.make_background = nullptr;
    const std::string partners = "127.0.0.1:" + std::to_string(partners_->host().port());
    reporting_ = new ctg::testing::InProcessService(spec, db_->url(),
                                                    {{"partners", partners},
                                                     {"action-plan", partners},
                                                     {"indicators", partners},
                                                     {"consents", partners}},
                                                    FixedClock(TestNow()));
    pool_ = new ConnectionPool({db_->runtime_url(), "reporting", 2}, JobQueueStatements());
  }
  static void TearDownTestSuite() {
    delete pool_;
    delete reporting_;
    delete partners_;
    delete db_;
  }

  void SetUp() override {
    db_->Truncate("partners");
    db_->Truncate("reporting");
    partners_stub_ = pv1::PartnerService::NewStub(partners_->channel());
    stub_ = v1::ReportingService::NewStub(reporting_->channel());
    epci_ = CreateOrganisation(pv1::EPCI, "Val de Garonne Agglomération", "", "47");
    marmande_ = CreateOrganisation(pv1::COMMUNE, "Marmande", "47157", "47");
    outsider_ = CreateOrganisation(pv1::COMMUNE, "Ailleurs", "33063", "33");
    caf_ = CreateOrganisation(pv1::CAF, "Caf de Lot-et-Garonne", "", "47");
    pv1::CreateConventionRequest req;
    auto* c = req.mutable_convention();
    c->set_title("CTG Val de Garonne");
    c->set_territory(epci_);
    *c->mutable_start_date() = CivilDate{2025, 1, 1}.ToProto();
    *c->mutable_end_date() = CivilDate{2029, 12, 31}.ToProto();
    for (const auto& org : {epci_, marmande_, caf_}) c->add_parties()->set_organisation(org);
    pv1::Convention convention;
    const auto status = partners_stub_->CreateConvention(
        AuthedContext(TestToken({Role::kCafAgent}, caf_, "caf")).get(), req, &convention);
    ASSERT_TRUE(status.ok()) << status.error_message();
    convention_ = convention.name();
  }

  std::string CreateOrganisation(pv1::OrganisationKind kind, const std::string& name,
                                 const std::string& insee, const std::string& departement) {
    pv1::CreateOrganisationRequest req;
    req.mutable_organisation()->set_kind(kind);
    req.mutable_organisation()->set_display_name(name);
    req.mutable_organisation()->set_insee_code(insee);
    req.mutable_organisation()->set_departement(departement);
    pv1::Organisation out;
    EXPECT_TRUE(
        partners_stub_
            ->CreateOrganisation(
                AuthedContext(TestToken({Role::kRegistryAdmin}, "", "registry")).get(), req, &out)
            .ok());
    return out.name();
  }

  grpc::Status Request(const std::string& token, v1::ReportKind kind, int year,
                       v1::RequestReportResponse* out,
                       const std::function<void(v1::RequestReportRequest&)>& edit = nullptr) {
    v1::RequestReportRequest req;
    req.set_convention(convention_);
    req.set_kind(kind);
    req.set_year(year);
    if (edit) edit(req);
    return stub_->RequestReport(AuthedContext(token).get(), req, out);
  }
  int CountJobs() {
    v1::ListReportJobsRequest req;
    req.set_convention(convention_);
    req.set_page_size(100);
    v1::ListReportJobsResponse out;
    EXPECT_TRUE(stub_->ListReportJobs(AuthedContext(CafAgent()).get(), req, &out).ok());
    return out.jobs_size();
  }

  std::string CafAgent() const { return TestToken({Role::kCafAgent}, caf_, "caf-agent"); }
  std::string CommuneAgent() const {
    return TestToken({Role::kCollectivityAgent}, marmande_, "marmande-agent");
  }

  static inline ctg::testing::TestDatabase* db_ = nullptr;
  static inline ctg::testing::InProcessService* partners_ = nullptr;
  static inline ctg::testing::InProcessService* reporting_ = nullptr;
  static inline ConnectionPool* pool_ = nullptr;
  std::unique_ptr<pv1::PartnerService::Stub> partners_stub_;
  std::unique_ptr<v1::ReportingService::Stub> stub_;
  std::string epci_, marmande_, outsider_, caf_, convention_;
};

TEST_F(ReportingTest, TheSameReportAskedTwiceIsOneJobUnlessANewVersionIsAskedFor) {
  v1::RequestReportResponse first, again, second;
  ASSERT_TRUE(Request(CafAgent(), v1::ANNUAL_REVIEW, 2025, &first).ok());
  EXPECT_TRUE(first.created());
  EXPECT_EQ(first.job().state(), v1::ReportJob::AVAILABLE);
  // The end of the year reviewed.
  EXPECT_EQ(first.job().cutoff().year(), 2025);
  EXPECT_EQ(first.job().cutoff().month(), 12);
  EXPECT_EQ(first.job().cutoff().day(), 31);
  EXPECT_EQ(first.job().requested_by(), "caf-agent");
  // Another party's agent asking for the same report gets the same job.
  ASSERT_TRUE(Request(CommuneAgent(), v1::ANNUAL_REVIEW, 2025, &again).ok());
  EXPECT_FALSE(again.created());
  EXPECT_EQ(again.job().name(), first.job().name());
  ASSERT_TRUE(Request(CafAgent(), v1::ANNUAL_REVIEW, 2025, &second, [](auto& r) {
                r.set_new_version(true);
              }).ok());
  EXPECT_TRUE(second.created());
  EXPECT_EQ(second.job().version(), 2);
  // The bilan intermédiaire's default cut-off is mid-term, capped at today.
  v1::RequestReportResponse mid;
  ASSERT_TRUE(Request(CafAgent(), v1::INTERMEDIATE_REVIEW, 0, &mid).ok());
  EXPECT_EQ(mid.job().cutoff().year(), 2026);
  EXPECT_EQ(mid.job().cutoff().month(), 6);
  EXPECT_EQ(mid.job().cutoff().day(), 15);
  EXPECT_EQ(CountJobs(), 3);
  v1::GetReportJobRequest get;
  get.set_name(first.job().name());
  v1::ReportJob seen;
  ASSERT_TRUE(stub_->GetReportJob(AuthedContext(CommuneAgent()).get(), get, &seen).ok());
  EXPECT_EQ(seen.convention(), convention_);
}

TEST_F(ReportingTest, BadRequestsNameTheirFieldsAndWriteNothing) {
  v1::RequestReportResponse out;
  v1::RequestReportRequest empty;
  EXPECT_EQ(ViolatedFields(stub_->RequestReport(AuthedContext(CafAgent()).get(), empty, &out)),
            (std::vector<std::string>{"convention", "kind"}));
  EXPECT_EQ(ViolatedFields(Request(CafAgent(), v1::INTERMEDIATE_REVIEW, 2026, &out)),
            std::vector<std::string>{"year"});
  EXPECT_EQ(ViolatedFields(Request(CafAgent(), v1::ANNUAL_REVIEW, 0, &out)),
            std::vector<std::string>{"year"});
  EXPECT_EQ(ViolatedFields(Request(CafAgent(), v1::ANNUAL_REVIEW, 2031, &out)),
            std::vector<std::string>{"year"});
  EXPECT_EQ(ViolatedFields(Request(CafAgent(), v1::ANNUAL_REVIEW, 2025, &out,
                                   [](auto& r) {
                                     *r.mutable_cutoff() = CivilDate{2024, 12, 31}.ToProto();
                                   })),
            std::vector<std::string>{"cutoff"});
  EXPECT_EQ(ViolatedFields(Request(CafAgent(), v1::INTERMEDIATE_REVIEW, 0, &out,
                                   [](auto& r) {
                                     *r.mutable_cutoff() = CivilDate{2026, 7, 1}.ToProto();
                                   })),
            std::vector<std::string>{"cutoff"});  // after today
  // A bilan final before the convention's end needs `force`.
  EXPECT_EQ(Request(CafAgent(), v1::FINAL_REVIEW, 0, &out).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  const auto unknown = Request(CafAgent(), v1::ANNUAL_REVIEW, 2025, &out, [](auto& r) {
    r.set_convention("conventions/6f2d3c1a-0b4e-4a8f-9c7d-1e2f3a4b5c6d");
  });
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(CountJobs(), 0);
  // Forced, the bilan final of a convention ending early is asked for as of today.
  ASSERT_TRUE(
      Request(CafAgent(), v1::FINAL_REVIEW, 0, &out, [](auto& r) { r.set_force(true); }).ok());
  EXPECT_EQ(out.job().cutoff().year(), 2026);
  EXPECT_EQ(CountJobs(), 1);
}

TEST_F(ReportingTest, OnlyThoseInvolvedSeeAConventionsReportsAndOnlyItsAgentsAskForThem) {
  v1::RequestReportResponse job;
  ASSERT_TRUE(Request(CafAgent(), v1::ANNUAL_REVIEW, 2025, &job).ok());
  v1::GetReportJobRequest get;
  get.set_name(job.job().name());
  v1::ReportJob seen;
  // An agent of a commune that is not a party: the job and the convention do not exist for it.
  const std::string outsider = TestToken({Role::kCollectivityAgent}, outsider_, "outsider");
  EXPECT_EQ(stub_->GetReportJob(AuthedContext(outsider).get(), get, &seen).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::RequestReportResponse out;
  EXPECT_EQ(Request(outsider, v1::ANNUAL_REVIEW, 2025, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::GetReportJobRequest missing;
  missing.set_name("reportJobs/6f2d3c1a-0b4e-4a8f-9c7d-1e2f3a4b5c6d");
  EXPECT_EQ(stub_->GetReportJob(AuthedContext(outsider).get(), missing, &seen).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // The CDSF of the convention's département sees its reports, cannot ask for them.
  const auto cdsf47 = CreateOrganisation(pv1::CDSF, "CDSF 47", "", "47");
  const auto cdsf33 = CreateOrganisation(pv1::CDSF, "CDSF 33", "", "33");
  const std::string cdsf = TestToken({Role::kCdsf}, cdsf47, "cdsf47");
  ASSERT_TRUE(stub_->GetReportJob(AuthedContext(cdsf).get(), get, &seen).ok());
  EXPECT_EQ(stub_
                ->GetReportJob(AuthedContext(TestToken({Role::kCdsf}, cdsf33, "cdsf33")).get(), get,
                               &seen)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Refused by the declared roles before anything is read.
  EXPECT_EQ(Request(cdsf, v1::ANNUAL_REVIEW, 2026, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::CancelReportJobRequest cancel;
  cancel.set_name(job.job().name());
  EXPECT_EQ(stub_->CancelReportJob(AuthedContext(cdsf).get(), cancel, &seen).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->CancelReportJob(AuthedContext(outsider).get(), cancel, &seen).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(stub_->CancelReportJob(AuthedContext(CommuneAgent()).get(), cancel, &seen).ok());
  EXPECT_EQ(seen.state(), v1::ReportJob::CANCELLED);
  EXPECT_EQ(stub_->CancelReportJob(AuthedContext(CommuneAgent()).get(), cancel, &seen).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ReportingTest, AWatcherSeesEachStageOfTheJobUntilItFinishes) {
  v1::RequestReportResponse asked;
  ASSERT_TRUE(Request(CafAgent(), v1::ANNUAL_REVIEW, 2025, &asked).ok());
  // A worker, as the worker drives the queue: claim, two stages, done.
  std::thread worker([&] {
    JobQueue queue(*pool_, QueueOptions());
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    auto job = queue.Claim("worker-1", TestNow());
    ASSERT_TRUE(job);
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    ASSERT_TRUE(queue.Heartbeat(*job, "gather", 40, TestNow()));
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    ASSERT_TRUE(queue.Heartbeat(*job, "render", 80, TestNow()));
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    ASSERT_TRUE(queue.Complete(*job, "reports/11111111-2222-4333-8444-555555555555", TestNow()));
  });
  v1::WatchReportJobRequest watch;
  watch.set_name(asked.job().name());
  auto context = AuthedContext(CommuneAgent());
  auto reader = stub_->WatchReportJob(context.get(), watch);
  std::vector<std::string> seen;
  v1::ReportJob update;
  while (reader->Read(&update)) {
    seen.push_back(v1::ReportJob::State_Name(update.state()) + ":" + update.stage() + ":" +
                   std::to_string(update.percent()));
  }
  const auto status = reader->Finish();
  worker.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(seen,
            (std::vector<std::string>{"AVAILABLE::0", "RUNNING:claimed:0", "RUNNING:gather:40",
                                      "RUNNING:render:80", "SUCCEEDED:done:100"}));
  EXPECT_EQ(update.report(), "reports/11111111-2222-4333-8444-555555555555");
}

TEST_F(ReportingTest, AWatcherThatLeavesStopsTheWatchAndOthersMayNotWatch) {
  v1::RequestReportResponse asked;
  ASSERT_TRUE(Request(CafAgent(), v1::ANNUAL_REVIEW, 2025, &asked).ok());
  v1::WatchReportJobRequest watch;
  watch.set_name(asked.job().name());
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + CafAgent());
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(700));
    auto reader = stub_->WatchReportJob(&context, watch);
    v1::ReportJob update;
    ASSERT_TRUE(reader->Read(&update));   // the job as it is
    EXPECT_FALSE(reader->Read(&update));  // nothing changes before the deadline
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  grpc::ClientContext context;
  context.AddMetadata("authorization",
                      "Bearer " + TestToken({Role::kCollectivityAgent}, outsider_, "outsider"));
  auto reader = stub_->WatchReportJob(&context, watch);
  v1::ReportJob update;
  EXPECT_FALSE(reader->Read(&update));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  // The service is still there for the next call.
  v1::GetReportJobRequest get;
  get.set_name(asked.job().name());
  EXPECT_TRUE(stub_->GetReportJob(AuthedContext(CafAgent()).get(), get, &update).ok());
}

}  // namespace
}  // namespace ctg::reporting
