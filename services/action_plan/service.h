#pragma once

#include "action_plan/access.h"
#include "action_plan/plan_rules.h"
#include "common/db.h"
#include "common/rpc.h"
#include "common/server.h"
#include "ctg/action_plan/v1/action_plan.ctg.h"
#include "partners/client/partners_client.h"

namespace ctg::action_plan {

namespace v1 = ::ctg::action_plan::v1;

// The action plan API: axes and actions of a convention (art. 6) and the quarterly shared
// tracking table (art. 11). Conventions and organisations are checked through the partners API.
// The roles of each RPC are declared in action_plan.proto (checked by the runtime before a
// handler runs); which conventions' plans a caller sees and changes is the rule of access.h.
class ActionPlanService final : public v1::ActionPlanServiceBase {
 public:
  ActionPlanService(ConnectionPool& pool, UnaryRunner& runner,
                    std::unique_ptr<PartnersClient> partners)
      : v1::ActionPlanServiceBase(runner), pool_(pool), partners_(std::move(partners)) {}

  void CreateAxis(const CallContext& call, const v1::CreateAxisRequest& req,
                  v1::Axis& resp) override;
  void GetAxis(const CallContext& call, const v1::GetAxisRequest& req, v1::Axis& resp) override;
  void ListAxes(const CallContext& call, const v1::ListAxesRequest& req,
                v1::ListAxesResponse& resp) override;
  void UpdateAxis(const CallContext& call, const v1::UpdateAxisRequest& req,
                  v1::Axis& resp) override;
  void CreateAction(const CallContext& call, const v1::CreateActionRequest& req,
                    v1::Action& resp) override;
  void GetAction(const CallContext& call, const v1::GetActionRequest& req,
                 v1::Action& resp) override;
  void ListActions(const CallContext& call, const v1::ListActionsRequest& req,
                   v1::ListActionsResponse& resp) override;
  void UpdateAction(const CallContext& call, const v1::UpdateActionRequest& req,
                    v1::Action& resp) override;
  void CreateProgressReport(const CallContext& call, const v1::CreateProgressReportRequest& req,
                            v1::ProgressReport& resp) override;
  void ListProgressReports(const CallContext& call, const v1::ListProgressReportsRequest& req,
                           v1::ListProgressReportsResponse& resp) override;
  void GetTrackingTable(const CallContext& call, const v1::GetTrackingTableRequest& req,
                        v1::TrackingTable& resp) override;
  // Implemented in table_files.cc.
  void ExportTrackingTable(const CallContext& call, const v1::ExportTrackingTableRequest& req,
                           v1::ExportedFile& resp) override;
  void ImportTrackingTable(const CallContext& call, const v1::ImportTrackingTableRequest& req,
                           v1::ImportTrackingTableResponse& resp) override;

 private:
  // The caller's scope on the plan of `convention` (access.h), reading the caller's département
  // from the partners service only for the roles that need it.
  PlanScope Scope(const Principal& principal, const ConventionFacts& convention);
  // The facts of the convention `name` (named by request field `field`) when the caller may read
  // its plan; NOT_FOUND otherwise, word for word as for a convention that does not exist.
  ConventionFacts ReadableConvention(const Principal& principal, const std::string& name,
                                     const std::string& field, PlanScope* scope);
  // The caller's scope on the plan of `convention`, for an object of that plan: throws
  // NotFoundError(`not_found`) when the caller may not read it (AIP-211).
  PlanScope RequireReadable(const Principal& principal, const std::string& convention,
                            const std::string& not_found);
  // The same for the convention of `action`, named by request field `field` ("report.action: ").
  ConventionFacts ReadableActionConvention(const Principal& principal, const v1::Action& action,
                                           const std::string& field, PlanScope* scope);
  // Throws PermissionDeniedError unless the scope allows changing the plan.
  static void RequireEditor(const PlanScope& scope);
  // Validates a (convention, quarter) pair, checks the caller may read the convention and the
  // quarter overlaps its period; returns the convention's facts and sets `quarter`, `scope`.
  ConventionFacts CheckTableRequest(const Principal& principal, const std::string& convention,
                                    const std::string& quarter_text, Quarter* quarter,
                                    PlanScope* scope);
  // The tracking table of `convention` at `quarter` (rows, axis and plan roll-ups).
  v1::TrackingTable LoadTrackingTable(pqxx::transaction_base& tx, const std::string& convention,
                                      const Quarter& quarter);

  ConnectionPool& pool_;
  std::unique_ptr<PartnersClient> partners_;
};

// Everything the runtime needs to host the action plan service. The partners service address
// comes from the `partners` entry of --backends (CTG_BACKENDS).
ServiceSpec ActionPlanServiceSpec();

}  // namespace ctg::action_plan
