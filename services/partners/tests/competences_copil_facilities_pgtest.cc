// AO competences, COPIL members and facilities through a real gRPC channel on a real PostgreSQL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <pqxx/pqxx>

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
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr char kUnknownOrganisation[] = "organisations/00000000-0000-4000-8000-000000000000";
constexpr char kUnknownConvention[] = "conventions/00000000-0000-4000-8000-000000000000";

class CompetencesCopilFacilitiesTest : public PartnersServiceTest {
 protected:
  void SetUp() override {
    PartnersServiceTest::SetUp();
    // Val de Garonne with three of its communes (INSEE legal populations of the shared CSV), one
    // small commune that transferred the AO competence, and the other parties.
    epci_ = CreateOrg(Org(v1::EPCI, "Val de Garonne Agglomération"));
    marmande_ = CreateOrg(CommuneOrg("Marmande", "47157", 17328, 17833, 17361, 17849));
    tonneins_ = CreateOrg(CommuneOrg("Tonneins", "47310", 9459, 9619, 9461, 9625));
    bazeille_ = CreateOrg(CommuneOrg("Sainte-Bazeille", "47233", 3171, 3265, 3183, 3280));
    auto agme = CommuneOrg("Agmé", "47002", 108, 109, 106, 110);
    agme.set_ao_competence_transferred(true);
    agme_ = CreateOrg(agme);
    caf_ = CreateOrg(Org(v1::CAF, "Caf de Lot-et-Garonne"));
    departement_ = CreateOrg(Org(v1::DEPARTEMENT, "Conseil départemental de Lot-et-Garonne"));
    state_ = CreateOrg(Org(v1::STATE, "Préfecture de Lot-et-Garonne"));
    education_ = CreateOrg(Org(v1::EDUCATION_NATIONALE, "DSDEN de Lot-et-Garonne"));
    association_ = CreateOrg(Org(v1::ASSOCIATION, "Association Les Petits Pas"));
    convention_ = WriteConvention();
  }

  // An administrator of the convention: an agent of its Caf party.
  std::string Admin() const { return TestToken({Role::kCafAgent}, caf_.name(), "caf"); }
  static std::string AgentOf(const v1::Organisation& o) {
    return TestToken({Role::kCollectivityAgent}, o.name(), "agent-" + o.display_name());
  }

  static v1::Organisation Org(v1::OrganisationKind kind, const std::string& name) {
    v1::Organisation o;
    o.set_kind(kind);
    o.set_display_name(name);
    return o;
  }
  v1::Organisation CommuneOrg(const std::string& name, const std::string& insee, int64_t pmun23,
                              int64_t ptot23, int64_t pmun22, int64_t ptot22) {
    v1::Organisation o = Org(v1::COMMUNE, name);
    o.set_insee_code(insee);
    o.set_parent_epci(epci_.name());
    auto* p = o.add_populations();
    p->set_vintage(2023);
    p->set_municipale(pmun23);
    p->set_totale(ptot23);
    p = o.add_populations();
    p->set_vintage(2022);
    p->set_municipale(pmun22);
    p->set_totale(ptot22);
    return o;
  }
  v1::Organisation CreateOrg(const v1::Organisation& o) {
    v1::CreateOrganisationRequest req;
    *req.mutable_organisation() = o;
    v1::Organisation out;
    auto status = stub_->CreateOrganisation(AuthedContext(Registry()).get(), req, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  // The convention of every test, written directly (the conventions RPCs are tested elsewhere):
  // the EPCI (holding the secretariat), its communes and the other parties, not the association.
  std::string WriteConvention() {
    auto id_of = [](const v1::Organisation& o) { return IdOf(o.name()); };
    pqxx::connection conn(db_->url());
    pqxx::work tx(conn);
    const auto id = tx.exec_params1(
                          "INSERT INTO partners.conventions (title, territory_id, start_date, "
                          "end_date, secretariat_id) VALUES ('CTG Val de Garonne 2025-2029', "
                          "$1::uuid, '2025-01-01', '2029-12-31', $1::uuid) RETURNING id::text",
                          id_of(epci_))[0]
                        .as<std::string>();
    int position = 0;
    for (const auto* o : {&epci_, &marmande_, &tonneins_, &bazeille_, &agme_, &caf_, &departement_,
                          &state_, &education_}) {
      tx.exec_params0(
          "INSERT INTO partners.convention_parties (convention_id, organisation_id, position) "
          "VALUES ($1::uuid, $2::uuid, $3)",
          id, id_of(*o), ++position);
    }
    tx.commit();
    return "conventions/" + id;
  }
  std::string InsertConvention() const { return convention_; }

  int CountRows(const std::string& table) {
    pqxx::connection conn(db_->url());
    pqxx::work tx(conn);
    return tx.exec1("SELECT count(*) FROM partners." + table)[0].as<int>();
  }

  // ---- AO competences ----
  grpc::Status Competences(const std::string& organisation, const CivilDate& date,
                           v1::AoCompetences* out, std::string token = "") {
    if (token.empty()) token = Admin();
    v1::GetAoCompetencesRequest req;
    req.set_organisation(organisation);
    *req.mutable_date() = date.ToProto();
    return stub_->GetAoCompetences(AuthedContext(token).get(), req, out);
  }

  // ---- COPIL ----
  static v1::CopilMember Member(const std::string& convention, v1::CopilCollege college,
                                const v1::Organisation& org, const std::string& person,
                                v1::CopilRole role = v1::MEMBER) {
    v1::CopilMember m;
    m.set_convention(convention);
    m.set_college(college);
    m.set_organisation(org.name());
    m.set_person_name(person);
    m.set_role(role);
    return m;
  }
  grpc::Status AddMember(const v1::CopilMember& m, v1::CopilMember* out, std::string token = "",
                         const std::string& request_id = "") {
    if (token.empty()) token = Admin();
    v1::CreateCopilMemberRequest req;
    *req.mutable_member() = m;
    req.set_request_id(request_id);
    return stub_->CreateCopilMember(AuthedContext(token).get(), req, out);
  }
  grpc::Status Check(const std::string& convention, v1::CopilComposition* out,
                     std::string token = "") {
    if (token.empty()) token = Admin();
    v1::CheckCopilCompositionRequest req;
    req.set_convention(convention);
    return stub_->CheckCopilComposition(AuthedContext(token).get(), req, out);
  }
  // Two voting members in each college, the co-chairs and the secretariat as in art. 8, and a
  // consultative resource person. Returns the members in creation order.
  std::vector<v1::CopilMember> FullCommittee(const std::string& convention) {
    std::vector<v1::CopilMember> in = {
        Member(convention, v1::COLLEGE_CAF, caf_, "Béatrice Lavit", v1::CO_CHAIR),
        Member(convention, v1::COLLEGE_CAF, caf_, "Virginie Monti"),
        Member(convention, v1::COLLEGE_AGGLOMERATION, epci_, "Jacques Bilirit", v1::CO_CHAIR),
        Member(convention, v1::COLLEGE_AGGLOMERATION, epci_, "Chargée de mission CTG",
               v1::SECRETARIAT),
        Member(convention, v1::COLLEGE_COMMUNES, marmande_, "Maire de Marmande"),
        Member(convention, v1::COLLEGE_COMMUNES, tonneins_, "Maire de Tonneins"),
        Member(convention, v1::COLLEGE_DEPARTEMENT, departement_, "Sophie Borderie"),
        Member(convention, v1::COLLEGE_DEPARTEMENT, departement_, "Directrice enfance famille"),
        Member(convention, v1::COLLEGE_STATE, state_, "Préfet de Lot-et-Garonne"),
        Member(convention, v1::COLLEGE_STATE, education_, "DASEN de Lot-et-Garonne"),
    };
    v1::CopilMember consultative;
    consultative.set_convention(convention);
    consultative.set_college(v1::COLLEGE_CONSULTATIVE);
    consultative.set_person_name("Personne ressource petite enfance");
    consultative.set_role(v1::MEMBER);
    in.push_back(consultative);
    std::vector<v1::CopilMember> out;
    for (const auto& m : in) {
      v1::CopilMember created;
      auto status = AddMember(m, &created);
      EXPECT_TRUE(status.ok()) << m.person_name() << ": " << status.error_message();
      out.push_back(created);
    }
    return out;
  }

  // ---- Facilities ----
  v1::Facility Creche() {
    v1::Facility f;
    f.set_kind(v1::EAJE);
    f.set_display_name("Multi-accueil Les Lutins");
    f.set_manager(marmande_.name());
    f.set_commune(marmande_.name());
    f.set_supporting_ao(marmande_.name());
    f.set_capacity(40);
    *f.mutable_opening_date() = CivilDate{2010, 9, 1}.ToProto();
    return f;
  }
  grpc::Status CreateFacility(const v1::Facility& f, v1::Facility* out, std::string token = "",
                              const std::string& request_id = "") {
    if (token.empty()) token = Admin();
    v1::CreateFacilityRequest req;
    *req.mutable_facility() = f;
    req.set_request_id(request_id);
    return stub_->CreateFacility(AuthedContext(token).get(), req, out);
  }
  v1::Facility GetFacility(const std::string& name) {
    v1::GetFacilityRequest req;
    req.set_name(name);
    v1::Facility out;
    EXPECT_TRUE(stub_->GetFacility(AuthedContext(Admin()).get(), req, &out).ok());
    return out;
  }
  grpc::Status UpdateFacility(const v1::Facility& patch, std::vector<std::string> paths,
                              v1::Facility* out, std::string token = "") {
    if (token.empty()) token = Admin();
    v1::UpdateFacilityRequest req;
    *req.mutable_facility() = patch;
    for (const auto& p : paths) req.mutable_update_mask()->add_paths(p);
    return stub_->UpdateFacility(AuthedContext(token).get(), req, out);
  }

  v1::Organisation epci_, marmande_, tonneins_, bazeille_, agme_, caf_, departement_, state_,
      education_, association_;
  std::string convention_;
};

std::vector<v1::AoCompetence> Held(const v1::AoCompetences& r) {
  std::vector<v1::AoCompetence> out;
  for (const auto& c : r.competences()) out.push_back(c.competence());
  return out;
}

// =============================================================================================
// GetAoCompetences

TEST_F(CompetencesCopilFacilitiesTest, MarmandeTonneinsAndSainteBazeilleIn2026) {
  v1::AoCompetences r;
  ASSERT_TRUE(Competences(marmande_.name(), CivilDate{2026, 1, 1}, &r).ok());
  EXPECT_EQ(r.organisation(), marmande_.name());
  EXPECT_EQ(r.autorite_organisatrice(), marmande_.name());
  EXPECT_EQ(r.population(), 17833);
  EXPECT_EQ(r.population_vintage(), 2023);
  EXPECT_EQ(r.population_kind(), "totale");
  EXPECT_EQ(r.date().year(), 2026);
  EXPECT_THAT(Held(r), ElementsAre(v1::CENSUS_NEEDS, v1::INFORM_FAMILIES, v1::PLAN_DEVELOPMENT,
                                   v1::SUPPORT_QUALITY));
  EXPECT_EQ(r.competences(3).reason(),
            "17 833 habitants (population totale, millésime 2023) > 3 500");
  EXPECT_TRUE(r.schema_pluriannuel_required());
  EXPECT_TRUE(r.relais_petite_enfance_required());

  ASSERT_TRUE(Competences(marmande_.name(), CivilDate{2025, 12, 31}, &r).ok());
  EXPECT_EQ(r.population(), 17849);  // vintage 2022 still in force
  EXPECT_FALSE(r.relais_petite_enfance_required());

  ASSERT_TRUE(Competences(tonneins_.name(), CivilDate{2026, 1, 1}, &r).ok());
  EXPECT_EQ(r.population(), 9619);
  EXPECT_EQ(r.competences_size(), 4);
  EXPECT_FALSE(r.schema_pluriannuel_required());

  // Any authenticated caller may read: here an auditor.
  ASSERT_TRUE(Competences(bazeille_.name(), CivilDate{2026, 1, 1}, &r,
                          TestToken({Role::kAuditor}, "", "auditor"))
                  .ok());
  EXPECT_EQ(r.population(), 3265);
  EXPECT_THAT(Held(r), ElementsAre(v1::CENSUS_NEEDS, v1::INFORM_FAMILIES));
}

TEST_F(CompetencesCopilFacilitiesTest, NoCompetenceBefore2025) {
  v1::AoCompetences r;
  ASSERT_TRUE(Competences(marmande_.name(), CivilDate{2024, 12, 31}, &r).ok());
  EXPECT_THAT(r.competences(), IsEmpty());
  EXPECT_FALSE(r.schema_pluriannuel_required());
  EXPECT_THAT(r.notes(), Contains(HasSubstr("1er janvier 2025")));
}

// Art. 3: the EPCI is AO only for the communes that transferred the competence, on their
// population. Here only Agmé (110 inhabitants) transferred it: the EPCI is Agmé's AO with
// Agmé's population, while Marmande stays its own AO (one AO per commune, never two).
TEST_F(CompetencesCopilFacilitiesTest, TheEpciIsAoOnlyForTheCommunesThatTransferred) {
  v1::AoCompetences r;
  ASSERT_TRUE(Competences(agme_.name(), CivilDate{2026, 1, 1}, &r).ok());
  EXPECT_EQ(r.organisation(), agme_.name());
  EXPECT_EQ(r.autorite_organisatrice(), epci_.name());
  EXPECT_EQ(r.population(), 109);
  EXPECT_EQ(r.population_vintage(), 2023);
  EXPECT_THAT(Held(r), ElementsAre(v1::CENSUS_NEEDS, v1::INFORM_FAMILIES));
  EXPECT_FALSE(r.schema_pluriannuel_required());
  EXPECT_THAT(r.notes(), Contains(HasSubstr("transférée à l'EPCI Val de Garonne Agglomération")));
  EXPECT_THAT(r.notes(), Contains(HasSubstr("somme des populations de ces 1 communes")));

  // The EPCI asked directly: the same, with the transfer count.
  ASSERT_TRUE(Competences(epci_.name(), CivilDate{2026, 1, 1}, &r).ok());
  EXPECT_EQ(r.autorite_organisatrice(), epci_.name());
  EXPECT_EQ(r.population(), 109);
  EXPECT_FALSE(r.relais_petite_enfance_required());
  EXPECT_THAT(r.notes(), Contains(HasSubstr("1 commune(s) membre(s) sur 4")));
  // Marmande, which transferred nothing, keeps its own competences and duties.
  ASSERT_TRUE(Competences(marmande_.name(), CivilDate{2026, 1, 1}, &r).ok());
  EXPECT_EQ(r.autorite_organisatrice(), marmande_.name());
  EXPECT_TRUE(r.relais_petite_enfance_required());

  // The EPCI's own recorded population does not apply while some members keep the competence.
  v1::UpdateOrganisationRequest update;
  update.mutable_organisation()->set_name(epci_.name());
  auto* p = update.mutable_organisation()->add_populations();
  p->set_vintage(2023);
  p->set_municipale(60753);
  p->set_totale(62235);
  update.mutable_update_mask()->add_paths("populations");
  v1::Organisation updated;
  ASSERT_TRUE(stub_->UpdateOrganisation(AuthedContext(Admin()).get(), update, &updated).ok());
  ASSERT_TRUE(Competences(agme_.name(), CivilDate{2026, 1, 1}, &r).ok());
  EXPECT_EQ(r.population(), 109);
}

// VGA as it is: no commune transferred the competence. The EPCI then holds none of the four
// competences nor the schéma and RPE duties, and says why; Marmande is the AO of Marmande.
TEST_F(CompetencesCopilFacilitiesTest, WithoutTransferTheEpciHoldsNoCompetence) {
  v1::UpdateOrganisationRequest update;
  update.mutable_organisation()->set_name(agme_.name());
  update.mutable_organisation()->set_ao_competence_transferred(false);
  update.mutable_update_mask()->add_paths("ao_competence_transferred");
  v1::Organisation updated;
  ASSERT_TRUE(stub_->UpdateOrganisation(AuthedContext(Admin()).get(), update, &updated).ok());
  v1::AoCompetences r;
  ASSERT_TRUE(Competences(epci_.name(), CivilDate{2026, 6, 1}, &r).ok());
  EXPECT_TRUE(r.autorite_organisatrice().empty());
  EXPECT_THAT(r.competences(), IsEmpty());
  EXPECT_FALSE(r.schema_pluriannuel_required());
  EXPECT_FALSE(r.relais_petite_enfance_required());
  EXPECT_THAT(r.notes(), Contains(HasSubstr("n'a transféré la compétence d'AO à l'EPCI")));
  ASSERT_TRUE(Competences(agme_.name(), CivilDate{2026, 6, 1}, &r).ok());
  EXPECT_EQ(r.autorite_organisatrice(), agme_.name());
}

TEST_F(CompetencesCopilFacilitiesTest, CompetencesBadRequests) {
  v1::GetAoCompetencesRequest req;
  v1::AoCompetences r;
  auto status = stub_->GetAoCompetences(AuthedContext(Admin()).get(), req, &r);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status), UnorderedElementsAre("organisation", "date"));

  req.set_organisation(marmande_.name());
  req.mutable_date()->set_year(2026);
  req.mutable_date()->set_month(2);
  req.mutable_date()->set_day(30);
  status = stub_->GetAoCompetences(AuthedContext(Admin()).get(), req, &r);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("date"));

  EXPECT_EQ(Competences(kUnknownOrganisation, CivilDate{2026, 1, 1}, &r).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Competences(caf_.name(), CivilDate{2026, 1, 1}, &r).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  req.mutable_date()->set_day(1);
  EXPECT_EQ(stub_->GetAoCompetences(AuthedContext("").get(), req, &r).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  // A commune without any legal population: thresholds cannot be applied.
  v1::Organisation bare = Org(v1::COMMUNE, "Jusix");
  bare.set_insee_code("47120");
  bare = CreateOrg(bare);
  EXPECT_EQ(Competences(bare.name(), CivilDate{2026, 1, 1}, &r).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

// =============================================================================================
// COPIL

TEST_F(CompetencesCopilFacilitiesTest, CopilLifecycleAndParity) {
  const auto convention = InsertConvention();
  auto members = FullCommittee(convention);
  ASSERT_EQ(members.size(), 11u);
  EXPECT_THAT(members[0].name(), ::testing::StartsWith("copilMembers/"));
  EXPECT_EQ(members[0].convention(), convention);
  EXPECT_EQ(members[0].organisation(), caf_.name());
  EXPECT_EQ(members[0].role(), v1::CO_CHAIR);
  EXPECT_TRUE(members[10].organisation().empty());

  v1::CopilComposition composition;
  ASSERT_TRUE(Check(convention, &composition).ok());
  EXPECT_TRUE(composition.compliant());
  EXPECT_THAT(composition.issues(), IsEmpty());
  ASSERT_EQ(composition.colleges_size(), 5);
  for (const auto& c : composition.colleges()) EXPECT_EQ(c.voting_members(), 2);

  // Paginated listing, readable by a collectivity agent.
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    v1::ListCopilMembersRequest req;
    req.set_convention(convention);
    req.set_page_size(4);
    req.set_page_token(token);
    v1::ListCopilMembersResponse resp;
    ASSERT_TRUE(stub_->ListCopilMembers(AuthedContext(AgentOf(tonneins_)).get(), req, &resp).ok());
    for (const auto& m : resp.members()) seen.push_back(m.name());
    token = resp.next_page_token();
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 11u);
  EXPECT_EQ(seen[0], members[0].name());
  EXPECT_EQ(seen[10], members[10].name());

  // Removing the DASEN breaks the parity of the State college.
  v1::DeleteCopilMemberRequest del;
  del.set_name(members[9].name());
  v1::DeleteCopilMemberResponse deleted;
  ASSERT_TRUE(stub_->DeleteCopilMember(AuthedContext(Admin()).get(), del, &deleted).ok());
  EXPECT_EQ(CountRows("copil_members"), 10);
  ASSERT_TRUE(Check(convention, &composition).ok());
  EXPECT_FALSE(composition.compliant());
  EXPECT_THAT(composition.issues(),
              ElementsAre("Collège État : 1 membre votant, parité non respectée (attendu 2)"));
  // Deleting it again: NOT_FOUND.
  EXPECT_EQ(stub_->DeleteCopilMember(AuthedContext(Admin()).get(), del, &deleted).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(CompetencesCopilFacilitiesTest, EmptyCommitteeIsReportedInFrench) {
  const auto convention = InsertConvention();
  v1::CopilComposition composition;
  ASSERT_TRUE(Check(convention, &composition).ok());
  EXPECT_FALSE(composition.compliant());
  EXPECT_EQ(composition.colleges_size(), 5);
  EXPECT_THAT(composition.issues(), Contains(HasSubstr("Secrétariat permanent : non désigné")));
}

TEST_F(CompetencesCopilFacilitiesTest, CopilBadRequestsWriteNothing) {
  const auto convention = InsertConvention();
  v1::CopilMember bad;
  bad.set_convention("conventions/not-a-uuid");
  bad.set_role(static_cast<v1::CopilRole>(42));
  v1::CopilMember out;
  auto status = AddMember(bad, &out, Admin(), "not-a-uuid");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status),
              UnorderedElementsAre("member.convention", "member.college", "member.role",
                                   "member.organisation", "member.person_name", "request_id"));

  // A voting member needs an organisation; a consultative one does not.
  auto no_org = Member(convention, v1::COLLEGE_DEPARTEMENT, departement_, "X");
  no_org.clear_organisation();
  status = AddMember(no_org, &out);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("member.organisation"));

  // Too long a name.
  status = AddMember(Member(convention, v1::COLLEGE_CAF, caf_, std::string(201, 'a')), &out);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("member.person_name"));

  // The organisation's kind must fit the college.
  for (const auto& [college, org] : std::vector<std::pair<v1::CopilCollege, v1::Organisation>>{
           {v1::COLLEGE_CAF, marmande_},
           {v1::COLLEGE_AGGLOMERATION, caf_},
           {v1::COLLEGE_COMMUNES, epci_},
           {v1::COLLEGE_DEPARTEMENT, state_},
           {v1::COLLEGE_STATE, departement_}}) {
    status = AddMember(Member(convention, college, org, "Quelqu'un"), &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << v1::CopilCollege_Name(college);
    EXPECT_THAT(ViolatedFields(status), ElementsAre("member.organisation"));
  }
  EXPECT_EQ(CountRows("copil_members"), 0);
  EXPECT_EQ(CountRows("idempotency_keys"), 0);

  // Unknown convention and organisation: NOT_FOUND, nothing written.
  EXPECT_EQ(AddMember(Member(kUnknownConvention, v1::COLLEGE_CAF, caf_, "X"), &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::Organisation ghost;
  ghost.set_name(kUnknownOrganisation);
  EXPECT_EQ(AddMember(Member(convention, v1::COLLEGE_CAF, ghost, "X"), &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(CountRows("copil_members"), 0);

  v1::ListCopilMembersRequest list;
  list.set_convention(kUnknownConvention);
  v1::ListCopilMembersResponse listed;
  EXPECT_EQ(stub_->ListCopilMembers(AuthedContext(Admin()).get(), list, &listed).error_code(),
            grpc::StatusCode::NOT_FOUND);
  list.set_convention("");
  list.set_page_size(-1);
  status = stub_->ListCopilMembers(AuthedContext(Admin()).get(), list, &listed);
  EXPECT_THAT(ViolatedFields(status), UnorderedElementsAre("convention", "page_size"));

  v1::CopilComposition composition;
  EXPECT_EQ(Check(kUnknownConvention, &composition).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(ViolatedFields(Check("organisations/x", &composition)), ElementsAre("convention"));

  v1::DeleteCopilMemberRequest del;
  del.set_name("copilMembers/oops");
  v1::DeleteCopilMemberResponse deleted;
  EXPECT_THAT(ViolatedFields(stub_->DeleteCopilMember(AuthedContext(Admin()).get(), del, &deleted)),
              ElementsAre("name"));
}

TEST_F(CompetencesCopilFacilitiesTest, OnlyAdministratorsChangeTheCopil) {
  const auto convention = InsertConvention();
  v1::CopilMember created;
  ASSERT_TRUE(
      AddMember(Member(convention, v1::COLLEGE_COMMUNES, marmande_, "Maire de Marmande"), &created)
          .ok());
  v1::CopilMember out;
  // Another commune's agent (and even Marmande's own agent) may not appoint or remove members.
  for (const auto& token : {AgentOf(tonneins_), AgentOf(marmande_)}) {
    EXPECT_EQ(AddMember(Member(convention, v1::COLLEGE_COMMUNES, tonneins_, "Maire de Tonneins"),
                        &out, token)
                  .error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    v1::DeleteCopilMemberRequest del;
    del.set_name(created.name());
    v1::DeleteCopilMemberResponse deleted;
    EXPECT_EQ(stub_->DeleteCopilMember(AuthedContext(token).get(), del, &deleted).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(CountRows("copil_members"), 1);
  // A Caf agent is an administrator.
  EXPECT_TRUE(AddMember(Member(convention, v1::COLLEGE_CAF, caf_, "Virginie Monti"), &out,
                        TestToken({Role::kCafAgent}, caf_.name(), "caf-agent"))
                  .ok());
  // Everyone authenticated reads the composition.
  v1::CopilComposition composition;
  EXPECT_TRUE(Check(convention, &composition, AgentOf(tonneins_)).ok());
}

TEST_F(CompetencesCopilFacilitiesTest, CopilRequestIdMakesCreateIdempotent) {
  const auto convention = InsertConvention();
  const std::string request_id = "0b8d2c4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e";
  v1::CopilMember first, second;
  auto m = Member(convention, v1::COLLEGE_CAF, caf_, "Béatrice Lavit", v1::CO_CHAIR);
  ASSERT_TRUE(AddMember(m, &first, Admin(), request_id).ok());
  ASSERT_TRUE(AddMember(m, &second, Admin(), request_id).ok());
  EXPECT_EQ(first.name(), second.name());
  EXPECT_EQ(CountRows("copil_members"), 1);
}

// =============================================================================================
// Facilities

TEST_F(CompetencesCopilFacilitiesTest, FacilityCreateGetListUpdate) {
  // Marmande's own agent records a crèche of Marmande.
  v1::Facility creche;
  auto status = CreateFacility(Creche(), &creche, AgentOf(marmande_));
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(creche.name(), ::testing::StartsWith("facilities/"));
  EXPECT_EQ(creche.kind(), v1::EAJE);
  EXPECT_EQ(creche.capacity(), 40);
  EXPECT_EQ(creche.opening_date().year(), 2010);
  EXPECT_FALSE(creche.has_closing_date());
  EXPECT_FALSE(creche.etag().empty());
  EXPECT_EQ(GetFacility(creche.name()).display_name(), "Multi-accueil Les Lutins");

  // An RPE of Tonneins (0 places) supported by the EPCI, managed by an association.
  v1::Facility rpe = Creche();
  rpe.set_kind(v1::RPE);
  rpe.set_display_name("Relais petite enfance de Tonneins");
  rpe.set_commune(tonneins_.name());
  rpe.set_manager(association_.name());
  rpe.set_supporting_ao(epci_.name());
  rpe.set_capacity(0);
  *rpe.mutable_closing_date() = CivilDate{2030, 8, 31}.ToProto();
  v1::Facility rpe_out;
  ASSERT_TRUE(CreateFacility(rpe, &rpe_out).ok());
  EXPECT_EQ(rpe_out.closing_date().year(), 2030);
  v1::Facility third = Creche();
  third.set_display_name("Micro-crèche Les Canailles");
  third.set_kind(v1::MICRO_CRECHE);
  third.clear_supporting_ao();
  v1::Facility third_out;
  ASSERT_TRUE(CreateFacility(third, &third_out).ok());
  EXPECT_TRUE(third_out.supporting_ao().empty());

  auto list = [&](const std::string& commune, v1::FacilityKind kind, const std::string& ao) {
    v1::ListFacilitiesRequest req;
    req.set_commune(commune);
    req.set_kind(kind);
    req.set_supporting_ao(ao);
    v1::ListFacilitiesResponse resp;
    EXPECT_TRUE(stub_->ListFacilities(AuthedContext(AgentOf(tonneins_)).get(), req, &resp).ok());
    std::vector<std::string> names;
    for (const auto& f : resp.facilities()) names.push_back(f.display_name());
    return names;
  };
  EXPECT_THAT(list("", v1::FACILITY_KIND_UNSPECIFIED, ""),
              ElementsAre("Multi-accueil Les Lutins", "Relais petite enfance de Tonneins",
                          "Micro-crèche Les Canailles"));
  EXPECT_THAT(list(marmande_.name(), v1::FACILITY_KIND_UNSPECIFIED, ""),
              ElementsAre("Multi-accueil Les Lutins", "Micro-crèche Les Canailles"));
  EXPECT_THAT(list("", v1::RPE, ""), ElementsAre("Relais petite enfance de Tonneins"));
  EXPECT_THAT(list("", v1::FACILITY_KIND_UNSPECIFIED, epci_.name()),
              ElementsAre("Relais petite enfance de Tonneins"));
  EXPECT_THAT(list(marmande_.name(), v1::EAJE, marmande_.name()),
              ElementsAre("Multi-accueil Les Lutins"));

  // Pagination.
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    v1::ListFacilitiesRequest req;
    req.set_page_size(2);
    req.set_page_token(token);
    v1::ListFacilitiesResponse resp;
    ASSERT_TRUE(stub_->ListFacilities(AuthedContext(Admin()).get(), req, &resp).ok());
    for (const auto& f : resp.facilities()) seen.push_back(f.name());
    token = resp.next_page_token();
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(pages, 2);
  EXPECT_THAT(seen, ElementsAre(creche.name(), rpe_out.name(), third_out.name()));

  // Update with a mask, by Marmande's agent.
  v1::Facility patch;
  patch.set_name(creche.name());
  patch.set_etag(creche.etag());
  patch.set_display_name("Multi-accueil Les Lutins (extension)");
  patch.set_capacity(48);
  patch.set_kind(v1::ALSH);  // not in the mask: ignored
  v1::Facility updated;
  status = UpdateFacility(patch, {"display_name", "capacity"}, &updated, AgentOf(marmande_));
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(updated.display_name(), "Multi-accueil Les Lutins (extension)");
  EXPECT_EQ(updated.capacity(), 48);
  EXPECT_EQ(updated.kind(), v1::EAJE);
  EXPECT_EQ(updated.commune(), marmande_.name());
  EXPECT_NE(updated.etag(), creche.etag());

  // Capacity 0 with an explicit mask, closing date set.
  patch.set_etag(updated.etag());
  patch.set_capacity(0);
  *patch.mutable_closing_date() = CivilDate{2027, 7, 31}.ToProto();
  ASSERT_TRUE(UpdateFacility(patch, {"capacity", "closing_date"}, &updated).ok());
  EXPECT_EQ(updated.capacity(), 0);
  EXPECT_EQ(updated.closing_date().year(), 2027);

  // The old etag is stale: ABORTED, nothing changes.
  patch.set_etag(creche.etag());
  patch.set_display_name("Autre nom");
  v1::Facility ignored;
  EXPECT_EQ(UpdateFacility(patch, {"display_name"}, &ignored).error_code(),
            grpc::StatusCode::ABORTED);
  EXPECT_EQ(GetFacility(creche.name()).display_name(), "Multi-accueil Les Lutins (extension)");
}

TEST_F(CompetencesCopilFacilitiesTest, FacilityBadRequestsWriteNothing) {
  v1::Facility bad;
  bad.set_display_name(std::string(201, 'x'));
  bad.set_manager("organisations/nope");
  bad.set_supporting_ao("facilities/00000000-0000-4000-8000-000000000000");
  bad.set_capacity(-1);
  *bad.mutable_opening_date() = CivilDate{2025, 9, 1}.ToProto();
  *bad.mutable_closing_date() = CivilDate{2025, 8, 31}.ToProto();
  v1::Facility out;
  auto status = CreateFacility(bad, &out, Admin(), "123");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status),
              UnorderedElementsAre("facility.kind", "facility.display_name", "facility.manager",
                                   "facility.commune", "facility.supporting_ao",
                                   "facility.capacity", "facility.closing_date", "request_id"));

  v1::Facility invalid_date = Creche();
  invalid_date.mutable_opening_date()->set_month(13);
  EXPECT_THAT(ViolatedFields(CreateFacility(invalid_date, &out)),
              ElementsAre("facility.opening_date"));

  // Wrong kinds: the commune must be a COMMUNE, the supporting AO a COMMUNE or EPCI.
  v1::Facility wrong_kinds = Creche();
  wrong_kinds.set_commune(epci_.name());
  wrong_kinds.set_supporting_ao(caf_.name());
  status = CreateFacility(wrong_kinds, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status),
              UnorderedElementsAre("facility.commune", "facility.supporting_ao"));

  // Unknown manager / commune / supporting AO: NOT_FOUND.
  for (const char* field : {"manager", "commune", "supporting_ao"}) {
    v1::Facility ghost = Creche();
    if (std::string(field) == "manager") ghost.set_manager(kUnknownOrganisation);
    if (std::string(field) == "commune") ghost.set_commune(kUnknownOrganisation);
    if (std::string(field) == "supporting_ao") ghost.set_supporting_ao(kUnknownOrganisation);
    EXPECT_EQ(CreateFacility(ghost, &out).error_code(), grpc::StatusCode::NOT_FOUND) << field;
  }
  EXPECT_EQ(CountRows("facilities"), 0);
  EXPECT_EQ(CountRows("idempotency_keys"), 0);

  // Get / update of an unknown facility, malformed names.
  v1::GetFacilityRequest get;
  get.set_name("facilities/00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(stub_->GetFacility(AuthedContext(Admin()).get(), get, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  get.set_name("organisations/00000000-0000-4000-8000-000000000000");
  EXPECT_THAT(ViolatedFields(stub_->GetFacility(AuthedContext(Admin()).get(), get, &out)),
              ElementsAre("name"));
  v1::Facility patch;
  patch.set_name("facilities/00000000-0000-4000-8000-000000000000");
  patch.set_display_name("X");
  EXPECT_EQ(UpdateFacility(patch, {"display_name"}, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Bad list filters.
  v1::ListFacilitiesRequest list;
  list.set_commune("Marmande");
  list.set_supporting_ao("organisations/1");
  list.set_kind(static_cast<v1::FacilityKind>(99));
  list.set_page_token("garbage");
  v1::ListFacilitiesResponse listed;
  EXPECT_THAT(ViolatedFields(stub_->ListFacilities(AuthedContext(Admin()).get(), list, &listed)),
              UnorderedElementsAre("commune", "supporting_ao", "kind", "page_token"));
}

TEST_F(CompetencesCopilFacilitiesTest, FacilityBadUpdatesChangeNothing) {
  v1::Facility creche;
  ASSERT_TRUE(CreateFacility(Creche(), &creche).ok());
  v1::Facility patch;
  patch.set_name(creche.name());
  patch.set_capacity(-3);
  patch.set_commune(caf_.name());
  *patch.mutable_closing_date() = CivilDate{2001, 1, 1}.ToProto();
  v1::Facility out;
  auto status = UpdateFacility(patch, {"capacity", "closing_date"}, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status),
              UnorderedElementsAre("facility.capacity", "facility.closing_date"));
  // The commune must still be a COMMUNE.
  EXPECT_THAT(ViolatedFields(UpdateFacility(patch, {"commune"}, &out)),
              ElementsAre("facility.commune"));
  // Paths outside the updatable fields.
  EXPECT_THAT(ViolatedFields(UpdateFacility(patch, {"name", "etag"}, &out)),
              ElementsAre("update_mask", "update_mask"));
  // Unknown manager on update: NOT_FOUND.
  patch.set_manager(kUnknownOrganisation);
  EXPECT_EQ(UpdateFacility(patch, {"manager"}, &out).error_code(), grpc::StatusCode::NOT_FOUND);

  const auto stored = GetFacility(creche.name());
  EXPECT_EQ(stored.capacity(), 40);
  EXPECT_EQ(stored.commune(), marmande_.name());
  EXPECT_EQ(stored.manager(), marmande_.name());
  EXPECT_EQ(stored.etag(), creche.etag());
}

TEST_F(CompetencesCopilFacilitiesTest, AgentsOnlyTouchTheirOwnFacilities) {
  v1::Facility out;
  // Tonneins' agent cannot record a facility of Marmande.
  EXPECT_EQ(CreateFacility(Creche(), &out, AgentOf(tonneins_)).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Roles without write rights (an auditor acting for Marmande) are refused too.
  EXPECT_EQ(
      CreateFacility(Creche(), &out, TestToken({Role::kAuditor}, marmande_.name())).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CountRows("facilities"), 0);

  // A crèche of Marmande managed by an association: Marmande's agent may not record a facility
  // managed by someone else, even naming Marmande as its supporting AO; the Caf of the
  // convention (or its secretariat) records it.
  v1::Facility creche_in = Creche();
  creche_in.set_manager(association_.name());
  v1::Facility creche;
  EXPECT_EQ(CreateFacility(creche_in, &creche, AgentOf(marmande_)).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Nor one managed by Tonneins, located in Tonneins.
  v1::Facility elsewhere = Creche();
  elsewhere.set_manager(tonneins_.name());
  elsewhere.set_commune(tonneins_.name());
  EXPECT_EQ(CreateFacility(elsewhere, &creche, AgentOf(marmande_)).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CountRows("facilities"), 0);
  ASSERT_TRUE(CreateFacility(creche_in, &creche, Admin()).ok());
  const auto secretariat = TestToken({Role::kCopilSecretariat}, epci_.name(), "secretariat");
  v1::Facility by_secretariat;
  ASSERT_TRUE(CreateFacility(elsewhere, &by_secretariat, secretariat).ok());

  // Tonneins' agent cannot update it.
  v1::Facility patch;
  patch.set_name(creche.name());
  patch.set_display_name("Piratée");
  EXPECT_EQ(UpdateFacility(patch, {"display_name"}, &out, AgentOf(tonneins_)).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Marmande's agent cannot hand it over to Tonneins' responsibility.
  patch.clear_display_name();
  patch.set_commune(tonneins_.name());
  patch.set_supporting_ao(tonneins_.name());
  EXPECT_EQ(
      UpdateFacility(patch, {"commune", "supporting_ao"}, &out, AgentOf(marmande_)).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);

  // The association's agent (its manager) may update it.
  patch.clear_commune();
  patch.clear_supporting_ao();
  patch.set_capacity(42);
  EXPECT_TRUE(UpdateFacility(patch, {"capacity"}, &out,
                             TestToken({Role::kCollectivityAgent}, association_.name()))
                  .ok());

  const auto stored = GetFacility(creche.name());
  EXPECT_EQ(stored.display_name(), "Multi-accueil Les Lutins");
  EXPECT_EQ(stored.commune(), marmande_.name());
  EXPECT_EQ(stored.supporting_ao(), marmande_.name());
  EXPECT_EQ(stored.capacity(), 42);

  // An administrator may move it.
  patch.set_etag(stored.etag());
  patch.set_commune(tonneins_.name());
  patch.set_supporting_ao(tonneins_.name());
  ASSERT_TRUE(UpdateFacility(patch, {"commune", "supporting_ao"}, &out).ok());
  EXPECT_EQ(out.commune(), tonneins_.name());
}

TEST_F(CompetencesCopilFacilitiesTest, FacilityRequestIdMakesCreateIdempotent) {
  const std::string request_id = "3c9e1a7b-2d4f-4e6a-9b8c-7d6e5f4a3b2c";
  v1::Facility first, second;
  ASSERT_TRUE(CreateFacility(Creche(), &first, Admin(), request_id).ok());
  ASSERT_TRUE(CreateFacility(Creche(), &second, Admin(), request_id).ok());
  EXPECT_EQ(first.name(), second.name());
  EXPECT_EQ(CountRows("facilities"), 1);
}

}  // namespace
}  // namespace ctg::partners

namespace ctg::partners {
namespace {

// Art. 8: the COPIL gathers representatives of the parties. A Caf that is not a party cannot sit
// in the Caf college (nor co-chair it), and the parity check never counts it; resource persons
// with a consultative voice are the only members from outside.
TEST_F(CompetencesCopilFacilitiesTest, CopilMembersComeFromThePartiesOnly) {
  const auto convention = InsertConvention();
  const auto other_caf = CreateOrg(Org(v1::CAF, "Caf de la Gironde"));
  v1::CopilMember out;
  auto status =
      AddMember(Member(convention, v1::COLLEGE_CAF, other_caf, "Intruse", v1::CO_CHAIR), &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("member.organisation"));
  // The association is not a party either; as a consultative member it may sit.
  status = AddMember(Member(convention, v1::COLLEGE_COMMUNES, association_, "X"), &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  status = AddMember(
      Member(convention, v1::COLLEGE_CONSULTATIVE, association_, "Directrice de l'association"),
      &out);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(CountRows("copil_members"), 1);
  // The Caf of the convention sits and co-chairs.
  ASSERT_TRUE(
      AddMember(Member(convention, v1::COLLEGE_CAF, caf_, "Béatrice Lavit", v1::CO_CHAIR), &out)
          .ok());
}

// The convention's administrators are its Caf party and the organisation holding its
// secretariat; a Caf agent of another Caf, or a secretariat agent of another organisation, is
// refused (PERMISSION_DENIED: the COPIL is public, the caller may know it exists).
TEST_F(CompetencesCopilFacilitiesTest, OnlyThisConventionsAdministratorsChangeItsCopil) {
  const auto convention = InsertConvention();
  const auto other_caf = CreateOrg(Org(v1::CAF, "Caf de la Gironde"));
  v1::CopilMember out;
  for (const auto& token :
       {TestToken({Role::kCafAgent}, other_caf.name(), "caf33"),
        TestToken({Role::kCopilSecretariat}, marmande_.name(), "not-the-secretariat"),
        TestToken({Role::kCafAgent}, "", "caf-without-organisation")}) {
    EXPECT_EQ(AddMember(Member(convention, v1::COLLEGE_CAF, caf_, "X"), &out, token).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(CountRows("copil_members"), 0);
  const auto secretariat = TestToken({Role::kCopilSecretariat}, epci_.name(), "secretariat");
  EXPECT_TRUE(
      AddMember(Member(convention, v1::COLLEGE_CAF, caf_, "Virginie Monti"), &out, secretariat)
          .ok());
}

}  // namespace
}  // namespace ctg::partners
