#pragma once

#include <string>
#include <vector>

#include "common/migrations.h"

namespace ctg::testing {

// A PostgreSQL database that exists for the lifetime of this object, created on the server
// named by CTG_TEST_ADMIN_URL (a libpq keyword string; default "dbname=postgres" with the PG*
// environment variables that `./ctg test` sets), with the real migrations of `sets` applied.
// It is dropped on destruction. A test binary normally makes one and truncates between tests.
// The name of the role tests run services' calls as: a login role without superuser rights
// that owns nothing, so that every test exercises the privileges the runtime grants
// (GrantRuntimeRole) and a service that needed more would fail its tests, not production.
extern const char kTestRuntimeRole[];

// `owner_url` (a test database's url) with the user replaced by kTestRuntimeRole, which is
// created on the test cluster when missing (through CTG_TEST_ADMIN_URL).
std::string RuntimeRoleUrl(const std::string& owner_url);

class TestDatabase {
 public:
  explicit TestDatabase(std::vector<const MigrationSet*> sets);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // Connection string of the test database, as the role that owns it and its schemas.
  const std::string& url() const { return url_; }
  // The same database as kTestRuntimeRole (RuntimeRoleUrl).
  std::string runtime_url() const { return RuntimeRoleUrl(url_); }
  // Empties every table of the given schema (except the migration records), append-only ones
  // included (as a superuser, without firing their triggers).
  void Truncate(const std::string& schema) const;

 private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

}  // namespace ctg::testing
