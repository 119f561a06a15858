// Conventions: creation, signatures, amendments, termination (art. 12-14) and the import of a
// convention document with its EPCI's member communes.
#include <map>
#include <set>

#include "common/api.h"
#include "partners/access.h"
#include "partners/convention_import.h"
#include "partners/convention_repository.h"
#include "partners/convention_rules.h"
#include "partners/organisation_repository.h"
#include "partners/organisation_rules.h"
#include "partners/service.h"

namespace ctg::partners {
namespace {

const std::set<std::string> kUpdatableConventionFields = {"title",   "start_date", "end_date",
                                                          "parties", "territory",  "secretariat"};

// A date already validated by ParseDate.
CivilDate ToCivil(const google::type::Date& d) { return CivilDate{d.year(), d.month(), d.day()}; }

// Loads a convention and computes its state on `today`.
v1::Convention LoadConvention(ConventionRepository& repo, const std::string& id,
                              const CivilDate& today, int64_t* version = nullptr,
                              bool for_update = false) {
  auto c = repo.Find(id, version, for_update);
  if (!c) throw NotFoundError(ConventionName(id) + " not found");
  c->set_state(ComputeConventionState(*c, today));
  return *c;
}

// The parties of a convention, as organisation names.
std::vector<std::string> PartyNames(const v1::Convention& c) {
  std::vector<std::string> out;
  for (const auto& p : c.parties()) out.push_back(p.organisation());
  return out;
}

// Checks that the territory, the parties and their designated signers exist, and that each
// signer represents its party. Returns the kind of each party.
std::map<std::string, int> CheckReferences(OrganisationRepository& orgs, const v1::Convention& c,
                                           const std::string& prefix) {
  std::map<std::string, int> kinds;
  Violations v;
  for (int i = 0; i < c.parties_size(); ++i) {
    const auto& p = c.parties(i);
    const std::string field = prefix + "parties[" + std::to_string(i) + "]";
    const int kind = orgs.KindOf(IdOf(p.organisation()));
    if (kind == 0) {
      throw NotFoundError(field + ".organisation: " + p.organisation() + " not found");
    }
    kinds[p.organisation()] = kind;
    for (int j = 0; j < p.signers_size(); ++j) {
      auto rep = orgs.FindRepresentative(IdOf(p.signers(j)));
      if (!rep) {
        throw NotFoundError(field + ".signers[" + std::to_string(j) + "]: " + p.signers(j) +
                            " not found");
      }
      if (rep->organisation() != p.organisation()) {
        v.Add(field + ".signers[" + std::to_string(j) + "]",
              "must be a representative of " + p.organisation());
      }
    }
  }
  v.ThrowIfAny();
  return kinds;
}

// The kind of every party of a loaded convention.
std::map<std::string, int> PartyKinds(OrganisationRepository& orgs, const v1::Convention& c) {
  std::map<std::string, int> kinds;
  for (const auto& p : c.parties()) kinds[p.organisation()] = orgs.KindOf(IdOf(p.organisation()));
  return kinds;
}

// ---- Import ----

// Merges the reference populations into `o`; true when anything changed.
bool MergePopulations(const google::protobuf::RepeatedPtrField<v1::LegalPopulation>& reference,
                      v1::Organisation& o) {
  bool changed = false;
  for (const auto& ref : reference) {
    bool found = false;
    for (auto& p : *o.mutable_populations()) {
      if (p.vintage() != ref.vintage()) continue;
      found = true;
      if (p.municipale() != ref.municipale() || p.totale() != ref.totale()) {
        p = ref;
        changed = true;
      }
    }
    if (!found) {
      *o.add_populations() = ref;
      changed = true;
    }
  }
  return changed;
}

// Finds or creates the organisations and representatives an import needs, by their identifiers,
// so that a repeated import creates nothing new.
struct Importer {
  OrganisationRepository& orgs;
  ConventionRepository& conventions;
  // The territory's département, given to the EPCI and the other parties created.
  std::string departement;

  // The EPCI, found by SIREN or by kind and name, created otherwise.
  std::string Epci(const v1::ImportConventionRequest& req) {
    std::optional<std::string> id;
    if (!req.epci_siren().empty()) id = orgs.FindIdBySiren(req.epci_siren());
    if (!id) id = conventions.FindOrganisationIdByKindAndName(v1::EPCI, req.epci_name());
    if (id) {
      if (orgs.KindOf(*id) != v1::EPCI) {
        throw AlreadyExistsError("SIREN " + req.epci_siren() + " is held by " +
                                 OrganisationName(*id) + ", which is not an EPCI");
      }
      return *id;
    }
    v1::Organisation o;
    o.set_kind(v1::EPCI);
    o.set_display_name(req.epci_name());
    o.set_siren(req.epci_siren());
    o.set_departement(departement);
    return orgs.Insert(o);
  }

  // A member commune, found by INSEE code or SIREN (then attached to the EPCI and given the
  // reference populations), created otherwise.
  std::string Commune(const v1::MemberCommune& m, const std::string& epci_id) {
    std::optional<std::string> id = orgs.FindIdByInsee(m.insee_code());
    if (!id && !m.siren().empty()) id = orgs.FindIdBySiren(m.siren());
    const std::string parent = OrganisationName(epci_id);
    if (!id) {
      v1::Organisation o;
      o.set_kind(v1::COMMUNE);
      o.set_display_name(m.display_name());
      o.set_siren(m.siren());
      o.set_insee_code(m.insee_code());
      o.set_parent_epci(parent);
      *o.mutable_populations() = m.populations();
      DeriveOrganisationFields(o);
      return orgs.Insert(o);
    }
    auto existing = orgs.Find(*id);
    if (existing->kind() != v1::COMMUNE) {
      throw AlreadyExistsError("the identifiers of " + m.display_name() + " are held by " +
                               OrganisationName(*id) + ", which is not a commune");
    }
    if (existing->insee_code() != m.insee_code()) {
      throw AlreadyExistsError("SIREN " + m.siren() + " of " + m.display_name() +
                               " is held by a commune with another INSEE code");
    }
    bool changed = MergePopulations(m.populations(), *existing);
    if (existing->parent_epci() != parent) {
      existing->set_parent_epci(parent);
      changed = true;
    }
    if (existing->siren().empty() && !m.siren().empty()) {
      existing->set_siren(m.siren());
      changed = true;
    }
    if (changed) orgs.Update(*id, *existing);
    return *id;
  }

  // A non-commune party (Caf, Département, ...), found by SIREN or by kind and official name.
  std::string Other(const v1::ImportedParty& p) {
    std::optional<std::string> id;
    if (!p.siren().empty()) id = orgs.FindIdBySiren(p.siren());
    if (!id) id = conventions.FindOrganisationIdByKindAndName(p.kind(), p.official_name());
    if (id) {
      if (orgs.KindOf(*id) != p.kind()) {
        throw AlreadyExistsError("SIREN " + p.siren() + " is held by " + OrganisationName(*id) +
                                 ", which is of another kind");
      }
      return *id;
    }
    v1::Organisation o;
    o.set_kind(p.kind());
    o.set_display_name(p.official_name());
    o.set_siren(p.siren());
    if (p.kind() != v1::EDUCATION_NATIONALE && p.kind() != v1::ASSOCIATION) {
      o.set_departement(departement);
    }
    return orgs.Insert(o);
  }

  // The party block's representatives, found by person name or created; their names.
  std::vector<std::string> Representatives(const v1::ImportedParty& p, const std::string& org_id) {
    std::vector<std::string> names;
    for (const auto& r : p.representatives()) {
      auto id = conventions.FindRepresentativeIdByName(org_id, r.person_name());
      if (!id) {
        v1::Representative rep;
        rep.set_organisation(OrganisationName(org_id));
        rep.set_person_name(r.person_name());
        rep.set_title(r.title());
        id = orgs.InsertRepresentative(rep);
      }
      names.push_back(ResourceName("representatives", *id));
    }
    return names;
  }
};

}  // namespace

void PartnerService::CreateConvention(const CallContext& call,
                                      const v1::CreateConventionRequest& req,
                                      v1::Convention& resp) {
  const auto today = CivilDate::InParis(call.now);
  Violations v;
  ValidateConvention(req.convention(), "convention.", v);
  CheckRequestId(req.request_id(), "request_id", v);
  v.ThrowIfAny();
  WithTransaction(pool_, [&](pqxx::work& tx) {
    ConventionRepository repo(tx);
    OrganisationRepository orgs(tx);
    IdempotencyKey key(tx, call, req);
    if (auto done = key.Previous()) {
      resp = LoadConvention(repo, IdOf(*done), today);
      return;
    }
    CheckReferences(orgs, req.convention(), "convention.");
    if (!ObjectAccess(tx, call.principal).IsCafAmong(PartyNames(req.convention()))) {
      throw PermissionDeniedError(
          "not allowed to create this convention: a caf_agent creates conventions its own Caf is "
          "a party to");
    }
    const auto id = repo.Insert(req.convention());
    key.Remember(ConventionName(id));
    resp = LoadConvention(repo, id, today);
  });
}

void PartnerService::GetConvention(const CallContext& call, const v1::GetConventionRequest& req,
                                   v1::Convention& resp) {
  const auto today = CivilDate::InParis(call.now);
  Violations v;
  auto id = ParseResourceName(req.name(), "conventions", "name", v);
  v.ThrowIfAny();
  WithReadTransaction(pool_, [&](pqxx::transaction_base& tx) {
    ConventionRepository repo(tx);
    resp = LoadConvention(repo, *id, today);
  });
}

void PartnerService::ListConventions(const CallContext& call, const v1::ListConventionsRequest& req,
                                     v1::ListConventionsResponse& resp) {
  Violations v;
  auto page = ParsePage(call, req, v);
  auto territory = ParseResourceName(req.territory(), "organisations", "territory", v,
                                     /*required=*/false);
  v.ThrowIfAny();
  WithReadTransaction(pool_, [&](pqxx::transaction_base& tx) {
    auto result = ConventionRepository(tx).List(territory.value_or(""), page);
    const auto today = CivilDate::InParis(call.now);
    for (auto& conv : result.items) {
      conv.set_state(ComputeConventionState(conv, today));
      *resp.add_conventions() = std::move(conv);
    }
    if (result.more) resp.set_next_page_token(NextPageToken(call, req, result.last_seq));
  });
}

void PartnerService::UpdateConvention(const CallContext& call,
                                      const v1::UpdateConventionRequest& req,
                                      v1::Convention& resp) {
  const auto today = CivilDate::InParis(call.now);
  const auto& patch = req.convention();
  Violations v;
  auto id = ParseResourceName(patch.name(), "conventions", "convention.name", v);
  auto fields = EffectiveMask(patch, req.update_mask(), kUpdatableConventionFields, v);
  v.ThrowIfAny();
  WithTransaction(pool_, [&](pqxx::work& tx) {
    ConventionRepository repo(tx);
    OrganisationRepository orgs(tx);
    int64_t version = 0;
    v1::Convention merged = LoadConvention(repo, *id, today, &version, /*for_update=*/true);
    ObjectAccess(tx, call.principal).RequireAdministers(*id, "change this convention");
    CheckEtag(patch.etag(), version);
    if (merged.state() != v1::DRAFT) {
      throw FailedPreconditionError(
          "only a DRAFT convention changes; a signed one changes through AddAmendment "
          "(art. 13); this one is " +
          v1::ConventionState_Name(merged.state()));
    }
    if (fields.count("title")) merged.set_title(patch.title());
    if (fields.count("territory")) merged.set_territory(patch.territory());
    if (fields.count("start_date")) *merged.mutable_start_date() = patch.start_date();
    if (fields.count("end_date")) *merged.mutable_end_date() = patch.end_date();
    if (fields.count("parties")) *merged.mutable_parties() = patch.parties();
    if (fields.count("secretariat")) merged.set_secretariat(patch.secretariat());
    Violations after;
    ValidateConvention(merged, "convention.", after);
    after.ThrowIfAny();
    CheckReferences(orgs, merged, "convention.");
    // A party that already signed cannot be removed from the convention.
    std::set<std::string> parties;
    for (const auto& p : merged.parties()) parties.insert(p.organisation());
    for (const auto& s : merged.signatures()) {
      if (!parties.count(s.organisation())) {
        throw FailedPreconditionError(s.organisation() +
                                      " has already signed and cannot be removed from the "
                                      "parties");
      }
    }
    repo.Update(*id, merged);
    resp = LoadConvention(repo, *id, today);
  });
}

void PartnerService::SignConvention(const CallContext& call, const v1::SignConventionRequest& req,
                                    v1::Convention& resp) {
  Violations v;
  auto id = ParseResourceName(req.name(), "conventions", "name", v);
  auto rep_id = ParseResourceName(req.representative(), "representatives", "representative", v);
  const auto today = CivilDate::InParis(call.now);
  auto signed_on = ParseDate(req.signed_on(), "signed_on", v, true);
  if (signed_on && today < *signed_on) v.Add("signed_on", "must not be in the future");
  v.ThrowIfAny();
  WithTransaction(pool_, [&](pqxx::work& tx) {
    ConventionRepository repo(tx);
    OrganisationRepository orgs(tx);
    int64_t version = 0;
    const v1::Convention conv = LoadConvention(repo, *id, today, &version, /*for_update=*/true);
    auto rep = orgs.FindRepresentative(*rep_id);
    if (!rep) throw NotFoundError("representative: " + req.representative() + " not found");
    ObjectAccess access(tx, call.principal);
    if (!access.IsAgentOf(rep->organisation()) && !access.Administers(*id)) {
      throw PermissionDeniedError(
          "not allowed to sign for this organisation: only its own agents, or an administrator "
          "of the convention, record its signature");
    }
    CheckEtag(req.etag(), version);
    CheckCanSign(conv, rep->organisation(), req.representative(), today);
    repo.AddSignature(*id, IdOf(rep->organisation()), *rep_id, *signed_on);
    resp = LoadConvention(repo, *id, today);
  });
}

void PartnerService::AddAmendment(const CallContext& call, const v1::AddAmendmentRequest& req,
                                  v1::Convention& resp) {
  Violations v;
  auto id = ParseResourceName(req.name(), "conventions", "name", v);
  const auto today = CivilDate::InParis(call.now);
  ValidateAmendment(req.signed_on(), req.changes(), today, v);
  v.ThrowIfAny();
  WithTransaction(pool_, [&](pqxx::work& tx) {
    ConventionRepository repo(tx);
    int64_t version = 0;
    const v1::Convention conv = LoadConvention(repo, *id, today, &version, /*for_update=*/true);
    ObjectAccess(tx, call.principal).RequireAdministers(*id, "record amendments");
    CheckEtag(req.etag(), version);
    CheckCanAmend(conv, today);
    const std::vector<std::string> changes(req.changes().begin(), req.changes().end());
    repo.AddAmendment(*id, ToCivil(req.signed_on()), changes);
    resp = LoadConvention(repo, *id, today);
  });
}

void PartnerService::TerminateConvention(const CallContext& call,
                                         const v1::TerminateConventionRequest& req,
                                         v1::Convention& resp) {
  Violations v;
  auto id = ParseResourceName(req.name(), "conventions", "name", v);
  if (!req.has_termination()) v.Add("termination", "required");
  v.ThrowIfAny();
  const auto& t = req.termination();
  const auto today = CivilDate::InParis(call.now);
  WithTransaction(pool_, [&](pqxx::work& tx) {
    ConventionRepository repo(tx);
    OrganisationRepository orgs(tx);
    int64_t version = 0;
    const v1::Convention conv = LoadConvention(repo, *id, today, &version, /*for_update=*/true);
    ObjectAccess access(tx, call.principal);
    if (!access.IsAgentOf(t.initiated_by()) && !access.Administers(*id)) {
      throw PermissionDeniedError(
          "not allowed to terminate this convention for this organisation: only the initiating "
          "party's agents, or an administrator of the convention");
    }
    Violations fields;
    ValidateTermination(conv, t, PartyKinds(orgs, conv), "termination.", fields);
    fields.ThrowIfAny();
    CheckEtag(req.etag(), version);
    CheckCanTerminate(conv, today);
    v1::Termination recorded = t;
    if (t.ground() == v1::MODIFICATION_WITHOUT_AMENDMENT) recorded.clear_notice_date();
    repo.RecordTermination(*id, recorded);
    resp = LoadConvention(repo, *id, today);
  });
}

void PartnerService::ImportConvention(const CallContext& call,
                                      const v1::ImportConventionRequest& req,
                                      v1::ImportConventionResponse& resp) {
  const auto today = CivilDate::InParis(call.now);
  Violations v;
  ValidateImportRequest(req, v);
  v.ThrowIfAny();
  const ImportPlan plan = PlanImport(req);
  WithTransaction(pool_, [&](pqxx::work& tx) {
    ConventionRepository repo(tx);
    OrganisationRepository orgs(tx);
    // Imports run one at a time: organisations without SIREN are found by kind and name,
    // which no unique index protects.
    repo.LockImports();
    Importer importer{orgs, repo, req.departement()};
    IdempotencyKey key(tx, call, req);
    const auto done = key.Previous();

    const std::string epci_id = importer.Epci(req);
    // Every member commune is loaded, listed in the text or not.
    std::vector<std::string> member_ids;
    for (const auto& m : req.member_communes()) {
      member_ids.push_back(importer.Commune(m, epci_id));
    }

    // Parties in the order of the text; the EPCI first when it has no block of its own.
    v1::Convention conv;
    conv.set_title(req.title());
    conv.set_territory(OrganisationName(epci_id));
    *conv.mutable_start_date() = req.start_date();
    *conv.mutable_end_date() = req.end_date();
    std::vector<std::string> party_ids(req.parties_size());
    bool has_epci_block = false;
    for (const auto& p : req.parties()) has_epci_block |= p.kind() == v1::EPCI;
    if (!has_epci_block) conv.add_parties()->set_organisation(OrganisationName(epci_id));
    for (int i = 0; i < req.parties_size(); ++i) {
      const auto& p = req.parties(i);
      std::string org_id;
      if (p.kind() == v1::EPCI) {
        org_id = epci_id;
      } else if (p.kind() == v1::COMMUNE) {
        if (plan.party_member[i] < 0) continue;  // unknown commune: reported, not a party
        org_id = member_ids[plan.party_member[i]];
      } else {
        org_id = importer.Other(p);
      }
      party_ids[i] = org_id;
      auto signers = importer.Representatives(p, org_id);
      auto* party = conv.add_parties();
      party->set_organisation(OrganisationName(org_id));
      // Several representatives written for one party (the Caf's présidente and directrice)
      // must all sign; a single one leaves any representative free to sign.
      if (signers.size() > 1) {
        for (const auto& s : signers) party->add_signers(s);
      }
    }
    Violations built;
    ValidateConvention(conv, "convention.", built);
    built.ThrowIfAny();
    if (!call.principal.Has(Role::kRegistryAdmin) &&
        !ObjectAccess(tx, call.principal).IsCafAmong(PartyNames(conv))) {
      // Rolls back every organisation the import created.
      throw PermissionDeniedError(
          "not allowed to import this convention: a caf_agent imports conventions its own Caf "
          "(already in the registry) is a party to");
    }

    std::optional<std::string> conv_id;
    if (done) conv_id = IdOf(*done);
    if (!conv_id) {
      conv_id = repo.FindIdByKey(epci_id, req.title(), ToCivil(req.start_date()),
                                 ToCivil(req.end_date()));
    }
    if (!conv_id) conv_id = repo.Insert(conv);
    if (!done) key.Remember(ConventionName(*conv_id));

    *resp.mutable_convention() = LoadConvention(repo, *conv_id, today);
    for (const auto& w : plan.warnings) {
      auto* out = resp.add_warnings();
      out->set_code(w.code);
      out->set_message(w.message);
      if (w.member >= 0) {
        out->set_organisation(OrganisationName(member_ids[w.member]));
      } else if (w.party >= 0 && !party_ids[w.party].empty()) {
        out->set_organisation(OrganisationName(party_ids[w.party]));
      }
    }
    resp.set_communes_loaded(plan.communes_loaded);
    resp.set_communes_listed_as_parties(plan.communes_listed_as_parties);
    resp.set_commune_signature_blocks(plan.commune_signature_blocks);
  });
}

}  // namespace ctg::partners
