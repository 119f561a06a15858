// The runtime's database pieces on a real PostgreSQL: migrations, pool, transactions, request ids.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/api.h"
#include "common/db.h"
#include "common/migrations.h"
#include "common/rpc.h"
#include "common/service_client.h"
#include "common/testing/test_database.h"
#include "ctg/partners/v1/partners.pb.h"

namespace ctg {
namespace {

const MigrationSet& SampleMigrations() {
  static const MigrationSet set{
      "sample",
      {{2, "002_more.sql", "ALTER TABLE items ADD COLUMN note text NOT NULL DEFAULT ''"},
       {1, "001_init.sql",
        "CREATE TABLE items (id serial PRIMARY KEY, label text NOT NULL UNIQUE)"}}};
  return set;
}

class RuntimeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { db_ = new testing::TestDatabase({}); }
  static void TearDownTestSuite() { delete db_; }
  static testing::TestDatabase* db_;
};
testing::TestDatabase* RuntimeTest::db_ = nullptr;

TEST_F(RuntimeTest, MigrationsApplyInOrderOnceEvenWhenStartedTogether) {
  std::atomic<int> applied{0};
  std::vector<std::thread> starters;
  for (int i = 0; i < 4; ++i) {
    starters.emplace_back([&] {
      pqxx::connection conn(db_->url());
      applied += ApplyMigrations(conn, SampleMigrations());
    });
  }
  for (auto& t : starters) t.join();
  EXPECT_EQ(applied.load(), 2);  // exactly one starter applied both, in order (002 needs 001)
  pqxx::connection conn(db_->url());
  EXPECT_TRUE(MigrationsUpToDate(conn, SampleMigrations()));
  EXPECT_EQ(ApplyMigrations(conn, SampleMigrations()), 0);
  pqxx::read_transaction tx(conn);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM sample.schema_migrations")[0].as<int>(), 2);
}

TEST_F(RuntimeTest, AFailingMigrationLeavesNothingBehind) {
  const MigrationSet broken{
      "broken",
      {{1, "001_ok.sql", "CREATE TABLE t (x int)"}, {2, "002_bad.sql", "CREATE TABLE t (x int)"}}};
  pqxx::connection conn(db_->url());
  EXPECT_THROW(ApplyMigrations(conn, broken), pqxx::sql_error);
  pqxx::read_transaction tx(conn);
  EXPECT_TRUE(tx.exec1("SELECT to_regclass('broken.t') IS NULL")[0].as<bool>());
}

TEST_F(RuntimeTest, ALateLowerNumberedMigrationStillRuns) {
  const MigrationSet first{
      "gaps",
      {{1, "001_a.sql", "CREATE TABLE a (x int)"}, {3, "003_c.sql", "CREATE TABLE c (x int)"}}};
  const MigrationSet later{"gaps",
                           {{1, "001_a.sql", "CREATE TABLE a (x int)"},
                            {2, "002_b.sql", "CREATE TABLE b (x int)"},
                            {3, "003_c.sql", "CREATE TABLE c (x int)"}}};
  pqxx::connection conn(db_->url());
  EXPECT_EQ(ApplyMigrations(conn, first), 2);
  EXPECT_FALSE(MigrationsUpToDate(conn, later));
  EXPECT_EQ(ApplyMigrations(conn, later), 1);
  EXPECT_TRUE(MigrationsUpToDate(conn, later));
  pqxx::read_transaction tx(conn);
  EXPECT_TRUE(tx.exec1("SELECT to_regclass('gaps.b') IS NOT NULL")[0].as<bool>());
}

TEST_F(RuntimeTest, TheRuntimeRoleGetsWhatCallsNeedAndNoMore) {
  const MigrationSet set{"granted",
                         {{1, "001.sql",
                           "CREATE TABLE items (id bigserial PRIMARY KEY, label text);"
                           "CREATE TABLE trail (id bigserial PRIMARY KEY, what text)"}}};
  const RuntimeRole role{testing::kTestRuntimeRole, {{"trail", "SELECT, INSERT"}}};
  {
    pqxx::connection owner(db_->url());
    EXPECT_EQ(ApplyMigrations(owner, set, &role), 1);
    EXPECT_EQ(ApplyMigrations(owner, set, &role), 0);  // grants again, idempotently
  }
  auto run = [&](const std::string& sql) -> std::string {
    pqxx::connection conn(db_->runtime_url());
    pqxx::work tx(conn);
    try {
      tx.exec(sql);
      tx.commit();
    } catch (const pqxx::sql_error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(run("INSERT INTO granted.items (label) VALUES ('a')"), "");
  EXPECT_EQ(run("UPDATE granted.items SET label = 'b'"), "");
  EXPECT_EQ(run("DELETE FROM granted.items"), "");
  EXPECT_EQ(run("INSERT INTO granted.trail (what) VALUES ('x')"), "");
  EXPECT_EQ(run("SELECT count(*) FROM granted.schema_migrations"), "");
  for (const char* refused :
       {"UPDATE granted.trail SET what = 'y'", "DELETE FROM granted.trail",
        "TRUNCATE granted.items", "DROP TABLE granted.items",
        "ALTER TABLE granted.items ADD COLUMN z int", "CREATE TABLE granted.mine (x int)",
        "SELECT setval('granted.items_id_seq', 1)"}) {
    const std::string error = run(refused);
    // "permission denied for ..." or, for DDL, "must be owner of ...".
    EXPECT_TRUE(error.find("permission denied") != std::string::npos ||
                error.find("must be owner") != std::string::npos)
        << refused << ": " << error;
  }
  // A privilege word outside SELECT/INSERT/UPDATE/DELETE is refused before anything runs.
  const RuntimeRole bad{testing::kTestRuntimeRole, {{"trail", "SELECT, TRUNCATE"}}};
  pqxx::connection owner(db_->url());
  EXPECT_THROW(ApplyMigrations(owner, set, &bad), std::invalid_argument);
}

TEST_F(RuntimeTest, PoolIsBoundedAndTimesOut) {
  {
    pqxx::connection conn(db_->url());
    ApplyMigrations(conn, SampleMigrations());
  }
  PoolOptions options{db_->url(), "sample", 2, std::chrono::milliseconds(200)};
  ConnectionPool pool(options, {{"count_items", "SELECT count(*) FROM items"}});
  auto a = pool.Acquire();
  auto b = pool.Acquire();
  EXPECT_THROW(pool.Acquire(), pqxx::broken_connection);
  { auto released = std::move(a); }
  auto c = pool.Acquire();  // a freed slot is reused
  pqxx::read_transaction tx(*c);
  EXPECT_EQ(tx.exec_prepared1("count_items")[0].as<int>(), 0);  // statements prepared, schema set
}

TEST_F(RuntimeTest, BrokenConnectionsAreReplaced) {
  PoolOptions options{db_->url(), "sample", 1, std::chrono::milliseconds(2000)};
  ConnectionPool pool(options, {});
  int first_pid = 0;
  {
    auto lease = pool.Acquire();
    first_pid = lease->backendpid();
  }
  {
    pqxx::connection admin(db_->url());
    pqxx::nontransaction tx(admin);
    tx.exec("SELECT pg_terminate_backend(" + std::to_string(first_pid) + ")");
  }
  {
    auto lease = pool.Acquire();
    pqxx::nontransaction tx(*lease);
    EXPECT_THROW(tx.exec("SELECT 1"), pqxx::broken_connection);
  }
  auto lease = pool.Acquire();  // the broken one was discarded on return
  EXPECT_NE(lease->backendpid(), first_pid);
  pqxx::nontransaction tx(*lease);
  EXPECT_EQ(tx.exec1("SELECT 41 + 1")[0].as<int>(), 42);
}

TEST_F(RuntimeTest, FailedTransactionWritesNothing) {
  {
    pqxx::connection conn(db_->url());
    ApplyMigrations(conn, SampleMigrations());
  }
  ConnectionPool pool({db_->url(), "sample", 1}, {});
  EXPECT_THROW(WithTransaction(pool,
                               [](pqxx::work& tx) {
                                 tx.exec("INSERT INTO items (label) VALUES ('rolled back')");
                                 throw NotFoundError("stop");
                               }),
               NotFoundError);
  WithReadTransaction(pool, [](pqxx::transaction_base& tx) {
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM items WHERE label = 'rolled back'")[0].as<int>(), 0);
  });
}

// Idempotency keys belong to the principal that used them and to one request (AIP-155 with
// Stripe's rule): another caller replaying a key gets its own create, and the same caller
// reusing it for a different request is refused.
TEST_F(RuntimeTest, IdempotencyKeysBelongToAPrincipalAndOneRequest) {
  {
    pqxx::connection conn(db_->url());
    ApplyMigrations(conn, SampleMigrations());
  }
  ConnectionPool pool({db_->url(), "sample", 2}, RuntimeStatements());
  MethodPolicy create;
  create.service = "ctg.sample.v1.Items";
  create.method = "CreateItem";
  CallContext alice;
  alice.principal = Principal{"alice", "organisations/a", {Role::kCafAgent}};
  alice.policy = &create;
  CallContext mallory = alice;
  mallory.principal.subject = "mallory";
  ::ctg::partners::v1::CreateOrganisationRequest request;
  request.set_request_id("6f1c8f5e-1f7a-4b35-9d0e-0c4a2f1b9e11");
  request.mutable_organisation()->set_display_name("Marmande");

  WithTransaction(pool, [&](pqxx::work& tx) {
    IdempotencyKey key(tx, alice, request);
    EXPECT_FALSE(key.Previous().has_value());
    key.Remember("items/1");
  });
  WithTransaction(pool, [&](pqxx::work& tx) {
    // The same caller, the same request: the first result.
    EXPECT_EQ(IdempotencyKey(tx, alice, request).Previous(), "items/1");
    // Another caller replaying alice's key learns nothing of her create.
    EXPECT_FALSE(IdempotencyKey(tx, mallory, request).Previous().has_value());
    // No key: never idempotent.
    auto keyless = request;
    keyless.clear_request_id();
    EXPECT_FALSE(IdempotencyKey(tx, alice, keyless).Previous().has_value());
  });
  // The same key for a different request: INVALID_ARGUMENT on request_id.
  auto other = request;
  other.mutable_organisation()->set_display_name("Tonneins");
  WithTransaction(pool, [&](pqxx::work& tx) {
    try {
      IdempotencyKey(tx, alice, other).Previous();
      ADD_FAILURE() << "a reused key with other parameters was accepted";
    } catch (const ValidationError& e) {
      ASSERT_EQ(e.violations().size(), 1u);
      EXPECT_EQ(e.violations()[0].field, "request_id");
    }
  });
}

}  // namespace
}  // namespace ctg

namespace ctg {
namespace {

// No remote call while a pooled connection is held: ServiceIdentity refuses to prepare a call
// from inside a transaction (the action plan used to call partners from one).
TEST_F(RuntimeTest, NoCallToAnotherServiceWhileAConnectionIsHeld) {
  ConnectionPool pool({db_->url(), "public", 2}, {});
  JwtConfig jwt;
  jwt.hs256_key = "k-0123456789-0123456789-0123456789";
  ServiceIdentity identity(jwt, "test");
  EXPECT_EQ(ConnectionsHeldByThisThread(), 0);
  WithReadTransaction(pool, [&](pqxx::transaction_base&) {
    EXPECT_EQ(ConnectionsHeldByThisThread(), 1);
    grpc::ClientContext context;
    EXPECT_THROW(identity.Prepare(context), std::logic_error);
  });
  EXPECT_EQ(ConnectionsHeldByThisThread(), 0);
  grpc::ClientContext context;
  EXPECT_NO_THROW(identity.Prepare(context));
}

}  // namespace
}  // namespace ctg

namespace ctg {
namespace {

// Applied migrations carry their checksum: an edited file stops the service with a clear error
// instead of being skipped; a migration recorded before checksums existed is adopted as it is.
TEST_F(RuntimeTest, AnEditedMigrationIsRefusedWithItsName) {
  testing::TestDatabase db({});
  const MigrationSet original{"checked",
                              {{1, "001_init.sql", "CREATE TABLE t (id int PRIMARY KEY)"}}};
  {
    pqxx::connection conn(db.url());
    EXPECT_EQ(ApplyMigrations(conn, original), 1);
    EXPECT_EQ(ApplyMigrations(conn, original), 0);
  }
  const MigrationSet edited{"checked",
                            {{1, "001_init.sql", "CREATE TABLE t (id bigint PRIMARY KEY)"}}};
  pqxx::connection conn(db.url());
  try {
    ApplyMigrations(conn, edited);
    ADD_FAILURE() << "an edited migration was accepted";
  } catch (const MigrationEditedError& e) {
    EXPECT_NE(std::string(e.what()).find("001_init.sql"), std::string::npos) << e.what();
  }
  // A record without a checksum (before this check existed) takes the file as it is now.
  {
    pqxx::work tx(conn);
    tx.exec("UPDATE checked.schema_migrations SET checksum = NULL");
    tx.commit();
  }
  EXPECT_EQ(ApplyMigrations(conn, edited), 0);
  pqxx::nontransaction tx(conn);
  EXPECT_EQ(tx.exec1("SELECT checksum FROM checked.schema_migrations")[0].as<std::string>(),
            MigrationChecksum(edited.migrations[0]));
}

}  // namespace
}  // namespace ctg
