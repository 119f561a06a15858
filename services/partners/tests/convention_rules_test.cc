// Pure rules of conventions (state, signatures, amendments, termination) and of the import
// (name matching, CSV reading, plan).
#include "partners/convention_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "partners/convention_import.h"

namespace ctg::partners {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

const char kEpci[] = "organisations/00000000-0000-4000-8000-000000000001";
const char kCaf[] = "organisations/00000000-0000-4000-8000-000000000002";
const char kCommune[] = "organisations/00000000-0000-4000-8000-000000000003";
const char kMaire[] = "representatives/00000000-0000-4000-8000-000000000011";
const char kPresidente[] = "representatives/00000000-0000-4000-8000-000000000012";
const char kDirectrice[] = "representatives/00000000-0000-4000-8000-000000000013";
const char kPresident[] = "representatives/00000000-0000-4000-8000-000000000014";

// A convention for 2025-2029 between the EPCI, the Caf (two designated signers) and a commune.
v1::Convention Draft() {
  v1::Convention c;
  c.set_title("CTG");
  c.set_territory(kEpci);
  *c.mutable_start_date() = CivilDate{2025, 1, 1}.ToProto();
  *c.mutable_end_date() = CivilDate{2029, 12, 31}.ToProto();
  c.add_parties()->set_organisation(kEpci);
  auto* caf = c.add_parties();
  caf->set_organisation(kCaf);
  caf->add_signers(kPresidente);
  caf->add_signers(kDirectrice);
  c.add_parties()->set_organisation(kCommune);
  return c;
}

void Sign(v1::Convention& c, const std::string& org, const std::string& rep) {
  auto* s = c.add_signatures();
  s->set_organisation(org);
  s->set_representative(rep);
  *s->mutable_signed_on() = CivilDate{2024, 12, 1}.ToProto();
}

v1::Convention Signed() {
  auto c = Draft();
  Sign(c, kEpci, kPresident);
  Sign(c, kCaf, kPresidente);
  Sign(c, kCaf, kDirectrice);
  Sign(c, kCommune, kMaire);
  return c;
}

std::vector<std::string> Fields(const std::function<void(Violations&)>& check) {
  Violations v;
  check(v);
  return v.fields();
}

// ---- Validation ----

TEST(ValidateConventionTest, AcceptsAWellFormedConvention) {
  EXPECT_THAT(Fields([](Violations& v) { ValidateConvention(Draft(), "convention.", v); }),
              ::testing::IsEmpty());
}

TEST(ValidateConventionTest, NamesEveryBadField) {
  v1::Convention c;
  c.set_title(std::string(301, 'x'));
  *c.mutable_start_date() = CivilDate{2025, 1, 1}.ToProto();
  *c.mutable_end_date() = CivilDate{2024, 12, 31}.ToProto();
  EXPECT_THAT(Fields([&](Violations& v) { ValidateConvention(c, "convention.", v); }),
              UnorderedElementsAre("convention.title", "convention.territory",
                                   "convention.end_date", "convention.parties"));
}

TEST(ValidateConventionTest, PartiesMustBeDistinctAndIncludeTheTerritory) {
  auto c = Draft();
  c.add_parties()->set_organisation(kCommune);
  c.mutable_parties(1)->add_signers(kPresidente);
  c.mutable_parties(0)->add_signers("people/1");
  c.set_territory("organisations/00000000-0000-4000-8000-000000000099");
  c.clear_start_date();
  EXPECT_THAT(
      Fields([&](Violations& v) { ValidateConvention(c, "convention.", v); }),
      UnorderedElementsAre("convention.parties[3].organisation", "convention.parties[1].signers[2]",
                           "convention.parties[0].signers[0]", "convention.territory",
                           "convention.start_date"));
}

// ---- State ----

TEST(ConventionStateTest, DraftUntilEveryPartyHasSigned) {
  auto c = Draft();
  const CivilDate today{2025, 6, 1};
  EXPECT_EQ(ComputeConventionState(c, today), v1::DRAFT);
  Sign(c, kEpci, kPresident);
  Sign(c, kCommune, kMaire);
  Sign(c, kCaf, kPresidente);
  // The Caf has two designated signers: one is not enough.
  EXPECT_FALSE(IsFullySigned(c));
  EXPECT_EQ(ComputeConventionState(c, today), v1::DRAFT);
  Sign(c, kCaf, kDirectrice);
  EXPECT_TRUE(IsFullySigned(c));
  EXPECT_EQ(ComputeConventionState(c, today), v1::IN_FORCE);
}

TEST(ConventionStateTest, AnyRepresentativeSignsForAPartyWithoutDesignatedSigners) {
  auto c = Signed();
  // Replace the commune's signature by another representative of it: still fully signed.
  c.mutable_signatures(3)->set_representative(
      "representatives/00000000-0000-4000-8000-000000000099");
  EXPECT_TRUE(IsFullySigned(c));
  // A signature by someone of another organisation does not count for the commune.
  c.mutable_signatures(3)->set_organisation(kEpci);
  EXPECT_FALSE(IsFullySigned(c));
}

TEST(ConventionStateTest, FollowsThePeriodAroundStartAndEnd) {
  const auto c = Signed();
  EXPECT_EQ(ComputeConventionState(c, {2024, 12, 31}), v1::SIGNED);
  EXPECT_EQ(ComputeConventionState(c, {2025, 1, 1}), v1::IN_FORCE);
  EXPECT_EQ(ComputeConventionState(c, {2029, 12, 31}), v1::IN_FORCE);
  EXPECT_EQ(ComputeConventionState(c, {2030, 1, 1}), v1::EXPIRED);
}

TEST(ConventionStateTest, TerminatedFromTheEffectiveDateOnly) {
  auto c = Signed();
  auto* t = c.mutable_termination();
  t->set_ground(v1::MUTUAL_CONSENT);
  t->set_initiated_by(kCommune);
  *t->mutable_notice_date() = CivilDate{2026, 1, 15}.ToProto();
  *t->mutable_effective_date() = CivilDate{2026, 7, 15}.ToProto();
  EXPECT_EQ(ComputeConventionState(c, {2026, 7, 14}), v1::IN_FORCE);
  EXPECT_TRUE(HasTermination(c));
  EXPECT_EQ(ComputeConventionState(c, {2026, 7, 15}), v1::TERMINATED);
  EXPECT_EQ(ComputeConventionState(c, {2031, 1, 1}), v1::TERMINATED);
}

// ---- Signing ----

TEST(CheckCanSignTest, EnforcesPartiesDesignatedSignersAndSingleSignature) {
  auto c = Draft();
  const CivilDate today{2024, 12, 1};
  EXPECT_NO_THROW(CheckCanSign(c, kCaf, kPresidente, today));
  EXPECT_NO_THROW(CheckCanSign(c, kCommune, kMaire, today));
  EXPECT_THROW(CheckCanSign(c, kCaf, "representatives/00000000-0000-4000-8000-000000000099", today),
               FailedPreconditionError);
  EXPECT_THROW(CheckCanSign(c, "organisations/00000000-0000-4000-8000-000000000077", kMaire, today),
               FailedPreconditionError);
  Sign(c, kCommune, kMaire);
  EXPECT_THROW(CheckCanSign(c, kCommune, kMaire, today), FailedPreconditionError);
  // Once fully signed, nobody signs any more.
  EXPECT_THROW(CheckCanSign(Signed(), kCommune, kPresident, today), FailedPreconditionError);
}

// ---- Amendments ----

TEST(AmendmentTest, NumberedSequentiallyFromOne) {
  auto c = Signed();
  EXPECT_EQ(NextAmendmentNumber(c), 1);
  c.add_amendments()->set_number(1);
  EXPECT_EQ(NextAmendmentNumber(c), 2);
  c.add_amendments()->set_number(2);
  EXPECT_EQ(NextAmendmentNumber(c), 3);
}

TEST(AmendmentTest, OnlySignedOrInForceConventionsAreAmended) {
  EXPECT_THROW(CheckCanAmend(Draft(), {2025, 6, 1}), FailedPreconditionError);
  EXPECT_NO_THROW(CheckCanAmend(Signed(), {2024, 12, 15}));                      // SIGNED
  EXPECT_NO_THROW(CheckCanAmend(Signed(), {2025, 6, 1}));                        // IN_FORCE
  EXPECT_THROW(CheckCanAmend(Signed(), {2030, 1, 1}), FailedPreconditionError);  // EXPIRED
  auto terminated = Signed();
  terminated.mutable_termination()->set_ground(v1::FORMAL_NOTICE);
  *terminated.mutable_termination()->mutable_effective_date() = CivilDate{2026, 1, 1}.ToProto();
  EXPECT_THROW(CheckCanAmend(terminated, {2026, 1, 1}), FailedPreconditionError);
}

TEST(AmendmentTest, ValidatesDateAndChanges) {
  google::protobuf::RepeatedPtrField<std::string> changes;
  EXPECT_THAT(Fields([&](Violations& v) {
                ValidateAmendment(google::type::Date(), changes, {2025, 6, 1}, v);
              }),
              UnorderedElementsAre("signed_on", "changes"));
  *changes.Add() = "Annexe 3 : action 12 modifiée";
  *changes.Add() = "";
  *changes.Add() = std::string(2001, 'a');
  EXPECT_THAT(Fields([&](Violations& v) {
                ValidateAmendment(CivilDate{2025, 6, 2}.ToProto(), changes, {2025, 6, 1}, v);
              }),
              UnorderedElementsAre("signed_on", "changes[1]", "changes[2]"));
}

// ---- Termination ----

std::map<std::string, int> Kinds() {
  return {{kEpci, v1::EPCI}, {kCaf, v1::CAF}, {kCommune, v1::COMMUNE}};
}

v1::Termination Termination(v1::TerminationGround ground, const char* by, CivilDate notice,
                            CivilDate effective) {
  v1::Termination t;
  t.set_ground(ground);
  t.set_initiated_by(by);
  if (notice.year != 0) *t.mutable_notice_date() = notice.ToProto();
  *t.mutable_effective_date() = effective.ToProto();
  return t;
}

std::vector<std::string> TerminationFields(const v1::Termination& t) {
  return Fields(
      [&](Violations& v) { ValidateTermination(Signed(), t, Kinds(), "termination.", v); });
}

TEST(TerminationTest, FormalNoticeNeedsOneMonth) {
  EXPECT_THAT(
      TerminationFields(Termination(v1::FORMAL_NOTICE, kCommune, {2026, 3, 10}, {2026, 4, 10})),
      ::testing::IsEmpty());
  EXPECT_THAT(
      TerminationFields(Termination(v1::FORMAL_NOTICE, kCommune, {2026, 3, 10}, {2026, 4, 9})),
      ElementsAre("termination.effective_date"));
  // 31 January + 1 month is the last day of February.
  EXPECT_THAT(
      TerminationFields(Termination(v1::FORMAL_NOTICE, kEpci, {2026, 1, 31}, {2026, 2, 28})),
      ::testing::IsEmpty());
  EXPECT_THAT(
      TerminationFields(Termination(v1::FORMAL_NOTICE, kEpci, {2026, 1, 31}, {2026, 2, 27})),
      ElementsAre("termination.effective_date"));
  EXPECT_THAT(TerminationFields(Termination(v1::FORMAL_NOTICE, kEpci, {}, {2026, 2, 27})),
              ElementsAre("termination.notice_date"));
}

TEST(TerminationTest, MutualConsentNeedsSixMonths) {
  EXPECT_THAT(
      TerminationFields(Termination(v1::MUTUAL_CONSENT, kCaf, {2026, 3, 10}, {2026, 9, 10})),
      ::testing::IsEmpty());
  EXPECT_THAT(TerminationFields(Termination(v1::MUTUAL_CONSENT, kCaf, {2026, 3, 10}, {2026, 9, 9})),
              ElementsAre("termination.effective_date"));
  EXPECT_EQ(EarliestTerminationDate(v1::MUTUAL_CONSENT, {2026, 8, 31}), (CivilDate{2027, 2, 28}));
}

TEST(TerminationTest, WithoutAmendmentOnlyTheCafWithoutNotice) {
  EXPECT_THAT(
      TerminationFields(Termination(v1::MODIFICATION_WITHOUT_AMENDMENT, kCaf, {}, {2025, 1, 1})),
      ::testing::IsEmpty());
  EXPECT_THAT(
      TerminationFields(Termination(v1::MODIFICATION_WITHOUT_AMENDMENT, kEpci, {}, {2026, 1, 1})),
      ElementsAre("termination.initiated_by"));
  // Not before the convention's start.
  EXPECT_THAT(
      TerminationFields(Termination(v1::MODIFICATION_WITHOUT_AMENDMENT, kCaf, {}, {2024, 12, 31})),
      ElementsAre("termination.effective_date"));
}

TEST(TerminationTest, InitiatorMustBeAPartyAndGroundKnown) {
  auto t = Termination(v1::TERMINATION_GROUND_UNSPECIFIED,
                       "organisations/00000000-0000-4000-8000-000000000077", {}, {2026, 1, 1});
  t.clear_effective_date();
  EXPECT_THAT(TerminationFields(t),
              UnorderedElementsAre("termination.ground", "termination.initiated_by",
                                   "termination.effective_date"));
}

TEST(TerminationTest, OnlySignedConventionsWithoutTerminationAreTerminated) {
  EXPECT_THROW(CheckCanTerminate(Draft(), {2025, 6, 1}), FailedPreconditionError);
  EXPECT_NO_THROW(CheckCanTerminate(Signed(), {2024, 12, 15}));
  EXPECT_NO_THROW(CheckCanTerminate(Signed(), {2025, 6, 1}));
  EXPECT_THROW(CheckCanTerminate(Signed(), {2030, 1, 1}), FailedPreconditionError);
  auto pending = Signed();
  *pending.mutable_termination() =
      Termination(v1::MUTUAL_CONSENT, kCaf, {2026, 3, 10}, {2026, 9, 10});
  EXPECT_THROW(CheckCanTerminate(pending, {2026, 4, 1}), FailedPreconditionError);
}

// ---- Names ----

TEST(CommuneNameTest, Normalises) {
  EXPECT_EQ(NormaliseCommuneName("Le Mas-d'Agenais"), "masdagenais");
  EXPECT_EQ(NormaliseCommuneName("du Mas d\xE2\x80\x99"
                                 "Agenais"),
            "masdagenais");
  EXPECT_EQ(NormaliseCommuneName("Caubon St Sauveur"), "caubonsaintsauveur");
  EXPECT_EQ(NormaliseCommuneName("Castelnau/ Gupie"), "castelnausurgupie");
  EXPECT_EQ(NormaliseCommuneName("SÉNESTIS"), "senestis");
  EXPECT_EQ(NormaliseCommuneName("Saint Barthélémy d’Agenais"), "saintbarthelemydagenais");
  EXPECT_EQ(NormaliseCommuneName("Lagruère"), "lagruere");
  EXPECT_EQ(NormaliseCommuneName("Ste-Bazeille"), "saintebazeille");
  EXPECT_EQ(NormaliseCommuneName("L'Isle-Jourdain"), "islejourdain");
  EXPECT_EQ(NormaliseCommuneName("Çà ôü îï"), "caouii");
}

TEST(CommuneNameTest, MatchesWrittenNamesToOfficialNames) {
  const std::vector<std::string> official = {"Fourques-sur-Garonne",
                                             "Castelnau-sur-Gupie",
                                             "Caubon-Saint-Sauveur",
                                             "Le Mas-d'Agenais",
                                             "Varès",
                                             "Sénestis",
                                             "Saint-Avit",
                                             "Sainte-Bazeille",
                                             "Saint-Barthélemy-d'Agenais",
                                             "Gontaud-de-Nogaret",
                                             "Marmande"};
  EXPECT_EQ(MatchCommuneName("Fourques", official), 0);
  EXPECT_EQ(MatchCommuneName("Fourques sur Garonne", official), 0);
  EXPECT_EQ(MatchCommuneName("Castelnau/ Gupie", official), 1);
  EXPECT_EQ(MatchCommuneName("Caubon St Sauveur", official), 2);
  EXPECT_EQ(MatchCommuneName("du Mas d\xE2\x80\x99"
                             "Agenais",
                             official),
            3);
  EXPECT_EQ(MatchCommuneName("Mas d\xE2\x80\x99"
                             "Agenais",
                             official),
            3);
  EXPECT_EQ(MatchCommuneName("Vares", official), 4);
  EXPECT_EQ(MatchCommuneName("Senestis", official), 5);
  EXPECT_EQ(MatchCommuneName("Saint Barthélémy d’Agenais", official), 8);
  EXPECT_EQ(MatchCommuneName("Gontaud de Nogaret", official), 9);
  // "Saint" starts several names: ambiguous, no match; unknown names match nothing.
  EXPECT_EQ(MatchCommuneName("Saint", official), -1);
  EXPECT_EQ(MatchCommuneName("Tonneins", official), -1);
  EXPECT_EQ(MatchCommuneName("", official), -1);
}

// ---- CSV ----

TEST(MemberCommunesCsvTest, ReadsEveryVintage) {
  std::istringstream in(
      "\xEF\xBB\xBFinsee_code,siren_commune,name,pmun_2023,pmun_2022,pmun_2021,ptot_2023,"
      "ptot_2022\r\n"
      "47002,214700023,Agmé,108,106,107,109,110\r\n"
      "\n"
      "47159,214701591,\"Le Mas-d'Agenais\",1456,1486,1485,1489,1522\n");
  const auto communes = ReadMemberCommunesCsv(in);
  ASSERT_EQ(communes.size(), 2u);
  EXPECT_EQ(communes[0].insee_code(), "47002");
  EXPECT_EQ(communes[0].siren(), "214700023");
  EXPECT_EQ(communes[0].display_name(), "Agmé");
  ASSERT_EQ(communes[0].populations_size(), 3);
  EXPECT_EQ(communes[0].populations(0).vintage(), 2021);
  EXPECT_EQ(communes[0].populations(0).municipale(), 107);
  EXPECT_EQ(communes[0].populations(0).totale(), 0);  // no ptot_2021 column
  EXPECT_EQ(communes[0].populations(2).vintage(), 2023);
  EXPECT_EQ(communes[0].populations(2).municipale(), 108);
  EXPECT_EQ(communes[0].populations(2).totale(), 109);
  EXPECT_EQ(communes[1].display_name(), "Le Mas-d'Agenais");
}

TEST(MemberCommunesCsvTest, ColumnsInAnyOrder) {
  std::istringstream in("name,ptot_2019,pmun_2019,insee_code,siren_commune\nMarmande,2,1,47157,\n");
  const auto communes = ReadMemberCommunesCsv(in);
  ASSERT_EQ(communes.size(), 1u);
  EXPECT_EQ(communes[0].siren(), "");
  ASSERT_EQ(communes[0].populations_size(), 1);
  EXPECT_EQ(communes[0].populations(0).vintage(), 2019);
  EXPECT_EQ(communes[0].populations(0).totale(), 2);
}

void ExpectMalformed(const std::string& csv, const std::string& message) {
  std::istringstream in(csv);
  try {
    ReadMemberCommunesCsv(in);
    ADD_FAILURE() << "accepted: " << csv;
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr(message)) << csv;
  }
}

TEST(MemberCommunesCsvTest, RejectsMalformedInputWithLineNumbers) {
  const std::string header = "insee_code,siren_commune,name,pmun_2023,ptot_2023\n";
  ExpectMalformed("", "line 1");
  ExpectMalformed("insee_code,name,pmun_2023\n", "line 1");
  ExpectMalformed("insee_code,siren_commune,name,population\n", "line 1: unknown column");
  ExpectMalformed("insee_code,siren_commune,name,ptot_2023\n", "line 1: ptot_2023 without");
  ExpectMalformed(header + "47002,214700023,Agmé,108,109\n47024,214700247,Beaupuy,1712\n",
                  "line 3: expected 5 fields");
  ExpectMalformed(header + "4700,214700023,Agmé,108,109\n", "line 2: invalid INSEE code");
  ExpectMalformed(header + "47002,214700024,Agmé,108,109\n", "line 2: invalid SIREN");
  ExpectMalformed(header + "47002,214700023,,108,109\n", "line 2: empty name");
  ExpectMalformed(header + "47002,214700023,Agmé,-5,109\n", "line 2: pmun_2023");
  ExpectMalformed(header + "47002,214700023,Agmé,1 08,109\n", "line 2: pmun_2023");
  ExpectMalformed(header + "47002,214700023,\"Agmé,108,109\n",
                  "line 2: guillemet ouvrant sans guillemet fermant");
  ExpectMalformed(header + "47002,214700023,Agmé,108,109\n47002,214700023,Agmé,108,109\n",
                  "line 3: INSEE code 47002 given twice");
}

// ---- Import plan ----

v1::ImportConventionRequest SmallImport() {
  v1::ImportConventionRequest req;
  for (auto [insee, name] :
       std::vector<std::pair<std::string, std::string>>{{"47101", "Fourques-sur-Garonne"},
                                                        {"47316", "Varès"},
                                                        {"47325", "Villeton"},
                                                        {"47157", "Marmande"}}) {
    auto* m = req.add_member_communes();
    m->set_insee_code(insee);
    m->set_display_name(name);
  }
  auto party = [&](v1::OrganisationKind kind, const std::string& name) {
    auto* p = req.add_parties();
    p->set_kind(kind);
    p->set_written_name(name);
  };
  party(v1::EPCI, "VGA");
  party(v1::COMMUNE, "Fourques");
  party(v1::COMMUNE, "Villeton");
  party(v1::COMMUNE, "Marmande");
  party(v1::COMMUNE, "Atlantis");
  party(v1::CAF, "La Caf");
  auto block = [&](v1::OrganisationKind kind, const std::string& name) {
    auto* s = req.add_signature_blocks();
    s->set_kind(kind);
    s->set_written_name(name);
  };
  block(v1::CAF, "La Caf");
  block(v1::COMMUNE, "Fourques sur Garonne");
  block(v1::COMMUNE, "Marmande");
  block(v1::COMMUNE, "Vares");
  return req;
}

TEST(ImportPlanTest, ReportsEveryInconsistency) {
  const auto plan = PlanImport(SmallImport());
  EXPECT_THAT(plan.party_member, ElementsAre(-1, 0, 2, 3, -1, -1));
  EXPECT_THAT(plan.signature_member, ElementsAre(-1, 0, 3, 1));
  EXPECT_EQ(plan.communes_loaded, 4);
  EXPECT_EQ(plan.communes_listed_as_parties, 4);
  EXPECT_EQ(plan.commune_signature_blocks, 3);
  std::vector<std::string> codes;
  for (const auto& w : plan.warnings) codes.push_back(w.code);
  EXPECT_THAT(
      codes, ElementsAre("UNKNOWN_COMMUNE", "MEMBER_NOT_LISTED_AS_PARTY", "PARTY_WITHOUT_SIGNATURE",
                         "PARTY_WITHOUT_SIGNATURE", "SIGNATURE_WITHOUT_PARTY", "COUNT_MISMATCH"));
  EXPECT_THAT(plan.warnings[0].message, HasSubstr("Atlantis"));
  EXPECT_EQ(plan.warnings[1].member, 1);
  EXPECT_THAT(plan.warnings[1].message, HasSubstr("Varès"));
  // In the order of the party blocks: the EPCI block has no signature block here, then Villeton.
  EXPECT_EQ(plan.warnings[2].party, 0);
  EXPECT_EQ(plan.warnings[3].member, 2);
  EXPECT_THAT(plan.warnings[3].message, HasSubstr("Villeton"));
  EXPECT_EQ(plan.warnings[4].member, 1);
  EXPECT_THAT(plan.warnings[4].message, HasSubstr("Vares"));
}

TEST(ImportPlanTest, ValidationNamesBadFieldsAndDuplicateCommunes) {
  auto req = SmallImport();
  req.set_title("T");
  *req.mutable_start_date() = CivilDate{2025, 1, 1}.ToProto();
  *req.mutable_end_date() = CivilDate{2029, 12, 31}.ToProto();
  req.set_epci_name("VGA");
  req.mutable_parties(5)->set_official_name("Caf de Lot-et-Garonne");
  EXPECT_THAT(Fields([&](Violations& v) { ValidateImportRequest(req, v); }), ::testing::IsEmpty());
  auto dup = req;
  dup.add_parties()->set_kind(v1::COMMUNE);
  dup.mutable_parties(6)->set_written_name("Fourques-sur-Garonne");
  EXPECT_THAT(Fields([&](Violations& v) { ValidateImportRequest(dup, v); }),
              ElementsAre("parties[6].written_name"));
  auto bad = req;
  bad.clear_title();
  bad.set_epci_siren("123");
  bad.mutable_parties(5)->clear_official_name();
  bad.mutable_parties(1)->add_representatives()->set_person_name("X");
  bad.mutable_member_communes(0)->set_insee_code("4710");
  bad.set_request_id("nope");
  EXPECT_THAT(Fields([&](Violations& v) { ValidateImportRequest(bad, v); }),
              UnorderedElementsAre("title", "epci_siren", "parties[5].official_name",
                                   "parties[1].representatives[0].title",
                                   "member_communes[0].insee_code", "request_id"));
}

}  // namespace
}  // namespace ctg::partners
