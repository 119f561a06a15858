// PLACEHOLDER: to be replaced by the real implementation.
#include "common/errors.h"
#include "partners/service.h"
#include "partners/statements.h"

namespace ctg::partners {

const std::vector<PreparedStatement>& FacilityStatements() {
  static const std::vector<PreparedStatement> none;
  return none;
}

ServerUnaryReactor* PartnerService::CreateFacility(CallbackServerContext* c,
                                                   const v1::CreateFacilityRequest* req,
                                                   v1::Facility* resp) {
  return runner_.Run(c, "CreateFacility", [](const CallContext&) {
    throw FailedPreconditionError("not implemented yet");
  });
}

ServerUnaryReactor* PartnerService::GetFacility(CallbackServerContext* c,
                                                const v1::GetFacilityRequest* req,
                                                v1::Facility* resp) {
  return runner_.Run(c, "GetFacility", [](const CallContext&) {
    throw FailedPreconditionError("not implemented yet");
  });
}

ServerUnaryReactor* PartnerService::ListFacilities(CallbackServerContext* c,
                                                   const v1::ListFacilitiesRequest* req,
                                                   v1::ListFacilitiesResponse* resp) {
  return runner_.Run(c, "ListFacilities", [](const CallContext&) {
    throw FailedPreconditionError("not implemented yet");
  });
}

ServerUnaryReactor* PartnerService::UpdateFacility(CallbackServerContext* c,
                                                   const v1::UpdateFacilityRequest* req,
                                                   v1::Facility* resp) {
  return runner_.Run(c, "UpdateFacility", [](const CallContext&) {
    throw FailedPreconditionError("not implemented yet");
  });
}

}  // namespace ctg::partners
