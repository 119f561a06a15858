#include "partners/convention_repository.h"

#include <cstdio>

#include "partners/statements.h"

namespace ctg::partners {
namespace {

constexpr char kConventionColumns[] =
    "c.id::text, c.seq, c.title, c.territory_id::text, c.start_date::text, c.end_date::text, "
    "coalesce(c.termination_ground, 0), coalesce(c.termination_initiated_by::text, ''), "
    "coalesce(c.termination_notice_date::text, ''), "
    "coalesce(c.termination_effective_date::text, ''), coalesce(c.termination_reason, ''), "
    "c.version, c.secretariat_id::text, "
    // The convention's département: its Caf's (a Caf is departmental), else its territory's.
    "coalesce((SELECT o.departement FROM convention_parties p JOIN organisations o "
    "          ON o.id = p.organisation_id WHERE p.convention_id = c.id AND o.kind = 3 "
    "          AND o.departement IS NOT NULL ORDER BY p.position LIMIT 1), "
    "         (SELECT t.departement FROM organisations t WHERE t.id = c.territory_id), '')";

const std::string kSelectConvention =
    std::string("SELECT ") + kConventionColumns + " FROM conventions c";

const std::vector<PreparedStatement>& Statements() {
  static const std::string find = kSelectConvention + " WHERE c.id = $1::uuid";
  static const std::string find_for_update = find + " FOR UPDATE";
  static const std::string list =
      kSelectConvention +
      " WHERE c.seq > $1 AND ($2 = '' OR c.territory_id = nullif($2, '')::uuid)"
      " ORDER BY c.seq LIMIT $3";
  static const std::vector<PreparedStatement> statements = {
      {"conv_find", find.c_str()},
      {"conv_find_for_update", find_for_update.c_str()},
      {"conv_list", list.c_str()},
      {"conv_parties",
       "SELECT p.organisation_id::text, o.kind FROM convention_parties p "
       "JOIN organisations o ON o.id = p.organisation_id WHERE p.convention_id = $1::uuid "
       "ORDER BY p.position"},
      {"conv_signers",
       "SELECT s.organisation_id::text, s.representative_id::text "
       "FROM convention_party_signers s JOIN representatives r ON r.id = s.representative_id "
       "WHERE s.convention_id = $1::uuid ORDER BY r.seq"},
      {"conv_signatures",
       "SELECT organisation_id::text, representative_id::text, signed_on::text "
       "FROM signatures WHERE convention_id = $1::uuid "
       "ORDER BY recorded_at, signed_on, representative_id"},
      {"conv_amendments",
       "SELECT a.number, a.signed_on::text, ch.change "
       "FROM amendments a, unnest(a.changes) WITH ORDINALITY AS ch(change, ord) "
       "WHERE a.convention_id = $1::uuid ORDER BY a.number, ch.ord"},
      {"conv_insert",
       "INSERT INTO conventions (title, territory_id, start_date, end_date, secretariat_id) "
       "VALUES ($1, $2::uuid, $3::date, $4::date, $5::uuid) RETURNING id::text"},
      {"conv_update",
       "UPDATE conventions SET title = $2, territory_id = $3::uuid, start_date = $4::date, "
       "end_date = $5::date, secretariat_id = $6::uuid, version = version + 1, "
       "update_time = now() WHERE id = $1::uuid"},
      {"conv_touch",
       "UPDATE conventions SET version = version + 1, update_time = now() WHERE id = $1::uuid"},
      {"conv_parties_delete", "DELETE FROM convention_parties WHERE convention_id = $1::uuid"},
      {"conv_party_insert",
       "INSERT INTO convention_parties (convention_id, organisation_id, position) "
       "VALUES ($1::uuid, $2::uuid, $3)"},
      {"conv_signer_insert",
       "INSERT INTO convention_party_signers (convention_id, organisation_id, representative_id) "
       "VALUES ($1::uuid, $2::uuid, $3::uuid)"},
      {"conv_signature_insert",
       "INSERT INTO signatures (convention_id, organisation_id, representative_id, signed_on) "
       "VALUES ($1::uuid, $2::uuid, $3::uuid, $4::date)"},
      // The changes travel as a JSON array of strings (libpqxx 6 has no array parameters).
      {"conv_amendment_insert",
       "INSERT INTO amendments (convention_id, number, signed_on, changes) "
       "SELECT $1::uuid, coalesce(max(number), 0) + 1, $2::date, "
       "ARRAY(SELECT json_array_elements_text($3::json)) "
       "FROM amendments WHERE convention_id = $1::uuid RETURNING number"},
      {"conv_terminate",
       "UPDATE conventions SET termination_ground = $2, termination_initiated_by = $3::uuid, "
       "termination_notice_date = $4::date, termination_effective_date = $5::date, "
       "termination_reason = nullif($6, ''), version = version + 1, update_time = now() "
       "WHERE id = $1::uuid"},
      {"conv_import_lock", "SELECT pg_advisory_xact_lock(hashtext('ctg.partners.import'))"},
      {"conv_by_key",
       "SELECT id::text FROM conventions WHERE territory_id = $1::uuid AND title = $2 "
       "AND start_date = $3::date AND end_date = $4::date ORDER BY seq LIMIT 1"},
      {"conv_org_by_kind_name",
       "SELECT id::text FROM organisations WHERE kind = $1 AND display_name = $2 "
       "ORDER BY seq LIMIT 1"},
      {"conv_rep_by_name",
       "SELECT id::text FROM representatives WHERE organisation_id = $1::uuid "
       "AND person_name = $2 ORDER BY seq LIMIT 1"},
  };
  return statements;
}

// A JSON array of JSON strings.
std::string JsonStringArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (const char ch : items[i]) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += ch;
      } else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += ch;
      }
    }
    out += '"';
  }
  return out + "]";
}

std::optional<std::string> OptionalId(const std::string& name) {
  const auto id = IdOf(name);
  if (id.empty()) return std::nullopt;
  return id;
}

}  // namespace

const std::vector<PreparedStatement>& ConventionStatements() { return Statements(); }

std::string ConventionName(const std::string& id) { return ResourceName("conventions", id); }

const std::string& SecretariatOf(const v1::Convention& c) {
  return c.secretariat().empty() ? c.territory() : c.secretariat();
}

v1::Convention ConventionRepository::Complete(const pqxx::row& row, int64_t* version) {
  v1::Convention c;
  const auto id = row[0].as<std::string>();
  c.set_name(ConventionName(id));
  c.set_title(row[2].as<std::string>());
  c.set_territory(OrganisationName(row[3].as<std::string>()));
  if (auto d = DateFromField(row[4])) *c.mutable_start_date() = *d;
  if (auto d = DateFromField(row[5])) *c.mutable_end_date() = *d;
  const int ground = row[6].as<int>();
  if (ground != 0) {
    auto* t = c.mutable_termination();
    t->set_ground(static_cast<v1::TerminationGround>(ground));
    const auto by = row[7].as<std::string>();
    if (!by.empty()) t->set_initiated_by(OrganisationName(by));
    if (auto d = DateFromField(row[8])) *t->mutable_notice_date() = *d;
    if (auto d = DateFromField(row[9])) *t->mutable_effective_date() = *d;
    t->set_reason(row[10].as<std::string>());
  }
  const auto v = row[11].as<int64_t>();
  c.set_etag(FormatEtag(v));
  if (version != nullptr) *version = v;
  c.set_secretariat(OrganisationName(row[12].as<std::string>()));
  c.set_departement(row[13].as<std::string>());

  for (const auto& p : tx_.exec_prepared("conv_parties", id)) {
    auto* party = c.add_parties();
    party->set_organisation(OrganisationName(p[0].as<std::string>()));
    party->set_kind(static_cast<v1::OrganisationKind>(p[1].as<int>()));
  }
  for (const auto& s : tx_.exec_prepared("conv_signers", id)) {
    const auto org = OrganisationName(s[0].as<std::string>());
    for (auto& p : *c.mutable_parties()) {
      if (p.organisation() == org) {
        p.add_signers(ResourceName("representatives", s[1].as<std::string>()));
      }
    }
  }
  for (const auto& s : tx_.exec_prepared("conv_signatures", id)) {
    auto* sig = c.add_signatures();
    sig->set_organisation(OrganisationName(s[0].as<std::string>()));
    sig->set_representative(ResourceName("representatives", s[1].as<std::string>()));
    if (auto d = DateFromField(s[2])) *sig->mutable_signed_on() = *d;
  }
  v1::Amendment* current = nullptr;
  for (const auto& a : tx_.exec_prepared("conv_amendments", id)) {
    const int number = a[0].as<int>();
    if (current == nullptr || current->number() != number) {
      current = c.add_amendments();
      current->set_number(number);
      if (auto d = DateFromField(a[1])) *current->mutable_signed_on() = *d;
    }
    current->add_changes(a[2].as<std::string>());
  }
  return c;
}

std::optional<v1::Convention> ConventionRepository::Find(const std::string& id, int64_t* version,
                                                         bool for_update) {
  auto r = tx_.exec_prepared(for_update ? "conv_find_for_update" : "conv_find", id);
  if (r.empty()) return std::nullopt;
  return Complete(r[0], version);
}

Page<v1::Convention> ConventionRepository::List(const std::string& territory_id,
                                                const PageRequest& page) {
  auto rows = tx_.exec_prepared("conv_list", page.after, territory_id, page.size + 1);
  Page<v1::Convention> out;
  for (const auto& row : rows) {
    if (static_cast<int>(out.items.size()) == page.size) {
      out.more = true;
      break;
    }
    out.items.push_back(Complete(row, nullptr));
    out.last_seq = row[1].as<int64_t>();
  }
  return out;
}

std::string ConventionRepository::Insert(const v1::Convention& c) {
  const auto id =
      tx_.exec_prepared1("conv_insert", c.title(), IdOf(c.territory()), DateParam(c.start_date()),
                         DateParam(c.end_date()), IdOf(SecretariatOf(c)))[0]
          .as<std::string>();
  InsertParties(id, c);
  return id;
}

void ConventionRepository::Update(const std::string& id, const v1::Convention& c) {
  tx_.exec_prepared0("conv_update", id, c.title(), IdOf(c.territory()), DateParam(c.start_date()),
                     DateParam(c.end_date()), IdOf(SecretariatOf(c)));
  tx_.exec_prepared0("conv_parties_delete", id);
  InsertParties(id, c);
}

void ConventionRepository::InsertParties(const std::string& id, const v1::Convention& c) {
  for (int i = 0; i < c.parties_size(); ++i) {
    const auto& p = c.parties(i);
    const auto org = IdOf(p.organisation());
    tx_.exec_prepared0("conv_party_insert", id, org, i + 1);
    for (const auto& signer : p.signers()) {
      tx_.exec_prepared0("conv_signer_insert", id, org, IdOf(signer));
    }
  }
}

void ConventionRepository::AddSignature(const std::string& id, const std::string& organisation_id,
                                        const std::string& representative_id,
                                        const CivilDate& signed_on) {
  tx_.exec_prepared0("conv_signature_insert", id, organisation_id, representative_id,
                     signed_on.ToString());
  tx_.exec_prepared0("conv_touch", id);
}

int ConventionRepository::AddAmendment(const std::string& id, const CivilDate& signed_on,
                                       const std::vector<std::string>& changes) {
  const int number = tx_.exec_prepared1("conv_amendment_insert", id, signed_on.ToString(),
                                        JsonStringArray(changes))[0]
                         .as<int>();
  tx_.exec_prepared0("conv_touch", id);
  return number;
}

void ConventionRepository::RecordTermination(const std::string& id, const v1::Termination& t) {
  tx_.exec_prepared0("conv_terminate", id, static_cast<int>(t.ground()),
                     OptionalId(t.initiated_by()), DateParam(t.notice_date()),
                     DateParam(t.effective_date()), t.reason());
}

void ConventionRepository::LockImports() { tx_.exec_prepared("conv_import_lock"); }

std::optional<std::string> ConventionRepository::FindIdByKey(const std::string& territory_id,
                                                             const std::string& title,
                                                             const CivilDate& start,
                                                             const CivilDate& end) {
  auto r = tx_.exec_prepared("conv_by_key", territory_id, title, start.ToString(), end.ToString());
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

std::optional<std::string> ConventionRepository::FindOrganisationIdByKindAndName(
    int kind, const std::string& display_name) {
  auto r = tx_.exec_prepared("conv_org_by_kind_name", kind, display_name);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

std::optional<std::string> ConventionRepository::FindRepresentativeIdByName(
    const std::string& organisation_id, const std::string& person_name) {
  auto r = tx_.exec_prepared("conv_rep_by_name", organisation_id, person_name);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

}  // namespace ctg::partners
