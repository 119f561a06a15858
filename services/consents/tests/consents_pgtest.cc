// The consents service on a real PostgreSQL with the real partners service in-process: the art. 9
// workflow step by step by the right organisations and roles, refused steps audited, a request
// changed after the opinion going back to the DPO, enforcement (CheckExchange, RecordExchange),
// the pending queues, idempotent creates, and the audit chain catching rows edited, deleted or
// inserted behind the service's back.
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <atomic>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "common/api.h"
#include "common/clock.h"
#include "common/testing/test_database.h"
#include "common/testing/test_host.h"
#include "consents/service.h"
#include "partners/service.h"

namespace ctg::consents {
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

// The consents service's clock, which a test may move (the purge of old checks).
std::atomic<int64_t> g_consents_now_micros{0};

int64_t TestNowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(TestNow().time_since_epoch())
      .count();
}

class ConsentsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_consents_now_micros = TestNowMicros();
    db_ = new ctg::testing::TestDatabase(
        {partners::PartnerServiceSpec().migrations, ConsentServiceSpec().migrations});
    partners_ = new ctg::testing::InProcessService(partners::PartnerServiceSpec(), db_->url(), {},
                                                   FixedClock(TestNow()));
    consents_ = new ctg::testing::InProcessService(
        ConsentServiceSpec(), db_->url(),
        {{"partners", "127.0.0.1:" + std::to_string(partners_->host().port())}}, [] {
          return std::chrono::system_clock::time_point(
              std::chrono::microseconds(g_consents_now_micros.load()));
        });
  }
  static void TearDownTestSuite() {
    delete consents_;
    delete partners_;
    delete db_;
  }

  void SetUp() override {
    g_consents_now_micros = TestNowMicros();
    db_->Truncate("partners");
    db_->Truncate("consents");
    partners_stub_ = pv1::PartnerService::NewStub(partners_->channel());
    stub_ = v1::ConsentService::NewStub(consents_->channel());
    caf_ = CreateOrganisation(pv1::CAF, "Caf de Lot-et-Garonne");
    epci_ = CreateOrganisation(pv1::EPCI, "Val de Garonne Agglomération");
    other_ = CreateOrganisation(pv1::EPCI, "Albret Communauté");
  }

  std::string CreateOrganisation(pv1::OrganisationKind kind, const std::string& name) {
    pv1::CreateOrganisationRequest req;
    req.mutable_organisation()->set_kind(kind);
    req.mutable_organisation()->set_display_name(name);
    req.mutable_organisation()->set_departement("47");
    pv1::Organisation out;
    EXPECT_TRUE(
        partners_stub_
            ->CreateOrganisation(
                AuthedContext(TestToken({Role::kRegistryAdmin}, "", "registry")).get(), req, &out)
            .ok());
    return out.name();
  }

  // The EPCI asks the Caf for the families' childcare data of its communes.
  v1::ExchangeRequest Draft() const {
    v1::ExchangeRequest r;
    r.set_requester(epci_);
    r.set_holder(caf_);
    r.set_title("Observatoire de l'accueil du jeune enfant");
    r.set_purpose("Diagnostic territorial des besoins d'accueil (art. 3)");
    r.set_legal_basis(v1::PUBLIC_INTEREST_TASK);
    r.set_legal_basis_justification("Mission de service public de la CTG");
    r.add_data_subjects(v1::FAMILLES);
    r.add_data_categories(v1::FAMILY_SITUATION);
    r.add_data_categories(v1::CHILDCARE);
    r.add_recipients("Service petite enfance de l'agglomération");
    r.mutable_retention()->set_duration(3);
    r.mutable_retention()->set_unit(v1::YEARS);
    r.mutable_retention()->set_end(v1::DELETION);
    r.add_security_measures("Pseudonymisation avant transmission");
    r.set_frequency(v1::YEARLY);
    r.set_volume(1200);
    *r.mutable_start_date() = CivilDate{2026, 1, 1}.ToProto();
    *r.mutable_end_date() = CivilDate{2026, 12, 31}.ToProto();
    return r;
  }

  v1::ExchangeRequest Create(const v1::ExchangeRequest& r, const std::string& request_id = "") {
    v1::CreateExchangeRequestRequest req;
    *req.mutable_exchange_request() = r;
    req.set_request_id(request_id);
    v1::ExchangeRequest out;
    const auto s = stub_->CreateExchangeRequest(AuthedContext(EpciAgent()).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  grpc::Status Step(const std::string& token, v1::ExchangeRequest& current, v1::Step step,
                    const std::function<void(v1::TakeStepRequest&)>& fill = nullptr) {
    v1::TakeStepRequest req;
    req.set_name(current.name());
    req.set_etag(current.etag());
    req.set_step(step);
    if (fill) fill(req);
    v1::ExchangeRequest out;
    const auto s = stub_->TakeStep(AuthedContext(token).get(), req, &out);
    if (s.ok()) current = out;
    return s;
  }

  // Takes `current` to the DPO's opinion with one recommendation (or none).
  void ToOpinion(v1::ExchangeRequest& r, v1::OpinionVerdict verdict, bool recommendation) {
    ASSERT_TRUE(Step(EpciAgent(), r, v1::SUBMIT).ok());
    ASSERT_TRUE(Step(CafAgent(), r, v1::RECORD_STUDY, [](v1::TakeStepRequest& s) {
                  s.mutable_study()->set_opportunity("Utile au schéma");
                  s.mutable_study()->set_feasibility("Extraction annuelle possible");
                  s.mutable_study()->set_compliance("Données pseudonymisées, base art. 6(1)(e)");
                }).ok());
    const auto s = Step(CafDpo(), r, v1::GIVE_OPINION, [&](v1::TakeStepRequest& s) {
      s.mutable_opinion()->set_verdict(verdict);
      s.mutable_opinion()->set_text("Avis du DPO");
      if (recommendation) {
        s.mutable_opinion()->add_recommendations()->set_text("Chiffrer le fichier transmis");
      }
    });
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  v1::CheckExchangeResponse Check(const std::vector<v1::DataCategory>& categories,
                                  const std::string& purpose) {
    v1::CheckExchangeRequest req;
    req.set_requester(epci_);
    req.set_holder(caf_);
    for (auto c : categories) req.add_data_categories(c);
    req.set_purpose(purpose);
    v1::CheckExchangeResponse out;
    const auto s = stub_->CheckExchange(AuthedContext(CafAgent()).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  v1::AuditChainVerification Verify() {
    v1::AuditChainVerification out;
    const auto s = stub_->VerifyAuditChain(
        AuthedContext(TestToken({Role::kAuditor}, "", "auditor")).get(), {}, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  // Every audit event of `request`, read in pages of 4 (the pages must join up).
  std::vector<std::string> Operations(const std::string& request) {
    v1::ListAuditEventsRequest req;
    req.set_exchange_request(request);
    req.set_page_size(4);
    std::vector<std::string> ops;
    do {
      v1::ListAuditEventsResponse out;
      EXPECT_TRUE(stub_->ListAuditEvents(AuthedContext(CafDpo()).get(), req, &out).ok());
      EXPECT_LE(out.events_size(), 4);
      for (const auto& e : out.events()) ops.push_back(e.operation());
      req.set_page_token(out.next_page_token());
    } while (!req.page_token().empty());
    return ops;
  }

  // Runs `sql` as an attacker with superuser access would: triggers off for its session.
  static void Tamper(const std::string& sql) {
    pqxx::connection conn(db_->url());
    pqxx::work tx(conn);
    tx.exec("SET LOCAL session_replication_role = replica");
    tx.exec(sql);
    tx.commit();
  }

  std::string CafAgent() const { return TestToken({Role::kCafAgent}, caf_, "caf-agent"); }
  std::string CafDpo() const { return TestToken({Role::kDpo}, caf_, "caf-dpo"); }
  std::string EpciAgent() const {
    return TestToken({Role::kCollectivityAgent}, epci_, "epci-agent");
  }
  std::string EpciDpo() const { return TestToken({Role::kDpo}, epci_, "epci-dpo"); }
  std::string Outsider() const { return TestToken({Role::kCollectivityAgent}, other_, "outsider"); }

  static inline ctg::testing::TestDatabase* db_ = nullptr;
  static inline ctg::testing::InProcessService* partners_ = nullptr;
  static inline ctg::testing::InProcessService* consents_ = nullptr;
  std::unique_ptr<pv1::PartnerService::Stub> partners_stub_;
  std::unique_ptr<v1::ConsentService::Stub> stub_;
  std::string caf_, epci_, other_;
};

TEST_F(ConsentsTest, TheWorkflowLeadsToAnActiveConsentThatAllowsItsExchanges) {
  v1::ExchangeRequest r = Create(Draft());
  EXPECT_EQ(r.state(), v1::DRAFT);
  ToOpinion(r, v1::FAVOURABLE_WITH_RECOMMENDATIONS, true);
  EXPECT_EQ(r.state(), v1::OPINION_GIVEN);
  EXPECT_EQ(r.opinion().recommendations(0).number(), 1);
  EXPECT_EQ(r.opinion().dpo(), "caf-dpo");
  ASSERT_TRUE(Step(CafAgent(), r, v1::DECIDE, [](v1::TakeStepRequest& s) {
                s.mutable_decision()->set_approved(true);
              }).ok());
  // Approved, but a recommendation is pending: not active, exchanges refused.
  EXPECT_EQ(r.state(), v1::APPROVED);
  const auto pending = Check({v1::CHILDCARE}, Draft().purpose());
  EXPECT_FALSE(pending.allowed());
  EXPECT_FALSE(pending.reason().empty());
  ASSERT_TRUE(Step(EpciAgent(), r, v1::MARK_IMPLEMENTED, [](v1::TakeStepRequest& s) {
                s.set_recommendation(1);
                s.set_evidence("Fichier chiffré AES-256, clé transmise à part");
              }).ok());
  EXPECT_EQ(r.state(), v1::APPROVED);
  ASSERT_TRUE(Step(CafDpo(), r, v1::ACKNOWLEDGE, [](v1::TakeStepRequest& s) {
                s.set_recommendation(1);
              }).ok());
  EXPECT_EQ(r.state(), v1::ACTIVE);

  const auto allowed = Check({v1::CHILDCARE, v1::FAMILY_SITUATION}, Draft().purpose());
  EXPECT_TRUE(allowed.allowed()) << allowed.reason();
  EXPECT_EQ(allowed.consent(), r.name());
  EXPECT_EQ(allowed.conditions_size(), 1);
  EXPECT_EQ(allowed.retention().duration(), 3);
  EXPECT_FALSE(Check({v1::HEALTH}, Draft().purpose()).allowed());
  EXPECT_FALSE(Check({v1::CHILDCARE}, "Autre finalité").allowed());

  v1::RecordExchangeRequest record;
  record.set_consent(r.name());
  record.add_data_categories(v1::CHILDCARE);
  record.set_volume(1150);
  *record.mutable_time() = google::protobuf::util::TimeUtil::SecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::seconds>(TestNow().time_since_epoch()).count());
  record.set_reference("extraction-2026-06.csv");
  v1::RecordedExchange recorded;
  ASSERT_TRUE(stub_->RecordExchange(AuthedContext(CafAgent()).get(), record, &recorded).ok());
  // Not in the future; not before the consent's last change (its state then is not known).
  v1::RecordExchangeRequest dated = record;
  dated.mutable_time()->set_seconds(record.time().seconds() + 86400);
  EXPECT_EQ(
      ViolatedFields(stub_->RecordExchange(AuthedContext(CafAgent()).get(), dated, &recorded)),
      std::vector<std::string>{"time"});
  dated.mutable_time()->set_seconds(record.time().seconds() - 86400);
  EXPECT_EQ(stub_->RecordExchange(AuthedContext(CafAgent()).get(), dated, &recorded).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  record.add_data_categories(v1::ECONOMIC_FINANCIAL);
  EXPECT_EQ(stub_->RecordExchange(AuthedContext(CafAgent()).get(), record, &recorded).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // In the order they were written, across the holder's trail and its check log.
  EXPECT_EQ(Operations(r.name()),
            (std::vector<std::string>{"create", "step:SUBMIT", "step:RECORD_STUDY",
                                      "step:GIVE_OPINION", "step:DECIDE", "check",
                                      "step:MARK_IMPLEMENTED", "step:ACKNOWLEDGE", "check", "check",
                                      "check", "record", "denied:record", "denied:record"}));
  const auto verification = Verify();
  EXPECT_TRUE(verification.valid()) << verification.problem();
  EXPECT_EQ(verification.chains_checked(), 2);
  EXPECT_EQ(verification.events_checked(), 14);
}

TEST_F(ConsentsTest, TheRegisterListsTheProcessingsOfApprovedExchangesForEachController) {
  v1::ExchangeRequest approved = Create(Draft());
  ToOpinion(approved, v1::FAVOURABLE, false);
  ASSERT_TRUE(Step(CafAgent(), approved, v1::DECIDE, [](v1::TakeStepRequest& s) {
                s.mutable_decision()->set_approved(true);
              }).ok());
  v1::ExchangeRequest draft = Draft();
  draft.set_title("Demande encore en brouillon");
  Create(draft);  // not approved: not in the register

  v1::ExportRegisterRequest req;
  req.set_controller(caf_);
  req.set_format(v1::CSV);
  v1::ExportedRegister csv;
  ASSERT_TRUE(stub_->ExportRegister(AuthedContext(CafDpo()).get(), req, &csv).ok());
  EXPECT_EQ(csv.processings(), 1);
  EXPECT_EQ(csv.content_type(), "text/csv; charset=utf-8");
  EXPECT_NE(csv.content().find("Communication de données à Val de Garonne Agglomération"),
            std::string::npos);
  EXPECT_NE(csv.content().find("Mission d'intérêt public (art. 6.1.e)"), std::string::npos);
  EXPECT_NE(csv.content().find("3 an(s), puis suppression"), std::string::npos);
  EXPECT_EQ(csv.content().find("brouillon"), std::string::npos);
  // The requester's register: the processing the exchange creates for it.
  req.set_controller(epci_);
  req.set_format(v1::JSON);
  v1::ExportedRegister json;
  ASSERT_TRUE(stub_->ExportRegister(AuthedContext(EpciAgent()).get(), req, &json).ok());
  EXPECT_NE(json.content().find("\"Nature\":\"Traitement créé par la réception de données de "
                                "Caf de Lot-et-Garonne\""),
            std::string::npos)
      << json.content();
  req.set_format(v1::XLSX);
  v1::ExportedRegister xlsx;
  ASSERT_TRUE(stub_->ExportRegister(AuthedContext(EpciAgent()).get(), req, &xlsx).ok());
  EXPECT_EQ(xlsx.content().substr(0, 2), "PK");
  // Another controller's register does not exist for the caller; a format is required.
  EXPECT_EQ(stub_->ExportRegister(AuthedContext(Outsider()).get(), req, &xlsx).error_code(),
            grpc::StatusCode::NOT_FOUND);
  req.set_format(v1::REGISTER_FORMAT_UNSPECIFIED);
  EXPECT_EQ(ViolatedFields(stub_->ExportRegister(AuthedContext(EpciAgent()).get(), req, &xlsx)),
            std::vector<std::string>{"format"});
}

TEST_F(ConsentsTest, AStepByTheWrongOrganisationOrRoleIsRefusedAndAudited) {
  v1::ExchangeRequest r = Create(Draft());
  // The holder cannot submit the requester's request; the requester cannot study it.
  EXPECT_EQ(Step(CafAgent(), r, v1::SUBMIT).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Step(EpciAgent(), r, v1::SUBMIT).ok());
  EXPECT_EQ(Step(EpciAgent(), r, v1::RECORD_STUDY,
                 [](v1::TakeStepRequest& s) {
                   s.mutable_study()->set_opportunity("a");
                   s.mutable_study()->set_feasibility("b");
                   s.mutable_study()->set_compliance("c");
                 })
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A step from the wrong state.
  EXPECT_EQ(Step(CafAgent(), r, v1::DECIDE,
                 [](v1::TakeStepRequest& s) { s.mutable_decision()->set_approved(true); })
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // The requester's own DPO gives no opinion on the holder's data.
  v1::ExchangeRequest studied = r;
  ASSERT_TRUE(Step(CafAgent(), studied, v1::RECORD_STUDY, [](v1::TakeStepRequest& s) {
                s.mutable_study()->set_opportunity("a");
                s.mutable_study()->set_feasibility("b");
                s.mutable_study()->set_compliance("c");
              }).ok());
  EXPECT_EQ(Step(EpciDpo(), studied, v1::GIVE_OPINION,
                 [](v1::TakeStepRequest& s) {
                   s.mutable_opinion()->set_verdict(v1::FAVOURABLE);
                   s.mutable_opinion()->set_text("ok");
                 })
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A stale etag is ABORTED; an outsider does not see the request at all.
  EXPECT_EQ(Step(CafDpo(), r, v1::GIVE_OPINION).error_code(), grpc::StatusCode::ABORTED);
  v1::GetExchangeRequestRequest get;
  get.set_name(r.name());
  v1::ExchangeRequest seen;
  const auto hidden = stub_->GetExchangeRequest(AuthedContext(Outsider()).get(), get, &seen);
  EXPECT_EQ(hidden.error_code(), grpc::StatusCode::NOT_FOUND);
  get.set_name("exchangeRequests/6f2d3c1a-0b4e-4a8f-9c7d-1e2f3a4b5c6d");
  const auto missing = stub_->GetExchangeRequest(AuthedContext(Outsider()).get(), get, &seen);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Step(Outsider(), r, v1::SUBMIT).error_code(), grpc::StatusCode::NOT_FOUND);
  // A role the method does not allow at all (an auditor, the CDSF) is refused by the runtime
  // before the request is read, and that attempt is audited too, by whom and on what.
  EXPECT_EQ(
      Step(TestToken({Role::kAuditor}, caf_, "caf-auditor"), studied, v1::DECIDE).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  // On a request that does not exist there is nothing to attach it to: only the access log.
  v1::ExchangeRequest ghost = r;
  ghost.set_name("exchangeRequests/6f2d3c1a-0b4e-4a8f-9c7d-1e2f3a4b5c6d");
  EXPECT_EQ(Step(TestToken({Role::kCdsf}, caf_, "cdsf"), ghost, v1::DECIDE).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  EXPECT_EQ(Operations(r.name()),
            (std::vector<std::string>{"create", "denied:SUBMIT", "step:SUBMIT",
                                      "denied:RECORD_STUDY", "denied:DECIDE", "step:RECORD_STUDY",
                                      "denied:GIVE_OPINION", "denied:DECIDE"}));
  v1::ListAuditEventsRequest list;
  list.set_exchange_request(r.name());
  list.set_page_size(50);
  v1::ListAuditEventsResponse events;
  ASSERT_TRUE(stub_->ListAuditEvents(AuthedContext(CafDpo()).get(), list, &events).ok());
  ASSERT_GT(events.events_size(), 0);
  const auto& last = events.events(events.events_size() - 1);
  EXPECT_EQ(last.actor(), "caf-auditor");
  EXPECT_NE(last.after().find("no role of the caller"), std::string::npos) << last.after();
  EXPECT_TRUE(Verify().valid());
}

TEST_F(ConsentsTest, ARequestChangedAfterTheOpinionGoesBackToTheDpo) {
  v1::ExchangeRequest r = Create(Draft());
  ToOpinion(r, v1::FAVOURABLE, false);
  v1::UpdateExchangeRequestRequest update;
  update.mutable_exchange_request()->set_name(r.name());
  update.mutable_exchange_request()->set_etag(r.etag());
  update.mutable_exchange_request()->add_data_categories(v1::CHILDCARE);
  update.mutable_exchange_request()->add_data_categories(v1::ECONOMIC_FINANCIAL);
  update.mutable_update_mask()->add_paths("data_categories");
  v1::ExchangeRequest changed;
  ASSERT_TRUE(
      stub_->UpdateExchangeRequest(AuthedContext(EpciAgent()).get(), update, &changed).ok());
  EXPECT_EQ(changed.state(), v1::STUDIED);
  EXPECT_FALSE(changed.has_opinion());
  EXPECT_EQ(changed.version(), 2);
  // Only the requester changes it.
  update.mutable_exchange_request()->set_etag(changed.etag());
  EXPECT_EQ(
      stub_->UpdateExchangeRequest(AuthedContext(CafAgent()).get(), update, &changed).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Operations(r.name()).back(), "denied:update");  // the attempt is audited
  // A wrong actor is refused (and audited) whatever etag it sends.
  v1::ExchangeRequest stale = r;
  stale.set_etag("\"garbage\"");
  EXPECT_EQ(Step(EpciAgent(), stale, v1::DECIDE).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Operations(r.name()).back(), "denied:DECIDE");
  EXPECT_TRUE(Verify().valid());
}

TEST_F(ConsentsTest, ApprovingAgainstAnUnfavourableOpinionNeedsAWrittenJustification) {
  v1::ExchangeRequest r = Create(Draft());
  ToOpinion(r, v1::UNFAVOURABLE, false);
  auto s = Step(CafAgent(), r, v1::DECIDE,
                [](v1::TakeStepRequest& s) { s.mutable_decision()->set_approved(true); });
  EXPECT_EQ(ViolatedFields(s), std::vector<std::string>{"decision.justification"});
  ASSERT_TRUE(Step(CafAgent(), r, v1::DECIDE, [](v1::TakeStepRequest& s) {
                s.mutable_decision()->set_approved(true);
                s.mutable_decision()->set_justification("Obligation légale de suivi du schéma");
              }).ok());
  EXPECT_EQ(r.state(), v1::ACTIVE);
  EXPECT_EQ(r.decision().justification(), "Obligation légale de suivi du schéma");
}

TEST_F(ConsentsTest, BadRequestsNameTheirFieldsAndWriteNothing) {
  v1::ExchangeRequest bad = Draft();
  bad.clear_purpose();
  bad.clear_retention();
  bad.add_data_categories(v1::HEALTH);
  *bad.mutable_end_date() = CivilDate{2025, 1, 1}.ToProto();
  v1::CreateExchangeRequestRequest req;
  *req.mutable_exchange_request() = bad;
  v1::ExchangeRequest out;
  const auto s = stub_->CreateExchangeRequest(AuthedContext(EpciAgent()).get(), req, &out);
  EXPECT_EQ(ViolatedFields(s),
            (std::vector<std::string>{"exchange_request.purpose",
                                      "exchange_request.special_category_condition",
                                      "exchange_request.retention", "exchange_request.end_date"}));
  // A request is made by the caller's own organisation.
  *req.mutable_exchange_request() = Draft();
  EXPECT_EQ(stub_->CreateExchangeRequest(AuthedContext(CafAgent()).get(), req, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::ListExchangeRequestsResponse listed;
  ASSERT_TRUE(stub_->ListExchangeRequests(AuthedContext(EpciAgent()).get(), {}, &listed).ok());
  EXPECT_EQ(listed.exchange_requests_size(), 0);
  EXPECT_EQ(Verify().events_checked(), 0);
}

TEST_F(ConsentsTest, ACreateReplayedWithItsRequestIdReturnsTheFirstRequest) {
  const auto first = Create(Draft(), "0b6a8f1e-6a55-4d2b-9d7e-1f0c2a3b4c01");
  const auto again = Create(Draft(), "0b6a8f1e-6a55-4d2b-9d7e-1f0c2a3b4c01");
  EXPECT_EQ(first.name(), again.name());
  v1::ListExchangeRequestsResponse listed;
  ASSERT_TRUE(stub_->ListExchangeRequests(AuthedContext(CafAgent()).get(), {}, &listed).ok());
  EXPECT_EQ(listed.exchange_requests_size(), 1);
}

TEST_F(ConsentsTest, PendingActionsShowWhatWaitsOnEachActor) {
  v1::ExchangeRequest r = Create(Draft());
  auto pending = [&](const std::string& token) {
    v1::ListPendingActionsResponse out;
    EXPECT_TRUE(stub_->ListPendingActions(AuthedContext(token).get(), {}, &out).ok());
    std::vector<v1::Step> steps;
    for (const auto& a : out.actions()) steps.push_back(a.step());
    return steps;
  };
  EXPECT_EQ(pending(EpciAgent()), std::vector<v1::Step>{v1::SUBMIT});
  EXPECT_TRUE(pending(CafAgent()).empty());
  ASSERT_TRUE(Step(EpciAgent(), r, v1::SUBMIT).ok());
  EXPECT_EQ(pending(CafAgent()), std::vector<v1::Step>{v1::RECORD_STUDY});
  EXPECT_TRUE(pending(CafDpo()).empty());
  EXPECT_TRUE(pending(Outsider()).empty());
}

TEST_F(ConsentsTest, ConcurrentChecksAreAllAuditedInOneValidChain) {
  v1::ExchangeRequest r = Create(Draft());
  ToOpinion(r, v1::FAVOURABLE, false);
  ASSERT_TRUE(Step(CafAgent(), r, v1::DECIDE, [](v1::TakeStepRequest& s) {
                s.mutable_decision()->set_approved(true);
              }).ok());
  // 8 callers x 25 checks at once: batches of checks from several calls share commits.
  std::vector<std::thread> callers;
  std::atomic<int> allowed{0};
  std::mutex names_mu;
  std::set<std::string> names;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&] {
      auto stub = v1::ConsentService::NewStub(consents_->channel());
      for (int i = 0; i < 25; ++i) {
        v1::CheckExchangeRequest req;
        req.set_requester(epci_);
        req.set_holder(caf_);
        req.add_data_categories(v1::CHILDCARE);
        req.set_purpose(Draft().purpose());
        v1::CheckExchangeResponse out;
        if (stub->CheckExchange(AuthedContext(CafAgent()).get(), req, &out).ok() && out.allowed()) {
          ++allowed;
          std::lock_guard lock(names_mu);
          names.insert(out.audit_event());
        }
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(allowed, 200);
  EXPECT_EQ(names.size(), 200u);  // every check its own event
  const auto v = Verify();
  EXPECT_TRUE(v.valid()) << v.problem();
  EXPECT_EQ(v.events_checked(), 5 + 200);
  EXPECT_EQ(v.chains_checked(), 2);  // the holder's trail and its check log
}

TEST_F(ConsentsTest, APurgeOfOldChecksKeepsTheChainsVerifiable) {
  v1::ExchangeRequest r = Create(Draft());
  ToOpinion(r, v1::FAVOURABLE, false);
  ASSERT_TRUE(Step(CafAgent(), r, v1::DECIDE, [](v1::TakeStepRequest& s) {
                s.mutable_decision()->set_approved(true);
              }).ok());
  for (int i = 0; i < 3; ++i) Check({v1::CHILDCARE}, Draft().purpose());
  g_consents_now_micros += 400LL * 86400 * 1000000;  // 400 days later
  for (int i = 0; i < 2; ++i) Check({v1::CHILDCARE}, Draft().purpose());
  ASSERT_EQ(Verify().events_checked(), 5 + 5);

  auto purge = [&](const std::string& token, int days, v1::PurgeCheckLogResponse* out) {
    v1::PurgeCheckLogRequest req;
    req.set_retention_days(days);
    return stub_->PurgeCheckLog(AuthedContext(token).get(), req, out);
  };
  v1::PurgeCheckLogResponse out;
  EXPECT_EQ(ViolatedFields(purge(CafDpo(), 30, &out)), std::vector<std::string>{"retention_days"});
  // Another organisation's DPO purges its own log only: nothing here.
  ASSERT_TRUE(purge(EpciDpo(), 365, &out).ok());
  EXPECT_EQ(out.purged_events(), 0);
  ASSERT_TRUE(purge(CafDpo(), 365, &out).ok());
  EXPECT_EQ(out.purged_events(), 3);
  ASSERT_EQ(out.checkpoints_size(), 1);
  EXPECT_EQ(out.checkpoints(0), "auditEvents/" + IdOf(caf_) + "/checks/3");
  // The 2 recent checks and the trail remain, plus the purge's own event; all verifiable.
  auto v = Verify();
  EXPECT_TRUE(v.valid()) << v.first_bad_event() << ": " << v.problem();
  EXPECT_EQ(v.events_checked(), 5 + 2 + 1);
  // Purging again finds nothing older; the chain still verifies.
  TokenClaims service;
  service.subject = "ctg-reporting";
  service.roles = {Role::kService};
  service.issuer = ctg::testing::kTestIssuer;
  service.audience = ctg::testing::kTestAudience;
  service.lifetime = std::chrono::minutes(10);  // a service's token is short-lived
  const auto by_service = purge(MintHs256Token(service, ctg::testing::kTestJwtKey), 365, &out);
  ASSERT_TRUE(by_service.ok()) << by_service.error_message();
  EXPECT_EQ(out.purged_events(), 0);
  EXPECT_TRUE(Verify().valid());
  // A checkpoint moved behind the service's back is caught (its signature).
  Tamper("UPDATE consents.audit_checkpoints SET seq = seq + 1");
  v = Verify();
  EXPECT_FALSE(v.valid());
  EXPECT_NE(v.problem().find("checkpoint"), std::string::npos) << v.problem();
}

TEST_F(ConsentsTest, TheServicesOwnRoleCannotChangeOrRemoveAuditEvents) {
  Create(Draft());
  Check({v1::CHILDCARE}, Draft().purpose());
  auto refused = [](const std::string& url, const std::string& sql) -> std::string {
    pqxx::connection conn(url);
    pqxx::work tx(conn);
    try {
      tx.exec(sql);
    } catch (const pqxx::sql_error& e) {
      return e.what();
    }
    return "";
  };
  // The role the service's calls run as holds no such privilege: PostgreSQL refuses before any
  // trigger runs.
  for (const char* sql :
       {"UPDATE consents.audit_events SET actor = 'x'", "DELETE FROM consents.audit_events",
        "TRUNCATE consents.audit_events", "DELETE FROM consents.audit_heads",
        "UPDATE consents.audit_keys SET value = 'x'", "DELETE FROM consents.audit_checkpoints",
        "SELECT set_config('ctg.audit_purge', 'on', true); DELETE FROM consents.audit_events"}) {
    const std::string error = refused(db_->runtime_url(), sql);
    EXPECT_NE(error.find("permission denied"), std::string::npos) << sql << ": " << error;
  }
  // Its one way to delete is the owner's purge function: only a check chain, only what the
  // chain's checkpoint covers (none yet, so nothing).
  EXPECT_NE(
      refused(db_->runtime_url(), "SELECT consents.purge_checked_events('" + IdOf(caf_) + "')"),
      "");
  {
    pqxx::connection conn(db_->runtime_url());
    pqxx::work tx(conn);
    EXPECT_EQ(tx.exec1("SELECT consents.purge_checked_events('" + IdOf(caf_) + "/checks')")[0]
                  .as<int64_t>(),
              0);
  }
  // The owner (here a superuser) is held by the triggers: events stay, heads and checkpoints
  // only move forward.
  for (const char* sql :
       {"UPDATE consents.audit_events SET actor = 'x'", "DELETE FROM consents.audit_events",
        "TRUNCATE consents.audit_events", "UPDATE consents.audit_heads SET seq = seq - 1",
        "DELETE FROM consents.audit_heads",
        "INSERT INTO consents.audit_checkpoints SELECT chain, 0, '', now(), 0, '' FROM "
        "consents.audit_heads",
        "SELECT set_config('ctg.audit_purge', 'on', true); DELETE FROM consents.audit_events"}) {
    EXPECT_NE(refused(db_->url(), sql), "") << sql;
  }
  EXPECT_TRUE(Verify().valid());
  EXPECT_EQ(Verify().events_checked(), 2);
}

TEST_F(ConsentsTest, TheAuditChainCatchesRowsEditedDeletedOrInsertedOutOfBand) {
  v1::ExchangeRequest r = Create(Draft());
  ToOpinion(r, v1::FAVOURABLE, false);  // 4 events in the Caf's chain
  ASSERT_TRUE(Verify().valid());
  const std::string chain = IdOf(caf_);
  const std::string event2 = "auditEvents/" + chain + "/2";

  Tamper("UPDATE consents.audit_events SET after = '{}' WHERE seq = 2");
  auto v = Verify();
  EXPECT_FALSE(v.valid());
  EXPECT_EQ(v.first_bad_event(), event2);
  EXPECT_NE(v.problem().find("edited"), std::string::npos);
}

TEST_F(ConsentsTest, TheAuditChainCatchesADeletedOrAnInsertedEvent) {
  v1::ExchangeRequest r = Create(Draft());
  ToOpinion(r, v1::FAVOURABLE, false);
  const std::string chain = IdOf(caf_);
  Tamper("DELETE FROM consents.audit_events WHERE seq = 2");
  auto v = Verify();
  EXPECT_FALSE(v.valid());
  EXPECT_EQ(v.first_bad_event(), "auditEvents/" + chain + "/2");

  db_->Truncate("consents");
  r = Create(Draft());
  ToOpinion(r, v1::FAVOURABLE, false);
  // A forged event at the end of the chain, even with a correct-looking link.
  Tamper(
      "INSERT INTO consents.audit_events SELECT chain, seq + 1, event_time, 'intrus', "
      "organisation, operation, reference, before, after, hash, hash FROM consents.audit_events "
      "WHERE seq = 4");
  v = Verify();
  EXPECT_FALSE(v.valid());
  EXPECT_EQ(v.first_bad_event(), "auditEvents/" + chain + "/5");

  db_->Truncate("consents");
  r = Create(Draft());
  ToOpinion(r, v1::FAVOURABLE, false);
  // The tail deleted: the head still names the last event.
  Tamper("DELETE FROM consents.audit_events WHERE seq = 4");
  v = Verify();
  EXPECT_FALSE(v.valid());
  EXPECT_EQ(v.first_bad_event(), "auditEvents/" + chain + "/4");
}

}  // namespace
}  // namespace ctg::consents
