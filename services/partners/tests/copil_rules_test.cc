// Unit tests of the COPIL composition rules (art. 8): parity of the five colleges, consultative
// members, co-chairs and secretariat.
#include "partners/copil_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ctg::partners {
namespace {

namespace v1 = ::ctg::partners::v1;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

v1::CopilMember Member(v1::CopilCollege college, v1::CopilRole role = v1::MEMBER,
                       const std::string& person = "Personne") {
  v1::CopilMember m;
  m.set_college(college);
  m.set_role(role);
  m.set_person_name(person);
  return m;
}

// `per_college` voting members in each of the five colleges, with the Caf and agglomeration
// co-chairs and an agglomeration secretariat among them.
std::vector<v1::CopilMember> Balanced(int per_college) {
  std::vector<v1::CopilMember> members;
  for (auto college : VotingColleges()) {
    for (int i = 0; i < per_college; ++i) members.push_back(Member(college));
  }
  members[0].set_role(v1::CO_CHAIR);            // first Caf member
  members[per_college].set_role(v1::CO_CHAIR);  // first agglomeration member
  if (per_college > 1) members[per_college + 1].set_role(v1::SECRETARIAT);
  return members;
}

std::vector<int> Counts(const v1::CopilComposition& c) {
  std::vector<int> out;
  for (const auto& college : c.colleges()) out.push_back(college.voting_members());
  return out;
}

TEST(CopilRulesTest, BalancedCompositionIsCompliant) {
  auto c = CheckComposition(Balanced(2));
  EXPECT_TRUE(c.compliant());
  EXPECT_THAT(c.issues(), IsEmpty());
  ASSERT_EQ(c.colleges_size(), 5);
  EXPECT_EQ(c.colleges(0).college(), v1::COLLEGE_CAF);
  EXPECT_EQ(c.colleges(4).college(), v1::COLLEGE_STATE);
  EXPECT_THAT(Counts(c), ElementsAre(2, 2, 2, 2, 2));
}

TEST(CopilRulesTest, MissingCollegeBreaksParity) {
  auto members = Balanced(2);
  members.erase(members.begin() + 8, members.end());  // drop both State members
  auto c = CheckComposition(members);
  EXPECT_FALSE(c.compliant());
  EXPECT_THAT(Counts(c), ElementsAre(2, 2, 2, 2, 0));
  EXPECT_THAT(c.issues(),
              ElementsAre("Collège État : 0 membre votant, parité non respectée (attendu 2)"));
}

TEST(CopilRulesTest, ExtraMemberBreaksParity) {
  auto members = Balanced(1);
  members.push_back(Member(v1::COLLEGE_AGGLOMERATION, v1::SECRETARIAT));
  members.push_back(Member(v1::COLLEGE_COMMUNES));
  auto c = CheckComposition(members);
  EXPECT_FALSE(c.compliant());
  EXPECT_THAT(Counts(c), ElementsAre(1, 2, 2, 1, 1));
  EXPECT_THAT(c.issues(),
              ElementsAre("Collège Caf : 1 membre votant, parité non respectée (attendu 2)",
                          "Collège Département : 1 membre votant, parité non respectée (attendu 2)",
                          "Collège État : 1 membre votant, parité non respectée (attendu 2)"));
}

TEST(CopilRulesTest, ConsultativeMembersAreNotCounted) {
  auto members = Balanced(2);
  members.push_back(Member(v1::COLLEGE_CONSULTATIVE, v1::MEMBER, "Personne ressource"));
  members.push_back(Member(v1::COLLEGE_CONSULTATIVE, v1::MEMBER, "Autre personne ressource"));
  auto c = CheckComposition(members);
  EXPECT_TRUE(c.compliant());
  EXPECT_THAT(Counts(c), ElementsAre(2, 2, 2, 2, 2));
}

TEST(CopilRulesTest, EmptyCommitteeIsNotCompliant) {
  auto c = CheckComposition({});
  EXPECT_FALSE(c.compliant());
  EXPECT_THAT(Counts(c), ElementsAre(0, 0, 0, 0, 0));
  EXPECT_THAT(c.issues(), Contains(HasSubstr("Collège Caf : aucun membre votant")));
  EXPECT_THAT(c.issues(), Contains(HasSubstr("Secrétariat permanent : non désigné")));
}

TEST(CopilRulesTest, CoChairsAreTheCafAndTheAgglomeration) {
  // No Caf co-chair.
  auto members = Balanced(2);
  members[0].set_role(v1::MEMBER);
  auto c = CheckComposition(members);
  EXPECT_FALSE(c.compliant());
  EXPECT_THAT(c.issues(), ElementsAre(HasSubstr("aucun coprésident pour le collège Caf")));

  // Two agglomeration co-chairs.
  members = Balanced(3);
  members[5].set_role(v1::CO_CHAIR);
  c = CheckComposition(members);
  EXPECT_THAT(
      c.issues(),
      ElementsAre("Coprésidence : 2 coprésidents pour le collège Agglomération (attendu 1)"));

  // A co-chair from the communes college.
  members = Balanced(2);
  members[4] = Member(v1::COLLEGE_COMMUNES, v1::CO_CHAIR, "Maire de Tonneins");
  c = CheckComposition(members);
  EXPECT_FALSE(c.compliant());
  EXPECT_THAT(c.issues(), ElementsAre(HasSubstr("Maire de Tonneins (collège Communes)")));
}

TEST(CopilRulesTest, SecretariatIsHeldByTheAgglomeration) {
  auto members = Balanced(2);
  members[3].set_role(v1::MEMBER);  // no secretariat at all
  auto c = CheckComposition(members);
  EXPECT_FALSE(c.compliant());
  EXPECT_THAT(c.issues(), ElementsAre("Secrétariat permanent : non désigné (art. 8 : assuré par "
                                      "l'agglomération)"));

  members[1].set_role(v1::SECRETARIAT);  // second Caf member
  c = CheckComposition(members);
  EXPECT_FALSE(c.compliant());
  EXPECT_THAT(c.issues(), ElementsAre(HasSubstr("(collège Caf) le tient, alors qu'il est assuré "
                                                "par l'agglomération")));
}

TEST(CopilRulesTest, KindsFitTheirColleges) {
  EXPECT_TRUE(KindFitsCollege(v1::CAF, v1::COLLEGE_CAF));
  EXPECT_FALSE(KindFitsCollege(v1::EPCI, v1::COLLEGE_CAF));
  EXPECT_TRUE(KindFitsCollege(v1::EPCI, v1::COLLEGE_AGGLOMERATION));
  EXPECT_FALSE(KindFitsCollege(v1::COMMUNE, v1::COLLEGE_AGGLOMERATION));
  EXPECT_TRUE(KindFitsCollege(v1::COMMUNE, v1::COLLEGE_COMMUNES));
  EXPECT_TRUE(KindFitsCollege(v1::DEPARTEMENT, v1::COLLEGE_DEPARTEMENT));
  EXPECT_TRUE(KindFitsCollege(v1::STATE, v1::COLLEGE_STATE));
  EXPECT_TRUE(KindFitsCollege(v1::EDUCATION_NATIONALE, v1::COLLEGE_STATE));
  EXPECT_FALSE(KindFitsCollege(v1::CDSF, v1::COLLEGE_STATE));
  EXPECT_TRUE(KindFitsCollege(v1::ASSOCIATION, v1::COLLEGE_CONSULTATIVE));
}

}  // namespace
}  // namespace ctg::partners
