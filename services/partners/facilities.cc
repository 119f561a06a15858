// Facilities and services supported by AO collectivities (annexe 2 of the convention).
#include "common/api.h"
#include "partners/access.h"
#include "partners/facility_repository.h"
#include "partners/organisation_repository.h"
#include "partners/service.h"

namespace ctg::partners {
namespace {

const std::set<std::string> kUpdatableFacilityFields = {
    "kind",     "display_name",  "manager",      "commune",
    "capacity", "supporting_ao", "opening_date", "closing_date"};

// Checks the caller-settable fields of a facility under `prefix` ("facility."). References to
// organisations are checked against the database by CheckReferences.
void ValidateFacility(const v1::Facility& f, const std::string& prefix, Violations& v) {
  if (f.kind() == v1::FACILITY_KIND_UNSPECIFIED || !v1::FacilityKind_IsValid(f.kind())) {
    v.Add(prefix + "kind", "required: one of EAJE, MICRO_CRECHE, RPE, ALSH, ...");
  }
  CheckText(f.display_name(), prefix + "display_name", 1, 200, v);
  ParseResourceName(f.manager(), "organisations", prefix + "manager", v);
  ParseResourceName(f.commune(), "organisations", prefix + "commune", v);
  ParseResourceName(f.supporting_ao(), "organisations", prefix + "supporting_ao", v,
                    /*required=*/false);
  if (f.capacity() < 0) v.Add(prefix + "capacity", "must not be negative");
  auto opening = ParseDate(f.opening_date(), prefix + "opening_date", v, false);
  auto closing = ParseDate(f.closing_date(), prefix + "closing_date", v, false);
  if (opening && closing && *closing < *opening) {
    v.Add(prefix + "closing_date", "must not be before opening_date");
  }
}

// Checks that the organisations a facility names exist (NOT_FOUND otherwise) and are of the
// right kind: the commune a COMMUNE, the supporting AO a COMMUNE or an EPCI.
void CheckReferences(OrganisationRepository& repo, const v1::Facility& f,
                     const std::string& prefix) {
  auto kind_of = [&](const std::string& name, const std::string& field) {
    const int kind = repo.KindOf(IdOf(name));
    if (kind == 0) throw NotFoundError(prefix + field + ": " + name + " not found");
    return kind;
  };
  kind_of(f.manager(), "manager");
  Violations v;
  if (kind_of(f.commune(), "commune") != v1::COMMUNE) {
    v.Add(prefix + "commune", "must name an organisation of kind COMMUNE");
  }
  if (!f.supporting_ao().empty()) {
    const int kind = kind_of(f.supporting_ao(), "supporting_ao");
    if (kind != v1::COMMUNE && kind != v1::EPCI) {
      v.Add(prefix + "supporting_ao", "must name a COMMUNE or an EPCI (an AO collectivity)");
    }
  }
  v.ThrowIfAny();
}

// Annexe 2 rule: an agent records the facilities its own organisation manages; the Caf and the
// secretariat record those of the communes covered by their conventions, whoever manages them.
void RequireResponsible(ObjectAccess& access, const Principal& principal, const v1::Facility& f,
                        const std::string& action) {
  if (access.IsAgentOf(f.manager())) return;
  if (principal.HasAny({Role::kCafAgent, Role::kCopilSecretariat}) &&
      access.ActsFor(IdOf(f.commune()))) {
    return;
  }
  throw PermissionDeniedError("not allowed to " + action +
                              ": a collectivity records the facilities it manages; the Caf or "
                              "the secretariat of the commune's convention records the others");
}

v1::Facility LoadFacility(FacilityRepository& repo, const std::string& id,
                          int64_t* version = nullptr, bool for_update = false) {
  auto f = repo.Find(id, version, for_update);
  if (!f) throw NotFoundError(FacilityName(id) + " not found");
  return *f;
}

}  // namespace

void PartnerService::CreateFacility(const CallContext& call, const v1::CreateFacilityRequest& req,
                                    v1::Facility& resp) {
  const auto& f = req.facility();
  Violations v;
  ValidateFacility(f, "facility.", v);
  CheckRequestId(req.request_id(), "request_id", v);
  v.ThrowIfAny();
  WithTransaction(pool_, [&](pqxx::work& tx) {
    FacilityRepository repo(tx);
    IdempotencyKey key(tx, call, req);
    if (auto done = key.Previous()) {
      resp = LoadFacility(repo, IdOf(*done));
      return;
    }
    OrganisationRepository organisations(tx);
    CheckReferences(organisations, f, "facility.");
    ObjectAccess access(tx, call.principal);
    RequireResponsible(access, call.principal, f, "record this facility");
    const auto id = repo.Insert(f);
    key.Remember(FacilityName(id));
    resp = LoadFacility(repo, id);
  });
}

void PartnerService::GetFacility(const CallContext& call, const v1::GetFacilityRequest& req,
                                 v1::Facility& resp) {
  Violations v;
  auto id = ParseResourceName(req.name(), "facilities", "name", v);
  v.ThrowIfAny();
  WithSingleStatementRead(pool_, [&](pqxx::transaction_base& tx) {
    FacilityRepository repo(tx);
    resp = LoadFacility(repo, *id);
  });
}

void PartnerService::ListFacilities(const CallContext& call, const v1::ListFacilitiesRequest& req,
                                    v1::ListFacilitiesResponse& resp) {
  Violations v;
  auto page = ParsePage(call, req, v);
  FacilityFilter filter;
  if (auto commune = ParseResourceName(req.commune(), "organisations", "commune", v,
                                       /*required=*/false)) {
    filter.commune_id = *commune;
  }
  if (!v1::FacilityKind_IsValid(req.kind())) v.Add("kind", "unknown facility kind");
  filter.kind = req.kind();
  if (auto ao = ParseResourceName(req.supporting_ao(), "organisations", "supporting_ao", v,
                                  /*required=*/false)) {
    filter.supporting_ao_id = *ao;
  }
  v.ThrowIfAny();
  WithSingleStatementRead(pool_, [&](pqxx::transaction_base& tx) {
    auto result = FacilityRepository(tx).List(filter, page);
    for (auto& f : result.items) *resp.add_facilities() = std::move(f);
    if (result.more) resp.set_next_page_token(NextPageToken(call, req, result.last_seq));
  });
}

void PartnerService::UpdateFacility(const CallContext& call, const v1::UpdateFacilityRequest& req,
                                    v1::Facility& resp) {
  const auto& patch = req.facility();
  Violations v;
  auto id = ParseResourceName(patch.name(), "facilities", "facility.name", v);
  auto fields = EffectiveMask(patch, req.update_mask(), kUpdatableFacilityFields, v);
  v.ThrowIfAny();
  WithTransaction(pool_, [&](pqxx::work& tx) {
    FacilityRepository repo(tx);
    int64_t version = 0;
    v1::Facility merged = LoadFacility(repo, *id, &version, /*for_update=*/true);
    ObjectAccess access(tx, call.principal);
    RequireResponsible(access, call.principal, merged, "update this facility");
    CheckEtag(patch.etag(), version);
    if (fields.count("kind")) merged.set_kind(patch.kind());
    if (fields.count("display_name")) merged.set_display_name(patch.display_name());
    if (fields.count("manager")) merged.set_manager(patch.manager());
    if (fields.count("commune")) merged.set_commune(patch.commune());
    if (fields.count("capacity")) merged.set_capacity(patch.capacity());
    if (fields.count("supporting_ao")) merged.set_supporting_ao(patch.supporting_ao());
    if (fields.count("opening_date")) *merged.mutable_opening_date() = patch.opening_date();
    if (fields.count("closing_date")) *merged.mutable_closing_date() = patch.closing_date();
    Violations after;
    ValidateFacility(merged, "facility.", after);
    after.ThrowIfAny();
    // The caller must still act for the facility after the change: an agent cannot hand it
    // over to organisations it does not act for.
    RequireResponsible(access, call.principal, merged,
                       "move this facility under that responsibility");
    OrganisationRepository organisations(tx);
    CheckReferences(organisations, merged, "facility.");
    repo.Update(*id, merged);
    resp = LoadFacility(repo, *id);
  });
}

}  // namespace ctg::partners
