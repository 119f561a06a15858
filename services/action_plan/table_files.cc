// PLACEHOLDER: the XLSX/CSV export and import of the tracking table are being written.
#include "action_plan/service.h"
#include "common/errors.h"

namespace ctg::action_plan {

ServerUnaryReactor* ActionPlanService::ExportTrackingTable(
    CallbackServerContext* c, const v1::ExportTrackingTableRequest* req, v1::ExportedFile* resp) {
  return runner_.Run(c, "ExportTrackingTable", [](const CallContext&) {
    throw FailedPreconditionError("not implemented yet");
  });
}

ServerUnaryReactor* ActionPlanService::ImportTrackingTable(
    CallbackServerContext* c, const v1::ImportTrackingTableRequest* req,
    v1::ImportTrackingTableResponse* resp) {
  return runner_.Run(c, "ImportTrackingTable", [](const CallContext&) {
    throw FailedPreconditionError("not implemented yet");
  });
}

}  // namespace ctg::action_plan
