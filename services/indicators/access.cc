#include "indicators/access.h"

namespace ctg::indicators {

bool TerritoryScope::Reads(const Territory& t) const {
  return read_all || read.count(t.code) != 0 ||
         (!departement.empty() && t.departement == departement);
}

TerritoryScope ScopeOf(const Principal& principal, const TerritoryDirectory& directory) {
  TerritoryScope scope;
  if (principal.Has(Role::kService)) scope.read_all = true;
  const std::string& org = principal.organisation;
  if (org.empty()) return scope;
  const bool agent =
      principal.HasAny({Role::kCafAgent, Role::kCollectivityAgent, Role::kCopilSecretariat});
  if (principal.HasAny({Role::kCdsf, Role::kAuditor})) {
    scope.departement = directory.DepartementOf(org);
  }
  if (principal.Has(Role::kCollectivityAgent)) {
    const std::string own = directory.TerritoryOf(org);
    if (!own.empty()) {
      // An EPCI is the source for its member communes too (CommunesOf: a commune is itself).
      scope.write.insert(own);
      for (const auto* commune : directory.CommunesOf(own)) scope.write.insert(commune->code);
    }
  }
  for (const auto& c : directory.conventions()) {
    const bool writes = (principal.Has(Role::kCafAgent) && c.cafs.count(org) != 0) ||
                        (principal.Has(Role::kCopilSecretariat) && c.secretariat == org);
    if (writes) scope.write.insert(c.territories.begin(), c.territories.end());
    if (writes || (agent && c.parties.count(org) != 0)) {
      scope.read.insert(c.territories.begin(), c.territories.end());
    }
  }
  if (principal.Has(Role::kCafAgent)) {
    const std::string departement = directory.DepartementOf(org);
    if (!departement.empty() && directory.Find(departement) != nullptr) {
      scope.write.insert(departement);
    }
  }
  scope.read.insert(scope.write.begin(), scope.write.end());
  return scope;
}

}  // namespace ctg::indicators
