// Conventions and their life (signatures, amendments, termination) and the import of the Val de
// Garonne convention, through a real gRPC channel on a real PostgreSQL.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "common/api.h"
#include "common/testing/test_database.h"
#include "common/testing/test_host.h"
#include "partners/convention_import.h"
#include "partners/service.h"
#include "partners/tests/partners_fixture.h"

#ifndef CTG_SOURCE_DIR
#define CTG_SOURCE_DIR "."
#endif
#ifndef CTG_SHARED_DIR
#define CTG_SHARED_DIR "../shared"
#endif

namespace ctg::partners {
namespace {

using ::ctg::testing::AuthedContext;
using ::ctg::testing::TestToken;
using ::ctg::testing::ViolatedFields;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr char kUnknownOrganisation[] = "organisations/00000000-0000-4000-8000-000000000000";
constexpr char kUnknownRepresentative[] = "representatives/00000000-0000-4000-8000-000000000000";
constexpr char kUnknownConvention[] = "conventions/00000000-0000-4000-8000-000000000000";

std::string Dir(const char* env, const char* fallback) {
  const char* value = std::getenv(env);
  return value != nullptr && *value != '\0' ? value : fallback;
}

class ConventionsTest : public PartnersServiceTest {
 protected:
  // An administrator of the conventions of most tests: an agent of their Caf party (before the
  // Caf exists, the registry's administrator).
  std::string Admin() const {
    return caf_.name().empty() ? Registry() : TestToken({Role::kCafAgent}, caf_.name(), "caf");
  }
  using PartnersServiceTest::AgentOf;
  static std::string AgentOf(const v1::Organisation& o) {
    return TestToken({Role::kCollectivityAgent}, o.name(), "agent");
  }

  v1::Organisation Org(v1::OrganisationKind kind, const std::string& name,
                       const std::string& insee = "") {
    v1::CreateOrganisationRequest req;
    req.mutable_organisation()->set_kind(kind);
    req.mutable_organisation()->set_display_name(name);
    req.mutable_organisation()->set_insee_code(insee);
    v1::Organisation out;
    EXPECT_TRUE(stub_->CreateOrganisation(AuthedContext(Registry()).get(), req, &out).ok());
    return out;
  }
  v1::Representative Rep(const v1::Organisation& o, const std::string& person,
                         const std::string& title) {
    v1::CreateRepresentativeRequest req;
    req.mutable_representative()->set_organisation(o.name());
    req.mutable_representative()->set_person_name(person);
    req.mutable_representative()->set_title(title);
    v1::Representative out;
    EXPECT_TRUE(stub_->CreateRepresentative(AuthedContext(Registry()).get(), req, &out).ok());
    return out;
  }

  // The parties of most tests: VGA, Marmande, Tonneins and the Caf with two designated signers.
  void MakeParties() {
    vga_ = Org(v1::EPCI, "Val de Garonne Agglomération");
    marmande_ = Org(v1::COMMUNE, "Marmande", "47157");
    tonneins_ = Org(v1::COMMUNE, "Tonneins", "47310");
    caf_ = Org(v1::CAF, "Caf de Lot-et-Garonne");
    president_ = Rep(vga_, "Jacques Bilirit", "président");
    maire_ = Rep(marmande_, "Joël Hocquelet", "maire");
    tonneins_maire_ = Rep(tonneins_, "Dante Rinaudo", "maire");
    presidente_ = Rep(caf_, "Béatrice Lavit", "présidente du conseil d'administration");
    directrice_ = Rep(caf_, "Virginie Monti", "directrice");
    agent_caf_ = Rep(caf_, "Agent Caf", "chargée de mission");
  }

  v1::Convention Draft() {
    v1::Convention c;
    c.set_title("CTG Val de Garonne");
    c.set_territory(vga_.name());
    *c.mutable_start_date() = Days(-365);
    *c.mutable_end_date() = Days(3 * 365);
    c.add_parties()->set_organisation(vga_.name());
    c.add_parties()->set_organisation(marmande_.name());
    c.add_parties()->set_organisation(tonneins_.name());
    auto* caf = c.add_parties();
    caf->set_organisation(caf_.name());
    caf->add_signers(presidente_.name());
    caf->add_signers(directrice_.name());
    return c;
  }

  grpc::Status Create(const v1::Convention& c, v1::Convention* out, std::string token = "",
                      const std::string& request_id = "") {
    if (token.empty()) token = Admin();
    v1::CreateConventionRequest req;
    *req.mutable_convention() = c;
    req.set_request_id(request_id);
    return stub_->CreateConvention(AuthedContext(token).get(), req, out);
  }
  v1::Convention Get(const std::string& name) {
    v1::GetConventionRequest req;
    req.set_name(name);
    v1::Convention out;
    EXPECT_TRUE(stub_->GetConvention(AuthedContext(Admin()).get(), req, &out).ok());
    return out;
  }
  grpc::Status Sign(const std::string& convention, const v1::Representative& rep,
                    v1::Convention* out, std::string token = "",
                    const google::type::Date& on = Days(-30), const std::string& etag = "") {
    if (token.empty()) token = Admin();
    v1::SignConventionRequest req;
    req.set_name(convention);
    req.set_representative(rep.name());
    *req.mutable_signed_on() = on;
    req.set_etag(etag);
    return stub_->SignConvention(AuthedContext(token).get(), req, out);
  }
  // A convention signed by every party (IN_FORCE: its period surrounds today).
  v1::Convention SignedConvention() {
    v1::Convention c;
    EXPECT_TRUE(Create(Draft(), &c).ok());
    for (const auto* rep : {&president_, &maire_, &tonneins_maire_, &presidente_, &directrice_}) {
      EXPECT_TRUE(Sign(c.name(), *rep, &c).ok());
    }
    EXPECT_EQ(c.state(), v1::IN_FORCE);
    return c;
  }
  grpc::Status Amend(const std::string& convention, std::vector<std::string> changes,
                     v1::Convention* out, std::string token = "", const std::string& etag = "") {
    if (token.empty()) token = Admin();
    v1::AddAmendmentRequest req;
    req.set_name(convention);
    *req.mutable_signed_on() = Days(0);
    for (auto& ch : changes) req.add_changes(ch);
    req.set_etag(etag);
    return stub_->AddAmendment(AuthedContext(token).get(), req, out);
  }
  grpc::Status Terminate(const std::string& convention, const v1::Termination& t,
                         v1::Convention* out, std::string token = "",
                         const std::string& etag = "") {
    if (token.empty()) token = Admin();
    v1::TerminateConventionRequest req;
    req.set_name(convention);
    *req.mutable_termination() = t;
    req.set_etag(etag);
    return stub_->TerminateConvention(AuthedContext(token).get(), req, out);
  }

  std::vector<v1::Convention> ListAll(const std::string& territory = "") {
    v1::ListConventionsRequest req;
    req.set_page_size(500);
    req.set_territory(territory);
    v1::ListConventionsResponse resp;
    EXPECT_TRUE(stub_->ListConventions(AuthedContext(Admin()).get(), req, &resp).ok());
    return {resp.conventions().begin(), resp.conventions().end()};
  }
  std::vector<v1::Organisation> Organisations(
      v1::OrganisationKind kind = v1::ORGANISATION_KIND_UNSPECIFIED) {
    v1::ListOrganisationsRequest req;
    req.set_page_size(500);
    req.set_kind(kind);
    v1::ListOrganisationsResponse resp;
    EXPECT_TRUE(stub_->ListOrganisations(AuthedContext(Admin()).get(), req, &resp).ok());
    return {resp.organisations().begin(), resp.organisations().end()};
  }
  std::vector<v1::Representative> Representatives(const std::string& organisation = "") {
    v1::ListRepresentativesRequest req;
    req.set_page_size(500);
    req.set_organisation(organisation);
    v1::ListRepresentativesResponse resp;
    EXPECT_TRUE(stub_->ListRepresentatives(AuthedContext(Admin()).get(), req, &resp).ok());
    return {resp.representatives().begin(), resp.representatives().end()};
  }

  v1::Organisation vga_, marmande_, tonneins_, caf_;
  v1::Representative president_, maire_, tonneins_maire_, presidente_, directrice_, agent_caf_;
};

TEST_F(ConventionsTest, CreateGetListAndUpdateADraft) {
  MakeParties();
  v1::Convention created;
  ASSERT_TRUE(Create(Draft(), &created).ok());
  EXPECT_THAT(created.name(), ::testing::StartsWith("conventions/"));
  EXPECT_EQ(created.state(), v1::DRAFT);
  ASSERT_EQ(created.parties_size(), 4);
  EXPECT_EQ(created.parties(1).organisation(), marmande_.name());
  EXPECT_THAT(created.parties(3).signers(), ElementsAre(presidente_.name(), directrice_.name()));
  EXPECT_FALSE(created.etag().empty());

  const auto fetched = Get(created.name());
  EXPECT_EQ(fetched.title(), "CTG Val de Garonne");
  EXPECT_EQ(fetched.start_date().year(), Days(-365).year());

  v1::UpdateConventionRequest update;
  update.mutable_convention()->set_name(created.name());
  update.mutable_convention()->set_title("CTG VGA 2025-2029");
  update.mutable_convention()->set_etag(created.etag());
  update.mutable_update_mask()->add_paths("title");
  v1::Convention updated;
  ASSERT_TRUE(stub_->UpdateConvention(AuthedContext(Admin()).get(), update, &updated).ok());
  EXPECT_EQ(updated.title(), "CTG VGA 2025-2029");
  EXPECT_EQ(updated.parties_size(), 4);
  EXPECT_NE(updated.etag(), created.etag());

  // The old etag is stale: ABORTED and nothing changes.
  update.mutable_convention()->set_title("Autre");
  v1::Convention ignored;
  EXPECT_EQ(stub_->UpdateConvention(AuthedContext(Admin()).get(), update, &ignored).error_code(),
            grpc::StatusCode::ABORTED);
  EXPECT_EQ(Get(created.name()).title(), "CTG VGA 2025-2029");

  // Replace the parties: drop Tonneins.
  update.Clear();
  update.mutable_convention()->set_name(created.name());
  *update.mutable_convention()->mutable_parties() = Draft().parties();
  update.mutable_convention()->mutable_parties()->DeleteSubrange(2, 1);
  update.mutable_update_mask()->add_paths("parties");
  ASSERT_TRUE(stub_->UpdateConvention(AuthedContext(Admin()).get(), update, &updated).ok());
  EXPECT_EQ(updated.parties_size(), 3);
  EXPECT_EQ(updated.parties(2).signers_size(), 2);
}

TEST_F(ConventionsTest, ListFiltersByTerritoryAndPaginates) {
  MakeParties();
  v1::Convention c;
  for (int i = 0; i < 3; ++i) {
    auto d = Draft();
    d.set_title("CTG " + std::to_string(i));
    ASSERT_TRUE(Create(d, &c).ok());
  }
  auto other = Draft();
  other.set_title("CTG Marmande");
  other.set_territory(marmande_.name());
  ASSERT_TRUE(Create(other, &c).ok());

  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    v1::ListConventionsRequest req;
    req.set_territory(vga_.name());
    req.set_page_size(2);
    req.set_page_token(token);
    v1::ListConventionsResponse resp;
    ASSERT_TRUE(stub_->ListConventions(AuthedContext(Admin()).get(), req, &resp).ok());
    for (const auto& conv : resp.conventions()) {
      seen.push_back(conv.title());
      EXPECT_EQ(conv.state(), v1::DRAFT);
    }
    token = resp.next_page_token();
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(pages, 2);
  EXPECT_THAT(seen, ElementsAre("CTG 0", "CTG 1", "CTG 2"));
  EXPECT_EQ(ListAll().size(), 4u);

  v1::ListConventionsRequest bad;
  bad.set_page_token("x");
  bad.set_territory("conventions/1");
  v1::ListConventionsResponse resp;
  auto status = stub_->ListConventions(AuthedContext(Admin()).get(), bad, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status), UnorderedElementsAre("page_token", "territory"));
}

TEST_F(ConventionsTest, BadCreateNamesEveryFieldAndWritesNothing) {
  MakeParties();
  auto c = Draft();
  c.set_title("");
  *c.mutable_end_date() = Days(-400);
  c.add_parties()->set_organisation(marmande_.name());
  c.mutable_parties(0)->add_signers("representatives/bad");
  v1::Convention out;
  auto status = Create(c, &out, Admin(), "not-a-uuid");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status),
              UnorderedElementsAre("convention.title", "convention.end_date",
                                   "convention.parties[4].organisation",
                                   "convention.parties[0].signers[0]", "request_id"));

  v1::Convention empty;
  status = Create(empty, &out);
  EXPECT_THAT(
      ViolatedFields(status),
      UnorderedElementsAre("convention.title", "convention.territory", "convention.start_date",
                           "convention.end_date", "convention.parties"));

  auto outside = Draft();
  outside.set_territory(caf_.name());
  outside.mutable_parties()->DeleteSubrange(3, 1);
  EXPECT_THAT(ViolatedFields(Create(outside, &out)), ElementsAre("convention.territory"));

  // A designated signer must represent its party.
  auto wrong_signer = Draft();
  wrong_signer.mutable_parties(1)->add_signers(agent_caf_.name());
  status = Create(wrong_signer, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("convention.parties[1].signers[0]"));

  auto unknown = Draft();
  unknown.add_parties()->set_organisation(kUnknownOrganisation);
  EXPECT_EQ(Create(unknown, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  auto unknown_signer = Draft();
  unknown_signer.mutable_parties(1)->add_signers(kUnknownRepresentative);
  EXPECT_EQ(Create(unknown_signer, &out).error_code(), grpc::StatusCode::NOT_FOUND);

  EXPECT_EQ(Create(Draft(), &out, AgentOf(marmande_)).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(ListAll(), IsEmpty());
}

TEST_F(ConventionsTest, RequestIdMakesCreateIdempotent) {
  MakeParties();
  const std::string request_id = "7a1c8f5e-1f7a-4b35-9d0e-0c4a2f1b9e12";
  v1::Convention first, second;
  ASSERT_TRUE(Create(Draft(), &first, Admin(), request_id).ok());
  ASSERT_TRUE(Create(Draft(), &second, Admin(), request_id).ok());
  EXPECT_EQ(first.name(), second.name());
  EXPECT_EQ(ListAll().size(), 1u);
}

TEST_F(ConventionsTest, GetUnknownAndMalformedNames) {
  v1::GetConventionRequest req;
  v1::Convention out;
  req.set_name(kUnknownConvention);
  EXPECT_EQ(stub_->GetConvention(AuthedContext(Admin()).get(), req, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  req.set_name("organisations/00000000-0000-4000-8000-000000000000");
  auto status = stub_->GetConvention(AuthedContext(Admin()).get(), req, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("name"));
  EXPECT_EQ(stub_->GetConvention(AuthedContext("").get(), req, &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(ConventionsTest, SignaturesUntilEveryPartyHasSigned) {
  MakeParties();
  v1::Convention c;
  ASSERT_TRUE(Create(Draft(), &c).ok());
  const std::string name = c.name();
  auto signatures = [&] { return Get(name).signatures_size(); };

  // An agent of Marmande signs for Marmande, not for Tonneins.
  v1::Convention out;
  EXPECT_EQ(Sign(name, tonneins_maire_, &out, AgentOf(marmande_)).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Sign(name, maire_, &c, AgentOf(marmande_)).ok());
  EXPECT_EQ(c.state(), v1::DRAFT);
  ASSERT_EQ(c.signatures_size(), 1);
  EXPECT_EQ(c.signatures(0).organisation(), marmande_.name());
  EXPECT_EQ(c.signatures(0).representative(), maire_.name());

  // The same representative does not sign twice.
  EXPECT_EQ(Sign(name, maire_, &out).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  // Only the Caf's designated signers sign for it.
  EXPECT_EQ(Sign(name, agent_caf_, &out).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  // A representative of an organisation that is not a party.
  auto departement = Org(v1::DEPARTEMENT, "Conseil départemental de Lot-et-Garonne");
  auto presidente_cd = Rep(departement, "Sophie Borderie", "présidente");
  EXPECT_EQ(Sign(name, presidente_cd, &out).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  // Unknown representative.
  v1::Representative ghost;
  ghost.set_name(kUnknownRepresentative);
  EXPECT_EQ(Sign(name, ghost, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Sign(kUnknownConvention, president_, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  // signed_on: required, not in the future; names checked.
  auto status = Sign(name, president_, &out, Admin(), Days(1));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("signed_on"));
  v1::SignConventionRequest bad;
  bad.set_name("conventions/x");
  status = stub_->SignConvention(AuthedContext(Admin()).get(), bad, &out);
  EXPECT_THAT(ViolatedFields(status), UnorderedElementsAre("name", "representative", "signed_on"));
  // Stale etag.
  EXPECT_EQ(Sign(name, president_, &out, Admin(), Days(-30), "\"1\"").error_code(),
            grpc::StatusCode::ABORTED);
  EXPECT_EQ(signatures(), 1);

  ASSERT_TRUE(Sign(name, president_, &c, Admin(), Days(-30), c.etag()).ok());
  ASSERT_TRUE(Sign(name, tonneins_maire_, &c, AgentOf(tonneins_)).ok());
  ASSERT_TRUE(Sign(name, presidente_, &c, TestToken({Role::kCafAgent}, caf_.name())).ok());
  EXPECT_EQ(c.state(), v1::DRAFT);  // the directrice has not signed yet
  ASSERT_TRUE(Sign(name, directrice_, &c).ok());
  EXPECT_EQ(c.state(), v1::IN_FORCE);
  EXPECT_EQ(c.signatures_size(), 5);

  // Signed: no more signatures, no more updates.
  auto rep2 = Rep(marmande_, "Adjoint", "1er adjoint");
  EXPECT_EQ(Sign(name, rep2, &out).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  v1::UpdateConventionRequest update;
  update.mutable_convention()->set_name(name);
  update.mutable_convention()->set_title("Changed");
  EXPECT_EQ(stub_->UpdateConvention(AuthedContext(Admin()).get(), update, &out).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Get(name).title(), "CTG Val de Garonne");
  EXPECT_EQ(signatures(), 5);
}

TEST_F(ConventionsTest, PeriodDecidesSignedInForceAndExpired) {
  MakeParties();
  auto future = Draft();
  *future.mutable_start_date() = Days(10);
  auto past = Draft();
  past.set_title("Ancienne CTG");
  *past.mutable_start_date() = Days(-2000);
  *past.mutable_end_date() = Days(-1);
  for (auto* draft : {&future, &past}) {
    v1::Convention c;
    ASSERT_TRUE(Create(*draft, &c).ok());
    for (const auto* rep : {&president_, &maire_, &tonneins_maire_, &presidente_, &directrice_}) {
      ASSERT_TRUE(Sign(c.name(), *rep, &c).ok());
    }
    EXPECT_EQ(c.state(), draft == &future ? v1::SIGNED : v1::EXPIRED);
    v1::Convention out;
    if (draft == &future) {
      EXPECT_TRUE(Amend(c.name(), {"Annexe 2 mise à jour"}, &out).ok());
    } else {
      EXPECT_EQ(Amend(c.name(), {"Trop tard"}, &out).error_code(),
                grpc::StatusCode::FAILED_PRECONDITION);
      v1::Termination t;
      t.set_ground(v1::MODIFICATION_WITHOUT_AMENDMENT);
      t.set_initiated_by(caf_.name());
      *t.mutable_effective_date() = Days(-10);
      EXPECT_EQ(Terminate(c.name(), t, &out).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
      EXPECT_EQ(Get(c.name()).amendments_size(), 0);
      EXPECT_FALSE(Get(c.name()).has_termination());
    }
  }
}

TEST_F(ConventionsTest, AmendmentsAreNumberedOnSignedConventionsOnly) {
  MakeParties();
  v1::Convention draft, out;
  ASSERT_TRUE(Create(Draft(), &draft).ok());
  EXPECT_EQ(Amend(draft.name(), {"Avenant prématuré"}, &out).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  auto c = SignedConvention();
  ASSERT_TRUE(Amend(c.name(), {"Article 6 : action 12 modifiée", "Annexe 3 mise à jour"}, &c).ok());
  ASSERT_TRUE(Amend(c.name(), {"Annexe 2 : nouvel EAJE à Tonneins"}, &c, Admin(), c.etag()).ok());
  ASSERT_EQ(c.amendments_size(), 2);
  EXPECT_EQ(c.amendments(0).number(), 1);
  EXPECT_THAT(c.amendments(0).changes(),
              ElementsAre("Article 6 : action 12 modifiée", "Annexe 3 mise à jour"));
  EXPECT_EQ(c.amendments(1).number(), 2);
  EXPECT_EQ(c.amendments(1).signed_on().year(), Days(0).year());
  EXPECT_EQ(c.state(), v1::IN_FORCE);

  auto status = Amend(c.name(), {}, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("changes"));
  status = Amend(c.name(), {"ok", "", std::string(2001, 'x')}, &out);
  EXPECT_THAT(ViolatedFields(status), UnorderedElementsAre("changes[1]", "changes[2]"));
  v1::AddAmendmentRequest no_date;
  no_date.set_name(c.name());
  no_date.add_changes("x");
  EXPECT_THAT(ViolatedFields(stub_->AddAmendment(AuthedContext(Admin()).get(), no_date, &out)),
              ElementsAre("signed_on"));
  EXPECT_EQ(Amend(c.name(), {"x"}, &out, Admin(), "\"1\"").error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(Amend(c.name(), {"x"}, &out, AgentOf(marmande_)).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Amend(kUnknownConvention, {"x"}, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Get(c.name()).amendments_size(), 2);
}

TEST_F(ConventionsTest, TerminationFollowsArticle14) {
  MakeParties();
  v1::Convention draft, out;
  ASSERT_TRUE(Create(Draft(), &draft).ok());
  v1::Termination t;
  t.set_ground(v1::MUTUAL_CONSENT);
  t.set_initiated_by(marmande_.name());
  *t.mutable_notice_date() = Days(0);
  *t.mutable_effective_date() = kToday.AddMonths(6).ToProto();
  t.set_reason("Dénonciation par la commune");
  EXPECT_EQ(Terminate(draft.name(), t, &out).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  auto c = SignedConvention();
  // Six months' notice, one day short.
  auto short_notice = t;
  *short_notice.mutable_effective_date() =
      CivilDate::FromDays(kToday.AddMonths(6).ToDays() - 1).ToProto();
  auto status = Terminate(c.name(), short_notice, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("termination.effective_date"));
  // Without notice: only the Caf.
  v1::Termination without;
  without.set_ground(v1::MODIFICATION_WITHOUT_AMENDMENT);
  without.set_initiated_by(marmande_.name());
  *without.mutable_effective_date() = Days(0);
  EXPECT_THAT(ViolatedFields(Terminate(c.name(), without, &out)),
              ElementsAre("termination.initiated_by"));
  // Not a party.
  auto departement = Org(v1::DEPARTEMENT, "Conseil départemental de Lot-et-Garonne");
  auto outsider = t;
  outsider.set_initiated_by(departement.name());
  EXPECT_THAT(ViolatedFields(Terminate(c.name(), outsider, &out)),
              ElementsAre("termination.initiated_by"));
  // Missing fields.
  v1::Termination empty;
  empty.set_initiated_by(marmande_.name());
  EXPECT_THAT(ViolatedFields(Terminate(c.name(), empty, &out)),
              UnorderedElementsAre("termination.ground", "termination.effective_date"));
  v1::TerminateConventionRequest no_termination;
  no_termination.set_name(c.name());
  EXPECT_THAT(ViolatedFields(
                  stub_->TerminateConvention(AuthedContext(Admin()).get(), no_termination, &out)),
              ElementsAre("termination"));
  // Tonneins' agent cannot terminate in Marmande's name.
  EXPECT_EQ(Terminate(c.name(), t, &out, AgentOf(tonneins_)).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Terminate(c.name(), t, &out, Admin(), "\"1\"").error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(Terminate(kUnknownConvention, t, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_FALSE(Get(c.name()).has_termination());

  // Marmande's agent denounces with exactly six months' notice: recorded, still in force.
  ASSERT_TRUE(Terminate(c.name(), t, &c, AgentOf(marmande_)).ok());
  EXPECT_EQ(c.state(), v1::IN_FORCE);
  EXPECT_EQ(c.termination().ground(), v1::MUTUAL_CONSENT);
  EXPECT_EQ(c.termination().initiated_by(), marmande_.name());
  EXPECT_EQ(c.termination().reason(), "Dénonciation par la commune");
  EXPECT_EQ(Terminate(c.name(), t, &out).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  // The Caf terminates another convention at once for a modification without amendment.
  v1::Convention other;
  auto d = Draft();
  d.set_title("Autre CTG");
  ASSERT_TRUE(Create(d, &other).ok());
  for (const auto* rep : {&president_, &maire_, &tonneins_maire_, &presidente_, &directrice_}) {
    ASSERT_TRUE(Sign(other.name(), *rep, &other).ok());
  }
  without.set_initiated_by(caf_.name());
  ASSERT_TRUE(
      Terminate(other.name(), without, &other, TestToken({Role::kCafAgent}, caf_.name())).ok());
  EXPECT_EQ(other.state(), v1::TERMINATED);
  EXPECT_EQ(Amend(other.name(), {"x"}, &out).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Terminate(other.name(), without, &out).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ListAll()[2].state(), v1::TERMINATED);
}

TEST_F(ConventionsTest, UpdateRejectsBadMasksValuesAndSignedPartyRemoval) {
  MakeParties();
  v1::Convention c, out;
  ASSERT_TRUE(Create(Draft(), &c).ok());
  v1::UpdateConventionRequest update;
  update.mutable_convention()->set_name(c.name());
  update.mutable_update_mask()->add_paths("signatures");
  auto status = stub_->UpdateConvention(AuthedContext(Admin()).get(), update, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("update_mask"));

  update.mutable_update_mask()->Clear();
  update.mutable_update_mask()->add_paths("end_date");
  update.mutable_update_mask()->add_paths("title");
  *update.mutable_convention()->mutable_end_date() = Days(-400);
  status = stub_->UpdateConvention(AuthedContext(Admin()).get(), update, &out);
  EXPECT_THAT(ViolatedFields(status),
              UnorderedElementsAre("convention.end_date", "convention.title"));

  EXPECT_EQ(
      stub_->UpdateConvention(AuthedContext(AgentOf(marmande_)).get(), update, &out).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  update.mutable_convention()->set_name(kUnknownConvention);
  EXPECT_EQ(stub_->UpdateConvention(AuthedContext(Admin()).get(), update, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Marmande signed: it cannot be removed from the parties of the draft.
  ASSERT_TRUE(Sign(c.name(), maire_, &c).ok());
  update.Clear();
  update.mutable_convention()->set_name(c.name());
  *update.mutable_convention()->mutable_parties() = Draft().parties();
  update.mutable_convention()->mutable_parties()->DeleteSubrange(1, 1);
  update.mutable_update_mask()->add_paths("parties");
  EXPECT_EQ(stub_->UpdateConvention(AuthedContext(Admin()).get(), update, &out).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  const auto after = Get(c.name());
  EXPECT_EQ(after.parties_size(), 4);
  EXPECT_EQ(after.etag(), c.etag());
  EXPECT_EQ(after.end_date().year(), Draft().end_date().year());
}

// ---- Import of the Val de Garonne convention ----

v1::ImportConventionRequest VgaRequest() {
  const std::string json_path =
      Dir("CTG_SOURCE_DIR", CTG_SOURCE_DIR) + "/deploy/seed/vga/convention.json";
  std::ifstream json_file(json_path);
  EXPECT_TRUE(json_file.good()) << json_path;
  std::stringstream json;
  json << json_file.rdbuf();
  v1::ImportConventionRequest req;
  auto parsed = google::protobuf::util::JsonStringToMessage(json.str(), &req);
  EXPECT_TRUE(parsed.ok()) << parsed.ToString();
  EXPECT_EQ(req.member_communes_size(), 0);
  const std::string csv_path = Dir("CTG_SHARED_DIR", CTG_SHARED_DIR) + "/data/vga_communes.csv";
  std::ifstream csv(csv_path);
  EXPECT_TRUE(csv.good()) << csv_path;
  for (auto& m : ReadMemberCommunesCsv(csv)) *req.add_member_communes() = std::move(m);
  return req;
}

TEST_F(ConventionsTest, ImportsTheValDeGaronneConventionIdempotently) {
  const auto req = VgaRequest();
  ASSERT_EQ(req.member_communes_size(), 43);
  v1::ImportConventionResponse resp;
  auto status = stub_->ImportConvention(AuthedContext(Admin()).get(), req, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.communes_loaded(), 43);
  EXPECT_EQ(resp.communes_listed_as_parties(), 42);
  EXPECT_EQ(resp.commune_signature_blocks(), 41);

  // Every member commune is loaded, in the EPCI, with its populations.
  const auto communes = Organisations(v1::COMMUNE);
  ASSERT_EQ(communes.size(), 43u);
  const auto epcis = Organisations(v1::EPCI);
  ASSERT_EQ(epcis.size(), 1u);
  EXPECT_EQ(epcis[0].siren(), "200030674");
  std::map<std::string, v1::Organisation> by_name;
  std::map<std::string, std::string> display_of;
  for (const auto& c : communes) {
    EXPECT_EQ(c.parent_epci(), epcis[0].name()) << c.display_name();
    EXPECT_EQ(c.populations_size(), 3) << c.display_name();
    by_name[c.display_name()] = c;
    display_of[c.name()] = c.display_name();
  }
  EXPECT_EQ(by_name["Marmande"].populations(2).vintage(), 2023);
  EXPECT_EQ(by_name["Marmande"].populations(2).totale(), 17833);
  EXPECT_EQ(by_name["Varès"].insee_code(), "47316");
  EXPECT_EQ(Organisations().size(), 43u + 1 + 4);

  // The warnings: exactly the text's known flaws.
  std::vector<std::string> warnings;
  for (const auto& w : resp.warnings()) {
    warnings.push_back(w.code() + " " +
                       (w.organisation().empty() ? "-" : display_of[w.organisation()]));
    EXPECT_FALSE(w.message().empty());
  }
  EXPECT_THAT(warnings,
              ElementsAre("MEMBER_NOT_LISTED_AS_PARTY Varès", "PARTY_WITHOUT_SIGNATURE Villeton",
                          "PARTY_WITHOUT_SIGNATURE Virazeil", "SIGNATURE_WITHOUT_PARTY Varès",
                          "COUNT_MISMATCH -"));
  EXPECT_THAT(resp.warnings(4).message(), ::testing::HasSubstr("43"));
  EXPECT_THAT(resp.warnings(0).message(), ::testing::HasSubstr("Varès"));

  // The convention: a draft between the EPCI, 42 communes and 4 institutions.
  const auto& conv = resp.convention();
  EXPECT_EQ(conv.state(), v1::DRAFT);
  EXPECT_EQ(conv.territory(), epcis[0].name());
  EXPECT_EQ(conv.start_date().year(), 2025);
  EXPECT_EQ(conv.end_date().year(), 2029);
  EXPECT_EQ(conv.signatures_size(), 0);
  ASSERT_EQ(conv.parties_size(), 47);
  EXPECT_EQ(conv.parties(0).organisation(), epcis[0].name());
  std::set<std::string> parties;
  for (const auto& p : conv.parties()) parties.insert(p.organisation());
  EXPECT_FALSE(parties.count(by_name["Varès"].name()));
  EXPECT_TRUE(parties.count(by_name["Villeton"].name()));
  EXPECT_TRUE(parties.count(by_name["Fourques-sur-Garonne"].name()));
  const auto cafs = Organisations(v1::CAF);
  ASSERT_EQ(cafs.size(), 1u);
  const auto& caf_party = conv.parties(43);
  EXPECT_EQ(caf_party.organisation(), cafs[0].name());
  ASSERT_EQ(caf_party.signers_size(), 2);
  const auto caf_reps = Representatives(cafs[0].name());
  ASSERT_EQ(caf_reps.size(), 2u);
  EXPECT_EQ(caf_reps[0].person_name(), "Mme Béatrice Lavit");
  EXPECT_EQ(caf_reps[1].person_name(), "Mme Virginie Monti");
  EXPECT_EQ(caf_reps[1].title(), "directrice");
  EXPECT_THAT(caf_party.signers(), ElementsAre(caf_reps[0].name(), caf_reps[1].name()));
  const auto fourques = Representatives(by_name["Fourques-sur-Garonne"].name());
  ASSERT_EQ(fourques.size(), 1u);
  EXPECT_EQ(fourques[0].title(), "1ère adjointe");
  EXPECT_EQ(Representatives(by_name["Varès"].name()).size(), 0u);
  const size_t representatives = Representatives().size();
  EXPECT_EQ(representatives, 1u + 42 + 2 + 1 + 1 + 1);

  // A second import creates nothing and returns the same convention and warnings.
  v1::ImportConventionResponse again;
  ASSERT_TRUE(stub_->ImportConvention(AuthedContext(Admin()).get(), req, &again).ok());
  EXPECT_EQ(again.convention().name(), conv.name());
  EXPECT_EQ(again.convention().etag(), conv.etag());
  EXPECT_EQ(again.warnings_size(), 5);
  EXPECT_EQ(Organisations().size(), 48u);
  EXPECT_EQ(Representatives().size(), representatives);
  EXPECT_EQ(ListAll().size(), 1u);
  EXPECT_EQ(Organisations(v1::COMMUNE)[0].etag(), communes[0].etag());

  // With a request id too.
  auto with_id = req;
  with_id.set_request_id("8b1c8f5e-1f7a-4b35-9d0e-0c4a2f1b9e13");
  ASSERT_TRUE(stub_->ImportConvention(AuthedContext(Admin()).get(), with_id, &again).ok());
  ASSERT_TRUE(stub_->ImportConvention(AuthedContext(Admin()).get(), with_id, &again).ok());
  EXPECT_EQ(again.convention().name(), conv.name());
  EXPECT_EQ(ListAll().size(), 1u);
  EXPECT_EQ(Organisations().size(), 48u);
}

TEST_F(ConventionsTest, ImportRefusesBadInputAndStrangersWritingNothing) {
  auto req = VgaRequest();
  auto bad = req;
  bad.set_title("");
  bad.set_epci_siren("200030675");
  bad.mutable_parties(1)->mutable_representatives(0)->set_person_name("");
  bad.mutable_member_communes(3)->set_insee_code("4704");
  bad.mutable_signature_blocks(0)->set_kind(v1::ORGANISATION_KIND_UNSPECIFIED);
  v1::ImportConventionResponse resp;
  auto status = stub_->ImportConvention(AuthedContext(Admin()).get(), bad, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(
      ViolatedFields(status),
      UnorderedElementsAre("title", "epci_siren", "parties[1].representatives[0].person_name",
                           "member_communes[3].insee_code", "signature_blocks[0].kind"));
  auto no_members = req;
  no_members.clear_member_communes();
  EXPECT_THAT(
      ViolatedFields(stub_->ImportConvention(AuthedContext(Admin()).get(), no_members, &resp)),
      ElementsAre("member_communes"));

  // A Marmande agent may not import.
  v1::Organisation marmande = Org(v1::COMMUNE, "Marmande", "47157");
  EXPECT_EQ(
      stub_->ImportConvention(AuthedContext(AgentOf(marmande)).get(), req, &resp).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Organisations().size(), 1u);
  EXPECT_THAT(ListAll(), IsEmpty());

  // An existing commune is reused, not duplicated, and attached to the EPCI.
  ASSERT_TRUE(stub_->ImportConvention(AuthedContext(Admin()).get(), req, &resp).ok());
  EXPECT_EQ(Organisations(v1::COMMUNE).size(), 43u);
  EXPECT_EQ(Get(resp.convention().name()).parties_size(), 47);
  v1::GetOrganisationRequest get;
  get.set_name(marmande.name());
  ASSERT_TRUE(stub_->GetOrganisation(AuthedContext(Admin()).get(), get, &marmande).ok());
  EXPECT_EQ(marmande.parent_epci(), Organisations(v1::EPCI)[0].name());
  EXPECT_EQ(marmande.populations_size(), 3);
}

}  // namespace
}  // namespace ctg::partners
