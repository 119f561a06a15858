// Organisations and representatives through a real gRPC channel on a real PostgreSQL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <pqxx/pqxx>
#include <thread>

#include "common/api.h"
#include "common/testing/test_database.h"
#include "common/testing/test_host.h"
#include "partners/service.h"
#include "partners/tests/partners_fixture.h"

namespace ctg::partners {
namespace {

using ::ctg::testing::AuthedContext;
using ::ctg::testing::TestToken;
using ::ctg::testing::ViolatedFields;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

class OrganisationsTest : public PartnersServiceTest {
 protected:
  grpc::Status Create(const v1::Organisation& o, v1::Organisation* out,
                      const std::string& token = Admin(), const std::string& request_id = "") {
    v1::CreateOrganisationRequest req;
    *req.mutable_organisation() = o;
    req.set_request_id(request_id);
    return stub_->CreateOrganisation(AuthedContext(token).get(), req, out);
  }

  int CountOrganisations() {
    v1::ListOrganisationsRequest req;
    req.set_page_size(500);
    v1::ListOrganisationsResponse resp;
    EXPECT_TRUE(stub_->ListOrganisations(AuthedContext(Admin()).get(), req, &resp).ok());
    return resp.organisations_size();
  }

  static std::string Admin() { return Registry(); }

  static v1::Organisation Epci() {
    v1::Organisation o;
    o.set_kind(v1::EPCI);
    o.set_display_name("Val de Garonne Agglomération");
    o.set_siren("200030674");
    return o;
  }
  static v1::Organisation Commune(const std::string& name, const std::string& insee,
                                  const std::string& epci) {
    v1::Organisation o;
    o.set_kind(v1::COMMUNE);
    o.set_display_name(name);
    o.set_insee_code(insee);
    o.set_parent_epci(epci);
    auto* p = o.add_populations();
    p->set_vintage(2023);
    p->set_municipale(1000);
    p->set_totale(1010);
    return o;
  }
};

TEST_F(OrganisationsTest, CreateGetListAndUpdate) {
  v1::Organisation epci, commune;
  ASSERT_TRUE(Create(Epci(), &epci).ok());
  EXPECT_THAT(epci.name(), ::testing::StartsWith("organisations/"));
  EXPECT_FALSE(epci.etag().empty());
  ASSERT_TRUE(Create(Commune("Marmande", "47157", epci.name()), &commune).ok());
  EXPECT_EQ(commune.parent_epci(), epci.name());
  ASSERT_EQ(commune.populations_size(), 1);
  EXPECT_EQ(commune.populations(0).totale(), 1010);

  v1::GetOrganisationRequest get;
  get.set_name(commune.name());
  v1::Organisation fetched;
  ASSERT_TRUE(stub_->GetOrganisation(AuthedContext(Admin()).get(), get, &fetched).ok());
  EXPECT_EQ(fetched.display_name(), "Marmande");

  v1::ListOrganisationsRequest list;
  list.set_parent_epci(epci.name());
  v1::ListOrganisationsResponse listed;
  ASSERT_TRUE(stub_->ListOrganisations(AuthedContext(Admin()).get(), list, &listed).ok());
  ASSERT_EQ(listed.organisations_size(), 1);
  EXPECT_EQ(listed.organisations(0).name(), commune.name());

  v1::UpdateOrganisationRequest update;
  update.mutable_organisation()->set_name(commune.name());
  update.mutable_organisation()->set_display_name("Ville de Marmande");
  update.mutable_organisation()->set_etag(fetched.etag());
  update.mutable_update_mask()->add_paths("display_name");
  v1::Organisation updated;
  ASSERT_TRUE(stub_->UpdateOrganisation(AuthedContext(Admin()).get(), update, &updated).ok());
  EXPECT_EQ(updated.display_name(), "Ville de Marmande");
  EXPECT_EQ(updated.insee_code(), "47157");  // untouched by the mask
  EXPECT_EQ(updated.populations_size(), 1);
  EXPECT_NE(updated.etag(), fetched.etag());

  // The old etag is now stale: ABORTED, and nothing changes.
  update.mutable_organisation()->set_display_name("Autre");
  v1::Organisation ignored;
  EXPECT_EQ(stub_->UpdateOrganisation(AuthedContext(Admin()).get(), update, &ignored).error_code(),
            grpc::StatusCode::ABORTED);
  ASSERT_TRUE(stub_->GetOrganisation(AuthedContext(Admin()).get(), get, &fetched).ok());
  EXPECT_EQ(fetched.display_name(), "Ville de Marmande");
}

// The answer of an update is exactly what a read then returns (the service answers from what it
// wrote, without reading the row again).
TEST_F(OrganisationsTest, AnUpdateAnswersWhatAReadReturns) {
  v1::Organisation epci, commune;
  ASSERT_TRUE(Create(Epci(), &epci).ok());
  ASSERT_TRUE(Create(Commune("Marmande", "47157", epci.name()), &commune).ok());
  v1::GetOrganisationRequest get;
  get.set_name(commune.name());
  for (const char* path : {"display_name", "populations"}) {
    v1::UpdateOrganisationRequest req;
    req.mutable_organisation()->set_name(commune.name());
    req.mutable_organisation()->set_display_name("Ville de Marmande");
    for (int vintage : {2023, 2021, 2022}) {
      auto* p = req.mutable_organisation()->add_populations();
      p->set_vintage(vintage);
      p->set_municipale(1000 + vintage);
    }
    req.mutable_update_mask()->add_paths(path);
    v1::Organisation updated, reread;
    ASSERT_TRUE(stub_->UpdateOrganisation(AuthedContext(Admin()).get(), req, &updated).ok());
    ASSERT_TRUE(stub_->GetOrganisation(AuthedContext(Admin()).get(), get, &reread).ok());
    EXPECT_EQ(reread.DebugString(), updated.DebugString()) << path;
  }
}

TEST_F(OrganisationsTest, PaginatesWithPageTokens) {
  v1::Organisation epci, c;
  ASSERT_TRUE(Create(Epci(), &epci).ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        Create(Commune("C" + std::to_string(i), "4710" + std::to_string(i), epci.name()), &c).ok());
  }
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    v1::ListOrganisationsRequest req;
    req.set_kind(v1::COMMUNE);
    req.set_page_size(2);
    req.set_page_token(token);
    v1::ListOrganisationsResponse resp;
    ASSERT_TRUE(stub_->ListOrganisations(AuthedContext(Admin()).get(), req, &resp).ok());
    for (const auto& o : resp.organisations()) seen.push_back(o.display_name());
    token = resp.next_page_token();
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(seen, ElementsAre("C0", "C1", "C2", "C3", "C4"));

  v1::ListOrganisationsRequest bad;
  bad.set_page_token("not-a-token");
  bad.set_page_size(-1);
  v1::ListOrganisationsResponse resp;
  auto status = stub_->ListOrganisations(AuthedContext(Admin()).get(), bad, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status), UnorderedElementsAre("page_size", "page_token"));
}

TEST_F(OrganisationsTest, RequestIdMakesCreateIdempotent) {
  const std::string request_id = "6f1c8f5e-1f7a-4b35-9d0e-0c4a2f1b9e11";
  v1::Organisation first, second;
  ASSERT_TRUE(Create(Epci(), &first, Admin(), request_id).ok());
  ASSERT_TRUE(Create(Epci(), &second, Admin(), request_id).ok());
  EXPECT_EQ(first.name(), second.name());
  EXPECT_EQ(CountOrganisations(), 1);
}

TEST_F(OrganisationsTest, BadCreateWritesNothing) {
  v1::Organisation o = Commune("", "4715", "organisations/not-a-uuid");
  o.mutable_populations(0)->set_municipale(-5);
  v1::Organisation out;
  auto status = Create(o, &out, Admin(), "not-a-uuid");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status),
              UnorderedElementsAre("organisation.display_name", "organisation.insee_code",
                                   "organisation.parent_epci",
                                   "organisation.populations[0].municipale", "request_id"));
  EXPECT_EQ(CountOrganisations(), 0);
}

TEST_F(OrganisationsTest, UnknownParentAndDuplicateInsee) {
  v1::Organisation out;
  auto status =
      Create(Commune("X", "47157", "organisations/00000000-0000-4000-8000-000000000000"), &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  v1::Organisation epci;
  ASSERT_TRUE(Create(Epci(), &epci).ok());
  ASSERT_TRUE(Create(Commune("Marmande", "47157", epci.name()), &out).ok());
  EXPECT_EQ(Create(Commune("Doublon", "47157", epci.name()), &out).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  // A commune as parent EPCI is refused.
  auto wrong_parent = Create(Commune("Y", "47158", out.name()), &out);
  EXPECT_EQ(wrong_parent.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(CountOrganisations(), 2);
}

TEST_F(OrganisationsTest, GetUnknownAndMalformedNames) {
  v1::GetOrganisationRequest req;
  v1::Organisation out;
  req.set_name("organisations/00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(stub_->GetOrganisation(AuthedContext(Admin()).get(), req, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  req.set_name("conventions/00000000-0000-4000-8000-000000000000");
  auto status = stub_->GetOrganisation(AuthedContext(Admin()).get(), req, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("name"));
}

TEST_F(OrganisationsTest, EveryRpcNeedsAValidToken) {
  v1::Organisation out;
  EXPECT_EQ(Create(Epci(), &out, "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Create(Epci(), &out, "abc.def.ghi").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  TokenClaims claims{
      "x", "", {Role::kCafAgent}, ctg::testing::kTestIssuer, ctg::testing::kTestAudience};
  const auto wrong_key = MintHs256Token(claims, "another-key-0123456789-0123456789-01");
  EXPECT_EQ(Create(Epci(), &out, wrong_key).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  v1::GetOrganisationRequest get;
  get.set_name("organisations/00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(stub_->GetOrganisation(AuthedContext("").get(), get, &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(CountOrganisations(), 0);
}

TEST_F(OrganisationsTest, AgentsChangeOnlyTheirOwnOrganisation) {
  v1::Organisation epci, marmande, tonneins;
  ASSERT_TRUE(Create(Epci(), &epci).ok());
  ASSERT_TRUE(Create(Commune("Marmande", "47157", epci.name()), &marmande).ok());
  ASSERT_TRUE(Create(Commune("Tonneins", "47310", epci.name()), &tonneins).ok());
  const auto marmande_agent = TestToken({Role::kCollectivityAgent}, marmande.name(), "agent-m");

  // Creating organisations is for administrators only.
  v1::Organisation out;
  EXPECT_EQ(Create(Commune("Z", "47999", epci.name()), &out, marmande_agent).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  v1::UpdateOrganisationRequest update;
  update.mutable_organisation()->set_name(tonneins.name());
  update.mutable_organisation()->set_display_name("Pirated");
  update.mutable_update_mask()->add_paths("display_name");
  EXPECT_EQ(
      stub_->UpdateOrganisation(AuthedContext(marmande_agent).get(), update, &out).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  update.mutable_organisation()->set_name(marmande.name());
  update.mutable_organisation()->set_display_name("Marmande (mise à jour)");
  EXPECT_TRUE(stub_->UpdateOrganisation(AuthedContext(marmande_agent).get(), update, &out).ok());

  // Representatives: only for its own organisation.
  v1::CreateRepresentativeRequest rep;
  rep.mutable_representative()->set_organisation(tonneins.name());
  rep.mutable_representative()->set_person_name("Dante Rinaudo");
  rep.mutable_representative()->set_title("maire");
  v1::Representative r;
  EXPECT_EQ(stub_->CreateRepresentative(AuthedContext(marmande_agent).get(), rep, &r).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  v1::GetOrganisationRequest get;
  get.set_name(tonneins.name());
  ASSERT_TRUE(stub_->GetOrganisation(AuthedContext(marmande_agent).get(), get, &out).ok());
  EXPECT_EQ(out.display_name(), "Tonneins");
}

TEST_F(OrganisationsTest, UpdateRejectsBadMasksAndValues) {
  v1::Organisation epci, commune;
  ASSERT_TRUE(Create(Epci(), &epci).ok());
  ASSERT_TRUE(Create(Commune("Marmande", "47157", epci.name()), &commune).ok());
  v1::UpdateOrganisationRequest update;
  update.mutable_organisation()->set_name(commune.name());
  update.mutable_update_mask()->add_paths("kind");
  v1::Organisation out;
  auto status = stub_->UpdateOrganisation(AuthedContext(Admin()).get(), update, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("update_mask"));

  update.mutable_update_mask()->Clear();
  update.mutable_update_mask()->add_paths("insee_code");
  update.mutable_organisation()->set_insee_code("bad");
  status = stub_->UpdateOrganisation(AuthedContext(Admin()).get(), update, &out);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("organisation.insee_code"));

  update.mutable_organisation()->set_name("organisations/00000000-0000-4000-8000-000000000000");
  update.mutable_organisation()->set_insee_code("47158");
  EXPECT_EQ(stub_->UpdateOrganisation(AuthedContext(Admin()).get(), update, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(OrganisationsTest, RepresentativesLifecycle) {
  v1::Organisation caf;
  v1::Organisation caf_in;
  caf_in.set_kind(v1::CAF);
  caf_in.set_display_name("Caf de Lot-et-Garonne");
  ASSERT_TRUE(Create(caf_in, &caf).ok());

  v1::CreateRepresentativeRequest req;
  auto* r = req.mutable_representative();
  r->set_organisation(caf.name());
  r->set_person_name("Virginie Monti");
  r->set_title("directrice");
  *r->mutable_mandate_start() = CivilDate{2024, 1, 1}.ToProto();
  v1::Representative created;
  ASSERT_TRUE(stub_->CreateRepresentative(AuthedContext(Admin()).get(), req, &created).ok());
  EXPECT_EQ(created.mandate_start().year(), 2024);

  // Reversed mandate dates and empty names are refused, each named.
  r->set_person_name("");
  *r->mutable_mandate_end() = CivilDate{2023, 12, 31}.ToProto();
  v1::Representative out;
  auto status = stub_->CreateRepresentative(AuthedContext(Admin()).get(), req, &out);
  EXPECT_THAT(ViolatedFields(status),
              UnorderedElementsAre("representative.person_name", "representative.mandate_end"));

  r->set_person_name("Someone");
  r->clear_mandate_end();
  r->set_organisation("organisations/00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(stub_->CreateRepresentative(AuthedContext(Admin()).get(), req, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);

  v1::ListRepresentativesRequest list;
  list.set_organisation(caf.name());
  v1::ListRepresentativesResponse listed;
  ASSERT_TRUE(stub_->ListRepresentatives(AuthedContext(Admin()).get(), list, &listed).ok());
  ASSERT_EQ(listed.representatives_size(), 1);

  v1::UpdateRepresentativeRequest update;
  update.mutable_representative()->set_name(created.name());
  update.mutable_representative()->set_title("directrice générale");
  update.mutable_representative()->set_etag(created.etag());
  ASSERT_TRUE(stub_->UpdateRepresentative(AuthedContext(Admin()).get(), update, &out).ok());
  EXPECT_EQ(out.title(), "directrice générale");
  EXPECT_EQ(out.person_name(), "Virginie Monti");
  EXPECT_EQ(stub_->UpdateRepresentative(AuthedContext(Admin()).get(), update, &out).error_code(),
            grpc::StatusCode::ABORTED);

  v1::GetRepresentativeRequest get;
  get.set_name("representatives/00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(stub_->GetRepresentative(AuthedContext(Admin()).get(), get, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace ctg::partners

namespace ctg::partners {
namespace {

// Property-level authorization (OWASP API3): the identifiers and the figures that decide the
// AO competences are reference data. A commune's agent changes its display name, never them.
class ReferenceFieldsTest : public PartnersServiceTest {
 protected:
  void SetUp() override {
    PartnersServiceTest::SetUp();
    epci_ = CreateOrg(v1::EPCI, "Val de Garonne Agglomération", "", "", "47");
    marmande_ = CreateOrg(v1::COMMUNE, "Marmande", "47157", epci_.name());
  }

  v1::Organisation CreateOrg(v1::OrganisationKind kind, const std::string& name,
                             const std::string& insee, const std::string& epci,
                             const std::string& departement = "") {
    v1::CreateOrganisationRequest req;
    auto* o = req.mutable_organisation();
    o->set_kind(kind);
    o->set_display_name(name);
    o->set_insee_code(insee);
    o->set_parent_epci(epci);
    o->set_departement(departement);
    if (kind == v1::COMMUNE) {
      auto* p = o->add_populations();
      p->set_vintage(2023);
      p->set_municipale(17000);
      p->set_totale(17500);
    }
    v1::Organisation out;
    EXPECT_TRUE(stub_->CreateOrganisation(AuthedContext(Registry()).get(), req, &out).ok());
    return out;
  }

  grpc::Status Update(const std::string& token, const std::string& path,
                      const v1::Organisation& patch, v1::Organisation* out) {
    v1::UpdateOrganisationRequest req;
    *req.mutable_organisation() = patch;
    req.mutable_organisation()->set_name(marmande_.name());
    if (!path.empty()) req.mutable_update_mask()->add_paths(path);
    return stub_->UpdateOrganisation(AuthedContext(token).get(), req, out);
  }

  v1::Organisation Fetch(const std::string& name) {
    v1::GetOrganisationRequest get;
    get.set_name(name);
    v1::Organisation out;
    EXPECT_TRUE(stub_->GetOrganisation(AuthedContext(Registry()).get(), get, &out).ok());
    return out;
  }

  v1::Organisation epci_, marmande_;
};

TEST_F(ReferenceFieldsTest, ACommuneAgentChangesNoReferenceField) {
  const auto agent = AgentOf(marmande_.name());
  const auto before = Fetch(marmande_.name());
  v1::Organisation other_epci = CreateOrg(v1::EPCI, "Autre EPCI", "", "", "47");
  struct Case {
    std::string path;
    v1::Organisation patch;
  };
  std::vector<Case> cases;
  {
    v1::Organisation p;
    p.set_siren("200030674");
    cases.push_back({"siren", p});
  }
  {
    v1::Organisation p;
    p.set_insee_code("47158");
    cases.push_back({"insee_code", p});
  }
  {
    v1::Organisation p;
    p.set_parent_epci(other_epci.name());
    cases.push_back({"parent_epci", p});
  }
  {
    v1::Organisation p;
    auto* pop = p.add_populations();
    pop->set_vintage(2023);
    pop->set_municipale(2000);
    pop->set_totale(2100);  // would drop Marmande below the 10,000 threshold
    cases.push_back({"populations", p});
  }
  {
    v1::Organisation p;
    p.set_ao_competence_transferred(true);
    cases.push_back({"ao_competence_transferred", p});
  }
  {
    v1::Organisation p;
    p.set_departement("33");
    cases.push_back({"departement", p});
  }
  for (const auto& c : cases) {
    v1::Organisation out;
    auto status = Update(agent, c.path, c.patch, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << c.path;
    EXPECT_THAT(status.error_message(), ::testing::HasSubstr("organisation." + c.path)) << c.path;
    // The same field without a mask (set in the request) is refused too.
    status = Update(agent, "", c.patch, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << c.path << " (no mask)";
  }
  const auto after = Fetch(marmande_.name());
  EXPECT_EQ(after.etag(), before.etag());  // nothing was written
  // Its display name is its own to change.
  v1::Organisation patch;
  patch.set_display_name("Ville de Marmande");
  v1::Organisation out;
  ASSERT_TRUE(Update(agent, "display_name", patch, &out).ok());
  EXPECT_EQ(out.display_name(), "Ville de Marmande");
  // The registry's administrator corrects reference data.
  patch.Clear();
  patch.set_siren("214701575");
  auto status = Update(Registry(), "siren", patch, &out);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(out.siren(), "214701575");
}

TEST_F(ReferenceFieldsTest, TheDepartementOfACommuneComesFromItsInseeCode) {
  EXPECT_EQ(marmande_.departement(), "47");
  auto corse = CreateOrg(v1::COMMUNE, "Ajaccio", "2A004", "");
  EXPECT_EQ(corse.departement(), "2A");
  v1::CreateOrganisationRequest req;
  req.mutable_organisation()->set_kind(v1::COMMUNE);
  req.mutable_organisation()->set_display_name("Incohérente");
  req.mutable_organisation()->set_insee_code("47001");
  req.mutable_organisation()->set_departement("33");
  v1::Organisation out;
  auto status = stub_->CreateOrganisation(AuthedContext(Registry()).get(), req, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("organisation.departement"));
  req.mutable_organisation()->set_departement("4");
  req.mutable_organisation()->set_kind(v1::CAF);
  req.mutable_organisation()->clear_insee_code();
  status = stub_->CreateOrganisation(AuthedContext(Registry()).get(), req, &out);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("organisation.departement"));
}

// A national deployment: a Caf agent acts for the organisations of the conventions its own Caf
// is a party to, not for those of another Caf's conventions.
TEST_F(ReferenceFieldsTest, ACafAgentActsForTheOrganisationsOfItsOwnConventionsOnly) {
  const auto caf47 = CreateOrg(v1::CAF, "Caf de Lot-et-Garonne", "", "", "47");
  const auto caf33 = CreateOrg(v1::CAF, "Caf de la Gironde", "", "", "33");
  const auto cub = CreateOrg(v1::EPCI, "Bordeaux Métropole", "", "", "33");
  const auto bordeaux = CreateOrg(v1::COMMUNE, "Bordeaux", "33063", cub.name());
  auto convention = [&](const v1::Organisation& caf, const v1::Organisation& epci,
                        const v1::Organisation& commune) {
    v1::CreateConventionRequest req;
    auto* c = req.mutable_convention();
    c->set_title("CTG " + epci.display_name());
    c->set_territory(epci.name());
    *c->mutable_start_date() = Days(-100);
    *c->mutable_end_date() = Days(1000);
    for (const auto* o : {&epci, &commune, &caf}) c->add_parties()->set_organisation(o->name());
    v1::Convention out;
    const auto status = stub_->CreateConvention(
        AuthedContext(AgentOf(caf.name(), Role::kCafAgent)).get(), req, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  };
  const auto vga_ctg = convention(caf47, epci_, marmande_);
  convention(caf33, cub, bordeaux);
  EXPECT_EQ(vga_ctg.departement(), "47");
  EXPECT_EQ(vga_ctg.secretariat(), epci_.name());  // the territory by default (art. 8)

  const auto agent47 = AgentOf(caf47.name(), Role::kCafAgent);
  v1::UpdateOrganisationRequest req;
  req.mutable_organisation()->set_name(bordeaux.name());
  req.mutable_organisation()->set_display_name("Pirated");
  req.mutable_update_mask()->add_paths("display_name");
  v1::Organisation out;
  EXPECT_EQ(stub_->UpdateOrganisation(AuthedContext(agent47).get(), req, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Its own convention's commune, reference data included.
  req.mutable_organisation()->set_name(marmande_.name());
  req.mutable_organisation()->set_insee_code("47157");
  req.mutable_update_mask()->add_paths("insee_code");
  const auto status = stub_->UpdateOrganisation(AuthedContext(agent47).get(), req, &out);
  ASSERT_TRUE(status.ok()) << status.error_message();
  // A Caf agent creates conventions only for its own Caf.
  v1::CreateConventionRequest create;
  auto* c = create.mutable_convention();
  c->set_title("CTG usurpée");
  c->set_territory(cub.name());
  *c->mutable_start_date() = Days(0);
  *c->mutable_end_date() = Days(10);
  c->add_parties()->set_organisation(cub.name());
  c->add_parties()->set_organisation(caf33.name());
  v1::Convention conv;
  EXPECT_EQ(stub_->CreateConvention(AuthedContext(agent47).get(), create, &conv).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace ctg::partners

namespace ctg::partners {
namespace {

// Two updates sent with the same etag at the same time: exactly one wins, the other is ABORTED
// (the UPDATE only applies while the row has the version read). Both are made to overlap by a
// row lock held here.
TEST_F(PartnersServiceTest, ConcurrentOrganisationUpdatesWithTheSameEtagLoseNothing) {
  v1::CreateOrganisationRequest create;
  create.mutable_organisation()->set_kind(v1::EPCI);
  create.mutable_organisation()->set_display_name("Agglomération");
  v1::Organisation org;
  ASSERT_TRUE(stub_->CreateOrganisation(AuthedContext(Registry()).get(), create, &org).ok());
  pqxx::connection locker(db_->url());
  pqxx::work lock(locker);
  lock.exec_params("SELECT 1 FROM partners.organisations WHERE id = $1::uuid FOR UPDATE",
                   IdOf(org.name()));
  auto update = [&](const std::string& name) {
    return std::async(std::launch::async, [&, name] {
      v1::UpdateOrganisationRequest req;
      req.mutable_organisation()->set_name(org.name());
      req.mutable_organisation()->set_display_name(name);
      req.mutable_organisation()->set_etag(org.etag());
      req.mutable_update_mask()->add_paths("display_name");
      v1::Organisation out;
      return stub_->UpdateOrganisation(AuthedContext(Registry()).get(), req, &out).error_code();
    });
  };
  auto a = update("A");
  auto b = update("B");
  pqxx::connection watcher(db_->url());
  int waiting = 0;
  for (int i = 0; i < 200 && waiting < 2; ++i) {
    pqxx::nontransaction tx(watcher);
    waiting = tx.exec1(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
                    "datname = current_database()")[0]
                  .as<int>();
    if (waiting < 2) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(waiting, 2);
  // Two bodies blocked on the database never stall other calls: at most one of them runs on one
  // of gRPC's threads (UnaryRunner::EnableInlineBodies), the other on a worker, so a read (not
  // blocked by a row lock) is still served at once.
  {
    v1::GetOrganisationRequest get;
    get.set_name(org.name());
    v1::Organisation read;
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + Registry());
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    EXPECT_EQ(stub_->GetOrganisation(&context, get, &read).error_code(), grpc::StatusCode::OK);
    EXPECT_EQ(read.display_name(), "Agglomération");
  }
  lock.commit();
  const auto code_a = a.get(), code_b = b.get();
  EXPECT_EQ((code_a == grpc::StatusCode::OK) + (code_b == grpc::StatusCode::OK), 1);
  EXPECT_EQ((code_a == grpc::StatusCode::ABORTED) + (code_b == grpc::StatusCode::ABORTED), 1);
}

}  // namespace
}  // namespace ctg::partners
