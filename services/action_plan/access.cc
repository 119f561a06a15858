#include "action_plan/access.h"

#include "common/errors.h"

namespace ctg::action_plan {

void RequireReader(const Principal& principal, const ConventionFacts& convention) {
  if (principal.HasAny({Role::kService, Role::kAuditor, Role::kCopilSecretariat, Role::kCafAgent,
                        Role::kCdsf})) {
    return;
  }
  if (!principal.organisation.empty() && convention.parties.count(principal.organisation)) return;
  throw PermissionDeniedError(
      "not allowed to read this plan: the caller's organisation is not "
      "a party to the convention");
}

void RequirePlanEditor(const Principal& principal) {
  if (!principal.HasAny({Role::kService, Role::kCopilSecretariat, Role::kCafAgent})) {
    throw PermissionDeniedError(
        "only the COPIL secretariat and the Caf change the action plan itself");
  }
}

void RequireReporter(const Principal& principal,
                     const google::protobuf::RepeatedPtrField<std::string>& pilots) {
  if (principal.HasAny({Role::kService, Role::kCopilSecretariat})) return;
  if (principal.HasAny({Role::kCafAgent, Role::kCollectivityAgent}) &&
      !principal.organisation.empty()) {
    for (const auto& pilot : pilots) {
      if (pilot == principal.organisation) return;
    }
  }
  throw PermissionDeniedError(
      "only the action's pilot organisations and the COPIL secretariat "
      "report its progress");
}

}  // namespace ctg::action_plan
