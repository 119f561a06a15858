#include "common/migrations.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include "common/auth.h"

namespace ctg {
namespace {

// Arbitrary constant shared by every service: one lock for all schema changes.
constexpr long long kMigrationLockKey = 0x4354474d49475231LL;  // "CTGMIGR1"

bool IsPlainName(const std::string& name) {
  return !name.empty() && name.size() < 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

void CheckSchemaName(const std::string& schema) {
  if (!IsPlainName(schema)) throw std::invalid_argument("invalid schema name for migrations");
}

// "SELECT, INSERT" checked word by word against the DML privileges a runtime role may hold.
std::string CheckedPrivileges(const std::string& list) {
  static const std::set<std::string> kAllowed = {"SELECT", "INSERT", "UPDATE", "DELETE"};
  std::string out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    std::string word = list.substr(start, comma - start);
    word.erase(0, word.find_first_not_of(' '));
    word.erase(word.find_last_not_of(' ') + 1);
    if (!kAllowed.count(word)) {
      throw std::invalid_argument("invalid runtime privilege '" + word + "'");
    }
    out += (out.empty() ? "" : ", ") + word;
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::string MigrationChecksum(const Migration& migration) { return Sha256Hex(migration.sql); }

void GrantRuntimeRole(pqxx::transaction_base& tx, const std::string& schema,
                      const RuntimeRole& role) {
  CheckSchemaName(schema);
  const std::string grantee = tx.quote_name(role.name);
  tx.exec("GRANT USAGE ON SCHEMA " + schema + " TO " + grantee);
  tx.exec("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + schema + " TO " +
          grantee);
  tx.exec("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA " + schema + " TO " + grantee);
  tx.exec("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA " + schema + " TO " + grantee);
  for (const auto& t : role.narrower) {
    if (!IsPlainName(t.table)) throw std::invalid_argument("invalid table name for privileges");
    const std::string table = schema + "." + t.table;
    tx.exec("REVOKE ALL ON TABLE " + table + " FROM " + grantee);
    tx.exec("GRANT " + CheckedPrivileges(t.privileges) + " ON TABLE " + table + " TO " + grantee);
  }
}

int ApplyMigrations(pqxx::connection& conn, const MigrationSet& set, const RuntimeRole* runtime) {
  const std::string schema = set.schema;
  CheckSchemaName(schema);
  pqxx::work tx(conn);
  tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLockKey) + ")");
  tx.exec("CREATE SCHEMA IF NOT EXISTS " + schema);
  tx.exec("SET LOCAL search_path TO " + schema + ", public");
  tx.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "  version integer PRIMARY KEY,"
      "  file_name text NOT NULL,"
      "  applied_at timestamptz NOT NULL DEFAULT now())");
  // SHA-256 of each applied file: an edited migration is found instead of silently skipped.
  tx.exec("ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text");
  // Secrets of the runtime shared by every instance of the service: the page-token key (random,
  // made once).
  tx.exec(
      "CREATE TABLE IF NOT EXISTS runtime_secrets ("
      "  name text PRIMARY KEY,"
      "  value text NOT NULL)");
  tx.exec(
      "INSERT INTO runtime_secrets (name, value) VALUES ('page_token', "
      "replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')) "
      "ON CONFLICT (name) DO NOTHING");
  // Idempotency keys of create requests (AIP-155): the resource created for each key, per
  // principal and method, with a fingerprint of the request it was used for. (Replaces the
  // global request_ids table, whose keys anyone could replay.)
  tx.exec("DROP TABLE IF EXISTS request_ids");
  tx.exec(
      "CREATE TABLE IF NOT EXISTS idempotency_keys ("
      "  principal text NOT NULL,"
      "  method text NOT NULL,"
      "  request_id uuid NOT NULL,"
      "  fingerprint text NOT NULL,"
      "  resource text NOT NULL,"
      "  created_at timestamptz NOT NULL DEFAULT now(),"
      "  PRIMARY KEY (principal, method, request_id))");
  // Every migration not yet recorded runs, not only those above the highest applied one: a
  // migration merged late with a lower number must not be skipped silently.
  std::map<int, std::optional<std::string>> applied;  // version -> recorded checksum
  for (const auto& row : tx.exec("SELECT version, checksum FROM schema_migrations")) {
    applied[row[0].as<int>()] =
        row[1].is_null() ? std::nullopt : std::optional<std::string>(row[1].as<std::string>());
  }
  std::vector<Migration> pending;
  for (const auto& m : set.migrations) {
    auto it = applied.find(m.version);
    if (it == applied.end()) {
      pending.push_back(m);
    } else if (!it->second) {
      // Applied before checksums were recorded: the file as it is now is taken as applied.
      tx.exec_params("UPDATE schema_migrations SET checksum = $2 WHERE version = $1", m.version,
                     MigrationChecksum(m));
    } else if (*it->second != MigrationChecksum(m)) {
      throw MigrationEditedError(std::string("migration ") + m.file_name + " of schema " + schema +
                                 " was edited after it was applied (its checksum differs from "
                                 "the recorded one): add a new migration instead");
    }
  }
  std::sort(pending.begin(), pending.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (const auto& m : pending) {
    tx.exec(m.sql);
    tx.exec_params(
        "INSERT INTO schema_migrations (version, file_name, checksum) VALUES ($1, $2, $3)",
        m.version, std::string(m.file_name), MigrationChecksum(m));
  }
  if (runtime != nullptr) GrantRuntimeRole(tx, schema, *runtime);
  tx.commit();
  return static_cast<int>(pending.size());
}

bool MigrationsUpToDate(pqxx::connection& conn, const MigrationSet& set) {
  CheckSchemaName(set.schema);
  pqxx::read_transaction tx(conn);
  const auto exists =
      tx.exec1("SELECT to_regclass(" + tx.quote(std::string(set.schema) + ".schema_migrations") +
               ") IS NOT NULL")[0]
          .as<bool>();
  if (!exists) return set.migrations.empty();
  std::set<int> applied;
  for (const auto& row :
       tx.exec(std::string("SELECT version FROM ") + set.schema + ".schema_migrations")) {
    applied.insert(row[0].as<int>());
  }
  for (const auto& m : set.migrations) {
    if (!applied.count(m.version)) return false;
  }
  return true;
}

}  // namespace ctg
