// AO competences (art. 3): what a commune or EPCI must do, at a date, as autorité organisatrice
// de l'accueil du jeune enfant.
#include <algorithm>
#include <vector>

#include "common/api.h"
#include "partners/ao_rules.h"
#include "partners/organisation_repository.h"
#include "partners/service.h"

namespace ctg::partners {
namespace {

// Every member commune of the EPCI `epci_id`.
std::vector<v1::Organisation> MemberCommunes(OrganisationRepository& repo,
                                             const std::string& epci_id) {
  OrganisationFilter filter;
  filter.kind = v1::COMMUNE;
  filter.parent_epci_id = epci_id;
  PageRequest page;
  page.size = 500;
  std::vector<v1::Organisation> members;
  while (true) {
    auto result = repo.List(filter, page);
    for (auto& o : result.items) members.push_back(std::move(o));
    if (!result.more) break;
    page.after = result.last_seq;
  }
  return members;
}

// Art. 3: an EPCI is AO only for the member communes that transferred the competence to it, on
// their population. Gives `epci` the populations the thresholds apply to: its own recorded ones
// when every member transferred, else the sum of the transferring members' (returns how many
// communes were summed, 0 when none was needed or none transferred).
int ResolveEpciPopulations(const std::vector<v1::Organisation>& members, v1::Organisation& epci) {
  std::vector<v1::Organisation> transferring;
  for (const auto& m : members) {
    if (m.ao_competence_transferred()) transferring.push_back(m);
  }
  if (transferring.empty()) return 0;
  if (transferring.size() == members.size() && epci.populations_size() > 0) return 0;
  epci.clear_populations();
  for (auto& p : SumMemberPopulations(transferring)) *epci.add_populations() = std::move(p);
  return static_cast<int>(transferring.size());
}

}  // namespace

void PartnerService::GetAoCompetences(const CallContext& call,
                                      const v1::GetAoCompetencesRequest& req,
                                      v1::AoCompetences& resp) {
  Violations v;
  auto id = ParseResourceName(req.organisation(), "organisations", "organisation", v);
  auto date = ParseDate(req.date(), "date", v, /*required=*/true);
  v.ThrowIfAny();
  WithReadTransaction(pool_, [&](pqxx::transaction_base& tx) {
    OrganisationRepository repo(tx);
    auto organisation = repo.Find(*id);
    if (!organisation) throw NotFoundError(req.organisation() + " not found");
    if (organisation->kind() != v1::COMMUNE && organisation->kind() != v1::EPCI) {
      throw FailedPreconditionError("AO competences belong to communes and EPCIs only; " +
                                    req.organisation() + " is a " +
                                    v1::OrganisationKind_Name(organisation->kind()));
    }
    AoSubject subject;
    subject.organisation = *organisation;
    if (organisation->kind() == v1::EPCI) {
      const auto members = MemberCommunes(repo, *id);
      subject.member_count = static_cast<int>(members.size());
      subject.transferring_members = static_cast<int>(
          std::count_if(members.begin(), members.end(),
                        [](const v1::Organisation& m) { return m.ao_competence_transferred(); }));
      subject.summed_members = ResolveEpciPopulations(members, subject.organisation);
    } else if (organisation->ao_competence_transferred()) {
      // Validation of organisations guarantees a parent EPCI for a transferring commune.
      const std::string epci_id = IdOf(organisation->parent_epci());
      auto epci = repo.Find(epci_id);
      if (!epci) {
        throw FailedPreconditionError(req.organisation() +
                                      " transferred the AO competence to an unknown EPCI");
      }
      subject.summed_members = ResolveEpciPopulations(MemberCommunes(repo, epci_id), *epci);
      subject.epci = std::move(*epci);
    }
    const auto& holder = subject.epci ? *subject.epci : subject.organisation;
    // An EPCI to which no member transferred the competence holds none: no population needed.
    const bool holds_nothing =
        organisation->kind() == v1::EPCI && subject.transferring_members == 0;
    if (!holds_nothing && holder.populations_size() == 0 && !(*date < AoRegimeStart())) {
      throw FailedPreconditionError(
          "no legal population is recorded for " + holder.name() +
          (holder.kind() == v1::EPCI ? " nor for all of its member communes" : "") +
          ": the thresholds of art. 3 cannot be applied");
    }
    resp = EvaluateAoCompetences(subject, *date);
  });
}

}  // namespace ctg::partners
