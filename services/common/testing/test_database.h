#pragma once

#include <string>
#include <vector>

#include "common/migrations.h"

namespace ctg::testing {

// A PostgreSQL database that exists for the lifetime of this object, created on the server
// named by CTG_TEST_ADMIN_URL (a libpq keyword string; default "dbname=postgres" with the PG*
// environment variables that `./ctg test` sets), with the real migrations of `sets` applied.
// It is dropped on destruction. A test binary normally makes one and truncates between tests.
class TestDatabase {
 public:
  explicit TestDatabase(std::vector<const MigrationSet*> sets);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // Connection string of the test database.
  const std::string& url() const { return url_; }
  // Empties every table of the given schema (except the migration records), append-only ones
  // included (as a superuser, without firing their triggers).
  void Truncate(const std::string& schema) const;

 private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

}  // namespace ctg::testing
