#pragma once

#include "common/db.h"
#include "common/rpc.h"
#include "common/server.h"
#include "ctg/partners/v1/partners.ctg.h"

namespace ctg::partners {

namespace v1 = ::ctg::partners::v1;

// The partners API. A plain class over the generated PartnerServiceBase (protoc-gen-ctg), which
// routes every RPC through the shared runtime: authentication and the roles declared in
// partners.proto are checked before a handler runs. The runtime (main, or a test) builds it with
// a connection pool and the runner. Each group of methods is implemented in its own file
// (organisations.cc, conventions.cc, competences.cc, copil.cc, facilities.cc); every method
// validates its whole request first, then does its reads and writes in one transaction, where
// the object-level rules of access.h apply.
class PartnerService final : public v1::PartnerServiceBase {
 public:
  PartnerService(ConnectionPool& pool, UnaryRunner& runner)
      : v1::PartnerServiceBase(runner), pool_(pool) {}

  void CreateOrganisation(const CallContext& call, const v1::CreateOrganisationRequest& req,
                          v1::Organisation& resp) override;
  void GetOrganisation(const CallContext& call, const v1::GetOrganisationRequest& req,
                       v1::Organisation& resp) override;
  void ListOrganisations(const CallContext& call, const v1::ListOrganisationsRequest& req,
                         v1::ListOrganisationsResponse& resp) override;
  void UpdateOrganisation(const CallContext& call, const v1::UpdateOrganisationRequest& req,
                          v1::Organisation& resp) override;
  void CreateRepresentative(const CallContext& call, const v1::CreateRepresentativeRequest& req,
                            v1::Representative& resp) override;
  void GetRepresentative(const CallContext& call, const v1::GetRepresentativeRequest& req,
                         v1::Representative& resp) override;
  void ListRepresentatives(const CallContext& call, const v1::ListRepresentativesRequest& req,
                           v1::ListRepresentativesResponse& resp) override;
  void UpdateRepresentative(const CallContext& call, const v1::UpdateRepresentativeRequest& req,
                            v1::Representative& resp) override;
  void CreateConvention(const CallContext& call, const v1::CreateConventionRequest& req,
                        v1::Convention& resp) override;
  void GetConvention(const CallContext& call, const v1::GetConventionRequest& req,
                     v1::Convention& resp) override;
  void ListConventions(const CallContext& call, const v1::ListConventionsRequest& req,
                       v1::ListConventionsResponse& resp) override;
  void UpdateConvention(const CallContext& call, const v1::UpdateConventionRequest& req,
                        v1::Convention& resp) override;
  void SignConvention(const CallContext& call, const v1::SignConventionRequest& req,
                      v1::Convention& resp) override;
  void AddAmendment(const CallContext& call, const v1::AddAmendmentRequest& req,
                    v1::Convention& resp) override;
  void TerminateConvention(const CallContext& call, const v1::TerminateConventionRequest& req,
                           v1::Convention& resp) override;
  void ImportConvention(const CallContext& call, const v1::ImportConventionRequest& req,
                        v1::ImportConventionResponse& resp) override;
  void GetAoCompetences(const CallContext& call, const v1::GetAoCompetencesRequest& req,
                        v1::AoCompetences& resp) override;
  void CreateCopilMember(const CallContext& call, const v1::CreateCopilMemberRequest& req,
                         v1::CopilMember& resp) override;
  void ListCopilMembers(const CallContext& call, const v1::ListCopilMembersRequest& req,
                        v1::ListCopilMembersResponse& resp) override;
  void DeleteCopilMember(const CallContext& call, const v1::DeleteCopilMemberRequest& req,
                         v1::DeleteCopilMemberResponse& resp) override;
  void CheckCopilComposition(const CallContext& call, const v1::CheckCopilCompositionRequest& req,
                             v1::CopilComposition& resp) override;
  void CreateFacility(const CallContext& call, const v1::CreateFacilityRequest& req,
                      v1::Facility& resp) override;
  void GetFacility(const CallContext& call, const v1::GetFacilityRequest& req,
                   v1::Facility& resp) override;
  void ListFacilities(const CallContext& call, const v1::ListFacilitiesRequest& req,
                      v1::ListFacilitiesResponse& resp) override;
  void UpdateFacility(const CallContext& call, const v1::UpdateFacilityRequest& req,
                      v1::Facility& resp) override;

 private:
  ConnectionPool& pool_;
};

// Everything the runtime needs to host the partners service (main and tests).
ServiceSpec PartnerServiceSpec();

}  // namespace ctg::partners
