#include "partners/organisation_repository.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "partners/statements.h"

namespace ctg::partners {
namespace {

constexpr char kOrganisationColumns[] =
    "o.id::text, o.seq, o.kind, o.display_name, coalesce(o.siren, ''), "
    "coalesce(o.insee_code, ''), coalesce(o.parent_epci::text, ''), "
    "o.ao_competence_transferred, o.version, extract(epoch FROM o.create_time)::float8, "
    "extract(epoch FROM o.update_time)::float8, "
    "coalesce((SELECT string_agg(p.vintage || ':' || p.municipale || ':' || p.totale, ',' "
    "          ORDER BY p.vintage) FROM legal_populations p WHERE p.organisation_id = o.id), ''), "
    "coalesce(o.departement, '')";

const std::string kSelectOrganisation =
    std::string("SELECT ") + kOrganisationColumns + " FROM organisations o";

constexpr char kRepresentativeColumns[] =
    "r.id::text, r.seq, r.organisation_id::text, r.person_name, r.title, "
    "coalesce(r.mandate_start::text, ''), coalesce(r.mandate_end::text, ''), r.version";

const std::string kSelectRepresentative =
    std::string("SELECT ") + kRepresentativeColumns + " FROM representatives r";

const std::vector<PreparedStatement>& Statements() {
  static const std::string find_org = kSelectOrganisation + " WHERE o.id = $1::uuid";
  static const std::string find_org_for_update = find_org + " FOR UPDATE OF o";
  static const std::string list_org = kSelectOrganisation +
                                      " WHERE o.seq > $1 AND ($2 = 0 OR o.kind = $2)"
                                      " AND ($3 = '' OR o.parent_epci = nullif($3, '')::uuid)"
                                      " AND ($4 = '' OR o.insee_code = $4) ORDER BY o.seq LIMIT $5";
  static const std::string find_rep = kSelectRepresentative + " WHERE r.id = $1::uuid";
  static const std::string list_rep =
      kSelectRepresentative +
      " WHERE r.seq > $1 AND ($2 = '' OR r.organisation_id = nullif($2, '')::uuid)"
      " ORDER BY r.seq LIMIT $3";
  static const std::vector<PreparedStatement> statements = {
      {"org_find", find_org.c_str()},
      {"org_find_for_update", find_org_for_update.c_str()},
      {"org_list", list_org.c_str()},
      {"org_kind", "SELECT kind FROM organisations WHERE id = $1::uuid"},
      {"rep_lock", "SELECT 1 FROM representatives WHERE id = $1::uuid FOR UPDATE"},
      {"org_insert",
       "INSERT INTO organisations (kind, display_name, siren, insee_code, parent_epci, "
       "ao_competence_transferred, departement) VALUES ($1, $2, nullif($3, ''), nullif($4, ''), "
       "nullif($5, '')::uuid, $6, nullif($7, '')) RETURNING id::text"},
      {"org_update",
       "UPDATE organisations SET display_name = $2, siren = nullif($3, ''), "
       "insee_code = nullif($4, ''), parent_epci = nullif($5, '')::uuid, "
       "ao_competence_transferred = $6, departement = nullif($7, ''), version = version + 1, "
       "update_time = now() WHERE id = $1::uuid AND ($8 = 0 OR version = $8) "
       "RETURNING version, extract(epoch FROM update_time)::float8"},
      {"org_by_insee", "SELECT id::text FROM organisations WHERE insee_code = $1"},
      {"org_by_siren", "SELECT id::text FROM organisations WHERE siren = $1"},
      {"pop_delete", "DELETE FROM legal_populations WHERE organisation_id = $1::uuid"},
      {"pop_insert",
       "INSERT INTO legal_populations (organisation_id, vintage, municipale, totale) "
       "VALUES ($1::uuid, $2, $3, $4)"},
      {"rep_find", find_rep.c_str()},
      {"rep_list", list_rep.c_str()},
      {"rep_insert",
       "INSERT INTO representatives (organisation_id, person_name, title, mandate_start, "
       "mandate_end) VALUES ($1::uuid, $2, $3, $4::date, $5::date) RETURNING id::text"},
      {"rep_update",
       "UPDATE representatives SET person_name = $2, title = $3, mandate_start = $4::date, "
       "mandate_end = $5::date, version = version + 1 WHERE id = $1::uuid"},
  };
  return statements;
}

v1::Organisation OrganisationFromRow(const pqxx::row& row, int64_t* version) {
  v1::Organisation o;
  o.set_name(OrganisationName(row[0].as<std::string>()));
  o.set_kind(static_cast<v1::OrganisationKind>(row[2].as<int>()));
  o.set_display_name(row[3].as<std::string>());
  o.set_siren(row[4].as<std::string>());
  o.set_insee_code(row[5].as<std::string>());
  const auto parent = row[6].as<std::string>();
  if (!parent.empty()) o.set_parent_epci(OrganisationName(parent));
  o.set_ao_competence_transferred(row[7].as<bool>());
  const auto v = row[8].as<int64_t>();
  o.set_etag(FormatEtag(v));
  if (version != nullptr) *version = v;
  *o.mutable_create_time() = TimestampFromEpoch(row[9]);
  *o.mutable_update_time() = TimestampFromEpoch(row[10]);
  std::stringstream pops(row[11].as<std::string>());
  std::string item;
  while (std::getline(pops, item, ',')) {
    auto* p = o.add_populations();
    long long vintage = 0, municipale = 0, totale = 0;
    std::sscanf(item.c_str(), "%lld:%lld:%lld", &vintage, &municipale, &totale);
    p->set_vintage(static_cast<int32_t>(vintage));
    p->set_municipale(municipale);
    p->set_totale(totale);
  }
  o.set_departement(row[12].as<std::string>());
  return o;
}

v1::Representative RepresentativeFromRow(const pqxx::row& row, int64_t* version) {
  v1::Representative r;
  r.set_name(ResourceName("representatives", row[0].as<std::string>()));
  r.set_organisation(OrganisationName(row[2].as<std::string>()));
  r.set_person_name(row[3].as<std::string>());
  r.set_title(row[4].as<std::string>());
  if (auto d = DateFromField(row[5])) *r.mutable_mandate_start() = *d;
  if (auto d = DateFromField(row[6])) *r.mutable_mandate_end() = *d;
  const auto v = row[7].as<int64_t>();
  r.set_etag(FormatEtag(v));
  if (version != nullptr) *version = v;
  return r;
}

}  // namespace

const std::vector<PreparedStatement>& OrganisationStatements() { return Statements(); }

std::string OrganisationName(const std::string& id) { return ResourceName("organisations", id); }

std::optional<v1::Organisation> OrganisationRepository::Find(const std::string& id,
                                                             int64_t* version, bool for_update) {
  auto r = tx_.exec_prepared(for_update ? "org_find_for_update" : "org_find", id);
  if (r.empty()) return std::nullopt;
  return OrganisationFromRow(r[0], version);
}

void OrganisationRepository::LockRepresentative(const std::string& id) {
  tx_.exec_prepared("rep_lock", id);
}

int OrganisationRepository::KindOf(const std::string& id) {
  auto r = tx_.exec_prepared("org_kind", id);
  return r.empty() ? 0 : r[0][0].as<int>();
}

std::string OrganisationRepository::Insert(const v1::Organisation& o) {
  const auto id = tx_.exec_prepared1("org_insert", static_cast<int>(o.kind()), o.display_name(),
                                     o.siren(), o.insee_code(), IdOf(o.parent_epci()),
                                     o.ao_competence_transferred(), o.departement())[0]
                      .as<std::string>();
  ReplacePopulations(id, o);
  return id;
}

bool OrganisationRepository::Update(const std::string& id, v1::Organisation& o,
                                    bool populations_changed, int64_t expected_version) {
  const auto rows = tx_.exec_prepared("org_update", id, o.display_name(), o.siren(), o.insee_code(),
                                      IdOf(o.parent_epci()), o.ao_competence_transferred(),
                                      o.departement(), expected_version);
  if (rows.empty()) return false;
  const auto row = rows[0];
  if (populations_changed) {
    ReplacePopulations(id, o);
    // In the order a read returns them.
    std::sort(o.mutable_populations()->begin(), o.mutable_populations()->end(),
              [](const auto& a, const auto& b) { return a.vintage() < b.vintage(); });
  }
  o.set_etag(FormatEtag(row[0].as<int64_t>()));
  *o.mutable_update_time() = TimestampFromEpoch(row[1]);
  return true;
}

void OrganisationRepository::ReplacePopulations(const std::string& id, const v1::Organisation& o) {
  tx_.exec_prepared0("pop_delete", id);
  for (const auto& p : o.populations()) {
    tx_.exec_prepared0("pop_insert", id, p.vintage(), p.municipale(), p.totale());
  }
}

Page<v1::Organisation> OrganisationRepository::List(const OrganisationFilter& filter,
                                                    const PageRequest& page) {
  auto rows = tx_.exec_prepared("org_list", page.after, filter.kind, filter.parent_epci_id,
                                filter.insee_code, page.size + 1);
  Page<v1::Organisation> out;
  for (const auto& row : rows) {
    if (static_cast<int>(out.items.size()) == page.size) {
      out.more = true;
      break;
    }
    out.items.push_back(OrganisationFromRow(row, nullptr));
    out.last_seq = row[1].as<int64_t>();
  }
  return out;
}

std::optional<std::string> OrganisationRepository::FindIdByInsee(const std::string& insee_code) {
  auto r = tx_.exec_prepared("org_by_insee", insee_code);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

std::optional<std::string> OrganisationRepository::FindIdBySiren(const std::string& siren) {
  auto r = tx_.exec_prepared("org_by_siren", siren);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

std::optional<v1::Representative> OrganisationRepository::FindRepresentative(const std::string& id,
                                                                             int64_t* version) {
  auto r = tx_.exec_prepared("rep_find", id);
  if (r.empty()) return std::nullopt;
  return RepresentativeFromRow(r[0], version);
}

std::string OrganisationRepository::InsertRepresentative(const v1::Representative& r) {
  return tx_
      .exec_prepared1("rep_insert", IdOf(r.organisation()), r.person_name(), r.title(),
                      DateParam(r.mandate_start()), DateParam(r.mandate_end()))[0]
      .as<std::string>();
}

void OrganisationRepository::UpdateRepresentative(const std::string& id,
                                                  const v1::Representative& r) {
  tx_.exec_prepared0("rep_update", id, r.person_name(), r.title(), DateParam(r.mandate_start()),
                     DateParam(r.mandate_end()));
}

Page<v1::Representative> OrganisationRepository::ListRepresentatives(
    const std::string& organisation_id, const PageRequest& page) {
  auto rows = tx_.exec_prepared("rep_list", page.after, organisation_id, page.size + 1);
  Page<v1::Representative> out;
  for (const auto& row : rows) {
    if (static_cast<int>(out.items.size()) == page.size) {
      out.more = true;
      break;
    }
    out.items.push_back(RepresentativeFromRow(row, nullptr));
    out.last_seq = row[1].as<int64_t>();
  }
  return out;
}

}  // namespace ctg::partners
