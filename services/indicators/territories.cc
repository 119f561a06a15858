#include "indicators/territories.h"

#include <algorithm>

#include "common/errors.h"

namespace ctg::indicators {

namespace pv1 = ::ctg::partners::v1;

namespace {

// The département of a commune from its INSEE code: "47157" -> "47", "2A004" -> "2A",
// "97105" -> "971".
std::string DepartementOfInsee(const std::string& insee) {
  if (insee.size() != 5) return "";
  return insee.compare(0, 2, "97") == 0 ? insee.substr(0, 3) : insee.substr(0, 2);
}

double LatestPopulation(const pv1::Organisation& o) {
  int vintage = -1;
  double population = 0;
  for (const auto& p : o.populations()) {
    if (p.vintage() > vintage) {
      vintage = p.vintage();
      population = static_cast<double>(p.municipale());
    }
  }
  return population;
}

}  // namespace

TerritoryDirectory::TerritoryDirectory(const std::vector<pv1::Organisation>& organisations,
                                       const std::vector<pv1::Convention>& conventions) {
  std::map<std::string, std::string> siren_of_epci;  // organisation -> SIREN
  for (const auto& o : organisations) {
    if (o.kind() == pv1::EPCI && !o.siren().empty()) siren_of_epci[o.name()] = o.siren();
  }
  for (const auto& o : organisations) {
    Territory t;
    t.organisation = o.name();
    t.display_name = o.display_name();
    t.departement = o.departement();
    if (o.kind() == pv1::COMMUNE && !o.insee_code().empty()) {
      t.code = o.insee_code();
      t.level = v1::COMMUNE;
      if (t.departement.empty()) t.departement = DepartementOfInsee(o.insee_code());
      auto epci = siren_of_epci.find(o.parent_epci());
      if (epci != siren_of_epci.end()) t.epci = epci->second;
      t.population = LatestPopulation(o);
    } else if (o.kind() == pv1::EPCI && !o.siren().empty()) {
      t.code = o.siren();
      t.level = v1::EPCI;
      t.population = LatestPopulation(o);
    } else if (o.kind() == pv1::DEPARTEMENT && !o.departement().empty()) {
      t.code = o.departement();
      t.level = v1::DEPARTEMENT;
    }
    if (!t.departement.empty()) departement_of_[o.name()] = t.departement;
    if (t.code.empty()) continue;
    territory_of_[o.name()] = t.code;
    territories_.emplace(t.code, t);
  }
  for (const auto& [code, t] : territories_) {
    if (t.level == v1::COMMUNE && !t.epci.empty()) members_[t.epci].push_back(code);
  }
  // EPCIs whose departement is not recorded take their communes'.
  for (auto& [code, t] : territories_) {
    if (t.level != v1::EPCI || !t.departement.empty()) continue;
    auto m = members_.find(code);
    if (m != members_.end() && !m->second.empty()) {
      t.departement = territories_.at(m->second.front()).departement;
    }
  }
  for (const auto& c : conventions) {
    ConventionCoverage coverage;
    coverage.name = c.name();
    coverage.secretariat = c.secretariat().empty() ? c.territory() : c.secretariat();
    coverage.departement = c.departement();
    for (const auto& p : c.parties()) {
      coverage.parties.insert(p.organisation());
      if (p.kind() == pv1::CAF) coverage.cafs.insert(p.organisation());
    }
    const std::string territory = TerritoryOf(c.territory());
    if (!territory.empty()) {
      coverage.territories.insert(territory);
      for (const auto* commune : CommunesOf(territory)) coverage.territories.insert(commune->code);
    }
    if (coverage.departement.empty()) {
      if (const auto* t = Find(territory)) coverage.departement = t->departement;
    }
    conventions_.push_back(std::move(coverage));
  }
}

const Territory* TerritoryDirectory::Find(const std::string& code) const {
  auto it = territories_.find(code);
  return it == territories_.end() ? nullptr : &it->second;
}

std::vector<const Territory*> TerritoryDirectory::CommunesOf(const std::string& code) const {
  std::vector<const Territory*> out;
  const Territory* t = Find(code);
  if (t == nullptr) return out;
  if (t->level == v1::COMMUNE) return {t};
  auto m = members_.find(code);
  if (m == members_.end()) return out;
  for (const auto& c : m->second) out.push_back(&territories_.at(c));
  return out;
}

std::string TerritoryDirectory::TerritoryOf(const std::string& organisation) const {
  auto it = territory_of_.find(organisation);
  return it == territory_of_.end() ? "" : it->second;
}

std::string TerritoryDirectory::DepartementOf(const std::string& organisation) const {
  auto it = departement_of_.find(organisation);
  return it == departement_of_.end() ? "" : it->second;
}

PartnersDirectory::PartnersDirectory(std::shared_ptr<grpc::Channel> channel,
                                     ServiceIdentity& identity, std::chrono::milliseconds ttl)
    : stub_(pv1::PartnerService::NewStub(std::move(channel))), identity_(identity), ttl_(ttl) {}

std::shared_ptr<const TerritoryDirectory> PartnersDirectory::Get() {
  const auto now = std::chrono::steady_clock::now();
  std::shared_ptr<const TerritoryDirectory> previous;
  {
    std::lock_guard lock(mu_);
    if (snapshot_ && now - fetched_at_ < ttl_) return snapshot_;
    previous = snapshot_;
  }
  try {
    auto fresh = Fetch();
    std::lock_guard lock(mu_);
    snapshot_ = fresh;
    fetched_at_ = now;
    return fresh;
  } catch (const UnavailableError&) {
    // A registry that cannot answer for a moment does not stop reads and writes on territories
    // known a few seconds ago.
    if (previous) return previous;
    throw;
  }
}

std::shared_ptr<const TerritoryDirectory> PartnersDirectory::Fetch() {
  std::vector<pv1::Organisation> organisations;
  std::string token;
  do {
    grpc::ClientContext context;
    identity_.Prepare(context);
    pv1::ListOrganisationsRequest request;
    request.set_page_size(500);
    request.set_page_token(token);
    pv1::ListOrganisationsResponse response;
    const auto status = stub_->ListOrganisations(&context, request, &response);
    if (!status.ok()) ThrowDependencyError(status, "the partners registry");
    for (auto& o : *response.mutable_organisations()) organisations.push_back(std::move(o));
    token = response.next_page_token();
  } while (!token.empty());
  std::vector<pv1::Convention> conventions;
  do {
    grpc::ClientContext context;
    identity_.Prepare(context);
    pv1::ListConventionsRequest request;
    request.set_page_size(500);
    request.set_page_token(token);
    pv1::ListConventionsResponse response;
    const auto status = stub_->ListConventions(&context, request, &response);
    if (!status.ok()) ThrowDependencyError(status, "the partners registry");
    for (auto& c : *response.mutable_conventions()) conventions.push_back(std::move(c));
    token = response.next_page_token();
  } while (!token.empty());
  return std::make_shared<const TerritoryDirectory>(organisations, conventions);
}

}  // namespace ctg::indicators
