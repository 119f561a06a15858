#include "partners/organisation_rules.h"

#include <gtest/gtest.h>

namespace ctg::partners {
namespace {

TEST(SirenTest, AcceptsValidChecksums) {
  EXPECT_TRUE(IsValidSiren("200030674"));  // Val de Garonne Agglomération
  EXPECT_TRUE(IsValidSiren("214701575"));  // Marmande
}

TEST(SirenTest, RejectsBadChecksumsAndShapes) {
  EXPECT_FALSE(IsValidSiren("200030675"));
  EXPECT_FALSE(IsValidSiren("20003067"));
  EXPECT_FALSE(IsValidSiren("2000306740"));
  EXPECT_FALSE(IsValidSiren("20003067a"));
  EXPECT_FALSE(IsValidSiren(""));
}

TEST(InseeCodeTest, AcceptsMainlandAndCorsica) {
  EXPECT_TRUE(IsValidInseeCode("47157"));
  EXPECT_TRUE(IsValidInseeCode("2A004"));
  EXPECT_TRUE(IsValidInseeCode("2B033"));
}

TEST(InseeCodeTest, RejectsMalformed) {
  EXPECT_FALSE(IsValidInseeCode("4715"));
  EXPECT_FALSE(IsValidInseeCode("471577"));
  EXPECT_FALSE(IsValidInseeCode("2C004"));
  EXPECT_FALSE(IsValidInseeCode("47 57"));
}

v1::Organisation Commune() {
  v1::Organisation o;
  o.set_kind(v1::COMMUNE);
  o.set_display_name("Marmande");
  o.set_insee_code("47157");
  o.set_siren("214701575");
  auto* p = o.add_populations();
  p->set_vintage(2023);
  p->set_municipale(17328);
  p->set_totale(17833);
  return o;
}

std::vector<std::string> ViolatedFields(const v1::Organisation& o) {
  Violations v;
  ValidateOrganisation(o, "organisation.", v);
  return v.fields();
}

TEST(ValidateOrganisationTest, AcceptsAWellFormedCommune) {
  EXPECT_TRUE(ViolatedFields(Commune()).empty());
}

TEST(ValidateOrganisationTest, ReportsEveryBadFieldAtOnce) {
  auto o = Commune();
  o.set_display_name("");
  o.set_siren("123");
  o.set_insee_code("ABCDE");
  o.mutable_populations(0)->set_municipale(-1);
  EXPECT_EQ(ViolatedFields(o),
            (std::vector<std::string>{"organisation.display_name", "organisation.siren",
                                      "organisation.insee_code",
                                      "organisation.populations[0].municipale"}));
}

TEST(ValidateOrganisationTest, RefusesCommuneFieldsOnOtherKinds) {
  auto o = Commune();
  o.set_kind(v1::CAF);
  o.set_parent_epci("organisations/00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(ViolatedFields(o),
            (std::vector<std::string>{"organisation.insee_code", "organisation.parent_epci"}));
}

TEST(ValidateOrganisationTest, RefusesDuplicateVintagesAndOversizedNames) {
  auto o = Commune();
  *o.add_populations() = o.populations(0);
  o.set_display_name(std::string(201, 'x'));
  EXPECT_EQ(ViolatedFields(o), (std::vector<std::string>{"organisation.display_name",
                                                         "organisation.populations[1].vintage"}));
}

TEST(ValidateOrganisationTest, TransferNeedsAnEpci) {
  auto o = Commune();
  o.set_ao_competence_transferred(true);
  EXPECT_EQ(ViolatedFields(o),
            (std::vector<std::string>{"organisation.ao_competence_transferred"}));
}

}  // namespace
}  // namespace ctg::partners
