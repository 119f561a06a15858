#pragma once

#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <vector>

namespace ctg {

// One numbered SQL file of a service's migrations/ folder, compiled into the binary.
struct Migration {
  int version;
  const char* file_name;
  const char* sql;
};

// All migrations of one service, for its own PostgreSQL schema.
struct MigrationSet {
  const char* schema;
  std::vector<Migration> migrations;
};

// An applied migration whose file changed since: the service must not start on a schema that
// no longer matches its source.
class MigrationEditedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// SHA-256 (hex) of a migration's SQL, as recorded in schema_migrations.checksum.
std::string MigrationChecksum(const Migration& migration);

// The privileges of a service's runtime role on one table of its schema when narrower than the
// default of every table (SELECT, INSERT, UPDATE, DELETE): e.g. {"audit_events", "SELECT,
// INSERT"} for a table no call may change. Words: SELECT, INSERT, UPDATE, DELETE.
struct TablePrivileges {
  const char* table;
  const char* privileges;
};

// The role a service's calls run as when it is not the schema's owner (--database-url beside
// --owner-database-url), and what it may do.
struct RuntimeRole {
  std::string name;  // PostgreSQL role name (current_user of a runtime connection)
  std::vector<TablePrivileges> narrower;
};

// Grants `role` what a service's calls need in `schema`, within `tx` run by the schema's owner:
// USAGE on the schema; SELECT, INSERT, UPDATE, DELETE on every table (never TRUNCATE, and no DDL:
// the runtime role owns nothing); USAGE and SELECT on every sequence (nextval, not setval);
// EXECUTE on every function; then exactly the listed privileges on each table of `narrower`.
// Idempotent. Throws std::invalid_argument on a malformed name or privilege word, and what
// PostgreSQL throws for a table that does not exist.
void GrantRuntimeRole(pqxx::transaction_base& tx, const std::string& schema,
                      const RuntimeRole& role);

// Applies the pending migrations of `set` in version order, all in one transaction held under a
// database-wide advisory lock so that services starting together never race. Creates the schema
// and the runtime's own tables (schema_migrations, idempotency_keys) when missing. Idempotent: a
// second call applies nothing. Returns the number of migrations applied. Throws
// MigrationEditedError when an applied migration's file no longer has its recorded checksum.
// With `runtime`, `conn` is the schema owner's and the runtime role is granted its privileges
// (GrantRuntimeRole) in the same transaction.
int ApplyMigrations(pqxx::connection& conn, const MigrationSet& set,
                    const RuntimeRole* runtime = nullptr);

// True when every migration of `set` is recorded as applied.
bool MigrationsUpToDate(pqxx::connection& conn, const MigrationSet& set);

}  // namespace ctg
