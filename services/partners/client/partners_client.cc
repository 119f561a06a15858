#include "partners/client/partners_client.h"

#include "common/errors.h"

namespace ctg::partners {

namespace pv1 = ::ctg::partners::v1;

PartnersClient::PartnersClient(std::shared_ptr<grpc::Channel> channel, ServiceIdentity& identity)
    : stub_(pv1::PartnerService::NewStub(std::move(channel))), identity_(identity) {}

namespace {
// Caches stay small (a territory has a few conventions and ~100 organisations); past this they
// are simply emptied.
constexpr size_t kMaxCached = 10000;
}  // namespace

ConventionFacts FactsOf(const pv1::Convention& convention) {
  ConventionFacts facts;
  facts.name = convention.name();
  const auto& s = convention.start_date();
  const auto& e = convention.end_date();
  facts.start = CivilDate{s.year(), s.month(), s.day()};
  facts.end = CivilDate{e.year(), e.month(), e.day()};
  for (const auto& p : convention.parties()) {
    facts.parties.insert(p.organisation());
    if (p.kind() == pv1::CAF) facts.cafs.insert(p.organisation());
    if (p.kind() == pv1::COMMUNE || p.kind() == pv1::EPCI) {
      facts.collectivities.insert(p.organisation());
    }
  }
  facts.secretariat = convention.secretariat();
  facts.departement = convention.departement();
  return facts;
}

ConventionFacts PartnersClient::GetConvention(const std::string& name, const std::string& field) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    auto it = conventions_.find(name);
    if (it != conventions_.end() && now - it->second.at < kTtl) return it->second.value;
  }
  grpc::ClientContext context;
  identity_.Prepare(context);
  pv1::GetConventionRequest request;
  request.set_name(name);
  pv1::Convention convention;
  const auto status = stub_->GetConvention(&context, request, &convention);
  if (!status.ok()) ThrowDependencyError(status, field + ": " + name);
  const ConventionFacts facts = FactsOf(convention);
  std::lock_guard lock(mu_);
  if (conventions_.size() >= kMaxCached) conventions_.clear();
  conventions_[name] = {facts, now};
  return facts;
}

pv1::Organisation PartnersClient::FetchOrganisation(const std::string& name,
                                                    const std::string& field) {
  grpc::ClientContext context;
  identity_.Prepare(context);
  pv1::GetOrganisationRequest request;
  request.set_name(name);
  pv1::Organisation organisation;
  const auto status = stub_->GetOrganisation(&context, request, &organisation);
  if (!status.ok()) ThrowDependencyError(status, field + ": " + name);
  std::lock_guard lock(mu_);
  if (organisation_names_.size() >= kMaxCached) organisation_names_.clear();
  if (departements_.size() >= kMaxCached) departements_.clear();
  const auto now = std::chrono::steady_clock::now();
  organisation_names_[name] = {organisation.display_name(), now};
  departements_[name] = {organisation.departement(), now};
  return organisation;
}

std::string PartnersClient::DepartementOf(const std::string& name) {
  if (name.empty()) return "";
  {
    std::lock_guard lock(mu_);
    auto it = departements_.find(name);
    if (it != departements_.end() && std::chrono::steady_clock::now() - it->second.at < kTtl) {
      return it->second.value;
    }
  }
  try {
    return FetchOrganisation(name, "organisation").departement();
  } catch (const NotFoundError&) {
    return "";  // a token naming an unknown organisation reads nothing by département
  }
}

std::map<std::string, std::string> PartnersClient::DisplayNames(
    const std::set<std::string>& names) {
  std::map<std::string, std::string> out;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& name : names) {
    {
      std::lock_guard lock(mu_);
      auto it = organisation_names_.find(name);
      if (it != organisation_names_.end() && now - it->second.at < kTtl) {
        out[name] = it->second.value;
        continue;
      }
    }
    try {
      out[name] = FetchOrganisation(name, "organisation").display_name();
    } catch (const std::exception&) {
      out[name] = name;  // a document still shows which organisation it is
    }
  }
  return out;
}

void PartnersClient::RequireOrganisations(
    const std::vector<std::pair<std::string, std::string>>& name_fields) {
  std::set<std::string> checked;
  for (const auto& [name, field] : name_fields) {
    if (!checked.insert(name).second) continue;
    FetchOrganisation(name, field);  // existence is always checked live, never from the cache
  }
}

pv1::AoCompetences PartnersClient::AoCompetencesOf(const std::string& organisation,
                                                   const CivilDate& date) {
  pv1::GetAoCompetencesRequest req;
  req.set_organisation(organisation);
  *req.mutable_date() = date.ToProto();
  pv1::AoCompetences ao;
  grpc::ClientContext context;
  identity_.Prepare(context);
  const grpc::Status status = stub_->GetAoCompetences(&context, req, &ao);
  if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    // E.g. no legal population recorded: the registry must be completed first.
    throw FailedPreconditionError("the AO competences of " + organisation +
                                  " cannot be determined: " + status.error_message());
  }
  if (!status.ok()) ThrowDependencyError(status, "AO competences of " + organisation);
  return ao;
}

std::set<std::string> PartnersClient::AoCollectivities(const ConventionFacts& convention,
                                                       const CivilDate& date) {
  std::set<std::string> out;
  for (const auto& party : convention.collectivities) {
    const auto ao = AoCompetencesOf(party, date);
    if (!ao.autorite_organisatrice().empty()) out.insert(ao.autorite_organisatrice());
  }
  return out;
}

}  // namespace ctg::partners
