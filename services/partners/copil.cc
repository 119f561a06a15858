// PLACEHOLDER: to be replaced by the real implementation.
#include "common/errors.h"
#include "partners/service.h"
#include "partners/statements.h"

namespace ctg::partners {

const std::vector<PreparedStatement>& CopilStatements() {
  static const std::vector<PreparedStatement> none;
  return none;
}

ServerUnaryReactor* PartnerService::CreateCopilMember(CallbackServerContext* c,
                                                      const v1::CreateCopilMemberRequest* req,
                                                      v1::CopilMember* resp) {
  return runner_.Run(c, "CreateCopilMember", [](const CallContext&) {
    throw FailedPreconditionError("not implemented yet");
  });
}

ServerUnaryReactor* PartnerService::ListCopilMembers(CallbackServerContext* c,
                                                     const v1::ListCopilMembersRequest* req,
                                                     v1::ListCopilMembersResponse* resp) {
  return runner_.Run(c, "ListCopilMembers", [](const CallContext&) {
    throw FailedPreconditionError("not implemented yet");
  });
}

ServerUnaryReactor* PartnerService::DeleteCopilMember(CallbackServerContext* c,
                                                      const v1::DeleteCopilMemberRequest* req,
                                                      v1::DeleteCopilMemberResponse* resp) {
  return runner_.Run(c, "DeleteCopilMember", [](const CallContext&) {
    throw FailedPreconditionError("not implemented yet");
  });
}

ServerUnaryReactor* PartnerService::CheckCopilComposition(
    CallbackServerContext* c, const v1::CheckCopilCompositionRequest* req,
    v1::CopilComposition* resp) {
  return runner_.Run(c, "CheckCopilComposition", [](const CallContext&) {
    throw FailedPreconditionError("not implemented yet");
  });
}

}  // namespace ctg::partners
