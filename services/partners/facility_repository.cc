#include "partners/facility_repository.h"

#include "partners/statements.h"

namespace ctg::partners {

namespace v1 = ::ctg::partners::v1;

namespace {

constexpr char kSelectFacility[] =
    "SELECT f.id::text, f.seq, f.kind, f.display_name, f.manager_id::text, f.commune_id::text, "
    "f.capacity, coalesce(f.supporting_ao_id::text, ''), coalesce(f.opening_date::text, ''), "
    "coalesce(f.closing_date::text, ''), f.version FROM facilities f";

const std::vector<PreparedStatement>& Statements() {
  static const std::string find = std::string(kSelectFacility) + " WHERE f.id = $1::uuid";
  static const std::string list =
      std::string(kSelectFacility) +
      " WHERE f.seq > $1 AND ($2 = '' OR f.commune_id = nullif($2, '')::uuid)"
      " AND ($3 = 0 OR f.kind = $3)"
      " AND ($4 = '' OR f.supporting_ao_id = nullif($4, '')::uuid) ORDER BY f.seq LIMIT $5";
  static const std::string find_for_update = find + " FOR UPDATE";
  static const std::vector<PreparedStatement> statements = {
      {"fac_find", find.c_str()},
      {"fac_find_for_update", find_for_update.c_str()},
      {"fac_list", list.c_str()},
      {"fac_insert",
       "INSERT INTO facilities (kind, display_name, manager_id, commune_id, capacity, "
       "supporting_ao_id, opening_date, closing_date) VALUES ($1, $2, $3::uuid, $4::uuid, $5, "
       "nullif($6, '')::uuid, $7::date, $8::date) RETURNING id::text"},
      {"fac_update",
       "UPDATE facilities SET kind = $2, display_name = $3, manager_id = $4::uuid, "
       "commune_id = $5::uuid, capacity = $6, supporting_ao_id = nullif($7, '')::uuid, "
       "opening_date = $8::date, closing_date = $9::date, version = version + 1 "
       "WHERE id = $1::uuid"},
  };
  return statements;
}

v1::Facility FacilityFromRow(const pqxx::row& row, int64_t* version) {
  v1::Facility f;
  f.set_name(FacilityName(row[0].as<std::string>()));
  f.set_kind(static_cast<v1::FacilityKind>(row[2].as<int>()));
  f.set_display_name(row[3].as<std::string>());
  f.set_manager(OrganisationName(row[4].as<std::string>()));
  f.set_commune(OrganisationName(row[5].as<std::string>()));
  f.set_capacity(row[6].as<int>());
  const auto ao = row[7].as<std::string>();
  if (!ao.empty()) f.set_supporting_ao(OrganisationName(ao));
  // Only present dates are set, so that an absent date stays absent on the wire.
  if (auto d = DateFromField(row[8])) *f.mutable_opening_date() = *d;
  if (auto d = DateFromField(row[9])) *f.mutable_closing_date() = *d;
  const auto v = row[10].as<int64_t>();
  f.set_etag(FormatEtag(v));
  if (version != nullptr) *version = v;
  return f;
}

}  // namespace

const std::vector<PreparedStatement>& FacilityStatements() { return Statements(); }

std::string FacilityName(const std::string& id) { return ResourceName("facilities", id); }

std::optional<v1::Facility> FacilityRepository::Find(const std::string& id, int64_t* version,
                                                     bool for_update) {
  auto r = tx_.exec_prepared(for_update ? "fac_find_for_update" : "fac_find", id);
  if (r.empty()) return std::nullopt;
  return FacilityFromRow(r[0], version);
}

std::string FacilityRepository::Insert(const v1::Facility& f) {
  return tx_
      .exec_prepared1("fac_insert", static_cast<int>(f.kind()), f.display_name(), IdOf(f.manager()),
                      IdOf(f.commune()), f.capacity(), IdOf(f.supporting_ao()),
                      DateParam(f.opening_date()), DateParam(f.closing_date()))[0]
      .as<std::string>();
}

void FacilityRepository::Update(const std::string& id, const v1::Facility& f) {
  tx_.exec_prepared0("fac_update", id, static_cast<int>(f.kind()), f.display_name(),
                     IdOf(f.manager()), IdOf(f.commune()), f.capacity(), IdOf(f.supporting_ao()),
                     DateParam(f.opening_date()), DateParam(f.closing_date()));
}

Page<v1::Facility> FacilityRepository::List(const FacilityFilter& filter, const PageRequest& page) {
  auto rows = tx_.exec_prepared("fac_list", page.after, filter.commune_id, filter.kind,
                                filter.supporting_ao_id, page.size + 1);
  Page<v1::Facility> out;
  for (const auto& row : rows) {
    if (static_cast<int>(out.items.size()) == page.size) {
      out.more = true;
      break;
    }
    out.items.push_back(FacilityFromRow(row, nullptr));
    out.last_seq = row[1].as<int64_t>();
  }
  return out;
}

}  // namespace ctg::partners
