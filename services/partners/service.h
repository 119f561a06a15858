#pragma once

#include "common/db.h"
#include "common/rpc.h"
#include "common/server.h"
#include "ctg/partners/v1/partners.grpc.pb.h"

namespace ctg::partners {

namespace v1 = ::ctg::partners::v1;
using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;

// The partners API. A plain class over the generated CallbackService: the runtime (main, or a
// test) builds it with a connection pool and the shared UnaryRunner. Each group of methods is
// implemented in its own file (organisations.cc, conventions.cc, competences.cc, copil.cc,
// facilities.cc); every method validates its whole request first, then does its reads and writes
// in one transaction.
class PartnerService final : public v1::PartnerService::CallbackService {
 public:
  PartnerService(ConnectionPool& pool, UnaryRunner& runner) : pool_(pool), runner_(runner) {}

  ServerUnaryReactor* CreateOrganisation(CallbackServerContext* c,
                                         const v1::CreateOrganisationRequest* req,
                                         v1::Organisation* resp) override;
  ServerUnaryReactor* GetOrganisation(CallbackServerContext* c,
                                      const v1::GetOrganisationRequest* req,
                                      v1::Organisation* resp) override;
  ServerUnaryReactor* ListOrganisations(CallbackServerContext* c,
                                        const v1::ListOrganisationsRequest* req,
                                        v1::ListOrganisationsResponse* resp) override;
  ServerUnaryReactor* UpdateOrganisation(CallbackServerContext* c,
                                         const v1::UpdateOrganisationRequest* req,
                                         v1::Organisation* resp) override;

  ServerUnaryReactor* CreateRepresentative(CallbackServerContext* c,
                                           const v1::CreateRepresentativeRequest* req,
                                           v1::Representative* resp) override;
  ServerUnaryReactor* GetRepresentative(CallbackServerContext* c,
                                        const v1::GetRepresentativeRequest* req,
                                        v1::Representative* resp) override;
  ServerUnaryReactor* ListRepresentatives(CallbackServerContext* c,
                                          const v1::ListRepresentativesRequest* req,
                                          v1::ListRepresentativesResponse* resp) override;
  ServerUnaryReactor* UpdateRepresentative(CallbackServerContext* c,
                                           const v1::UpdateRepresentativeRequest* req,
                                           v1::Representative* resp) override;

  ServerUnaryReactor* CreateConvention(CallbackServerContext* c,
                                       const v1::CreateConventionRequest* req,
                                       v1::Convention* resp) override;
  ServerUnaryReactor* GetConvention(CallbackServerContext* c, const v1::GetConventionRequest* req,
                                    v1::Convention* resp) override;
  ServerUnaryReactor* ListConventions(CallbackServerContext* c,
                                      const v1::ListConventionsRequest* req,
                                      v1::ListConventionsResponse* resp) override;
  ServerUnaryReactor* UpdateConvention(CallbackServerContext* c,
                                       const v1::UpdateConventionRequest* req,
                                       v1::Convention* resp) override;
  ServerUnaryReactor* SignConvention(CallbackServerContext* c, const v1::SignConventionRequest* req,
                                     v1::Convention* resp) override;
  ServerUnaryReactor* AddAmendment(CallbackServerContext* c, const v1::AddAmendmentRequest* req,
                                   v1::Convention* resp) override;
  ServerUnaryReactor* TerminateConvention(CallbackServerContext* c,
                                          const v1::TerminateConventionRequest* req,
                                          v1::Convention* resp) override;
  ServerUnaryReactor* ImportConvention(CallbackServerContext* c,
                                       const v1::ImportConventionRequest* req,
                                       v1::ImportConventionResponse* resp) override;

  ServerUnaryReactor* GetAoCompetences(CallbackServerContext* c,
                                       const v1::GetAoCompetencesRequest* req,
                                       v1::AoCompetences* resp) override;

  ServerUnaryReactor* CreateCopilMember(CallbackServerContext* c,
                                        const v1::CreateCopilMemberRequest* req,
                                        v1::CopilMember* resp) override;
  ServerUnaryReactor* ListCopilMembers(CallbackServerContext* c,
                                       const v1::ListCopilMembersRequest* req,
                                       v1::ListCopilMembersResponse* resp) override;
  ServerUnaryReactor* DeleteCopilMember(CallbackServerContext* c,
                                        const v1::DeleteCopilMemberRequest* req,
                                        v1::DeleteCopilMemberResponse* resp) override;
  ServerUnaryReactor* CheckCopilComposition(CallbackServerContext* c,
                                            const v1::CheckCopilCompositionRequest* req,
                                            v1::CopilComposition* resp) override;

  ServerUnaryReactor* CreateFacility(CallbackServerContext* c, const v1::CreateFacilityRequest* req,
                                     v1::Facility* resp) override;
  ServerUnaryReactor* GetFacility(CallbackServerContext* c, const v1::GetFacilityRequest* req,
                                  v1::Facility* resp) override;
  ServerUnaryReactor* ListFacilities(CallbackServerContext* c, const v1::ListFacilitiesRequest* req,
                                     v1::ListFacilitiesResponse* resp) override;
  ServerUnaryReactor* UpdateFacility(CallbackServerContext* c, const v1::UpdateFacilityRequest* req,
                                     v1::Facility* resp) override;

 private:
  ConnectionPool& pool_;
  UnaryRunner& runner_;
};

// Everything the runtime needs to host the partners service (main and tests).
ServiceSpec PartnerServiceSpec();

}  // namespace ctg::partners
