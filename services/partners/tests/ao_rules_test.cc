// Unit tests of the AO competence rules (art. 3): thresholds, dates, vintages, fallbacks,
// transfer to the EPCI, and the Val de Garonne facts with the real INSEE legal populations.
#include "partners/ao_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace ctg::partners {
namespace {

namespace v1 = ::ctg::partners::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr CivilDate kMid2026{2026, 6, 1};

void AddPopulation(v1::Organisation& o, int vintage, int64_t municipale, int64_t totale) {
  auto* p = o.add_populations();
  p->set_vintage(vintage);
  p->set_municipale(municipale);
  p->set_totale(totale);
}

v1::Organisation Commune(const std::string& name, int64_t totale_2023) {
  v1::Organisation o;
  o.set_name("organisations/00000000-0000-4000-8000-0000000000" + std::to_string(10 + name.size()));
  o.set_kind(v1::COMMUNE);
  o.set_display_name(name);
  AddPopulation(o, 2023, totale_2023, totale_2023);
  return o;
}

v1::Organisation Epci() {
  v1::Organisation o;
  o.set_name("organisations/11111111-1111-4111-8111-111111111111");
  o.set_kind(v1::EPCI);
  o.set_display_name("Val de Garonne Agglomération");
  return o;
}

v1::AoCompetences Evaluate(const v1::Organisation& o, const CivilDate& date) {
  AoSubject subject;
  subject.organisation = o;
  return EvaluateAoCompetences(subject, date);
}

std::vector<v1::AoCompetence> Held(const v1::AoCompetences& result) {
  std::vector<v1::AoCompetence> out;
  for (const auto& c : result.competences()) out.push_back(c.competence());
  return out;
}

bool AnyNoteContains(const v1::AoCompetences& result, const std::string& text) {
  for (const auto& n : result.notes()) {
    if (n.find(text) != std::string::npos) return true;
  }
  return false;
}

// ---- Thresholds (strictly more than 3,500 and 10,000) ----

TEST(AoRulesTest, ThreeThousandFiveHundredIsNotAbove) {
  auto r = Evaluate(Commune("A", 3500), kMid2026);
  EXPECT_THAT(Held(r), ElementsAre(v1::CENSUS_NEEDS, v1::INFORM_FAMILIES));
  EXPECT_FALSE(r.schema_pluriannuel_required());
  EXPECT_FALSE(r.relais_petite_enfance_required());
  EXPECT_EQ(r.population(), 3500);
}

TEST(AoRulesTest, ThreeThousandFiveHundredAndOneAddsPlanningAndQuality) {
  auto r = Evaluate(Commune("A", 3501), kMid2026);
  EXPECT_THAT(Held(r), ElementsAre(v1::CENSUS_NEEDS, v1::INFORM_FAMILIES, v1::PLAN_DEVELOPMENT,
                                   v1::SUPPORT_QUALITY));
  EXPECT_EQ(r.competences(2).reason(),
            "3 501 habitants (population totale, millésime 2023) > 3 500");
  EXPECT_FALSE(r.schema_pluriannuel_required());
}

TEST(AoRulesTest, TenThousandIsNotAbove) {
  auto r = Evaluate(Commune("A", 10000), kMid2026);
  EXPECT_EQ(r.competences_size(), 4);
  EXPECT_FALSE(r.schema_pluriannuel_required());
  EXPECT_FALSE(r.relais_petite_enfance_required());
}

TEST(AoRulesTest, TenThousandAndOneRequiresSchemaAndRelais) {
  auto r = Evaluate(Commune("A", 10001), kMid2026);
  EXPECT_EQ(r.competences_size(), 4);
  EXPECT_TRUE(r.schema_pluriannuel_required());
  EXPECT_TRUE(r.relais_petite_enfance_required());
  EXPECT_TRUE(AnyNoteContains(r, "10 001 habitants (population totale, millésime 2023) > 10 000"));
  EXPECT_TRUE(AnyNoteContains(r, "L.214-2"));
}

TEST(AoRulesTest, EveryCompetenceHasAReasonNamingPopulationAndVintage) {
  auto r = Evaluate(Commune("A", 250), kMid2026);
  ASSERT_EQ(r.competences_size(), 2);
  for (const auto& c : r.competences()) {
    EXPECT_THAT(c.reason(), HasSubstr("250 habitants (population totale, millésime 2023)"));
    EXPECT_THAT(c.reason(), HasSubstr("sans seuil"));
  }
}

// ---- Dates ----

TEST(AoRulesTest, RelaisPetiteEnfanceOnlyFrom2026) {
  v1::Organisation o = Commune("A", 0);
  o.clear_populations();
  AddPopulation(o, 2022, 12000, 12100);
  AddPopulation(o, 2023, 12000, 12200);
  auto before = Evaluate(o, CivilDate{2025, 12, 31});
  EXPECT_TRUE(before.schema_pluriannuel_required());
  EXPECT_FALSE(before.relais_petite_enfance_required());
  EXPECT_TRUE(AnyNoteContains(before, "sera obligatoire à compter du 1er janvier 2026"));
  auto from = Evaluate(o, CivilDate{2026, 1, 1});
  EXPECT_TRUE(from.schema_pluriannuel_required());
  EXPECT_TRUE(from.relais_petite_enfance_required());
}

TEST(AoRulesTest, VintageInForceChangesOnFirstJanuary) {
  v1::Organisation o = Commune("A", 0);
  o.clear_populations();
  AddPopulation(o, 2021, 3400, 3450);
  AddPopulation(o, 2022, 3550, 3600);
  AddPopulation(o, 2023, 3380, 3400);
  auto end_2025 = Evaluate(o, CivilDate{2025, 12, 31});
  EXPECT_EQ(end_2025.population_vintage(), 2022);
  EXPECT_EQ(end_2025.population(), 3600);
  EXPECT_EQ(end_2025.competences_size(), 4);
  auto start_2026 = Evaluate(o, CivilDate{2026, 1, 1});
  EXPECT_EQ(start_2026.population_vintage(), 2023);
  EXPECT_EQ(start_2026.population(), 3400);
  EXPECT_EQ(start_2026.competences_size(), 2);
  EXPECT_THAT(start_2026.notes(), IsEmpty());
}

TEST(AoRulesTest, OldestVintageWhenNoneIsInForceYet) {
  v1::Organisation o = Commune("A", 0);
  o.clear_populations();
  AddPopulation(o, 2024, 5000, 5100);
  AddPopulation(o, 2023, 4000, 4100);
  auto r = Evaluate(o, CivilDate{2025, 6, 1});
  EXPECT_EQ(r.population_vintage(), 2023);
  EXPECT_EQ(r.population(), 4100);
  EXPECT_TRUE(AnyNoteContains(r, "Aucun millésime de population légale en vigueur au 01/06/2025"));
  EXPECT_TRUE(AnyNoteContains(r, "2023"));
}

TEST(AoRulesTest, NoCompetenceBefore2025) {
  auto r = Evaluate(Commune("Marmande", 17833), CivilDate{2024, 12, 31});
  EXPECT_THAT(r.competences(), IsEmpty());
  EXPECT_FALSE(r.schema_pluriannuel_required());
  EXPECT_FALSE(r.relais_petite_enfance_required());
  EXPECT_TRUE(r.autorite_organisatrice().empty());
  EXPECT_TRUE(AnyNoteContains(r, "1er janvier 2025"));
  EXPECT_TRUE(AnyNoteContains(r, "plein emploi"));
  auto first_day = Evaluate(Commune("Marmande", 17833), CivilDate{2025, 1, 1});
  EXPECT_EQ(first_day.competences_size(), 4);
}

// ---- Which population ----

TEST(AoRulesTest, FallsBackToMunicipaleWhenTotaleIsUnknown) {
  v1::Organisation o = Commune("A", 0);
  o.clear_populations();
  AddPopulation(o, 2023, 4000, 0);
  auto r = Evaluate(o, kMid2026);
  EXPECT_EQ(r.population(), 4000);
  EXPECT_EQ(r.population_kind(), "municipale");
  EXPECT_EQ(r.competences_size(), 4);
  EXPECT_TRUE(AnyNoteContains(r, "population municipale est utilisée à défaut"));
  EXPECT_THAT(r.competences(2).reason(), HasSubstr("(population municipale, millésime 2023)"));

  auto totale = Evaluate(Commune("B", 4000), kMid2026);
  EXPECT_EQ(totale.population_kind(), "totale");
}

TEST(AoRulesTest, TransferredCompetenceIsHeldByTheEpciOnItsPopulation) {
  v1::Organisation commune = Commune("Agmé", 109);
  commune.set_ao_competence_transferred(true);
  v1::Organisation epci = Epci();
  AddPopulation(epci, 2023, 60753, 62235);
  commune.set_parent_epci(epci.name());
  AoSubject subject;
  subject.organisation = commune;
  subject.epci = epci;
  auto r = EvaluateAoCompetences(subject, kMid2026);
  EXPECT_EQ(r.organisation(), commune.name());
  EXPECT_EQ(r.autorite_organisatrice(), epci.name());
  EXPECT_EQ(r.population(), 62235);
  EXPECT_EQ(r.competences_size(), 4);
  EXPECT_TRUE(r.schema_pluriannuel_required());
  EXPECT_TRUE(r.relais_petite_enfance_required());
  EXPECT_TRUE(AnyNoteContains(r, "transférée à l'EPCI Val de Garonne Agglomération"));

  // Without the transfer, the commune is its own AO on its own population.
  commune.set_ao_competence_transferred(false);
  subject.organisation = commune;
  auto own = EvaluateAoCompetences(subject, kMid2026);
  EXPECT_EQ(own.autorite_organisatrice(), commune.name());
  EXPECT_EQ(own.population(), 109);
  EXPECT_EQ(own.competences_size(), 2);
}

TEST(AoRulesTest, AnEpciWithoutTransferringMembersHoldsNothing) {
  AoSubject subject;
  subject.organisation = Epci();
  AddPopulation(subject.organisation, 2023, 60753, 62235);
  subject.member_count = 43;
  subject.transferring_members = 0;
  auto r = EvaluateAoCompetences(subject, kMid2026);
  EXPECT_TRUE(r.autorite_organisatrice().empty());
  EXPECT_EQ(r.competences_size(), 0);
  EXPECT_FALSE(r.schema_pluriannuel_required());
  EXPECT_FALSE(r.relais_petite_enfance_required());
  EXPECT_EQ(r.population(), 0);
  EXPECT_TRUE(AnyNoteContains(r, "Aucune des 43 communes membres n'a transféré"));
}

TEST(AoRulesTest, TheEpciIsAoOnTheTransferringMembersPopulation) {
  AoSubject subject;
  subject.organisation = Epci();
  AddPopulation(subject.organisation, 2023, 4000, 4100);  // the two members that transferred
  subject.summed_members = 2;
  subject.member_count = 43;
  subject.transferring_members = 2;
  auto r = EvaluateAoCompetences(subject, kMid2026);
  EXPECT_EQ(r.autorite_organisatrice(), subject.organisation.name());
  EXPECT_EQ(r.population(), 4100);
  EXPECT_EQ(r.competences_size(), 4);
  EXPECT_TRUE(AnyNoteContains(r, "somme des populations de ces 2 communes"));
  EXPECT_TRUE(AnyNoteContains(r, "2 commune(s) membre(s) sur 43"));
}

TEST(AoRulesTest, SumMemberPopulationsKeepsOnlyCompleteVintages) {
  v1::Organisation a, b;
  AddPopulation(a, 2022, 100, 110);
  AddPopulation(a, 2023, 200, 210);
  AddPopulation(b, 2023, 300, 0);  // totale unknown
  auto sums = SumMemberPopulations({a, b});
  ASSERT_EQ(sums.size(), 1u);  // 2022 is missing for b
  EXPECT_EQ(sums[0].vintage(), 2023);
  EXPECT_EQ(sums[0].municipale(), 500);
  EXPECT_EQ(sums[0].totale(), 0);  // one unknown totale: the municipale will be used
  EXPECT_TRUE(SumMemberPopulations({}).empty());
}

TEST(AoRulesTest, FormatsFrenchNumbers) {
  EXPECT_EQ(FormatFrenchNumber(0), "0");
  EXPECT_EQ(FormatFrenchNumber(999), "999");
  EXPECT_EQ(FormatFrenchNumber(3500), "3 500");
  EXPECT_EQ(FormatFrenchNumber(17833), "17 833");
  EXPECT_EQ(FormatFrenchNumber(1234567), "1 234 567");
}

// ---- Val de Garonne, with the INSEE legal populations of shared/data/vga_communes.csv ----

constexpr char kVgaCommunes[] =
    R"csv(insee_code,siren_commune,name,pmun_2023,pmun_2022,pmun_2021,ptot_2023,ptot_2022
47002,214700023,Agmé,108,106,107,109,110
47024,214700247,Beaupuy,1712,1678,1648,1753,1719
47028,214700288,Birac-sur-Trec,812,831,851,834,853
47046,214700460,Calonges,581,589,589,591,602
47056,214700569,Castelnau-sur-Gupie,917,914,909,949,946
47059,214700593,Caubon-Saint-Sauveur,261,263,265,263,265
47061,214700619,Caumont-sur-Garonne,823,815,809,835,826
47065,214700650,Clairac,2606,2576,2568,2794,2774
47068,214700684,Cocumont,1133,1110,1088,1160,1136
47074,214700742,Couthures-sur-Garonne,365,366,368,372,373
47088,214700882,Escassefort,682,654,626,689,661
47094,214700940,Fauguerolles,822,827,815,836,841
47095,214703324,Fauillet,864,857,859,877,870
47101,214701013,Fourques-sur-Garonne,1293,1307,1322,1318,1332
47108,214701088,Gaujac,241,241,242,243,248
47110,214701104,Gontaud-de-Nogaret,1638,1641,1625,1668,1671
47112,214701120,Grateloup-Saint-Gayrand,469,470,455,479,480
47120,214701203,Jusix,96,94,96,96,96
47127,214701278,Lafitte-sur-Lot,832,814,809,844,826
47130,214701302,Lagruère,351,343,335,357,349
47131,214701310,Lagupie,680,686,692,690,696
47150,214701500,Longueville,376,375,373,382,381
47156,214701567,Marcellus,892,874,865,904,883
47157,214701575,Marmande,17328,17361,17239,17833,17849
47159,214701591,Le Mas-d'Agenais,1456,1486,1485,1489,1522
47163,214703357,Mauvezin-sur-Gupie,613,611,610,624,622
47165,214701658,Meilhan-sur-Garonne,1326,1330,1344,1371,1386
47191,214701914,Montpouillan,807,817,827,826,838
47216,214702169,Puymiclan,701,707,692,708,719
47231,214702318,Saint-Avit,185,183,178,188,186
47232,214702326,Saint-Barthélemy-d'Agenais,549,530,512,553,533
47233,214702334,Sainte-Bazeille,3171,3183,3173,3265,3280
47257,214702573,Saint-Martin-Petit,620,624,624,634,638
47263,214702631,Saint-Pardoux-du-Breuil,633,618,603,646,631
47277,214702771,Saint-Sauveur-de-Meilhan,341,344,343,351,345
47285,214702854,Samazan,835,855,875,845,867
47298,214702987,Sénestis,200,199,204,200,199
47301,214703019,Seyches,1063,1057,1053,1077,1072
47304,214703043,Taillebourg,67,65,62,68,66
47310,214703100,Tonneins,9459,9461,9337,9619,9625
47316,214703167,Varès,655,658,660,662,665
47325,214703258,Villeton,475,474,457,480,479
47326,214703266,Virazeil,1715,1696,1675,1753,1734)csv";

std::vector<v1::Organisation> VgaCommunes() {
  std::vector<v1::Organisation> out;
  std::istringstream in(kVgaCommunes);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::istringstream row(line);
    std::string cell;
    while (std::getline(row, cell, ',')) cells.push_back(cell);
    v1::Organisation o;
    o.set_name("organisations/00000000-0000-4000-8000-0000000" + cells[0]);
    o.set_kind(v1::COMMUNE);
    o.set_insee_code(cells[0]);
    o.set_siren(cells[1]);
    o.set_display_name(cells[2]);
    AddPopulation(o, 2023, std::stoll(cells[3]), std::stoll(cells[6]));
    AddPopulation(o, 2022, std::stoll(cells[4]), std::stoll(cells[7]));
    AddPopulation(o, 2021, std::stoll(cells[5]), 0);  // totale 2021 not in the file
    out.push_back(o);
  }
  return out;
}

v1::Organisation VgaCommune(const std::string& name) {
  for (const auto& o : VgaCommunes()) {
    if (o.display_name() == name) return o;
  }
  ADD_FAILURE() << name << " not in the data";
  return {};
}

TEST(AoRulesVgaTest, MarmandeHoldsEverythingAndNeedsARelaisIn2026) {
  auto r = Evaluate(VgaCommune("Marmande"), CivilDate{2026, 3, 1});
  EXPECT_EQ(r.population(), 17833);
  EXPECT_EQ(r.population_vintage(), 2023);
  EXPECT_EQ(r.population_kind(), "totale");
  EXPECT_THAT(Held(r), ElementsAre(v1::CENSUS_NEEDS, v1::INFORM_FAMILIES, v1::PLAN_DEVELOPMENT,
                                   v1::SUPPORT_QUALITY));
  EXPECT_EQ(r.competences(2).reason(),
            "17 833 habitants (population totale, millésime 2023) > 3 500");
  EXPECT_TRUE(r.schema_pluriannuel_required());
  EXPECT_TRUE(r.relais_petite_enfance_required());

  // In 2025 the 2022 vintage applies (17 849) and the relais is not yet required.
  auto in_2025 = Evaluate(VgaCommune("Marmande"), CivilDate{2025, 6, 1});
  EXPECT_EQ(in_2025.population(), 17849);
  EXPECT_EQ(in_2025.population_vintage(), 2022);
  EXPECT_TRUE(in_2025.schema_pluriannuel_required());
  EXPECT_FALSE(in_2025.relais_petite_enfance_required());
}

TEST(AoRulesVgaTest, TonneinsHoldsTheFourCompetencesWithoutSchema) {
  auto r = Evaluate(VgaCommune("Tonneins"), CivilDate{2026, 3, 1});
  EXPECT_EQ(r.population(), 9619);
  EXPECT_EQ(r.competences_size(), 4);
  EXPECT_FALSE(r.schema_pluriannuel_required());
  EXPECT_FALSE(r.relais_petite_enfance_required());
}

TEST(AoRulesVgaTest, SainteBazeilleOnlyCensusAndInformation) {
  auto r = Evaluate(VgaCommune("Sainte-Bazeille"), CivilDate{2026, 3, 1});
  EXPECT_EQ(r.population(), 3265);
  EXPECT_THAT(Held(r), ElementsAre(v1::CENSUS_NEEDS, v1::INFORM_FAMILIES));
  auto in_2025 = Evaluate(VgaCommune("Sainte-Bazeille"), CivilDate{2025, 6, 1});
  EXPECT_EQ(in_2025.population(), 3280);
  EXPECT_EQ(in_2025.competences_size(), 2);
}

TEST(AoRulesVgaTest, OnlyMarmandeAndTonneinsAboveThresholdsOnEveryDate) {
  const auto communes = VgaCommunes();
  ASSERT_EQ(communes.size(), 43u);
  for (const CivilDate date : {CivilDate{2025, 1, 1}, CivilDate{2026, 1, 1}}) {
    std::vector<std::string> above_3500, above_10000;
    for (const auto& c : communes) {
      auto r = Evaluate(c, date);
      if (r.competences_size() == 4) above_3500.push_back(c.display_name());
      if (r.schema_pluriannuel_required()) above_10000.push_back(c.display_name());
    }
    EXPECT_THAT(above_3500, ElementsAre("Marmande", "Tonneins")) << date.ToString();
    EXPECT_THAT(above_10000, ElementsAre("Marmande")) << date.ToString();
  }
}

TEST(AoRulesVgaTest, TransferToVgaUsesTheSumOfItsMembers) {
  const auto members = VgaCommunes();
  v1::Organisation epci = Epci();
  for (auto& p : SumMemberPopulations(members)) *epci.add_populations() = p;
  // 2021: the file has no totale, so the municipale is summed and used.
  ASSERT_EQ(epci.populations_size(), 3);
  EXPECT_EQ(epci.populations(0).vintage(), 2021);
  EXPECT_EQ(epci.populations(0).municipale(), 60269);
  EXPECT_EQ(epci.populations(0).totale(), 0);
  EXPECT_EQ(epci.populations(1).totale(), 62194);
  EXPECT_EQ(epci.populations(2).municipale(), 60753);
  EXPECT_EQ(epci.populations(2).totale(), 62235);

  v1::Organisation agme = VgaCommune("Agmé");
  agme.set_parent_epci(epci.name());
  agme.set_ao_competence_transferred(true);
  AoSubject subject;
  subject.organisation = agme;
  subject.epci = epci;
  subject.summed_members = 43;
  auto r = EvaluateAoCompetences(subject, CivilDate{2026, 1, 1});
  EXPECT_EQ(r.autorite_organisatrice(), epci.name());
  EXPECT_EQ(r.population(), 62235);
  EXPECT_EQ(r.competences_size(), 4);
  EXPECT_TRUE(r.schema_pluriannuel_required());
  EXPECT_TRUE(r.relais_petite_enfance_required());
  auto in_2024 = EvaluateAoCompetences(subject, CivilDate{2024, 6, 1});
  EXPECT_EQ(in_2024.population(), 60269);
  EXPECT_EQ(in_2024.population_kind(), "municipale");
  EXPECT_THAT(in_2024.competences(), IsEmpty());
}

}  // namespace
}  // namespace ctg::partners
