#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/db.h"
#include "common/rpc.h"
#include "common/server.h"
#include "common/service_client.h"
#include "consents/audit.h"
#include "consents/consent_rules.h"
#include "ctg/consents/v1/consents.ctg.h"
#include "ctg/partners/v1/partners.grpc.pb.h"

namespace ctg::consents {

// The data-exchange consents API (convention art. 9): requests, their workflow with the
// holder's study, its DPO's opinion and its decision, enforcement of every exchange, and the
// audit trail of every step and check (audit.h). Organisations and conventions are checked
// through the partners API before any database connection is taken. The roles of each RPC are
// declared in consents.proto; which organisation takes which step is consent_rules.h.
// What a refused call is audited as: the holder whose chain records it, the data concerned and
// the operation ("denied:DECIDE", "denied:check", ...).
struct RefusedAttempt {
  std::string holder;  // "organisations/{uuid}"
  std::string reference;
  std::string operation;
};

class ConsentService final : public v1::ConsentServiceBase {
 public:
  ConsentService(ConnectionPool& pool, UnaryRunner& runner, std::shared_ptr<grpc::Channel> partners,
                 ServiceIdentity& identity);

  void CreateExchangeRequest(const CallContext& call, const v1::CreateExchangeRequestRequest& req,
                             v1::ExchangeRequest& resp) override;
  void GetExchangeRequest(const CallContext& call, const v1::GetExchangeRequestRequest& req,
                          v1::ExchangeRequest& resp) override;
  void ListExchangeRequests(const CallContext& call, const v1::ListExchangeRequestsRequest& req,
                            v1::ListExchangeRequestsResponse& resp) override;
  void UpdateExchangeRequest(const CallContext& call, const v1::UpdateExchangeRequestRequest& req,
                             v1::ExchangeRequest& resp) override;
  void TakeStep(const CallContext& call, const v1::TakeStepRequest& req,
                v1::ExchangeRequest& resp) override;
  void CheckExchange(const CallContext& call, const v1::CheckExchangeRequest& req,
                     v1::CheckExchangeResponse& resp) override;
  void RecordExchange(const CallContext& call, const v1::RecordExchangeRequest& req,
                      v1::RecordedExchange& resp) override;
  void ListPendingActions(const CallContext& call, const v1::ListPendingActionsRequest& req,
                          v1::ListPendingActionsResponse& resp) override;
  void ListAuditEvents(const CallContext& call, const v1::ListAuditEventsRequest& req,
                       v1::ListAuditEventsResponse& resp) override;
  void VerifyAuditChain(const CallContext& call, const v1::VerifyAuditChainRequest& req,
                        v1::AuditChainVerification& resp) override;
  void ExportRegister(const CallContext& call, const v1::ExportRegisterRequest& req,
                      v1::ExportedRegister& resp) override;
  void PurgeCheckLog(const CallContext& call, const v1::PurgeCheckLogRequest& req,
                     v1::PurgeCheckLogResponse& resp) override;

 private:
  // Throws NotFoundError naming `field` when the partners service does not know `name`.
  void RequireKnown(const std::string& name, const std::string& field);
  // Audits a call the declared access refused (a role the method does not allow): in the chain
  // of the holder it concerns, if any (the request it names, or a known organisation).
  void AuditRefusedCall(const CallContext& call, const google::protobuf::Message& request,
                        const std::string& reason);
  std::optional<RefusedAttempt> AttemptOf(const CallContext& call,
                                          const google::protobuf::Message& request);
  // The official name of an organisation (its resource name when it cannot be read).
  std::string DisplayName(const std::string& organisation);

  ConnectionPool& pool_;
  std::unique_ptr<::ctg::partners::v1::PartnerService::Stub> partners_;
  ServiceIdentity& identity_;
  // Checks and refused attempts are audited through it (group commit); state changes append in
  // their own transaction.
  AuditAppender appender_;
};

// Everything the runtime needs to host the consents service. The partners service address comes
// from the `partners` entry of --backends.
ServiceSpec ConsentServiceSpec();

}  // namespace ctg::consents
