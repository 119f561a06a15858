#include "partners/copil_rules.h"

#include <algorithm>
#include <map>

#include "common/labels.h"

namespace ctg::partners {

namespace v1 = ::ctg::partners::v1;

namespace {

// "0 membre votant", "2 membres votants".
std::string VotingMembers(int n) {
  return std::to_string(n) + (n > 1 ? " membres votants" : " membre votant");
}

// "État", "Caf", ... ("inconnu" for an unset college).
std::string CollegeLabel(v1::CopilCollege college) {
  const std::string label = EnumLabel(v1::CopilCollege_descriptor(), college);
  return label.empty() ? "inconnu" : label;
}
// "Collège État", "Collège Caf", ...
std::string College(v1::CopilCollege college) { return "Collège " + CollegeLabel(college); }

}  // namespace

const std::vector<v1::CopilCollege>& VotingColleges() {
  static const std::vector<v1::CopilCollege> colleges = {
      v1::COLLEGE_CAF, v1::COLLEGE_AGGLOMERATION, v1::COLLEGE_COMMUNES, v1::COLLEGE_DEPARTEMENT,
      v1::COLLEGE_STATE};
  return colleges;
}

bool KindFitsCollege(v1::OrganisationKind kind, v1::CopilCollege college) {
  switch (college) {
    case v1::COLLEGE_CAF:
      return kind == v1::CAF;
    case v1::COLLEGE_AGGLOMERATION:
      return kind == v1::EPCI;
    case v1::COLLEGE_COMMUNES:
      return kind == v1::COMMUNE;
    case v1::COLLEGE_DEPARTEMENT:
      return kind == v1::DEPARTEMENT;
    case v1::COLLEGE_STATE:
      return kind == v1::STATE || kind == v1::EDUCATION_NATIONALE;
    case v1::COLLEGE_CONSULTATIVE:
      return kind != v1::ORGANISATION_KIND_UNSPECIFIED;
    default:
      return false;
  }
}

v1::CopilComposition CheckComposition(const std::vector<v1::CopilMember>& members) {
  std::map<v1::CopilCollege, int> voting;
  std::map<v1::CopilCollege, int> co_chairs;
  int secretariats = 0;
  v1::CopilComposition out;
  std::vector<std::string> role_issues;
  for (const auto& m : members) {
    const bool is_voting = m.college() != v1::COLLEGE_CONSULTATIVE;
    if (is_voting) ++voting[m.college()];
    if (m.role() == v1::CO_CHAIR) {
      ++co_chairs[m.college()];
      if (m.college() != v1::COLLEGE_CAF && m.college() != v1::COLLEGE_AGGLOMERATION) {
        role_issues.push_back("Coprésidence : " + m.person_name() + " (collège " +
                              CollegeLabel(m.college()) +
                              ") est désigné(e) coprésident(e), alors que le comité est "
                              "copiloté par la Caf et l'agglomération (art. 8)");
      }
    }
    if (m.role() == v1::SECRETARIAT) {
      ++secretariats;
      if (m.college() != v1::COLLEGE_AGGLOMERATION) {
        role_issues.push_back("Secrétariat permanent : " + m.person_name() + " (collège " +
                              CollegeLabel(m.college()) +
                              ") le tient, alors qu'il est assuré par l'agglomération (art. 8)");
      }
    }
  }

  int expected = 0;
  for (auto college : VotingColleges()) expected = std::max(expected, voting[college]);
  for (auto college : VotingColleges()) {
    auto* count = out.add_colleges();
    count->set_college(college);
    count->set_voting_members(voting[college]);
    if (expected == 0) {
      out.add_issues(College(college) +
                     " : aucun membre votant, parité non respectée (attendu "
                     "au moins 1)");
    } else if (voting[college] != expected) {
      out.add_issues(College(college) + " : " + VotingMembers(voting[college]) +
                     ", parité non respectée (attendu " + std::to_string(expected) + ")");
    }
  }

  for (auto college : {v1::COLLEGE_CAF, v1::COLLEGE_AGGLOMERATION}) {
    const int n = co_chairs[college];
    if (n == 0) {
      out.add_issues("Coprésidence : aucun coprésident pour le collège " + CollegeLabel(college) +
                     " (art. 8 : comité copiloté par la Caf et l'agglomération)");
    } else if (n > 1) {
      out.add_issues("Coprésidence : " + std::to_string(n) + " coprésidents pour le collège " +
                     CollegeLabel(college) + " (attendu 1)");
    }
  }
  if (secretariats == 0) {
    out.add_issues("Secrétariat permanent : non désigné (art. 8 : assuré par l'agglomération)");
  }
  for (auto& issue : role_issues) out.add_issues(std::move(issue));
  out.set_compliant(out.issues_size() == 0);
  return out;
}

}  // namespace ctg::partners
