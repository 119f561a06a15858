#include "action_plan/partners_client.h"

#include "common/errors.h"

namespace ctg::action_plan {

namespace pv1 = ::ctg::partners::v1;

PartnersClient::PartnersClient(std::shared_ptr<grpc::Channel> channel, JwtSettings settings)
    : stub_(pv1::PartnerService::NewStub(std::move(channel))),
      identity_(std::move(settings), "ctg-action-plan") {}

ConventionFacts PartnersClient::GetConvention(const std::string& name, const std::string& field) {
  grpc::ClientContext context;
  identity_.Prepare(context);
  pv1::GetConventionRequest request;
  request.set_name(name);
  pv1::Convention convention;
  const auto status = stub_->GetConvention(&context, request, &convention);
  if (!status.ok()) ThrowDependencyError(status, field + ": " + name);
  ConventionFacts facts;
  facts.name = convention.name();
  const auto& s = convention.start_date();
  const auto& e = convention.end_date();
  facts.start = CivilDate{s.year(), s.month(), s.day()};
  facts.end = CivilDate{e.year(), e.month(), e.day()};
  for (const auto& p : convention.parties()) facts.parties.insert(p.organisation());
  return facts;
}

void PartnersClient::RequireOrganisations(
    const std::vector<std::pair<std::string, std::string>>& name_fields) {
  std::set<std::string> checked;
  for (const auto& [name, field] : name_fields) {
    if (!checked.insert(name).second) continue;
    grpc::ClientContext context;
    identity_.Prepare(context);
    pv1::GetOrganisationRequest request;
    request.set_name(name);
    pv1::Organisation organisation;
    const auto status = stub_->GetOrganisation(&context, request, &organisation);
    if (!status.ok()) ThrowDependencyError(status, field + ": " + name);
  }
}

}  // namespace ctg::action_plan
