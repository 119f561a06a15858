#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

namespace prometheus {
class Gauge;
}

namespace ctg {

// A named SQL statement, prepared once on every pooled connection. Repositories declare theirs
// at the top of their .cc file and hand the list to the pool at start-up.
struct PreparedStatement {
  const char* name;
  const char* sql;
};

// Gauges the pool keeps up to date (all optional).
struct PoolGauges {
  prometheus::Gauge* open = nullptr;     // connections open
  prometheus::Gauge* in_use = nullptr;   // connections leased to a request
  prometheus::Gauge* waiting = nullptr;  // requests waiting for a connection
};

struct PoolOptions {
  // libpq connection string or postgresql:// URL. A secret: never logged.
  std::string url;
  // The service's own PostgreSQL schema, put first on the search_path of every connection.
  std::string schema;
  int size = 8;
  // How long a request waits for a free connection before failing with UNAVAILABLE.
  std::chrono::milliseconds acquire_timeout{5000};
};

// A bounded pool of libpqxx connections. Each connection is used by one thread at a time;
// connections are opened lazily up to `size` and one found broken on return is discarded, so the
// next lease opens a fresh one.
class ConnectionPool {
 public:
  ConnectionPool(PoolOptions options, std::vector<PreparedStatement> statements,
                 PoolGauges gauges = {});
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Exclusive use of one connection until destroyed.
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<pqxx::connection> conn);
    Lease(Lease&& other) noexcept;
    ~Lease();
    pqxx::connection& operator*() { return *conn_; }
    pqxx::connection* operator->() { return conn_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<pqxx::connection> conn_;
  };

  // Leases a connection, opening one if none is idle and the pool is not full. Throws
  // pqxx::broken_connection when the database cannot be reached or no connection frees up in
  // time (both map to UNAVAILABLE).
  Lease Acquire();

  const PoolOptions& options() const { return options_; }
  // Whether Acquire would not wait right now (an idle connection, or room to open one).
  bool HasFreeConnection() const;

 private:
  std::unique_ptr<pqxx::connection> Open();
  void Return(std::unique_ptr<pqxx::connection> conn);
  void UpdateGauges();

  const PoolOptions options_;
  const std::vector<PreparedStatement> statements_;
  const PoolGauges gauges_;
  mutable std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  int open_ = 0;
  int waiting_ = 0;
};

// How many pooled connections the calling thread holds right now.
int ConnectionsHeldByThisThread();
// Throws std::logic_error (INTERNAL for the caller, the detail in the log) when the calling
// thread holds a pooled connection: `what` ("a call to partners") must not happen then, or a
// slow dependency would hold connections every other request needs. ServiceIdentity calls it
// before every call to another service.
void RequireNoConnectionHeld(const char* what);

// Runs `body` in one read-write transaction on a pooled connection and commits when it returns;
// any exception rolls everything back, so a failed request writes nothing.
void WithTransaction(ConnectionPool& pool, const std::function<void(pqxx::work&)>& body);

// Same, read-only (the database refuses writes): several statements that must see one
// snapshot.
void WithReadTransaction(ConnectionPool& pool,
                         const std::function<void(pqxx::transaction_base&)>& body);

// A read made of exactly one statement, run outside any transaction block: a single statement
// sees one snapshot by itself, so the BEGIN and COMMIT round trips are saved (two of the three
// a point read otherwise costs). Use WithReadTransaction as soon as a read needs two statements.
void WithSingleStatementRead(ConnectionPool& pool,
                             const std::function<void(pqxx::transaction_base&)>& body);

// Locks the row `id` (a uuid) of `table` until the transaction ends and returns its `version`
// column; nullopt when there is no such row. The one way to begin an update guarded by an etag
// (AIP-154): compare the etag with what this returns, then write, so that two updates sent with
// the same etag cannot both pass.
std::optional<int64_t> LockRowVersion(pqxx::transaction_base& tx, std::string_view table,
                                      const std::string& id);

// Statements run one by one, each its own transaction (autocommit), on one pooled connection:
// for a body whose correctness does not need them atomic, e.g. checks then a single UPDATE
// guarded by a version. Saves the BEGIN and COMMIT round trips.
void WithAutocommit(ConnectionPool& pool, const std::function<void(pqxx::transaction_base&)>& body);

// The other way to update under an etag, without holding a transaction between the read and
// the write (two round trips instead of four): `attempt` reads the row, checks the caller's etag
// against what it read, then writes with "UPDATE ... WHERE id = $1 AND version = <read>" and
// returns false when no row matched, i.e. another update came in between. Then, when the caller
// sent an etag its resource changed: ABORTED (StaleEtagError); when it sent none (an
// unconditional overwrite) the attempt is made again, up to 3 times.
void RetryOptimisticUpdate(const std::string& etag, const std::function<bool()>& attempt);

// Opens one connection to `url` with `schema` first on its search_path.
std::unique_ptr<pqxx::connection> OpenConnection(const std::string& url, const std::string& schema);

}  // namespace ctg
