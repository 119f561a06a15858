#include "common/testing/test_database.h"

#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <pqxx/pqxx>
#include <random>

namespace ctg::testing {
namespace {

std::string AdminUrl() {
  const char* admin = std::getenv("CTG_TEST_ADMIN_URL");
  return admin != nullptr ? admin : "dbname=postgres";
}

}  // namespace

const char kTestRuntimeRole[] = "ctg_test_runtime";

namespace {

// Creates kTestRuntimeRole on the test cluster once per process.
void EnsureTestRuntimeRole() {
  static std::once_flag created;
  std::call_once(created, [] {
    pqxx::connection conn(AdminUrl());
    pqxx::nontransaction tx(conn);
    // Test binaries run in parallel on one cluster: whichever creates the role first wins.
    tx.exec(std::string("DO $$ BEGIN CREATE ROLE ") + kTestRuntimeRole +
            " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; EXCEPTION WHEN duplicate_object OR "
            "unique_violation THEN NULL; END $$");
  });
}

}  // namespace

std::string RuntimeRoleUrl(const std::string& owner_url) {
  EnsureTestRuntimeRole();
  // In a libpq keyword string the last value of a keyword wins.
  return owner_url + " user=" + kTestRuntimeRole;
}

TestDatabase::TestDatabase(std::vector<const MigrationSet*> sets) {
  admin_url_ = AdminUrl();
  EnsureTestRuntimeRole();
  std::random_device rd;
  name_ = "ctg_test_" + std::to_string(getpid()) + "_" + std::to_string(rd() % 1000000);
  {
    pqxx::connection conn(admin_url_);
    pqxx::nontransaction tx(conn);
    tx.exec("CREATE DATABASE " + tx.quote_name(name_));
  }
  url_ = admin_url_ + " dbname=" + name_;
  pqxx::connection conn(url_);
  for (const auto* set : sets) ApplyMigrations(conn, *set);
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection conn(admin_url_);
    pqxx::nontransaction tx(conn);
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception&) {
    // The throwaway cluster is removed with the test run anyway.
  }
}

void TestDatabase::Truncate(const std::string& schema) const {
  pqxx::connection conn(url_);
  pqxx::work tx(conn);
  auto tables = tx.exec_params(
      "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
      "WHERE schemaname = $1 AND tablename <> 'schema_migrations'",
      schema);
  std::string list;
  for (const auto& row : tables) {
    if (!list.empty()) list += ", ";
    list += row[0].as<std::string>();
  }
  // Append-only tables refuse TRUNCATE with a trigger; a test empties them as a superuser
  // whose session does not fire triggers.
  tx.exec("SET LOCAL session_replication_role = replica");
  if (!list.empty()) tx.exec("TRUNCATE " + list + " RESTART IDENTITY CASCADE");
  tx.commit();
}

}  // namespace ctg::testing
