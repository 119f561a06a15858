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

// Applies the pending migrations of `set` in version order, all in one transaction held under a
// database-wide advisory lock so that services starting together never race. Creates the schema
// and the runtime's own tables (schema_migrations, idempotency_keys) when missing. Idempotent: a
// second call applies nothing. Returns the number of migrations applied. Throws
// MigrationEditedError when an applied migration's file no longer has its recorded checksum.
int ApplyMigrations(pqxx::connection& conn, const MigrationSet& set);

// True when every migration of `set` is recorded as applied.
bool MigrationsUpToDate(pqxx::connection& conn, const MigrationSet& set);

}  // namespace ctg
