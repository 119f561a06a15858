// The report worker on a real PostgreSQL with the real partners, action plan and reporting
// services in-process: a report frozen from what the services answer, its JSON checked field by
// field and downloaded in chunks against its SHA-256; a failing source retried; a worker that
// lost its lease publishing nothing while another finishes the job once.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "action_plan/service.h"
#include "common/api.h"
#include "common/auth.h"
#include "common/testing/test_database.h"
#include "common/testing/test_host.h"
#include "consents/service.h"
#include "indicators/service.h"
#include "partners/service.h"
#include "reporting/report_store.h"
#include "reporting/schedule.h"
#include "reporting/service.h"
#include "reporting/tests/pdf_file.h"
#include "reporting/worker.h"

namespace ctg::reporting {
namespace {

namespace pv1 = ::ctg::partners::v1;
namespace av1 = ::ctg::action_plan::v1;
namespace cv1 = ::ctg::consents::v1;
using ::ctg::testing::AuthedContext;
using ::ctg::testing::TestToken;

constexpr CivilDate kToday{2026, 6, 15};
std::chrono::system_clock::time_point TestNow() {
  return std::chrono::system_clock::time_point(
      std::chrono::seconds(kToday.ToDays() * 86400 + 36000));
}

// A clock the test moves forward (shared by the workers).
struct MovableClock {
  std::shared_ptr<std::atomic<int64_t>> micros =
      std::make_shared<std::atomic<int64_t>>(MicrosSinceEpoch(TestNow()));
  Clock clock() const {
    auto m = micros;
    return [m] { return std::chrono::system_clock::time_point(std::chrono::microseconds(*m)); };
  }
  void Advance(std::chrono::milliseconds by) { *micros += by.count() * 1000; }
};

class WorkerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new ctg::testing::TestDatabase(
        {partners::PartnerServiceSpec().migrations, action_plan::ActionPlanServiceSpec().migrations,
         indicators::IndicatorServiceSpec().migrations, consents::ConsentServiceSpec().migrations,
         ReportingServiceSpec().migrations});
    partners_ = new ctg::testing::InProcessService(partners::PartnerServiceSpec(), db_->url(), {},
                                                   FixedClock(TestNow()));
    const std::map<std::string, std::string> backends = {
        {"partners", "127.0.0.1:" + std::to_string(partners_->host().port())}};
    plan_ = new ctg::testing::InProcessService(action_plan::ActionPlanServiceSpec(), db_->url(),
                                               backends, FixedClock(TestNow()));
    indicators_ = new ctg::testing::InProcessService(indicators::IndicatorServiceSpec(), db_->url(),
                                                     backends, FixedClock(TestNow()));
    consents_ = new ctg::testing::InProcessService(consents::ConsentServiceSpec(), db_->url(),
                                                   backends, FixedClock(TestNow()));
    // The API only (the tests run their own workers), with an outbox for the CDSF.
    outbox_ = new std::string(std::filesystem::temp_directory_path() /
                              ("ctg-outbox-" + std::to_string(getpid())));
    std::filesystem::create_directories(*outbox_);
    ServiceSpec spec = ReportingServiceSpec();
    spec.make_background = nullptr;
    spec.make_service = [](ServiceEnv env) -> std::unique_ptr<grpc::Service> {
      return std::make_unique<ReportingService>(env.pool, env.runner,
                                                BackendChannel(env.config.backends.at("partners")),
                                                *env.identity, QueueOptions(), *outbox_);
    };
    auto with_plan = backends;
    with_plan["action-plan"] = "127.0.0.1:" + std::to_string(plan_->host().port());
    with_plan["indicators"] = "127.0.0.1:" + std::to_string(indicators_->host().port());
    with_plan["consents"] = "127.0.0.1:" + std::to_string(consents_->host().port());
    reporting_ =
        new ctg::testing::InProcessService(spec, db_->url(), with_plan, FixedClock(TestNow()));
    pool_ = new ConnectionPool({db_->runtime_url(), "reporting", 4}, ReportingStatements());
    JwtConfig jwt;
    jwt.hs256_key = ctg::testing::kTestJwtKey;
    jwt.issuer = ctg::testing::kTestIssuer;
    jwt.audience = ctg::testing::kTestAudience;
    identity_ = new ServiceIdentity(jwt, "ctg-reporting");
    source_ = new ServicesSource(SourceChannels{partners_->channel(), plan_->channel(),
                                                indicators_->channel(), consents_->channel()},
                                 *identity_);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*outbox_);
    delete outbox_;
    delete source_;
    delete identity_;
    delete pool_;
    delete reporting_;
    delete consents_;
    delete indicators_;
    delete plan_;
    delete partners_;
    delete db_;
  }

  void SetUp() override {
    for (const char* schema : {"partners", "action_plan", "indicators", "consents", "reporting"}) {
      db_->Truncate(schema);
    }
    auto partners = pv1::PartnerService::NewStub(partners_->channel());
    auto org = [&](pv1::OrganisationKind kind, const std::string& name, const std::string& insee) {
      pv1::CreateOrganisationRequest req;
      req.mutable_organisation()->set_kind(kind);
      req.mutable_organisation()->set_display_name(name);
      req.mutable_organisation()->set_insee_code(insee);
      req.mutable_organisation()->set_departement("47");
      if (kind == pv1::COMMUNE) {  // the AO thresholds need a legal population
        auto* population = req.mutable_organisation()->add_populations();
        population->set_vintage(2023);
        population->set_municipale(17000);
      }
      pv1::Organisation out;
      EXPECT_TRUE(
          partners
              ->CreateOrganisation(
                  AuthedContext(TestToken({Role::kRegistryAdmin}, "", "registry")).get(), req, &out)
              .ok());
      return out.name();
    };
    epci_ = org(pv1::EPCI, "Val de Garonne Agglomération", "");
    marmande_ = org(pv1::COMMUNE, "Marmande", "47157");
    caf_ = org(pv1::CAF, "Caf de Lot-et-Garonne", "");
    const std::string state = org(pv1::STATE, "Préfecture de Lot-et-Garonne", "");
    pv1::CreateConventionRequest req;
    auto* c = req.mutable_convention();
    c->set_title("CTG Val de Garonne");
    c->set_territory(epci_);
    *c->mutable_start_date() = CivilDate{2025, 1, 1}.ToProto();
    *c->mutable_end_date() = CivilDate{2029, 12, 31}.ToProto();
    // The State is a party too, with no AO competences.
    for (const auto& o : {epci_, marmande_, caf_, state}) c->add_parties()->set_organisation(o);
    pv1::Convention convention;
    ASSERT_TRUE(partners
                    ->CreateConvention(AuthedContext(TestToken({Role::kCafAgent}, caf_)).get(), req,
                                       &convention)
                    .ok());
    convention_ = convention.name();
    // Signed by one representative of each party: the convention is in force.
    const std::pair<std::string, std::string> signers[] = {{epci_, "Jacques Bilirit"},
                                                           {marmande_, "Joël Hocquelet"},
                                                           {caf_, "Virginie Monti"},
                                                           {state, "Le préfet"}};
    for (const auto& [party, person] : signers) {
      pv1::CreateRepresentativeRequest rep;
      rep.mutable_representative()->set_organisation(party);
      rep.mutable_representative()->set_person_name(person);
      rep.mutable_representative()->set_title("représentant");
      pv1::Representative made;
      ASSERT_TRUE(partners
                      ->CreateRepresentative(
                          AuthedContext(TestToken({Role::kRegistryAdmin}, "", "registry")).get(),
                          rep, &made)
                      .ok());
      pv1::SignConventionRequest sign;
      sign.set_name(convention_);
      sign.set_representative(made.name());
      *sign.mutable_signed_on() = CivilDate{2024, 12, 15}.ToProto();
      const auto signed_status = partners->SignConvention(
          AuthedContext(TestToken({Role::kCafAgent}, caf_, "caf")).get(), sign, &convention);
      ASSERT_TRUE(signed_status.ok()) << signed_status.error_message();
    }
    ASSERT_EQ(convention.state(), pv1::IN_FORCE);
    auto plan = av1::ActionPlanService::NewStub(plan_->channel());
    const std::string secretariat = TestToken({Role::kCopilSecretariat}, epci_, "secretariat");
    av1::CreateAxisRequest axis;
    axis.mutable_axis()->set_convention(convention_);
    axis.mutable_axis()->set_number(1);
    axis.mutable_axis()->set_title("Petite enfance : l'accueil de qualité");
    av1::Axis made_axis;
    ASSERT_TRUE(plan->CreateAxis(AuthedContext(secretariat).get(), axis, &made_axis).ok());
    av1::CreateActionRequest action;
    auto* a = action.mutable_action();
    a->set_convention(convention_);
    a->set_axis(made_axis.name());
    a->set_number(1);
    a->set_title("Créer un relais petite enfance à Marmande");
    a->add_pilots(marmande_);
    a->add_fields(av1::PETITE_ENFANCE);
    *a->mutable_planned_start() = CivilDate{2025, 1, 1}.ToProto();
    *a->mutable_planned_end() = CivilDate{2026, 12, 31}.ToProto();
    av1::Action made_action;
    ASSERT_TRUE(plan->CreateAction(AuthedContext(secretariat).get(), action, &made_action).ok());
    av1::CreateProgressReportRequest report;
    auto* r = report.mutable_report();
    r->set_action(made_action.name());
    r->set_quarter("2025-Q4");
    r->set_status(av1::IN_PROGRESS);
    r->set_completion_percent(40);
    r->set_progress("Local trouvé, équipe recrutée à 50 %");
    av1::ProgressReport made_report;
    const auto s = plan->CreateProgressReport(
        AuthedContext(TestToken({Role::kCollectivityAgent}, marmande_, "marmande")).get(), report,
        &made_report);
    ASSERT_TRUE(s.ok()) << s.error_message();
    // An exchange request of the agglomeration to the Caf under the convention (a draft).
    auto consents = cv1::ConsentService::NewStub(consents_->channel());
    cv1::CreateExchangeRequestRequest exchange;
    auto* e = exchange.mutable_exchange_request();
    e->set_requester(epci_);
    e->set_holder(caf_);
    e->set_convention(convention_);
    e->set_title("Observatoire de l'accueil du jeune enfant");
    e->set_purpose("Diagnostic territorial des besoins d'accueil");
    e->set_legal_basis(cv1::PUBLIC_INTEREST_TASK);
    e->set_legal_basis_justification("Mission de service public de la CTG");
    e->add_data_subjects(cv1::FAMILLES);
    e->add_data_categories(cv1::CHILDCARE);
    e->add_recipients("Service petite enfance");
    e->mutable_retention()->set_duration(3);
    e->mutable_retention()->set_unit(cv1::YEARS);
    e->mutable_retention()->set_end(cv1::DELETION);
    e->add_security_measures("Pseudonymisation");
    e->set_frequency(cv1::YEARLY);
    e->set_volume(100);
    *e->mutable_start_date() = CivilDate{2026, 1, 1}.ToProto();
    *e->mutable_end_date() = CivilDate{2026, 12, 31}.ToProto();
    cv1::ExchangeRequest made_exchange;
    const auto es = consents->CreateExchangeRequest(
        AuthedContext(TestToken({Role::kCollectivityAgent}, epci_, "epci-agent")).get(), exchange,
        &made_exchange);
    ASSERT_TRUE(es.ok()) << es.error_message();
    stub_ = v1::ReportingService::NewStub(reporting_->channel());
  }

  v1::ReportJob Ask(int year = 2025) {
    v1::RequestReportRequest req;
    req.set_convention(convention_);
    req.set_kind(v1::ANNUAL_REVIEW);
    req.set_year(year);
    v1::RequestReportResponse out;
    EXPECT_TRUE(stub_->RequestReport(AuthedContext(CafAgent()).get(), req, &out).ok());
    return out.job();
  }
  v1::ReportJob JobNow(const std::string& name) {
    v1::GetReportJobRequest req;
    req.set_name(name);
    v1::ReportJob out;
    EXPECT_TRUE(stub_->GetReportJob(AuthedContext(CafAgent()).get(), req, &out).ok());
    return out;
  }
  std::string Download(const std::string& report, const std::string& artefact) {
    v1::DownloadArtefactRequest req;
    req.set_report(report);
    req.set_artefact(artefact);
    auto context = AuthedContext(CafAgent());
    auto reader = stub_->DownloadArtefact(context.get(), req);
    std::string bytes;
    v1::ArtefactChunk chunk;
    while (reader->Read(&chunk)) {
      EXPECT_EQ(chunk.offset(), static_cast<int64_t>(bytes.size()));
      bytes += chunk.data();
    }
    EXPECT_TRUE(reader->Finish().ok());
    return bytes;
  }
  int64_t ReportRows() {
    pqxx::connection conn(db_->url());
    pqxx::read_transaction tx(conn);
    return tx.exec1("SELECT count(*) FROM reporting.reports")[0].as<int64_t>();
  }
  std::string CafAgent() const { return TestToken({Role::kCafAgent}, caf_, "caf-agent"); }

  static inline ctg::testing::TestDatabase* db_ = nullptr;
  static inline ctg::testing::InProcessService* partners_ = nullptr;
  static inline ctg::testing::InProcessService* plan_ = nullptr;
  static inline ctg::testing::InProcessService* indicators_ = nullptr;
  static inline ctg::testing::InProcessService* consents_ = nullptr;
  static inline ctg::testing::InProcessService* reporting_ = nullptr;
  static inline ConnectionPool* pool_ = nullptr;
  static inline ServiceIdentity* identity_ = nullptr;
  static inline ServicesSource* source_ = nullptr;
  static inline std::string* outbox_ = nullptr;
  std::unique_ptr<v1::ReportingService::Stub> stub_;
  std::string epci_, marmande_, caf_, convention_;
};

TEST_F(WorkerTest, AWorkerFreezesWhatTheServicesSayIntoAReportWithItsHash) {
  const v1::ReportJob asked = Ask();
  MovableClock clock;
  JobQueue queue(*pool_, QueueOptions());
  ReportWorker worker(*pool_, queue, *source_, WorkerOptions{"worker-1"}, clock.clock());
  ASSERT_TRUE(worker.RunOnce());
  EXPECT_FALSE(worker.RunOnce());  // nothing else to do
  const v1::ReportJob done = JobNow(asked.name());
  ASSERT_EQ(done.state(), v1::ReportJob::SUCCEEDED) << done.last_error();
  ASSERT_FALSE(done.report().empty());

  v1::GetReportRequest get;
  get.set_name(done.report());
  v1::ReportInfo info;
  ASSERT_TRUE(stub_->GetReport(AuthedContext(CafAgent()).get(), get, &info).ok());
  EXPECT_EQ(info.job(), asked.name());
  EXPECT_EQ(info.convention(), convention_);
  ASSERT_EQ(info.artefacts_size(), 4);  // by name
  EXPECT_EQ(info.artefacts(0).name(), "rapport.html");
  EXPECT_EQ(info.artefacts(0).media_type(), "text/html; charset=utf-8");
  EXPECT_EQ(info.artefacts(1).name(), "rapport.pdf");
  EXPECT_EQ(info.artefacts(1).media_type(), "application/pdf");
  EXPECT_EQ(info.artefacts(2).name(), "report.json");
  EXPECT_EQ(info.artefacts(3).name(), "tableau-de-suivi.xlsx");
  EXPECT_EQ(info.artefacts(3).media_type(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
  const std::string json = Download(done.report(), "report.json");
  EXPECT_EQ(static_cast<int64_t>(json.size()), info.artefacts(2).size_bytes());
  EXPECT_EQ(Sha256Hex(json), info.artefacts(2).sha256());
  const std::string xlsx = Download(done.report(), "tableau-de-suivi.xlsx");
  EXPECT_EQ(xlsx.substr(0, 2), "PK");  // a zip container, as XLSX files are
  EXPECT_EQ(Sha256Hex(xlsx), info.artefacts(3).sha256());
  const std::string pdf = Download(done.report(), "rapport.pdf");
  EXPECT_EQ(Sha256Hex(pdf), info.artefacts(1).sha256());
  const std::string html = Download(done.report(), "rapport.html");
  EXPECT_EQ(Sha256Hex(html), info.artefacts(0).sha256());
  EXPECT_NE(html.find("Créer un relais petite enfance à Marmande"), std::string::npos);
  EXPECT_NE(html.find("Axe 1 : Petite enfance : l&#39;accueil de qualité"), std::string::npos);
  // The same file the action plan exports for that quarter (its services run on a fixed clock).
  {
    auto plan = av1::ActionPlanService::NewStub(plan_->channel());
    av1::ExportTrackingTableRequest req;
    req.set_convention(convention_);
    req.set_quarter("2025-Q4");
    req.set_format(av1::XLSX);
    av1::ExportedFile file;
    ASSERT_TRUE(plan->ExportTrackingTable(AuthedContext(CafAgent()).get(), req, &file).ok());
    EXPECT_EQ(Sha256Hex(file.content()), Sha256Hex(xlsx));  // byte for byte: the same instant
  }

  v1::Report report;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &report).ok());
  EXPECT_EQ(report.name(), done.report());
  EXPECT_EQ(report.title(), "Point d'étape 2025 — CTG Val de Garonne");
  EXPECT_EQ(report.kind(), v1::ANNUAL_REVIEW);
  EXPECT_EQ(report.cutoff().year(), 2025);
  EXPECT_EQ(report.cover().territory(), "Val de Garonne Agglomération");
  EXPECT_EQ(report.cover().start_date().year(), 2025);
  ASSERT_EQ(report.parties_size(), 4);
  std::set<std::string> parties;
  for (const auto& p : report.parties()) parties.insert(p.display_name() + " (" + p.kind() + ")");
  EXPECT_EQ(parties, (std::set<std::string>{"Caf de Lot-et-Garonne (CAF)", "Marmande (COMMUNE)",
                                            "Préfecture de Lot-et-Garonne (STATE)",
                                            "Val de Garonne Agglomération (EPCI)"}));
  EXPECT_EQ(report.tracking().quarter(), "2025-Q4");
  ASSERT_EQ(report.tracking().rows_size(), 1);
  const auto& row = report.tracking().rows(0);
  EXPECT_EQ(row.action().title(), "Créer un relais petite enfance à Marmande");  // accents intact
  EXPECT_EQ(row.latest_report().progress(), "Local trouvé, équipe recrutée à 50 %");
  EXPECT_EQ(row.latest_report().completion_percent(), 40);
  EXPECT_FALSE(report.demonstration());
  EXPECT_EQ(report.indicators_size(), 0);  // an empty catalogue
  EXPECT_EQ(report.exchanges().by_state().at("DRAFT"), 1);
  EXPECT_EQ(report.exchanges().active_size(), 0);
  ASSERT_EQ(report.axes_size(), 1);
  // The petite enfance part: Marmande, its own AO (17,000 inhabitants: schéma required), the
  // petite enfance action it pilots.
  ASSERT_EQ(report.petite_enfance_size(), 1);
  const auto& pe = report.petite_enfance(0);
  EXPECT_EQ(pe.display_name(), "Marmande");
  EXPECT_TRUE(pe.schema_pluriannuel_required());
  EXPECT_FALSE(pe.competences().empty());
  EXPECT_EQ(std::vector<std::string>(pe.actions().begin(), pe.actions().end()),
            std::vector<std::string>{"1 — Créer un relais petite enfance à Marmande"});
  // With no facility and no indicator recorded, the CTG holds only its action for the schéma.
  ASSERT_EQ(pe.schema_components_size(), 5);
  EXPECT_FALSE(pe.schema_components(0).covered());
  EXPECT_TRUE(pe.schema_components(3).covered());
  EXPECT_EQ(pe.diagnosis_size(), 0);
  // Governance: the five voting colleges, none filled, so not compliant; no avenant.
  EXPECT_EQ(report.governance().copil().colleges_size(), 5);
  EXPECT_FALSE(report.governance().copil().compliant());
  EXPECT_EQ(report.governance().copil_members(), 0);
  EXPECT_EQ(report.governance().amendments_size(), 0);
  // The PDF reads back with every action title and the petite enfance part, accents intact.
  {
    PdfFile file(pdf);
    const std::string text = file.Text();
    for (const auto& r : report.tracking().rows()) {
      EXPECT_NE(text.find(r.action().title()), std::string::npos) << r.action().title();
    }
    EXPECT_NE(text.find("Volet petite enfance (pour le CDSF)"), std::string::npos);
    EXPECT_NE(text.find("Marmande Schéma pluriannuel requis : oui"), std::string::npos) << text;
    EXPECT_NE(text.find("1 — Créer un relais petite enfance à Marmande"), std::string::npos);
    EXPECT_NE(text.find(report.title()), std::string::npos);
  }

  // Asked again: the same job, the same report.
  EXPECT_EQ(Ask().report(), done.report());
  EXPECT_EQ(ReportRows(), 1);
  // A stranger does not see it.
  v1::ReportInfo hidden;
  const auto stranger = stub_->GetReport(
      AuthedContext(TestToken({Role::kCollectivityAgent},
                              "organisations/6f2d3c1a-0b4e-4a8f-9c7d-1e2f3a4b5c6d", "x"))
          .get(),
      get, &hidden);
  EXPECT_EQ(stranger.error_code(), grpc::StatusCode::NOT_FOUND);
}

// Fails its first `failures` gatherings, as a source service that is down would.
class FlakySource : public ReportSource {
 public:
  FlakySource(ReportSource& real, int failures) : real_(real), failures_(failures) {}
  Gathered Gather(const Job& job, JobProgress& progress) override {
    progress.Stage("gather", 5);
    if (failures_-- > 0) throw UnavailableError("action plan unavailable");
    return real_.Gather(job, progress);
  }

 private:
  ReportSource& real_;
  int failures_;
};

TEST_F(WorkerTest, AFailedGatheringIsRetriedAfterItsBackoffAndPublishesNothingMeanwhile) {
  const v1::ReportJob asked = Ask();
  MovableClock clock;
  JobQueue queue(*pool_, QueueOptions());
  FlakySource flaky(*source_, 2);
  ReportWorker worker(*pool_, queue, flaky, WorkerOptions{"worker-1"}, clock.clock());
  ASSERT_TRUE(worker.RunOnce());
  v1::ReportJob job = JobNow(asked.name());
  EXPECT_EQ(job.state(), v1::ReportJob::AVAILABLE);
  EXPECT_EQ(job.attempt(), 1);
  EXPECT_EQ(job.last_error(), "action plan unavailable");
  EXPECT_TRUE(job.has_next_attempt_time());
  EXPECT_EQ(ReportRows(), 0);
  clock.Advance(std::chrono::minutes(10));  // past any backoff
  ASSERT_TRUE(worker.RunOnce());
  clock.Advance(std::chrono::minutes(10));
  ASSERT_TRUE(worker.RunOnce());
  job = JobNow(asked.name());
  EXPECT_EQ(job.state(), v1::ReportJob::SUCCEEDED) << job.last_error();
  EXPECT_EQ(job.attempt(), 3);
  EXPECT_EQ(ReportRows(), 1);
}

// Gathers, then waits until released before handing the content back.
class StalledSource : public ReportSource {
 public:
  explicit StalledSource(ReportSource& real) : real_(real) {}
  Gathered Gather(const Job& job, JobProgress& progress) override {
    Gathered content = real_.Gather(job, progress);
    gathered.set_value();
    release.get_future().wait();
    return content;
  }
  std::promise<void> gathered, release;

 private:
  ReportSource& real_;
};

TEST_F(WorkerTest, AWorkerThatLostItsLeasePublishesNothingAndTheJobIsFinishedOnce) {
  const v1::ReportJob asked = Ask();
  MovableClock clock;
  QueueOptions options;
  options.lease = std::chrono::seconds(2);
  JobQueue queue(*pool_, options);
  StalledSource stalled(*source_);
  // Worker A stalls after gathering and never renews its lease in time.
  ReportWorker a(*pool_, queue, stalled, WorkerOptions{"worker-a", std::chrono::hours(1)},
                 clock.clock());
  std::thread run_a([&] { EXPECT_TRUE(a.RunOnce()); });
  stalled.gathered.get_future().wait();
  clock.Advance(std::chrono::seconds(5));  // A's lease is over
  ReportWorker b(*pool_, queue, *source_, WorkerOptions{"worker-b"}, clock.clock());
  ASSERT_TRUE(b.RunOnce());
  const v1::ReportJob after_b = JobNow(asked.name());
  ASSERT_EQ(after_b.state(), v1::ReportJob::SUCCEEDED);
  EXPECT_EQ(after_b.attempt(), 2);
  stalled.release.set_value();
  run_a.join();
  const v1::ReportJob final = JobNow(asked.name());
  EXPECT_EQ(final.report(), after_b.report());  // A changed nothing
  EXPECT_EQ(ReportRows(), 1);
}

TEST_F(WorkerTest, TheCafSendsToTheCdsfOnlyWithEveryAoCollectivitysAgreementAndOnce) {
  Ask();
  MovableClock clock;
  JobQueue queue(*pool_, QueueOptions());
  ReportWorker worker(*pool_, queue, *source_, WorkerOptions{"worker-1"}, clock.clock());
  ASSERT_TRUE(worker.RunOnce());
  const std::string report = Ask().report();
  ASSERT_FALSE(report.empty());
  auto partners = pv1::PartnerService::NewStub(partners_->channel());
  auto org = [&](pv1::OrganisationKind kind, const std::string& name) {
    pv1::CreateOrganisationRequest req;
    req.mutable_organisation()->set_kind(kind);
    req.mutable_organisation()->set_display_name(name);
    req.mutable_organisation()->set_departement("47");
    pv1::Organisation out;
    EXPECT_TRUE(
        partners
            ->CreateOrganisation(
                AuthedContext(TestToken({Role::kRegistryAdmin}, "", "registry")).get(), req, &out)
            .ok());
    return out.name();
  };
  const std::string cdsf = org(pv1::CDSF, "CDSF de Lot-et-Garonne");
  const std::string secretariat = TestToken({Role::kCopilSecretariat}, epci_, "secretariat");
  const std::string marmande = TestToken({Role::kCollectivityAgent}, marmande_, "marmande");

  v1::ListAgreementsRequest list;
  list.set_report(report);
  v1::ListAgreementsResponse agreements;
  ASSERT_TRUE(stub_->ListAgreements(AuthedContext(CafAgent()).get(), list, &agreements).ok());
  // Marmande exercises its own AO competences (not transferred); the agglomeration holds none
  // here: only Marmande's agreement is needed.
  EXPECT_EQ(std::vector<std::string>(agreements.missing().begin(), agreements.missing().end()),
            std::vector<std::string>{marmande_});

  auto transmit = [&](const std::string& token, const std::string& recipient,
                      v1::Transmission* out) {
    v1::TransmitReportRequest req;
    req.set_report(report);
    req.set_recipient(recipient);
    return stub_->TransmitReport(AuthedContext(token).get(), req, out);
  };
  v1::Transmission sent;
  EXPECT_EQ(transmit(CafAgent(), cdsf, &sent).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  auto agree = [&](const std::string& token, const std::string& collectivity) {
    v1::RecordAgreementRequest req;
    req.set_report(report);
    req.set_collectivity(collectivity);
    req.set_agreed_by("Jacques Bilirit, président");
    *req.mutable_agreed_on() = CivilDate{2026, 6, 1}.ToProto();
    req.set_reference("Délibération n° 2026-045");
    v1::Agreement out;
    return stub_->RecordAgreement(AuthedContext(token).get(), req, &out);
  };
  EXPECT_EQ(agree(marmande, epci_).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(agree(secretariat, epci_).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(agree(secretariat, caf_).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(agree(marmande, marmande_).ok());
  EXPECT_EQ(agree(marmande, marmande_).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  ASSERT_TRUE(stub_->ListAgreements(AuthedContext(CafAgent()).get(), list, &agreements).ok());
  EXPECT_EQ(agreements.missing_size(), 0);
  ASSERT_EQ(agreements.agreements_size(), 1);
  EXPECT_EQ(agreements.agreements(0).collectivity_name(), "Marmande");
  EXPECT_EQ(agreements.agreements(0).reference(), "Délibération n° 2026-045");

  // Only the Caf sends, only to a CDSF.
  EXPECT_EQ(transmit(secretariat, cdsf, &sent).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ctg::testing::ViolatedFields(transmit(CafAgent(), marmande_, &sent)),
            std::vector<std::string>{"recipient"});
  // An outbox that cannot be written: nothing is recorded as sent.
  const std::string moved = *outbox_ + ".away";
  std::filesystem::rename(*outbox_, moved);
  EXPECT_EQ(transmit(CafAgent(), cdsf, &sent).error_code(), grpc::StatusCode::UNAVAILABLE);
  std::filesystem::rename(moved, *outbox_);
  const auto status = transmit(CafAgent(), cdsf, &sent);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(sent.sender(), caf_);
  EXPECT_EQ(sent.channel(), "outbox");
  // The package: every artefact as frozen, and a manifest of their hashes.
  const std::string dir = *outbox_ + "/" + sent.package();
  auto read = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  const std::string manifest = read(dir + "/manifest.json");
  EXPECT_EQ(Sha256Hex(manifest), sent.manifest_sha256());
  v1::GetReportRequest get;
  get.set_name(report);
  v1::ReportInfo info;
  ASSERT_TRUE(stub_->GetReport(AuthedContext(CafAgent()).get(), get, &info).ok());
  for (const auto& a : info.artefacts()) {
    EXPECT_EQ(Sha256Hex(read(dir + "/" + a.name())), a.sha256()) << a.name();
    EXPECT_NE(manifest.find(a.sha256()), std::string::npos) << a.name();
  }
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(*outbox_)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);  // no partial package left behind
  // Never twice.
  EXPECT_EQ(transmit(CafAgent(), cdsf, &sent).error_code(), grpc::StatusCode::ALREADY_EXISTS);

  // The CDSF acknowledges it, once.
  v1::AcknowledgeTransmissionRequest ack;
  ack.set_report(report);
  *ack.mutable_acknowledged_on() = CivilDate{2026, 6, 15}.ToProto();
  ack.set_acknowledgement("Reçu, enregistré sous le n° 47-2026-12");
  v1::Transmission acknowledged;
  const std::string cdsf_agent = TestToken({Role::kCdsf}, cdsf, "cdsf");
  ASSERT_TRUE(
      stub_->AcknowledgeTransmission(AuthedContext(cdsf_agent).get(), ack, &acknowledged).ok());
  EXPECT_EQ(acknowledged.acknowledgement(), "Reçu, enregistré sous le n° 47-2026-12");
  EXPECT_EQ(stub_->AcknowledgeTransmission(AuthedContext(cdsf_agent).get(), ack, &acknowledged)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(WorkerTest, TheCalendarAsksForEachReportOnItsDateOnceAndCanBeChanged) {
  JobQueue queue(*pool_, QueueOptions());
  auto partners = pv1::PartnerService::NewStub(partners_->channel());
  // On 2026-06-15: the 2025 annual review is due (31 Dec 2025), mid-term (2 Jul 2027) is not.
  EXPECT_EQ(AskDueReports(*partners, *identity_, *pool_, queue, TestNow()), 1);
  EXPECT_EQ(AskDueReports(*partners, *identity_, *pool_, queue, TestNow()), 0);  // once
  v1::ListReportJobsRequest list;
  list.set_convention(convention_);
  v1::ListReportJobsResponse jobs;
  ASSERT_TRUE(stub_->ListReportJobs(AuthedContext(CafAgent()).get(), list, &jobs).ok());
  ASSERT_EQ(jobs.jobs_size(), 1);
  EXPECT_EQ(jobs.jobs(0).kind(), v1::ANNUAL_REVIEW);
  EXPECT_EQ(jobs.jobs(0).year(), 2025);
  EXPECT_EQ(jobs.jobs(0).requested_by(), "ctg-reporting (calendrier)");
  // The same report asked by hand is that job.
  EXPECT_EQ(Ask(2025).name(), jobs.jobs(0).name());

  v1::GetReportScheduleRequest get;
  get.set_convention(convention_);
  v1::ReportSchedule schedule;
  ASSERT_TRUE(stub_->GetReportSchedule(AuthedContext(CafAgent()).get(), get, &schedule).ok());
  EXPECT_TRUE(schedule.annual_reviews());
  ASSERT_EQ(schedule.reports_size(), 6);  // 2025 to 2028 reviews, intermediate, final
  EXPECT_EQ(schedule.reports(2).kind(), v1::INTERMEDIATE_REVIEW);  // 2027-07-02, after 2026's
  EXPECT_EQ(schedule.reports(5).due().year(), 2029);

  auto update = [&](const std::string& token, const std::string& etag,
                    const google::type::Date& date, v1::ReportSchedule* out) {
    v1::UpdateReportScheduleRequest req;
    req.mutable_schedule()->set_convention(convention_);
    req.mutable_schedule()->set_etag(etag);
    *req.mutable_schedule()->mutable_intermediate_date() = date;
    req.mutable_update_mask()->add_paths("intermediate_date");
    return stub_->UpdateReportSchedule(AuthedContext(token).get(), req, out);
  };
  v1::ReportSchedule changed;
  const std::string marmande = TestToken({Role::kCollectivityAgent}, marmande_, "marmande");
  EXPECT_EQ(
      update(marmande, schedule.etag(), CivilDate{2026, 6, 1}.ToProto(), &changed).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ctg::testing::ViolatedFields(
                update(CafAgent(), schedule.etag(), CivilDate{2031, 1, 1}.ToProto(), &changed)),
            std::vector<std::string>{"schedule.intermediate_date"});
  ASSERT_TRUE(update(CafAgent(), schedule.etag(), CivilDate{2026, 6, 1}.ToProto(), &changed).ok());
  EXPECT_EQ(changed.intermediate_date().month(), 6);
  EXPECT_NE(changed.etag(), schedule.etag());
  EXPECT_EQ(
      update(CafAgent(), schedule.etag(), CivilDate{2026, 5, 1}.ToProto(), &changed).error_code(),
      grpc::StatusCode::ABORTED);  // stale etag
  // Moved before today: asked for now, with its date as cut-off.
  EXPECT_EQ(AskDueReports(*partners, *identity_, *pool_, queue, TestNow()), 1);
  ASSERT_TRUE(stub_->ListReportJobs(AuthedContext(CafAgent()).get(), list, &jobs).ok());
  ASSERT_EQ(jobs.jobs_size(), 2);
  EXPECT_EQ(jobs.jobs(0).kind(), v1::INTERMEDIATE_REVIEW);
  EXPECT_EQ(jobs.jobs(0).cutoff().day(), 1);
}

}  // namespace
}  // namespace ctg::reporting
