// PLACEHOLDER: to be replaced by the real implementation.
#include "common/errors.h"
#include "partners/service.h"
#include "partners/statements.h"

namespace ctg::partners {

const std::vector<PreparedStatement>& ConventionStatements() {
  static const std::vector<PreparedStatement> none;
  return none;
}

ServerUnaryReactor* PartnerService::CreateConvention(CallbackServerContext* c,
                                                     const v1::CreateConventionRequest* req,
                                                     v1::Convention* resp) {
  return runner_.Run(c, "CreateConvention", [](const CallContext&) {
    throw FailedPreconditionError("not implemented yet");
  });
}

ServerUnaryReactor* PartnerService::GetConvention(CallbackServerContext* c,
                                                  const v1::GetConventionRequest* req,
                                                  v1::Convention* resp) {
  return runner_.Run(c, "GetConvention", [](const CallContext&) {
    throw FailedPreconditionError("not implemented yet");
  });
}

ServerUnaryReactor* PartnerService::ListConventions(CallbackServerContext* c,
                                                    const v1::ListConventionsRequest* req,
                                                    v1::ListConventionsResponse* resp) {
  return runner_.Run(c, "ListConventions", [](const CallContext&) {
    throw FailedPreconditionError("not implemented yet");
  });
}

ServerUnaryReactor* PartnerService::UpdateConvention(CallbackServerContext* c,
                                                     const v1::UpdateConventionRequest* req,
                                                     v1::Convention* resp) {
  return runner_.Run(c, "UpdateConvention", [](const CallContext&) {
    throw FailedPreconditionError("not implemented yet");
  });
}

ServerUnaryReactor* PartnerService::SignConvention(CallbackServerContext* c,
                                                   const v1::SignConventionRequest* req,
                                                   v1::Convention* resp) {
  return runner_.Run(c, "SignConvention", [](const CallContext&) {
    throw FailedPreconditionError("not implemented yet");
  });
}

ServerUnaryReactor* PartnerService::AddAmendment(CallbackServerContext* c,
                                                 const v1::AddAmendmentRequest* req,
                                                 v1::Convention* resp) {
  return runner_.Run(c, "AddAmendment", [](const CallContext&) {
    throw FailedPreconditionError("not implemented yet");
  });
}

ServerUnaryReactor* PartnerService::TerminateConvention(CallbackServerContext* c,
                                                        const v1::TerminateConventionRequest* req,
                                                        v1::Convention* resp) {
  return runner_.Run(c, "TerminateConvention", [](const CallContext&) {
    throw FailedPreconditionError("not implemented yet");
  });
}

ServerUnaryReactor* PartnerService::ImportConvention(CallbackServerContext* c,
                                                     const v1::ImportConventionRequest* req,
                                                     v1::ImportConventionResponse* resp) {
  return runner_.Run(c, "ImportConvention", [](const CallContext&) {
    throw FailedPreconditionError("not implemented yet");
  });
}

}  // namespace ctg::partners
