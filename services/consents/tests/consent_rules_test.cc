// Pure rules of data exchange requests (no database): what a request must say, its effective
// state, who takes each step of the workflow from which state and with which fields, what each
// step and each change does, what waits on whom, and whether a consent allows an exchange.
#include "consents/consent_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace ctg::consents {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

const char kRequester[] = "organisations/00000000-0000-4000-8000-000000000001";
const char kHolder[] = "organisations/00000000-0000-4000-8000-000000000002";
const char kOutsider[] = "organisations/00000000-0000-4000-8000-000000000003";
const char kConvention[] = "conventions/00000000-0000-4000-8000-000000000010";
const char kAction[] = "actions/00000000-0000-4000-8000-000000000020";
const char kName[] = "exchangeRequests/00000000-0000-4000-8000-000000000030";
const char kPurpose[] = "Coordonner les places d'accueil du jeune enfant";

// The request runs through 2025; the rules are evaluated mid-2025.
const CivilDate kStart{2025, 1, 1};
const CivilDate kEnd{2025, 12, 31};
const CivilDate kToday{2025, 6, 15};

const char kPrefix[] = "exchange_request.";

// ---- Requests ----

// A complete, valid request of kRequester to kHolder (no special category, no NIR, no
// transfer).
v1::ExchangeRequest ValidRequest() {
  v1::ExchangeRequest r;
  r.set_name(kName);
  r.set_requester(kRequester);
  r.set_holder(kHolder);
  r.set_title("Places d'accueil");
  r.set_purpose(kPurpose);
  r.set_legal_basis(v1::PUBLIC_INTEREST_TASK);
  r.set_legal_basis_justification("Mission de service public (CASF L214-1)");
  r.add_data_subjects(v1::ALLOCATAIRES);
  r.add_data_subjects(v1::ENFANTS);
  r.add_data_categories(v1::IDENTITY);
  r.add_data_categories(v1::FAMILY_SITUATION);
  r.add_data_categories(v1::CHILDCARE);
  r.add_recipients("Service petite enfance");
  r.add_processors("Prestataire d'hébergement");
  r.mutable_retention()->set_duration(3);
  r.mutable_retention()->set_unit(v1::YEARS);
  r.mutable_retention()->set_end(v1::DELETION);
  r.add_security_measures("Chiffrement des échanges (TLS 1.3)");
  r.add_security_measures("Accès nominatif journalisé");
  r.set_frequency(v1::MONTHLY);
  r.set_volume(1200);
  *r.mutable_start_date() = kStart.ToProto();
  *r.mutable_end_date() = kEnd.ToProto();
  r.set_convention(kConvention);
  r.add_actions(kAction);
  r.set_version(1);
  return r;
}

std::vector<std::string> ValidationFields(const v1::ExchangeRequest& r) {
  Violations v;
  ValidateExchangeRequest(r, kPrefix, v);
  return v.fields();
}

// What the recommendations of a request's opinion have been through.
enum class Rec { kPending, kImplemented, kDone };

// A valid request stored in `state`, with the study, opinion (one recommendation per `recs`)
// and decision that state implies.
v1::ExchangeRequest InState(v1::ExchangeState state, const std::vector<Rec>& recs = {}) {
  auto r = ValidRequest();
  r.set_state(state);
  const bool studied = state != v1::DRAFT && state != v1::SUBMITTED;
  const bool opinion = studied && state != v1::STUDIED;
  const bool decided = opinion && state != v1::OPINION_GIVEN;
  if (studied) {
    r.mutable_study()->set_opportunity("Opportun");
    r.mutable_study()->set_feasibility("Faisable");
    r.mutable_study()->set_compliance("Conforme");
    r.mutable_study()->set_author("agent-holder");
  }
  if (opinion) {
    auto* o = r.mutable_opinion();
    o->set_verdict(recs.empty() ? v1::FAVOURABLE : v1::FAVOURABLE_WITH_RECOMMENDATIONS);
    o->set_text("Avis du DPO");
    o->set_dpo("dpo-holder");
    o->set_request_version(r.version());
    for (size_t i = 0; i < recs.size(); ++i) {
      auto* rec = o->add_recommendations();
      rec->set_number(static_cast<int>(i) + 1);
      rec->set_text("Recommandation " + std::to_string(i + 1));
      if (recs[i] != Rec::kPending) {
        rec->set_implemented(true);
        rec->set_evidence("Fait");
        rec->set_implemented_by("agent-requester");
      }
      if (recs[i] == Rec::kDone) {
        rec->set_acknowledged(true);
        rec->set_acknowledged_by("dpo-holder");
      }
    }
  }
  if (decided) {
    r.mutable_decision()->set_approved(state != v1::REJECTED);
    if (state == v1::REJECTED) r.mutable_decision()->set_justification("Non nécessaire");
    r.mutable_decision()->set_decided_by("agent-holder");
  }
  if (state == v1::SUSPENDED || state == v1::REVOKED) r.set_state_reason("Incident");
  return r;
}

// `r` with its whole period in 2024, before kToday.
v1::ExchangeRequest Expired(v1::ExchangeRequest r) {
  *r.mutable_start_date() = CivilDate{2024, 1, 1}.ToProto();
  *r.mutable_end_date() = CivilDate{2024, 12, 31}.ToProto();
  return r;
}

google::protobuf::Timestamp Now() {
  google::protobuf::Timestamp t;
  t.set_seconds(1750000000);
  t.set_nanos(123000);
  return t;
}

// ---- Callers ----

enum class Actor {
  kRequesterAgent,
  kHolderAgent,
  kHolderDpo,
  kRequesterDpo,
  kOutsiderAgent,
  kService,
};

const std::vector<Actor>& AllActors() {
  static const std::vector<Actor> actors = {Actor::kRequesterAgent, Actor::kHolderAgent,
                                            Actor::kHolderDpo,      Actor::kRequesterDpo,
                                            Actor::kOutsiderAgent,  Actor::kService};
  return actors;
}

std::string ActorName(Actor a) {
  switch (a) {
    case Actor::kRequesterAgent:
      return "RequesterAgent";
    case Actor::kHolderAgent:
      return "HolderAgent";
    case Actor::kHolderDpo:
      return "HolderDpo";
    case Actor::kRequesterDpo:
      return "RequesterDpo";
    case Actor::kOutsiderAgent:
      return "OutsiderAgent";
    case Actor::kService:
      return "Service";
  }
  return "?";
}

Principal PrincipalOf(Actor a) {
  switch (a) {
    case Actor::kRequesterAgent:
      return Principal{"agent-requester", kRequester, {Role::kCafAgent}};
    case Actor::kHolderAgent:
      return Principal{"agent-holder", kHolder, {Role::kCollectivityAgent}};
    case Actor::kHolderDpo:
      return Principal{"dpo-holder", kHolder, {Role::kDpo}};
    case Actor::kRequesterDpo:
      return Principal{"dpo-requester", kRequester, {Role::kDpo}};
    case Actor::kOutsiderAgent:
      return Principal{"agent-outsider", kOutsider, {Role::kCopilSecretariat}};
    case Actor::kService:
      return Principal{"service-indicators", "", {Role::kService}};
  }
  return Principal{};
}

Parties PartiesFor(Actor a, const v1::ExchangeRequest& r) { return PartiesOf(PrincipalOf(a), r); }

void Check(const v1::TakeStepRequest& step, Actor a, const v1::ExchangeRequest& r) {
  CheckStep(step, PartiesFor(a, r), r, kToday);
}

// The fields of the ValidationError `check` throws; empty when it throws nothing (any other
// exception escapes and fails the test).
std::vector<std::string> ViolatedFields(const std::function<void()>& check) {
  try {
    check();
  } catch (const ValidationError& e) {
    std::vector<std::string> fields;
    for (const auto& v : e.violations()) fields.push_back(v.field);
    return fields;
  }
  return {};
}

// ---- Steps ----

const std::vector<v1::Step>& AllSteps() {
  static const std::vector<v1::Step> steps = {v1::SUBMIT,  v1::RECORD_STUDY,     v1::GIVE_OPINION,
                                              v1::DECIDE,  v1::MARK_IMPLEMENTED, v1::ACKNOWLEDGE,
                                              v1::SUSPEND, v1::RESUME,           v1::REVOKE};
  return steps;
}

// `step` with valid fields of its own (for MARK_IMPLEMENTED, recommendation 1; for ACKNOWLEDGE,
// recommendation 2: see StartOf).
v1::TakeStepRequest ValidStep(v1::Step step) {
  v1::TakeStepRequest s;
  s.set_name(kName);
  s.set_etag("W/\"1\"");
  s.set_step(step);
  switch (step) {
    case v1::RECORD_STUDY:
      s.mutable_study()->set_opportunity("Utile aux familles");
      s.mutable_study()->set_feasibility("Extraction mensuelle possible");
      s.mutable_study()->set_compliance("Base légale et minimisation vérifiées");
      break;
    case v1::GIVE_OPINION:
      s.mutable_opinion()->set_verdict(v1::FAVOURABLE);
      s.mutable_opinion()->set_text("Avis favorable");
      break;
    case v1::DECIDE:
      s.mutable_decision()->set_approved(true);
      break;
    case v1::MARK_IMPLEMENTED:
      s.set_recommendation(1);
      s.set_evidence("Procédure de purge mise en place");
      break;
    case v1::ACKNOWLEDGE:
      s.set_recommendation(2);
      break;
    case v1::SUSPEND:
    case v1::REVOKE:
      s.set_reason("Fuite de données chez le destinataire");
      break;
    default:
      break;
  }
  return s;
}

// A request in a state `step` starts from: recommendation 1 is pending, 2 implemented but not
// acknowledged, once there is an opinion.
v1::ExchangeRequest StartOf(v1::Step step) {
  switch (step) {
    case v1::SUBMIT:
      return InState(v1::DRAFT);
    case v1::RECORD_STUDY:
      return InState(v1::SUBMITTED);
    case v1::GIVE_OPINION:
      return InState(v1::STUDIED);
    case v1::DECIDE:
      return InState(v1::OPINION_GIVEN, {Rec::kPending, Rec::kPending});
    case v1::MARK_IMPLEMENTED:
    case v1::ACKNOWLEDGE:
    case v1::REVOKE:
      return InState(v1::APPROVED, {Rec::kPending, Rec::kImplemented});
    case v1::SUSPEND:
      return InState(v1::APPROVED);  // ACTIVE
    case v1::RESUME:
      return InState(v1::SUSPENDED, {Rec::kPending, Rec::kImplemented});
    default:
      return ValidRequest();
  }
}

// Who takes `step` (proto comments of Step and of ConsentService).
Actor ActorOf(v1::Step step) {
  switch (step) {
    case v1::SUBMIT:
    case v1::MARK_IMPLEMENTED:
      return Actor::kRequesterAgent;
    case v1::GIVE_OPINION:
    case v1::ACKNOWLEDGE:
      return Actor::kHolderDpo;
    default:
      return Actor::kHolderAgent;
  }
}

// ============================== ValidateExchangeRequest ==============================

TEST(ValidateExchangeRequestTest, AcceptsACompleteRequest) {
  EXPECT_THAT(ValidationFields(ValidRequest()), IsEmpty());
}

TEST(ValidateExchangeRequestTest, AnEmptyRequestNamesEveryRequiredField) {
  EXPECT_THAT(ValidationFields(v1::ExchangeRequest()),
              UnorderedElementsAre(
                  "exchange_request.requester", "exchange_request.holder", "exchange_request.title",
                  "exchange_request.purpose", "exchange_request.legal_basis",
                  "exchange_request.legal_basis_justification", "exchange_request.data_subjects",
                  "exchange_request.data_categories", "exchange_request.recipients",
                  "exchange_request.retention", "exchange_request.security_measures",
                  "exchange_request.frequency", "exchange_request.volume",
                  "exchange_request.start_date", "exchange_request.end_date"));
}

TEST(ValidateExchangeRequestTest, UsesTheGivenPrefix) {
  auto r = ValidRequest();
  r.clear_purpose();
  Violations v;
  ValidateExchangeRequest(r, "", v);
  EXPECT_THAT(v.fields(), ElementsAre("purpose"));
}

TEST(ValidateExchangeRequestTest, RequiresATitle) {
  auto r = ValidRequest();
  r.clear_title();
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.title"));
  r.set_title(std::string(201, 'x'));
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.title"));
}

TEST(ValidateExchangeRequestTest, RequiresAPurpose) {
  auto r = ValidRequest();
  r.clear_purpose();
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.purpose"));
}

TEST(ValidateExchangeRequestTest, RequiresALegalBasis) {
  auto r = ValidRequest();
  r.set_legal_basis(v1::LEGAL_BASIS_UNSPECIFIED);
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.legal_basis"));
}

TEST(ValidateExchangeRequestTest, RequiresTheLegalBasisJustification) {
  auto r = ValidRequest();
  r.clear_legal_basis_justification();
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.legal_basis_justification"));
}

TEST(ValidateExchangeRequestTest, RequiresDataSubjects) {
  auto r = ValidRequest();
  r.clear_data_subjects();
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.data_subjects"));
}

TEST(ValidateExchangeRequestTest, RefusesAnUnspecifiedDataSubject) {
  auto r = ValidRequest();
  r.add_data_subjects(v1::DATA_SUBJECT_UNSPECIFIED);
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.data_subjects[2]"));
}

TEST(ValidateExchangeRequestTest, RequiresDataCategories) {
  auto r = ValidRequest();
  r.clear_data_categories();
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.data_categories"));
}

TEST(ValidateExchangeRequestTest, RefusesAnUnspecifiedDataCategory) {
  auto r = ValidRequest();
  r.set_data_categories(1, v1::DATA_CATEGORY_UNSPECIFIED);
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.data_categories[1]"));
}

TEST(ValidateExchangeRequestTest, RefusesOffencesAtTheirIndex) {
  auto r = ValidRequest();
  r.add_data_categories(v1::OFFENCES);  // index 3
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.data_categories[3]"));
  r.set_data_categories(0, v1::OFFENCES);
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.data_categories[0]",
                                               "exchange_request.data_categories[3]"));
}

TEST(ValidateExchangeRequestTest, ASpecialCategoryNeedsItsCondition) {
  auto r = ValidRequest();
  r.add_data_categories(v1::HEALTH);
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.special_category_condition"));
  r.set_special_category_condition(v1::HEALTH_OR_SOCIAL_CARE);
  EXPECT_THAT(ValidationFields(r), IsEmpty());
}

TEST(ValidateExchangeRequestTest, EverySpecialCategoryNeedsItsCondition) {
  for (int c = v1::HEALTH; c <= v1::BIOMETRIC; ++c) {
    SCOPED_TRACE(c);
    ASSERT_TRUE(v1::DataCategory_IsValid(c));
    auto r = ValidRequest();
    r.add_data_categories(static_cast<v1::DataCategory>(c));
    EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.special_category_condition"));
  }
}

TEST(ValidateExchangeRequestTest, AConditionOnlyWithASpecialCategory) {
  auto r = ValidRequest();
  r.set_special_category_condition(v1::EXPLICIT_CONSENT);
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.special_category_condition"));
}

TEST(ValidateExchangeRequestTest, TheNirNeedsItsAuthorisation) {
  auto r = ValidRequest();
  r.add_data_categories(v1::NIR);
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.nir_authorisation"));
  r.set_nir_authorisation("Décret n° 2019-341 (décret-cadre NIR)");
  EXPECT_THAT(ValidationFields(r), IsEmpty());
}

TEST(ValidateExchangeRequestTest, TheNirIsNotASpecialCategory) {
  auto r = ValidRequest();
  r.add_data_categories(v1::NIR);
  r.set_nir_authorisation("Décret n° 2019-341");
  r.set_special_category_condition(v1::EXPLICIT_CONSENT);
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.special_category_condition"));
}

TEST(ValidateExchangeRequestTest, RequiresRecipients) {
  auto r = ValidRequest();
  r.clear_recipients();
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.recipients"));
  r.add_recipients("");
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.recipients[0]"));
}

TEST(ValidateExchangeRequestTest, RefusesAnEmptyProcessor) {
  auto r = ValidRequest();
  r.add_processors("");
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.processors[1]"));
}

TEST(ValidateExchangeRequestTest, AcceptsATransferWithItsSafeguard) {
  auto r = ValidRequest();
  auto* t = r.add_transfers();
  t->set_country("CH");
  t->set_recipient("Hébergeur");
  t->set_safeguard(v1::ADEQUACY_DECISION);
  EXPECT_THAT(ValidationFields(r), IsEmpty());
}

TEST(ValidateExchangeRequestTest, ATransferNeedsItsSafeguard) {
  auto r = ValidRequest();
  auto* t = r.add_transfers();
  t->set_country("US");
  t->set_recipient("Hébergeur");
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.transfers[0].safeguard"));
}

TEST(ValidateExchangeRequestTest, ATransferNeedsACountryCodeAndARecipient) {
  auto r = ValidRequest();
  auto* t = r.add_transfers();
  t->set_country("France");
  t->set_safeguard(v1::STANDARD_CONTRACTUAL_CLAUSES);
  EXPECT_THAT(ValidationFields(r), UnorderedElementsAre("exchange_request.transfers[0].country",
                                                        "exchange_request.transfers[0].recipient"));
  t->set_country("");
  t->set_recipient("Hébergeur");
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.transfers[0].country"));
}

// An ISO 3166 alpha-2 code is two capital letters: "12" or "a!" are refused.
TEST(ValidateExchangeRequestTest, ATransferCountryIsTwoLetters) {
  for (const char* country : {"12", "a!"}) {
    SCOPED_TRACE(country);
    auto r = ValidRequest();
    auto* t = r.add_transfers();
    t->set_country(country);
    t->set_recipient("Hébergeur");
    t->set_safeguard(v1::STANDARD_CONTRACTUAL_CLAUSES);
    EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.transfers[0].country"));
  }
}

TEST(ValidateExchangeRequestTest, RequiresARetention) {
  auto r = ValidRequest();
  r.clear_retention();
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.retention"));
}

TEST(ValidateExchangeRequestTest, RequiresWhatHappensAtTheEndOfTheRetention) {
  auto r = ValidRequest();
  r.mutable_retention()->set_end(v1::END_OF_RETENTION_UNSPECIFIED);
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.retention.end"));
}

TEST(ValidateExchangeRequestTest, RequiresTheRetentionUnit) {
  auto r = ValidRequest();
  r.mutable_retention()->set_unit(v1::RETENTION_UNIT_UNSPECIFIED);
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.retention.unit"));
}

TEST(ValidateExchangeRequestTest, RequiresARetentionOfAtLeastOne) {
  auto r = ValidRequest();
  r.mutable_retention()->set_duration(0);
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.retention.duration"));
  r.mutable_retention()->set_duration(-3);
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.retention.duration"));
  r.mutable_retention()->set_duration(1);
  EXPECT_THAT(ValidationFields(r), IsEmpty());
}

TEST(ValidateExchangeRequestTest, RequiresSecurityMeasures) {
  auto r = ValidRequest();
  r.clear_security_measures();
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.security_measures"));
  r.add_security_measures("");
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.security_measures[0]"));
}

TEST(ValidateExchangeRequestTest, RequiresAFrequency) {
  auto r = ValidRequest();
  r.set_frequency(v1::FREQUENCY_UNSPECIFIED);
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.frequency"));
}

TEST(ValidateExchangeRequestTest, RequiresAVolumeOfAtLeastOne) {
  auto r = ValidRequest();
  r.set_volume(0);
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.volume"));
  r.set_volume(1);
  EXPECT_THAT(ValidationFields(r), IsEmpty());
}

TEST(ValidateExchangeRequestTest, TheEndIsNotBeforeTheStart) {
  auto r = ValidRequest();
  *r.mutable_end_date() = CivilDate{2024, 12, 31}.ToProto();
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.end_date"));
  *r.mutable_end_date() = kStart.ToProto();  // a one-day exchange
  EXPECT_THAT(ValidationFields(r), IsEmpty());
}

TEST(ValidateExchangeRequestTest, RequiresValidDates) {
  auto r = ValidRequest();
  r.clear_start_date();
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.start_date"));
  r = ValidRequest();
  *r.mutable_end_date() = CivilDate{2025, 2, 30}.ToProto();
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.end_date"));
}

TEST(ValidateExchangeRequestTest, TheHolderIsNotTheRequester) {
  auto r = ValidRequest();
  r.set_holder(kRequester);
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.holder"));
}

TEST(ValidateExchangeRequestTest, RefusesBadResourceNames) {
  auto r = ValidRequest();
  r.set_requester("orgs/x");
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.requester"));

  r = ValidRequest();
  r.set_holder("organisations/00000000-0000-4000-8000-00000000000A");  // upper case
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.holder"));

  r = ValidRequest();
  r.set_convention(kHolder);  // an organisation, not a convention
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.convention"));

  r = ValidRequest();
  r.add_actions("actions/42");
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.actions[1]"));
}

TEST(ValidateExchangeRequestTest, RequiresTheParties) {
  auto r = ValidRequest();
  r.clear_requester();
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.requester"));
  r = ValidRequest();
  r.clear_holder();
  EXPECT_THAT(ValidationFields(r), ElementsAre("exchange_request.holder"));
}

TEST(ValidateExchangeRequestTest, TheConventionAndActionsAreOptional) {
  auto r = ValidRequest();
  r.clear_convention();
  r.clear_actions();
  EXPECT_THAT(ValidationFields(r), IsEmpty());
}

TEST(IsSpecialCategoryTest, HealthToBiometricOnly) {
  for (auto c : {v1::HEALTH, v1::DISABILITY, v1::ETHNIC_ORIGIN, v1::RELIGION, v1::POLITICAL_OPINION,
                 v1::TRADE_UNION, v1::SEXUAL_LIFE, v1::GENETIC, v1::BIOMETRIC}) {
    EXPECT_TRUE(IsSpecialCategory(c)) << v1::DataCategory_Name(c);
  }
  for (auto c :
       {v1::DATA_CATEGORY_UNSPECIFIED, v1::IDENTITY, v1::PROFESSIONAL, v1::NIR, v1::OFFENCES}) {
    EXPECT_FALSE(IsSpecialCategory(c)) << v1::DataCategory_Name(c);
  }
}

// ============================== PartiesOf ==============================

TEST(PartiesOfTest, EachCallerHasItsOneRelation) {
  const auto r = ValidRequest();
  auto p = PartiesFor(Actor::kRequesterAgent, r);
  EXPECT_TRUE(p.requester_agent);
  EXPECT_FALSE(p.holder_agent || p.holder_dpo || p.requester_dpo || p.service);
  p = PartiesFor(Actor::kHolderAgent, r);
  EXPECT_TRUE(p.holder_agent);
  EXPECT_FALSE(p.requester_agent || p.holder_dpo || p.requester_dpo || p.service);
  p = PartiesFor(Actor::kHolderDpo, r);
  EXPECT_TRUE(p.holder_dpo);
  EXPECT_FALSE(p.requester_agent || p.holder_agent || p.requester_dpo || p.service);
  p = PartiesFor(Actor::kRequesterDpo, r);
  EXPECT_TRUE(p.requester_dpo);
  EXPECT_FALSE(p.requester_agent || p.holder_agent || p.holder_dpo || p.service);
  p = PartiesFor(Actor::kService, r);
  EXPECT_TRUE(p.service);
  EXPECT_FALSE(p.requester_agent || p.holder_agent || p.holder_dpo || p.requester_dpo);
  EXPECT_FALSE(PartiesFor(Actor::kOutsiderAgent, r).Reads());
  for (Actor a : {Actor::kRequesterAgent, Actor::kHolderAgent, Actor::kHolderDpo,
                  Actor::kRequesterDpo, Actor::kService}) {
    EXPECT_TRUE(PartiesFor(a, r).Reads()) << ActorName(a);
  }
}

TEST(PartiesOfTest, OtherRolesOfAPartyAreNoRelation) {
  const auto r = ValidRequest();
  for (Role role : {Role::kCdsf, Role::kAuditor, Role::kRegistryAdmin}) {
    EXPECT_FALSE(PartiesOf(Principal{"x", kHolder, {role}}, r).Reads());
    EXPECT_FALSE(PartiesOf(Principal{"x", kRequester, {role}}, r).Reads());
  }
}

TEST(PartiesOfTest, AnAgentWhoIsAlsoTheDpo) {
  const auto p = PartiesOf(Principal{"x", kHolder, {Role::kCafAgent, Role::kDpo}}, ValidRequest());
  EXPECT_TRUE(p.holder_agent);
  EXPECT_TRUE(p.holder_dpo);
  EXPECT_FALSE(p.requester_agent);
}

// ============================== EffectiveState ==============================

TEST(EffectiveStateTest, ADraftStaysADraft) {
  EXPECT_EQ(EffectiveState(InState(v1::DRAFT), kToday), v1::DRAFT);
  EXPECT_EQ(EffectiveState(Expired(InState(v1::DRAFT)), kToday), v1::DRAFT);
}

TEST(EffectiveStateTest, StatesBeforeTheDecisionAreAsStored) {
  for (auto s : {v1::SUBMITTED, v1::STUDIED, v1::OPINION_GIVEN, v1::REJECTED}) {
    EXPECT_EQ(EffectiveState(InState(s), kToday), s) << v1::ExchangeState_Name(s);
  }
}

TEST(EffectiveStateTest, ApprovedBeforeItsStartDate) {
  const auto r = InState(v1::APPROVED);
  EXPECT_EQ(EffectiveState(r, CivilDate{2024, 12, 31}), v1::APPROVED);
}

TEST(EffectiveStateTest, ActiveFromItsStartDateWithoutRecommendations) {
  const auto r = InState(v1::APPROVED);
  EXPECT_EQ(EffectiveState(r, kStart), v1::ACTIVE);
  EXPECT_EQ(EffectiveState(r, kToday), v1::ACTIVE);
  EXPECT_EQ(EffectiveState(r, kEnd), v1::ACTIVE);
}

TEST(EffectiveStateTest, ApprovedWhileARecommendationIsNotImplemented) {
  EXPECT_EQ(EffectiveState(InState(v1::APPROVED, {Rec::kDone, Rec::kPending}), kToday),
            v1::APPROVED);
}

TEST(EffectiveStateTest, ApprovedWhileARecommendationIsNotAcknowledged) {
  EXPECT_EQ(EffectiveState(InState(v1::APPROVED, {Rec::kImplemented, Rec::kDone}), kToday),
            v1::APPROVED);
}

TEST(EffectiveStateTest, ActiveOnceEveryRecommendationIsImplementedAndAcknowledged) {
  EXPECT_EQ(EffectiveState(InState(v1::APPROVED, {Rec::kDone, Rec::kDone}), kToday), v1::ACTIVE);
}

TEST(EffectiveStateTest, AcknowledgedWithoutImplementedIsNotDone) {
  auto r = InState(v1::APPROVED, {Rec::kDone});
  r.mutable_opinion()->mutable_recommendations(0)->set_implemented(false);
  EXPECT_EQ(EffectiveState(r, kToday), v1::APPROVED);
}

TEST(EffectiveStateTest, ExpiredAfterItsEndDate) {
  const CivilDate after{2026, 1, 1};
  EXPECT_EQ(EffectiveState(InState(v1::APPROVED), after), v1::EXPIRED);
  EXPECT_EQ(EffectiveState(InState(v1::APPROVED, {Rec::kPending}), after), v1::EXPIRED);
}

TEST(EffectiveStateTest, SuspendedUntilItsEndDateThenExpired) {
  const auto r = InState(v1::SUSPENDED);
  EXPECT_EQ(EffectiveState(r, kToday), v1::SUSPENDED);
  EXPECT_EQ(EffectiveState(r, kEnd), v1::SUSPENDED);
  EXPECT_EQ(EffectiveState(r, CivilDate{2026, 1, 1}), v1::EXPIRED);
}

TEST(EffectiveStateTest, RevokedStaysRevoked) {
  const auto r = InState(v1::REVOKED);
  EXPECT_EQ(EffectiveState(r, kToday), v1::REVOKED);
  EXPECT_EQ(EffectiveState(r, CivilDate{2026, 1, 1}), v1::REVOKED);
}

// ============================== CheckStep: who ==============================

class StepActorTest : public ::testing::TestWithParam<std::tuple<v1::Step, Actor>> {};

TEST_P(StepActorTest, OnlyTheStepsActorMayTakeIt) {
  const auto [step, actor] = GetParam();
  const auto request = StartOf(step);
  const auto s = ValidStep(step);
  if (actor == ActorOf(step)) {
    EXPECT_NO_THROW(Check(s, actor, request));
  } else {
    EXPECT_THROW(Check(s, actor, request), PermissionDeniedError);
  }
}

INSTANTIATE_TEST_SUITE_P(Matrix, StepActorTest,
                         ::testing::Combine(::testing::ValuesIn(AllSteps()),
                                            ::testing::ValuesIn(AllActors())),
                         [](const ::testing::TestParamInfo<StepActorTest::ParamType>& info) {
                           return v1::Step_Name(std::get<0>(info.param)) + "_" +
                                  ActorName(std::get<1>(info.param));
                         });

TEST(CheckStepTest, TheStartingRequestsAreInTheirStartingStates) {
  const std::map<v1::Step, v1::ExchangeState> expected = {{v1::SUBMIT, v1::DRAFT},
                                                          {v1::RECORD_STUDY, v1::SUBMITTED},
                                                          {v1::GIVE_OPINION, v1::STUDIED},
                                                          {v1::DECIDE, v1::OPINION_GIVEN},
                                                          {v1::MARK_IMPLEMENTED, v1::APPROVED},
                                                          {v1::ACKNOWLEDGE, v1::APPROVED},
                                                          {v1::SUSPEND, v1::ACTIVE},
                                                          {v1::RESUME, v1::SUSPENDED},
                                                          {v1::REVOKE, v1::APPROVED}};
  for (const auto& [step, state] : expected) {
    EXPECT_EQ(EffectiveState(StartOf(step), kToday), state) << v1::Step_Name(step);
  }
}

TEST(CheckStepTest, OtherRolesOfTheHolderTakeNoStep) {
  for (Role role : {Role::kCdsf, Role::kAuditor, Role::kRegistryAdmin, Role::kService}) {
    for (v1::Step step : AllSteps()) {
      SCOPED_TRACE(v1::Step_Name(step));
      const auto r = StartOf(step);
      EXPECT_THROW(
          CheckStep(ValidStep(step), PartiesOf(Principal{"x", kHolder, {role}}, r), r, kToday),
          PermissionDeniedError);
    }
  }
}

TEST(CheckStepTest, AnUnspecifiedStepIsAViolation) {
  v1::TakeStepRequest s;
  const auto r = InState(v1::DRAFT);
  EXPECT_THAT(ViolatedFields([&] { Check(s, Actor::kRequesterAgent, r); }), ElementsAre("step"));
}

// ---- The requester never decides ----

TEST(CheckStepTest, TheRequesterNeverDecides) {
  const auto r = StartOf(v1::DECIDE);
  EXPECT_THROW(Check(ValidStep(v1::DECIDE), Actor::kRequesterAgent, r), PermissionDeniedError);
  // Not even when the caller is also (somehow) an agent of the holder.
  Parties both;
  both.requester_agent = true;
  both.holder_agent = true;
  EXPECT_THROW(CheckStep(ValidStep(v1::DECIDE), both, r, kToday), PermissionDeniedError);
}

// ============================== CheckStep: from which state ==============================

struct StateCase {
  const char* name;
  v1::ExchangeState effective;
  std::function<v1::ExchangeRequest()> make;
};

// A request in every effective state (recommendation 1 pending and 2 implemented whenever the
// state allows it).
const std::vector<StateCase>& AllStateCases() {
  static const std::vector<StateCase> cases = {
      {"draft", v1::DRAFT, [] { return InState(v1::DRAFT); }},
      {"submitted", v1::SUBMITTED, [] { return InState(v1::SUBMITTED); }},
      {"studied", v1::STUDIED, [] { return InState(v1::STUDIED); }},
      {"opinion given", v1::OPINION_GIVEN,
       [] {
         return InState(v1::OPINION_GIVEN, {Rec::kPending, Rec::kPending});
       }},
      {"approved", v1::APPROVED,
       [] {
         return InState(v1::APPROVED, {Rec::kPending, Rec::kImplemented});
       }},
      {"active", v1::ACTIVE,
       [] {
         return InState(v1::APPROVED, {Rec::kDone, Rec::kDone});
       }},
      {"rejected", v1::REJECTED,
       [] {
         return InState(v1::REJECTED, {Rec::kPending, Rec::kPending});
       }},
      {"suspended", v1::SUSPENDED,
       [] {
         return InState(v1::SUSPENDED, {Rec::kPending, Rec::kImplemented});
       }},
      {"revoked", v1::REVOKED,
       [] {
         return InState(v1::REVOKED, {Rec::kPending, Rec::kImplemented});
       }},
      {"expired", v1::EXPIRED,
       [] {
         return Expired(InState(v1::APPROVED, {Rec::kPending, Rec::kImplemented}));
       }},
      {"expired while suspended", v1::EXPIRED,
       [] {
         return Expired(InState(v1::SUSPENDED, {Rec::kPending, Rec::kImplemented}));
       }},
  };
  return cases;
}

// The effective states each step starts from (proto: Step, and consent_rules.h).
std::vector<v1::ExchangeState> StartStates(v1::Step step) {
  switch (step) {
    case v1::SUBMIT:
      return {v1::DRAFT};
    case v1::RECORD_STUDY:
      return {v1::SUBMITTED};
    case v1::GIVE_OPINION:
      return {v1::STUDIED};
    case v1::DECIDE:
      return {v1::OPINION_GIVEN};
    case v1::MARK_IMPLEMENTED:
    case v1::ACKNOWLEDGE:
      return {v1::APPROVED, v1::ACTIVE, v1::SUSPENDED};
    case v1::SUSPEND:
      return {v1::APPROVED, v1::ACTIVE};
    case v1::RESUME:
      return {v1::SUSPENDED};
    case v1::REVOKE:
      return {v1::APPROVED, v1::ACTIVE, v1::SUSPENDED};
    default:
      return {};
  }
}

class StepStateTest : public ::testing::TestWithParam<v1::Step> {};

TEST_P(StepStateTest, TheRightActorFromAWrongStateIsAFailedPrecondition) {
  const v1::Step step = GetParam();
  const auto starts = StartStates(step);
  const auto s = ValidStep(step);
  int wrong = 0;
  for (const auto& c : AllStateCases()) {
    SCOPED_TRACE(c.name);
    const auto r = c.make();
    ASSERT_EQ(EffectiveState(r, kToday), c.effective);
    if (std::find(starts.begin(), starts.end(), c.effective) != starts.end()) {
      // An active request has no recommendation left to implement or acknowledge.
      if (c.effective == v1::ACTIVE && (step == v1::MARK_IMPLEMENTED || step == v1::ACKNOWLEDGE)) {
        continue;
      }
      EXPECT_NO_THROW(Check(s, ActorOf(step), r));
    } else {
      ++wrong;
      EXPECT_THROW(Check(s, ActorOf(step), r), FailedPreconditionError);
    }
  }
  EXPECT_GE(wrong, 7);
}

INSTANTIATE_TEST_SUITE_P(Matrix, StepStateTest, ::testing::ValuesIn(AllSteps()),
                         [](const ::testing::TestParamInfo<v1::Step>& info) {
                           return v1::Step_Name(info.param);
                         });

TEST(CheckStepTest, ARequestBeforeItsStartCanBeSuspendedButNotResumed) {
  auto r = InState(v1::APPROVED);
  *r.mutable_start_date() = CivilDate{2025, 9, 1}.ToProto();
  ASSERT_EQ(EffectiveState(r, kToday), v1::APPROVED);
  EXPECT_NO_THROW(Check(ValidStep(v1::SUSPEND), Actor::kHolderAgent, r));
  EXPECT_THROW(Check(ValidStep(v1::RESUME), Actor::kHolderAgent, r), FailedPreconditionError);
}

// ============================== CheckStep: the step's own fields ==============================

TEST(StepFieldsTest, RecordStudyNeedsItsThreeTexts) {
  const auto r = StartOf(v1::RECORD_STUDY);
  auto s = ValidStep(v1::RECORD_STUDY);
  s.mutable_study()->clear_compliance();
  EXPECT_THAT(ViolatedFields([&] { Check(s, Actor::kHolderAgent, r); }),
              ElementsAre("study.compliance"));
  s.clear_study();
  EXPECT_THAT(ViolatedFields([&] { Check(s, Actor::kHolderAgent, r); }),
              ElementsAre("study.opportunity", "study.feasibility", "study.compliance"));
}

TEST(StepFieldsTest, RecommendationsWithTheirVerdict) {
  const auto r = StartOf(v1::GIVE_OPINION);
  auto s = ValidStep(v1::GIVE_OPINION);
  s.mutable_opinion()->set_verdict(v1::FAVOURABLE_WITH_RECOMMENDATIONS);
  EXPECT_THAT(ViolatedFields([&] { Check(s, Actor::kHolderDpo, r); }),
              ElementsAre("opinion.recommendations"));
  s.mutable_opinion()->add_recommendations()->set_text("Purger après 3 ans");
  EXPECT_NO_THROW(Check(s, Actor::kHolderDpo, r));
  s.mutable_opinion()->set_verdict(v1::FAVOURABLE);
  EXPECT_THAT(ViolatedFields([&] { Check(s, Actor::kHolderDpo, r); }),
              ElementsAre("opinion.verdict"));
}

TEST(StepFieldsTest, AnOpinionNeedsAVerdictAndATextAndTextedRecommendations) {
  const auto r = StartOf(v1::GIVE_OPINION);
  v1::TakeStepRequest s;
  s.set_step(v1::GIVE_OPINION);
  EXPECT_THAT(ViolatedFields([&] { Check(s, Actor::kHolderDpo, r); }),
              ElementsAre("opinion.verdict", "opinion.text"));
  s.mutable_opinion()->set_verdict(v1::UNFAVOURABLE);
  s.mutable_opinion()->set_text("Défavorable");
  s.mutable_opinion()->add_recommendations()->set_text("Minimiser");
  s.mutable_opinion()->add_recommendations();
  EXPECT_THAT(ViolatedFields([&] { Check(s, Actor::kHolderDpo, r); }),
              ElementsAre("opinion.recommendations[1].text"));
}

TEST(StepFieldsTest, ApprovingAgainstAnUnfavourableOpinionNeedsAJustification) {
  auto r = StartOf(v1::DECIDE);
  r.mutable_opinion()->set_verdict(v1::UNFAVOURABLE);
  r.mutable_opinion()->clear_recommendations();
  auto s = ValidStep(v1::DECIDE);
  EXPECT_THAT(ViolatedFields([&] { Check(s, Actor::kHolderAgent, r); }),
              ElementsAre("decision.justification"));
  s.mutable_decision()->set_justification("Nécessité impérieuse pour les familles");
  EXPECT_NO_THROW(Check(s, Actor::kHolderAgent, r));
}

TEST(StepFieldsTest, ApprovingAFavourableOpinionNeedsNoJustification) {
  for (auto verdict : {v1::FAVOURABLE, v1::FAVOURABLE_WITH_RECOMMENDATIONS}) {
    auto r = StartOf(v1::DECIDE);
    r.mutable_opinion()->set_verdict(verdict);
    EXPECT_NO_THROW(Check(ValidStep(v1::DECIDE), Actor::kHolderAgent, r));
  }
}

TEST(StepFieldsTest, RejectingNeedsAJustification) {
  const auto r = StartOf(v1::DECIDE);
  auto s = ValidStep(v1::DECIDE);
  s.mutable_decision()->set_approved(false);
  EXPECT_THAT(ViolatedFields([&] { Check(s, Actor::kHolderAgent, r); }),
              ElementsAre("decision.justification"));
  s.mutable_decision()->set_justification("Finalité non établie");
  EXPECT_NO_THROW(Check(s, Actor::kHolderAgent, r));
}

TEST(StepFieldsTest, AJustificationIsNotTooLong) {
  const auto r = StartOf(v1::DECIDE);
  auto s = ValidStep(v1::DECIDE);
  s.mutable_decision()->set_justification(std::string(4001, 'x'));
  EXPECT_THAT(ViolatedFields([&] { Check(s, Actor::kHolderAgent, r); }),
              ElementsAre("decision.justification"));
}

TEST(StepFieldsTest, MarkImplementedNeedsAnExistingRecommendation) {
  const auto r = StartOf(v1::MARK_IMPLEMENTED);  // two recommendations
  auto s = ValidStep(v1::MARK_IMPLEMENTED);
  for (int n : {0, -1, 3}) {
    SCOPED_TRACE(n);
    s.set_recommendation(n);
    EXPECT_THAT(ViolatedFields([&] { Check(s, Actor::kRequesterAgent, r); }),
                ElementsAre("recommendation"));
  }
}

TEST(StepFieldsTest, MarkImplementedNeedsEvidence) {
  const auto r = StartOf(v1::MARK_IMPLEMENTED);
  auto s = ValidStep(v1::MARK_IMPLEMENTED);
  s.clear_evidence();
  EXPECT_THAT(ViolatedFields([&] { Check(s, Actor::kRequesterAgent, r); }),
              ElementsAre("evidence"));
}

TEST(StepFieldsTest, ARecommendationIsMarkedImplementedOnce) {
  const auto r = StartOf(v1::MARK_IMPLEMENTED);
  auto s = ValidStep(v1::MARK_IMPLEMENTED);
  s.set_recommendation(2);  // already implemented
  EXPECT_THROW(Check(s, Actor::kRequesterAgent, r), FailedPreconditionError);
}

TEST(StepFieldsTest, AcknowledgeNeedsAnExistingRecommendation) {
  const auto r = StartOf(v1::ACKNOWLEDGE);
  auto s = ValidStep(v1::ACKNOWLEDGE);
  s.set_recommendation(0);
  EXPECT_THAT(ViolatedFields([&] { Check(s, Actor::kHolderDpo, r); }),
              ElementsAre("recommendation"));
}

TEST(StepFieldsTest, AcknowledgeBeforeImplementedIsAFailedPrecondition) {
  const auto r = StartOf(v1::ACKNOWLEDGE);
  auto s = ValidStep(v1::ACKNOWLEDGE);
  s.set_recommendation(1);  // pending
  EXPECT_THROW(Check(s, Actor::kHolderDpo, r), FailedPreconditionError);
}

TEST(StepFieldsTest, ARecommendationIsAcknowledgedOnce) {
  auto r = InState(v1::APPROVED, {Rec::kDone, Rec::kPending});
  auto s = ValidStep(v1::ACKNOWLEDGE);
  s.set_recommendation(1);
  EXPECT_THROW(Check(s, Actor::kHolderDpo, r), FailedPreconditionError);
}

TEST(StepFieldsTest, SuspendAndRevokeNeedAReason) {
  for (v1::Step step : {v1::SUSPEND, v1::REVOKE}) {
    SCOPED_TRACE(v1::Step_Name(step));
    const auto r = StartOf(step);
    auto s = ValidStep(step);
    s.clear_reason();
    EXPECT_THAT(ViolatedFields([&] { Check(s, Actor::kHolderAgent, r); }), ElementsAre("reason"));
  }
}

// ============================== ApplyStep ==============================

TEST(ApplyStepTest, SubmitSendsTheDraft) {
  auto r = InState(v1::DRAFT);
  ApplyStep(ValidStep(v1::SUBMIT), "agent-requester", Now(), r);
  EXPECT_EQ(r.state(), v1::SUBMITTED);
}

TEST(ApplyStepTest, RecordStudyRecordsItsAuthorAndTime) {
  auto r = InState(v1::SUBMITTED);
  auto s = ValidStep(v1::RECORD_STUDY);
  s.mutable_study()->set_author("forged");
  ApplyStep(s, "agent-holder", Now(), r);
  EXPECT_EQ(r.state(), v1::STUDIED);
  EXPECT_EQ(r.study().compliance(), s.study().compliance());
  EXPECT_EQ(r.study().author(), "agent-holder");
  EXPECT_EQ(r.study().time().seconds(), Now().seconds());
}

TEST(ApplyStepTest, GiveOpinionNumbersCleanRecommendations) {
  auto r = InState(v1::STUDIED);
  r.set_version(4);
  auto s = ValidStep(v1::GIVE_OPINION);
  auto* o = s.mutable_opinion();
  o->set_verdict(v1::FAVOURABLE_WITH_RECOMMENDATIONS);
  o->set_dpo("forged");
  o->set_request_version(99);
  auto* a = o->add_recommendations();
  a->set_number(7);
  a->set_text("Chiffrer au repos");
  a->set_implemented(true);
  a->set_evidence("déjà fait");
  a->set_implemented_by("someone");
  a->set_acknowledged(true);
  a->set_acknowledged_by("someone");
  o->add_recommendations()->set_text("Purger après 3 ans");
  auto* c = o->add_recommendations();
  c->set_text("Journaliser");
  c->set_implemented(true);

  ApplyStep(s, "dpo-holder", Now(), r);

  EXPECT_EQ(r.state(), v1::OPINION_GIVEN);
  const auto& got = r.opinion();
  EXPECT_EQ(got.verdict(), v1::FAVOURABLE_WITH_RECOMMENDATIONS);
  EXPECT_EQ(got.text(), "Avis favorable");
  EXPECT_EQ(got.dpo(), "dpo-holder");
  EXPECT_EQ(got.request_version(), 4);
  EXPECT_EQ(got.time().seconds(), Now().seconds());
  ASSERT_EQ(got.recommendations_size(), 3);
  const std::vector<std::string> texts = {"Chiffrer au repos", "Purger après 3 ans", "Journaliser"};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const auto& rec = got.recommendations(i);
    EXPECT_EQ(rec.number(), i + 1);
    EXPECT_EQ(rec.text(), texts[i]);
    EXPECT_FALSE(rec.implemented());
    EXPECT_EQ(rec.evidence(), "");
    EXPECT_EQ(rec.implemented_by(), "");
    EXPECT_FALSE(rec.acknowledged());
    EXPECT_EQ(rec.acknowledged_by(), "");
  }
}

TEST(ApplyStepTest, DecideApproves) {
  auto r = StartOf(v1::DECIDE);
  auto s = ValidStep(v1::DECIDE);
  s.mutable_decision()->set_decided_by("forged");
  ApplyStep(s, "agent-holder", Now(), r);
  EXPECT_EQ(r.state(), v1::APPROVED);
  EXPECT_TRUE(r.decision().approved());
  EXPECT_EQ(r.decision().decided_by(), "agent-holder");
  EXPECT_EQ(r.decision().time().seconds(), Now().seconds());
}

TEST(ApplyStepTest, DecideRejects) {
  auto r = StartOf(v1::DECIDE);
  auto s = ValidStep(v1::DECIDE);
  s.mutable_decision()->set_approved(false);
  s.mutable_decision()->set_justification("Finalité non établie");
  ApplyStep(s, "agent-holder", Now(), r);
  EXPECT_EQ(r.state(), v1::REJECTED);
  EXPECT_FALSE(r.decision().approved());
  EXPECT_EQ(r.decision().justification(), "Finalité non établie");
  EXPECT_EQ(r.decision().decided_by(), "agent-holder");
}

TEST(ApplyStepTest, MarkImplementedThenAcknowledgeMakeTheConsentActive) {
  auto r = InState(v1::APPROVED, {Rec::kPending, Rec::kDone});
  ASSERT_EQ(EffectiveState(r, kToday), v1::APPROVED);

  auto mark = ValidStep(v1::MARK_IMPLEMENTED);
  ApplyStep(mark, "agent-requester", Now(), r);
  const auto& rec = r.opinion().recommendations(0);
  EXPECT_TRUE(rec.implemented());
  EXPECT_EQ(rec.evidence(), mark.evidence());
  EXPECT_EQ(rec.implemented_by(), "agent-requester");
  EXPECT_FALSE(rec.acknowledged());
  EXPECT_EQ(r.state(), v1::APPROVED);
  EXPECT_EQ(EffectiveState(r, kToday), v1::APPROVED);

  auto ack = ValidStep(v1::ACKNOWLEDGE);
  ack.set_recommendation(1);
  EXPECT_NO_THROW(Check(ack, Actor::kHolderDpo, r));
  ApplyStep(ack, "dpo-holder", Now(), r);
  EXPECT_TRUE(r.opinion().recommendations(0).acknowledged());
  EXPECT_EQ(r.opinion().recommendations(0).acknowledged_by(), "dpo-holder");
  EXPECT_EQ(EffectiveState(r, kToday), v1::ACTIVE);
}

TEST(ApplyStepTest, MarkImplementedTouchesOnlyItsRecommendation) {
  auto r = InState(v1::APPROVED, {Rec::kPending, Rec::kPending});
  auto mark = ValidStep(v1::MARK_IMPLEMENTED);
  mark.set_recommendation(2);
  ApplyStep(mark, "agent-requester", Now(), r);
  EXPECT_FALSE(r.opinion().recommendations(0).implemented());
  EXPECT_TRUE(r.opinion().recommendations(1).implemented());
}

TEST(ApplyStepTest, SuspendResumeRevoke) {
  auto r = InState(v1::APPROVED);
  ApplyStep(ValidStep(v1::SUSPEND), "agent-holder", Now(), r);
  EXPECT_EQ(r.state(), v1::SUSPENDED);
  EXPECT_EQ(r.state_reason(), ValidStep(v1::SUSPEND).reason());
  EXPECT_EQ(EffectiveState(r, kToday), v1::SUSPENDED);

  ApplyStep(ValidStep(v1::RESUME), "agent-holder", Now(), r);
  EXPECT_EQ(r.state(), v1::APPROVED);
  EXPECT_EQ(r.state_reason(), "");
  EXPECT_EQ(EffectiveState(r, kToday), v1::ACTIVE);

  auto revoke = ValidStep(v1::REVOKE);
  revoke.set_reason("Fin du partenariat");
  ApplyStep(revoke, "agent-holder", Now(), r);
  EXPECT_EQ(r.state(), v1::REVOKED);
  EXPECT_EQ(r.state_reason(), "Fin du partenariat");
  EXPECT_EQ(EffectiveState(r, kToday), v1::REVOKED);
}

// The whole workflow, every step checked then applied, by its actor.
TEST(ApplyStepTest, FromDraftToActive) {
  auto r = InState(v1::DRAFT);
  auto take = [&](const v1::TakeStepRequest& s, Actor a) {
    SCOPED_TRACE(v1::Step_Name(s.step()));
    ASSERT_NO_THROW(Check(s, a, r));
    ApplyStep(s, PrincipalOf(a).subject, Now(), r);
  };
  take(ValidStep(v1::SUBMIT), Actor::kRequesterAgent);
  take(ValidStep(v1::RECORD_STUDY), Actor::kHolderAgent);
  auto opinion = ValidStep(v1::GIVE_OPINION);
  opinion.mutable_opinion()->set_verdict(v1::FAVOURABLE_WITH_RECOMMENDATIONS);
  opinion.mutable_opinion()->add_recommendations()->set_text("Chiffrer");
  opinion.mutable_opinion()->add_recommendations()->set_text("Purger");
  take(opinion, Actor::kHolderDpo);
  take(ValidStep(v1::DECIDE), Actor::kHolderAgent);
  for (int n : {1, 2}) {
    EXPECT_EQ(EffectiveState(r, kToday), v1::APPROVED);
    auto mark = ValidStep(v1::MARK_IMPLEMENTED);
    mark.set_recommendation(n);
    take(mark, Actor::kRequesterAgent);
    auto ack = ValidStep(v1::ACKNOWLEDGE);
    ack.set_recommendation(n);
    take(ack, Actor::kHolderDpo);
  }
  EXPECT_EQ(EffectiveState(r, kToday), v1::ACTIVE);
  EXPECT_EQ(r.study().author(), "agent-holder");
  EXPECT_EQ(r.opinion().dpo(), "dpo-holder");
  EXPECT_EQ(r.decision().decided_by(), "agent-holder");
}

// ============================== ApplyChange ==============================

TEST(ApplyChangeTest, BeforeTheStudyTheStateStays) {
  for (auto state : {v1::DRAFT, v1::SUBMITTED}) {
    SCOPED_TRACE(v1::ExchangeState_Name(state));
    auto r = InState(state);
    r.set_version(3);
    ApplyChange(r);
    EXPECT_EQ(r.state(), state);
    EXPECT_EQ(r.version(), 4);
  }
}

TEST(ApplyChangeTest, AfterTheStudyTheHolderStudiesTheRequestAgain) {
  auto r = InState(v1::STUDIED);
  r.set_version(3);
  ApplyChange(r);
  EXPECT_EQ(r.state(), v1::SUBMITTED);
  EXPECT_FALSE(r.has_study());
  EXPECT_EQ(r.version(), 4);
}

// Separation of duties within the holder: one person holding both roles does not study, give
// the opinion and decide alone.
TEST(CheckStepTest, TheOpinionIsNotByTheStudysAuthorNorTheDecisionByTheOpinionsDpo) {
  auto studied = InState(v1::STUDIED);
  studied.mutable_study()->set_author("same-person");
  Principal both{"same-person", studied.holder(), {Role::kDpo, Role::kCafAgent}};
  EXPECT_THROW(CheckStep(ValidStep(v1::GIVE_OPINION), PartiesOf(both, studied), studied, kToday),
               PermissionDeniedError);
  auto opinion = InState(v1::OPINION_GIVEN, {Rec::kPending});
  opinion.mutable_opinion()->set_dpo("same-person");
  EXPECT_THROW(CheckStep(ValidStep(v1::DECIDE), PartiesOf(both, opinion), opinion, kToday),
               PermissionDeniedError);
  Principal other{"someone-else", opinion.holder(), {Role::kCafAgent}};
  EXPECT_NO_THROW(CheckStep(ValidStep(v1::DECIDE), PartiesOf(other, opinion), opinion, kToday));
}

TEST(ApplyChangeTest, AfterTheOpinionTheRequestGoesBackToTheDpo) {
  auto r = InState(v1::OPINION_GIVEN, {Rec::kPending});
  r.set_version(3);
  ApplyChange(r);
  EXPECT_EQ(r.state(), v1::STUDIED);
  EXPECT_FALSE(r.has_opinion());
  EXPECT_EQ(r.version(), 4);
  EXPECT_EQ(r.study().compliance(), "Conforme");  // the study stays
  // The DPO can give a new opinion.
  EXPECT_NO_THROW(Check(ValidStep(v1::GIVE_OPINION), Actor::kHolderDpo, r));
}

TEST(ApplyChangeTest, ADecidedRequestDoesNotChange) {
  for (auto state : {v1::APPROVED, v1::REJECTED, v1::SUSPENDED, v1::REVOKED}) {
    SCOPED_TRACE(v1::ExchangeState_Name(state));
    auto r = InState(state);
    r.set_version(3);
    EXPECT_THROW(ApplyChange(r), FailedPreconditionError);
    EXPECT_EQ(r.version(), 3);
    EXPECT_EQ(r.state(), state);
  }
}

// ============================== PendingSteps ==============================

using Pending = std::vector<std::pair<v1::Step, int>>;

// Checks that exactly the actors of `expected` see their steps, and every other actor nothing.
void ExpectPending(const v1::ExchangeRequest& r, const std::map<Actor, Pending>& expected,
                   const CivilDate& today = kToday) {
  for (Actor a : AllActors()) {
    SCOPED_TRACE(ActorName(a));
    const auto got = PendingSteps(r, PartiesFor(a, r), today);
    const auto it = expected.find(a);
    if (it == expected.end()) {
      EXPECT_THAT(got, IsEmpty());
    } else {
      EXPECT_EQ(got, it->second);
    }
  }
}

TEST(PendingStepsTest, TheRequesterSubmitsItsDraft) {
  ExpectPending(InState(v1::DRAFT), {{Actor::kRequesterAgent, {{v1::SUBMIT, 0}}}});
}

TEST(PendingStepsTest, TheHolderStudiesASubmittedRequest) {
  ExpectPending(InState(v1::SUBMITTED), {{Actor::kHolderAgent, {{v1::RECORD_STUDY, 0}}}});
}

TEST(PendingStepsTest, TheHoldersDpoGivesItsOpinionOnAStudiedRequest) {
  ExpectPending(InState(v1::STUDIED), {{Actor::kHolderDpo, {{v1::GIVE_OPINION, 0}}}});
}

TEST(PendingStepsTest, TheHolderDecidesAfterTheOpinion) {
  ExpectPending(InState(v1::OPINION_GIVEN, {Rec::kPending}),
                {{Actor::kHolderAgent, {{v1::DECIDE, 0}}}});
  Parties both;
  both.requester_agent = true;
  both.holder_agent = true;
  EXPECT_THAT(PendingSteps(InState(v1::OPINION_GIVEN), both, kToday), IsEmpty());
}

TEST(PendingStepsTest, RecommendationsOnceApproved) {
  const auto r = InState(v1::APPROVED, {Rec::kPending, Rec::kImplemented, Rec::kDone, Rec::kPending,
                                        Rec::kImplemented});
  ASSERT_EQ(EffectiveState(r, kToday), v1::APPROVED);
  ExpectPending(r,
                {{Actor::kRequesterAgent, {{v1::MARK_IMPLEMENTED, 1}, {v1::MARK_IMPLEMENTED, 4}}},
                 {Actor::kHolderDpo, {{v1::ACKNOWLEDGE, 2}, {v1::ACKNOWLEDGE, 5}}}});
}

TEST(PendingStepsTest, RecommendationsBeforeTheStartDate) {
  const auto r = InState(v1::APPROVED, {Rec::kPending, Rec::kImplemented});
  ExpectPending(r,
                {{Actor::kRequesterAgent, {{v1::MARK_IMPLEMENTED, 1}}},
                 {Actor::kHolderDpo, {{v1::ACKNOWLEDGE, 2}}}},
                CivilDate{2024, 12, 1});
}

TEST(PendingStepsTest, NothingWaitsOnAnActiveConsent) {
  const auto r = InState(v1::APPROVED, {Rec::kDone, Rec::kDone});
  ASSERT_EQ(EffectiveState(r, kToday), v1::ACTIVE);
  ExpectPending(r, {});
}

// A suspension does not stop the recommendations' follow-up: it is often why it was suspended.
TEST(PendingStepsTest, ASuspendedConsentStillWaitsOnItsRecommendations) {
  ExpectPending(InState(v1::SUSPENDED, {Rec::kPending, Rec::kImplemented}),
                {{Actor::kRequesterAgent, {{v1::MARK_IMPLEMENTED, 1}}},
                 {Actor::kHolderDpo, {{v1::ACKNOWLEDGE, 2}}}});
}

TEST(PendingStepsTest, NothingWaitsAfterTheEnd) {
  for (const auto& r :
       {InState(v1::REJECTED), InState(v1::REVOKED, {Rec::kPending, Rec::kImplemented}),
        Expired(InState(v1::APPROVED, {Rec::kPending, Rec::kImplemented}))}) {
    SCOPED_TRACE(v1::ExchangeState_Name(EffectiveState(r, kToday)));
    ExpectPending(r, {});
  }
}

// ============================== WhyNotAllowed ==============================

TEST(WhyNotAllowedTest, AnActiveConsentAllowsItsPurposeAndCategories) {
  const auto c = InState(v1::APPROVED, {Rec::kDone});
  EXPECT_EQ(WhyNotAllowed(c, {v1::IDENTITY, v1::CHILDCARE}, kPurpose, kToday), "");
  EXPECT_EQ(WhyNotAllowed(c, {v1::FAMILY_SITUATION}, kPurpose, kStart), "");
  EXPECT_EQ(WhyNotAllowed(c, {v1::IDENTITY, v1::FAMILY_SITUATION, v1::CHILDCARE}, kPurpose, kEnd),
            "");
}

TEST(WhyNotAllowedTest, NotWhileARecommendationIsPending) {
  const auto c = InState(v1::APPROVED, {Rec::kImplemented});
  const auto why = WhyNotAllowed(c, {v1::IDENTITY}, kPurpose, kToday);
  EXPECT_THAT(why, Not(IsEmpty()));
  EXPECT_THAT(why, HasSubstr("APPROVED"));
}

TEST(WhyNotAllowedTest, NotOutsideItsDates) {
  const auto c = InState(v1::APPROVED);
  const auto why = WhyNotAllowed(c, {v1::IDENTITY}, kPurpose, CivilDate{2026, 1, 1});
  EXPECT_THAT(why, HasSubstr("EXPIRED"));
  EXPECT_THAT(why, HasSubstr(kName));
  EXPECT_THAT(WhyNotAllowed(c, {v1::IDENTITY}, kPurpose, CivilDate{2024, 12, 31}), Not(IsEmpty()));
}

TEST(WhyNotAllowedTest, NotWhenSuspendedOrRevoked) {
  for (auto state : {v1::SUSPENDED, v1::REVOKED, v1::REJECTED}) {
    EXPECT_THAT(WhyNotAllowed(InState(state), {v1::IDENTITY}, kPurpose, kToday),
                HasSubstr(v1::ExchangeState_Name(state)));
  }
}

TEST(WhyNotAllowedTest, NotForAnotherPurpose) {
  const auto c = InState(v1::APPROVED);
  EXPECT_THAT(WhyNotAllowed(c, {v1::IDENTITY}, "Contrôle des ressources", kToday),
              HasSubstr("finalité"));
}

TEST(WhyNotAllowedTest, NotForACategoryTheConsentDoesNotCover) {
  const auto c = InState(v1::APPROVED);
  const auto why = WhyNotAllowed(c, {v1::IDENTITY, v1::HEALTH}, kPurpose, kToday);
  EXPECT_THAT(why, HasSubstr("HEALTH"));
  EXPECT_THAT(why, Not(HasSubstr("IDENTITY")));
}

}  // namespace
}  // namespace ctg::consents
