// The petite enfance part's derivations: diagnosis figures and the schéma pluriannuel checklist
// (décret n° 2025-253), from a report built here (no database).
#include "reporting/petite_enfance.h"

#include <gtest/gtest.h>

#include "reporting/tests/sample_report.h"

namespace ctg::reporting {
namespace {

namespace av1 = ::ctg::action_plan::v1;

v1::Report::PetiteEnfancePart Bare() {
  v1::Report::PetiteEnfancePart part;
  part.set_display_name("Tonneins");
  return part;
}

std::vector<bool> Covered(const v1::Report::PetiteEnfancePart& part) {
  std::vector<bool> out;
  for (const auto& c : part.schema_components()) out.push_back(c.covered());
  return out;
}

TEST(PetiteEnfanceTest, ACommuneReadsItsOwnRowOfTheCommuneComparison) {
  const v1::Report report = SampleReport();
  auto part = Bare();
  CompletePetiteEnfancePart(part, CollectivityPlace{false, "47310"}, report);
  ASSERT_EQ(part.diagnosis_size(), 1);
  EXPECT_EQ(part.diagnosis(0).code(), "TCG");
  EXPECT_EQ(part.diagnosis(0).period(), "2026");
  EXPECT_EQ(part.diagnosis(0).value(), 50);
  // No facility, no action: components 1 and 4 are missing and say so.
  EXPECT_EQ(Covered(part), (std::vector<bool>{false, true, true, false, true}));
  EXPECT_EQ(part.schema_components(0).evidence(),
            "aucun équipement ni service soutenu n'est enregistré");
  EXPECT_EQ(part.schema_components(2).evidence(), "comparaison des communes : TCG");
}

TEST(PetiteEnfanceTest, ACommuneWithoutAValueHasNoDiagnosisAndNoComparisonOfItsOwn) {
  const v1::Report report = SampleReport();
  auto part = Bare();
  part.add_actions("3 — Créer un relais");
  CompletePetiteEnfancePart(part, CollectivityPlace{false, "47102"}, report);
  EXPECT_EQ(part.diagnosis_size(), 0);
  EXPECT_EQ(Covered(part), (std::vector<bool>{false, false, false, true, true}));
}

TEST(PetiteEnfanceTest, TheEpciReadsTheTerritorysValue) {
  const v1::Report report = SampleReport();
  auto part = Bare();
  CompletePetiteEnfancePart(part, CollectivityPlace{true, ""}, report);
  ASSERT_EQ(part.diagnosis_size(), 1);
  EXPECT_EQ(part.diagnosis(0).value(), 62.5);
  EXPECT_EQ(part.diagnosis(0).period(), "2026");
}

TEST(PetiteEnfanceTest, OnlyPetiteEnfanceIndicatorsCount) {
  v1::Report report = SampleReport();
  report.mutable_indicators(0)->clear_fields();
  report.mutable_indicators(0)->add_fields(av1::JEUNESSE);
  auto part = Bare();
  CompletePetiteEnfancePart(part, CollectivityPlace{true, ""}, report);
  EXPECT_EQ(part.diagnosis_size(), 0);
  EXPECT_EQ(Covered(part), (std::vector<bool>{false, false, false, false, false}));
  EXPECT_EQ(part.schema_components(4).evidence(),
            "aucun indicateur petite enfance n'a de valeur de référence et de cible");
}

}  // namespace
}  // namespace ctg::reporting
