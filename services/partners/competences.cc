// PLACEHOLDER: to be replaced by the real implementation.
#include "common/errors.h"
#include "partners/service.h"
#include "partners/statements.h"

namespace ctg::partners {

ServerUnaryReactor* PartnerService::GetAoCompetences(CallbackServerContext* c,
                                                     const v1::GetAoCompetencesRequest* req,
                                                     v1::AoCompetences* resp) {
  return runner_.Run(c, "GetAoCompetences", [](const CallContext&) {
    throw FailedPreconditionError("not implemented yet");
  });
}

}  // namespace ctg::partners
