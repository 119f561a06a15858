// Organisations and representatives: the registry of the parties to conventions.
#include "common/api.h"
#include "partners/access.h"
#include "partners/organisation_repository.h"
#include "partners/organisation_rules.h"
#include "partners/service.h"
#include "partners/statements.h"

namespace ctg::partners {
namespace {

// Checks that `parent_epci` names an existing EPCI.
void CheckParentEpci(OrganisationRepository& repo, const v1::Organisation& o,
                     const std::string& field) {
  if (o.parent_epci().empty()) return;
  const int kind = repo.KindOf(IdOf(o.parent_epci()));
  if (kind == 0) throw NotFoundError(field + ": " + o.parent_epci() + " not found");
  if (kind != v1::EPCI) {
    Violations v;
    v.Add(field, "must name an organisation of kind EPCI");
    v.ThrowIfAny();
  }
}

// INSEE codes and SIRENs identify one organisation each.
void CheckUniqueIdentifiers(OrganisationRepository& repo, const v1::Organisation& o,
                            const std::string& own_id) {
  if (!o.insee_code().empty()) {
    auto holder = repo.FindIdByInsee(o.insee_code());
    if (holder && *holder != own_id) {
      throw AlreadyExistsError("INSEE code " + o.insee_code() + " is already held by " +
                               OrganisationName(*holder));
    }
  }
  if (!o.siren().empty()) {
    auto holder = repo.FindIdBySiren(o.siren());
    if (holder && *holder != own_id) {
      throw AlreadyExistsError("SIREN " + o.siren() + " is already held by " +
                               OrganisationName(*holder));
    }
  }
}

v1::Organisation LoadOrganisation(OrganisationRepository& repo, const std::string& id,
                                  int64_t* version = nullptr, bool for_update = false) {
  auto o = repo.Find(id, version, for_update);
  if (!o) throw NotFoundError(OrganisationName(id) + " not found");
  return *o;
}

v1::Representative LoadRepresentative(OrganisationRepository& repo, const std::string& id,
                                      int64_t* version = nullptr) {
  auto r = repo.FindRepresentative(id, version);
  if (!r) throw NotFoundError(ResourceName("representatives", id) + " not found");
  return *r;
}

const std::set<std::string> kUpdatableOrganisationFields = {
    "display_name", "siren",       "insee_code",
    "parent_epci",  "populations", "ao_competence_transferred",
    "departement"};
const std::set<std::string> kUpdatableRepresentativeFields = {"person_name", "title",
                                                              "mandate_start", "mandate_end"};

}  // namespace

void PartnerService::CreateOrganisation(const CallContext& call,
                                        const v1::CreateOrganisationRequest& req,
                                        v1::Organisation& resp) {
  v1::Organisation organisation = req.organisation();
  DeriveOrganisationFields(organisation);
  Violations v;
  ValidateOrganisation(organisation, "organisation.", v);
  CheckRequestId(req.request_id(), "request_id", v);
  v.ThrowIfAny();
  WithTransaction(pool_, [&](pqxx::work& tx) {
    OrganisationRepository repo(tx);
    IdempotencyKey key(tx, call, req);
    if (auto done = key.Previous()) {
      resp = LoadOrganisation(repo, IdOf(*done));
      return;
    }
    CheckParentEpci(repo, organisation, "organisation.parent_epci");
    CheckUniqueIdentifiers(repo, organisation, "");
    const auto id = repo.Insert(organisation);
    key.Remember(OrganisationName(id));
    resp = LoadOrganisation(repo, id);
  });
}

void PartnerService::GetOrganisation(const CallContext& call, const v1::GetOrganisationRequest& req,
                                     v1::Organisation& resp) {
  Violations v;
  auto id = ParseResourceName(req.name(), "organisations", "name", v);
  v.ThrowIfAny();
  WithSingleStatementRead(pool_, [&](pqxx::transaction_base& tx) {
    OrganisationRepository repo(tx);
    resp = LoadOrganisation(repo, *id);
  });
}

void PartnerService::ListOrganisations(const CallContext& call,
                                       const v1::ListOrganisationsRequest& req,
                                       v1::ListOrganisationsResponse& resp) {
  Violations v;
  auto page = ParsePage(call, req, v);
  OrganisationFilter filter;
  if (!v1::OrganisationKind_IsValid(req.kind())) v.Add("kind", "unknown organisation kind");
  filter.kind = req.kind();
  if (auto epci = ParseResourceName(req.parent_epci(), "organisations", "parent_epci", v,
                                    /*required=*/false)) {
    filter.parent_epci_id = *epci;
  }
  if (!req.insee_code().empty() && !IsValidInseeCode(req.insee_code())) {
    v.Add("insee_code", "must be a 5-character INSEE commune code");
  }
  filter.insee_code = req.insee_code();
  v.ThrowIfAny();
  WithSingleStatementRead(pool_, [&](pqxx::transaction_base& tx) {
    auto result = OrganisationRepository(tx).List(filter, page);
    for (auto& o : result.items) *resp.add_organisations() = std::move(o);
    if (result.more) resp.set_next_page_token(NextPageToken(call, req, result.last_seq));
  });
}

void PartnerService::UpdateOrganisation(const CallContext& call,
                                        const v1::UpdateOrganisationRequest& req,
                                        v1::Organisation& resp) {
  Violations v;
  const auto& patch = req.organisation();
  auto id = ParseResourceName(patch.name(), "organisations", "organisation.name", v);
  auto fields = EffectiveMask(patch, req.update_mask(), kUpdatableOrganisationFields, v);
  v.ThrowIfAny();
  const bool populations = fields.count("populations") != 0;
  // Read, checked, then written only if still at the version read (UPDATE ... WHERE version):
  // two round trips and no transaction held in between; the populations, several rows, are
  // written in one transaction with the row.
  RetryOptimisticUpdate(patch.etag(), [&] {
    v1::Organisation merged;
    int64_t version = 0;
    WithSingleStatementRead(pool_, [&](pqxx::transaction_base& tx) {
      OrganisationRepository repo(tx);
      merged = LoadOrganisation(repo, *id, &version);
    });
    CheckEtag(patch.etag(), version);
    if (fields.count("display_name")) merged.set_display_name(patch.display_name());
    if (fields.count("siren")) merged.set_siren(patch.siren());
    if (fields.count("insee_code")) {
      merged.set_insee_code(patch.insee_code());
      if (!fields.count("departement")) merged.clear_departement();  // derived again below
    }
    if (fields.count("departement")) merged.set_departement(patch.departement());
    if (fields.count("parent_epci")) merged.set_parent_epci(patch.parent_epci());
    if (populations) *merged.mutable_populations() = patch.populations();
    if (fields.count("ao_competence_transferred")) {
      merged.set_ao_competence_transferred(patch.ao_competence_transferred());
    }
    DeriveOrganisationFields(merged);
    Violations after;
    ValidateOrganisation(merged, "organisation.", after);
    after.ThrowIfAny();
    bool written = false;
    auto write = [&](pqxx::transaction_base& tx) {
      OrganisationRepository repo(tx);
      ObjectAccess(tx, call.principal).RequireActsFor(*id, "update this organisation");
      // Only what changes is checked against the others (every statement is a round trip); the
      // unique indexes stand behind these checks.
      if (fields.count("parent_epci")) CheckParentEpci(repo, merged, "organisation.parent_epci");
      if (fields.count("insee_code") || fields.count("siren")) {
        CheckUniqueIdentifiers(repo, merged, *id);
      }
      written = repo.Update(*id, merged, populations, version);
    };
    if (populations) {
      WithTransaction(pool_, write);
    } else {
      WithAutocommit(pool_, write);  // the UPDATE, guarded by the version, is one statement
    }
    if (written) resp = std::move(merged);
    return written;
  });
}

void PartnerService::CreateRepresentative(const CallContext& call,
                                          const v1::CreateRepresentativeRequest& req,
                                          v1::Representative& resp) {
  const auto& r = req.representative();
  Violations v;
  auto org = ParseResourceName(r.organisation(), "organisations", "representative.organisation", v);
  ValidateRepresentative(r, "representative.", v);
  CheckRequestId(req.request_id(), "request_id", v);
  v.ThrowIfAny();
  WithTransaction(pool_, [&](pqxx::work& tx) {
    OrganisationRepository repo(tx);
    IdempotencyKey key(tx, call, req);
    if (auto done = key.Previous()) {
      resp = LoadRepresentative(repo, IdOf(*done));
      return;
    }
    if (repo.KindOf(*org) == 0) {
      throw NotFoundError("representative.organisation: " + r.organisation() + " not found");
    }
    ObjectAccess(tx, call.principal)
        .RequireActsFor(*org, "record representatives of this organisation");
    const auto id = repo.InsertRepresentative(r);
    key.Remember(ResourceName("representatives", id));
    resp = LoadRepresentative(repo, id);
  });
}

void PartnerService::GetRepresentative(const CallContext& call,
                                       const v1::GetRepresentativeRequest& req,
                                       v1::Representative& resp) {
  Violations v;
  auto id = ParseResourceName(req.name(), "representatives", "name", v);
  v.ThrowIfAny();
  WithSingleStatementRead(pool_, [&](pqxx::transaction_base& tx) {
    OrganisationRepository repo(tx);
    resp = LoadRepresentative(repo, *id);
  });
}

void PartnerService::ListRepresentatives(const CallContext& call,
                                         const v1::ListRepresentativesRequest& req,
                                         v1::ListRepresentativesResponse& resp) {
  Violations v;
  auto page = ParsePage(call, req, v);
  auto org = ParseResourceName(req.organisation(), "organisations", "organisation", v,
                               /*required=*/false);
  v.ThrowIfAny();
  WithSingleStatementRead(pool_, [&](pqxx::transaction_base& tx) {
    auto result = OrganisationRepository(tx).ListRepresentatives(org.value_or(""), page);
    for (auto& r : result.items) *resp.add_representatives() = std::move(r);
    if (result.more) resp.set_next_page_token(NextPageToken(call, req, result.last_seq));
  });
}

void PartnerService::UpdateRepresentative(const CallContext& call,
                                          const v1::UpdateRepresentativeRequest& req,
                                          v1::Representative& resp) {
  const auto& patch = req.representative();
  Violations v;
  auto id = ParseResourceName(patch.name(), "representatives", "representative.name", v);
  auto fields = EffectiveMask(patch, req.update_mask(), kUpdatableRepresentativeFields, v);
  v.ThrowIfAny();
  WithTransaction(pool_, [&](pqxx::work& tx) {
    OrganisationRepository repo(tx);
    repo.LockRepresentative(*id);
    int64_t version = 0;
    v1::Representative merged = LoadRepresentative(repo, *id, &version);
    ObjectAccess(tx, call.principal)
        .RequireActsFor(IdOf(merged.organisation()), "update representatives of this organisation");
    CheckEtag(patch.etag(), version);
    if (fields.count("person_name")) merged.set_person_name(patch.person_name());
    if (fields.count("title")) merged.set_title(patch.title());
    if (fields.count("mandate_start")) *merged.mutable_mandate_start() = patch.mandate_start();
    if (fields.count("mandate_end")) *merged.mutable_mandate_end() = patch.mandate_end();
    Violations after;
    ValidateRepresentative(merged, "representative.", after);
    after.ThrowIfAny();
    repo.UpdateRepresentative(*id, merged);
    resp = LoadRepresentative(repo, *id);
  });
}

}  // namespace ctg::partners
