#pragma once

#include <pqxx/pqxx>
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

// Applies the pending migrations of `set` in version order, all in one transaction held under a
// database-wide advisory lock so that services starting together never race. Creates the schema
// and the runtime's own tables (schema_migrations, idempotency_keys) when missing. Idempotent: a
// second call applies nothing. Returns the number of migrations applied.
int ApplyMigrations(pqxx::connection& conn, const MigrationSet& set);

// True when every migration of `set` is recorded as applied.
bool MigrationsUpToDate(pqxx::connection& conn, const MigrationSet& set);

}  // namespace ctg
