#include "partners/access.h"

#include "common/errors.h"

namespace ctg::partners {

bool IsAdministrator(const Principal& principal) {
  return principal.HasAny({Role::kCafAgent, Role::kCopilSecretariat, Role::kService});
}

void RequireAdministrator(const Principal& principal, const std::string& action) {
  if (!IsAdministrator(principal)) {
    throw PermissionDeniedError("not allowed to " + action);
  }
}

void RequireAdministratorOrAgentOf(const Principal& principal,
                                   std::initializer_list<std::string> organisations,
                                   const std::string& action) {
  if (IsAdministrator(principal)) return;
  if (principal.HasAny({Role::kCafAgent, Role::kCollectivityAgent}) &&
      !principal.organisation.empty()) {
    for (const auto& org : organisations) {
      if (!org.empty() && org == principal.organisation) return;
    }
  }
  throw PermissionDeniedError("not allowed to " + action +
                              ": the caller does not act for the organisation concerned");
}

}  // namespace ctg::partners
