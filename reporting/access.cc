#include "reporting/access.h"

namespace ctg::reporting {

bool SeesByDepartement(const Principal& principal) {
  return principal.HasAny({Role::kCdsf, Role::kAuditor});
}

ReportScope ScopeOf(const Principal& principal, const partners::ConventionFacts& convention,
                    const std::string& caller_departement) {
  ReportScope scope;
  const std::string& org = principal.organisation;
  const bool agent =
      principal.HasAny({Role::kCafAgent, Role::kCollectivityAgent, Role::kCopilSecretariat});
  const bool involved =
      !org.empty() && (convention.parties.count(org) != 0 || org == convention.secretariat);
  scope.request = (agent && involved) || principal.Has(Role::kService);
  scope.see = scope.request || (SeesByDepartement(principal) && !caller_departement.empty() &&
                                caller_departement == convention.departement);
  return scope;
}

}  // namespace ctg::reporting
