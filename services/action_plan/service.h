#pragma once

#include "action_plan/partners_client.h"
#include "action_plan/plan_rules.h"
#include "common/db.h"
#include "common/rpc.h"
#include "common/server.h"
#include "ctg/action_plan/v1/action_plan.grpc.pb.h"

namespace ctg::action_plan {

namespace v1 = ::ctg::action_plan::v1;
using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;

// The action plan API: axes and actions of a convention (art. 6) and the quarterly shared
// tracking table (art. 11). Conventions and organisations are checked through the partners API.
// Who may do what:
// - read: service, auditor, copil_secretariat, caf_agent, cdsf, or an agent whose organisation
//   is a party to the convention;
// - change the plan (axes, actions): copil_secretariat, caf_agent, service;
// - report progress: copil_secretariat, service, or a caf_agent / collectivity_agent of one of
//   the action's pilot organisations.
class ActionPlanService final : public v1::ActionPlanService::CallbackService {
 public:
  ActionPlanService(ConnectionPool& pool, UnaryRunner& runner,
                    std::unique_ptr<PartnersClient> partners)
      : pool_(pool), runner_(runner), partners_(std::move(partners)) {}

  ServerUnaryReactor* CreateAxis(CallbackServerContext* c, const v1::CreateAxisRequest* req,
                                 v1::Axis* resp) override;
  ServerUnaryReactor* GetAxis(CallbackServerContext* c, const v1::GetAxisRequest* req,
                              v1::Axis* resp) override;
  ServerUnaryReactor* ListAxes(CallbackServerContext* c, const v1::ListAxesRequest* req,
                               v1::ListAxesResponse* resp) override;
  ServerUnaryReactor* UpdateAxis(CallbackServerContext* c, const v1::UpdateAxisRequest* req,
                                 v1::Axis* resp) override;
  ServerUnaryReactor* CreateAction(CallbackServerContext* c, const v1::CreateActionRequest* req,
                                   v1::Action* resp) override;
  ServerUnaryReactor* GetAction(CallbackServerContext* c, const v1::GetActionRequest* req,
                                v1::Action* resp) override;
  ServerUnaryReactor* ListActions(CallbackServerContext* c, const v1::ListActionsRequest* req,
                                  v1::ListActionsResponse* resp) override;
  ServerUnaryReactor* UpdateAction(CallbackServerContext* c, const v1::UpdateActionRequest* req,
                                   v1::Action* resp) override;
  ServerUnaryReactor* CreateProgressReport(CallbackServerContext* c,
                                           const v1::CreateProgressReportRequest* req,
                                           v1::ProgressReport* resp) override;
  ServerUnaryReactor* ListProgressReports(CallbackServerContext* c,
                                          const v1::ListProgressReportsRequest* req,
                                          v1::ListProgressReportsResponse* resp) override;
  ServerUnaryReactor* GetTrackingTable(CallbackServerContext* c,
                                       const v1::GetTrackingTableRequest* req,
                                       v1::TrackingTable* resp) override;
  // Implemented in table_files.cc.
  ServerUnaryReactor* ExportTrackingTable(CallbackServerContext* c,
                                          const v1::ExportTrackingTableRequest* req,
                                          v1::ExportedFile* resp) override;
  ServerUnaryReactor* ImportTrackingTable(CallbackServerContext* c,
                                          const v1::ImportTrackingTableRequest* req,
                                          v1::ImportTrackingTableResponse* resp) override;

 private:
  // Validates a (convention, quarter) pair, checks the caller may read the convention and the
  // quarter overlaps its period; returns the convention's facts and sets `quarter`.
  ConventionFacts CheckTableRequest(const Principal& principal, const std::string& convention,
                                    const std::string& quarter_text, Quarter* quarter);
  // The tracking table of `convention` at `quarter` (rows, axis and plan roll-ups).
  v1::TrackingTable LoadTrackingTable(pqxx::transaction_base& tx, const std::string& convention,
                                      const Quarter& quarter);

  ConnectionPool& pool_;
  UnaryRunner& runner_;
  std::unique_ptr<PartnersClient> partners_;
};

// Everything the runtime needs to host the action plan service. The partners service address
// comes from the `partners` entry of --backends (CTG_BACKENDS).
ServiceSpec ActionPlanServiceSpec();

}  // namespace ctg::action_plan
