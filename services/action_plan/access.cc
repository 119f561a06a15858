#include "action_plan/access.h"

namespace ctg::action_plan {

bool ReadsByDepartement(const Principal& principal) {
  return principal.HasAny({Role::kCdsf, Role::kAuditor});
}

PlanScope ScopeOf(const Principal& principal, const ConventionFacts& convention,
                  const std::string& caller_departement) {
  PlanScope scope;
  const std::string& org = principal.organisation;
  const bool agent =
      principal.HasAny({Role::kCafAgent, Role::kCollectivityAgent, Role::kCopilSecretariat});
  const bool party = !org.empty() && convention.parties.count(org) != 0;
  scope.secretariat =
      principal.Has(Role::kCopilSecretariat) && !org.empty() && org == convention.secretariat;
  scope.edit = scope.secretariat ||
               (principal.Has(Role::kCafAgent) && !org.empty() && convention.cafs.count(org) != 0);
  scope.read = scope.edit || (agent && party) || principal.Has(Role::kService) ||
               (ReadsByDepartement(principal) && !caller_departement.empty() &&
                caller_departement == convention.departement);
  return scope;
}

bool MayReport(const Principal& principal, const PlanScope& scope,
               const google::protobuf::RepeatedPtrField<std::string>& pilots) {
  if (scope.secretariat) return true;
  if (!scope.read || principal.organisation.empty()) return false;
  if (!principal.HasAny({Role::kCafAgent, Role::kCollectivityAgent, Role::kCopilSecretariat})) {
    return false;
  }
  for (const auto& pilot : pilots) {
    if (pilot == principal.organisation) return true;
  }
  return false;
}

}  // namespace ctg::action_plan
