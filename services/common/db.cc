#include "common/db.h"

#include <prometheus/gauge.h>

#include "common/errors.h"

namespace ctg {

std::unique_ptr<pqxx::connection> OpenConnection(const std::string& url,
                                                 const std::string& schema) {
  auto conn = std::make_unique<pqxx::connection>(url);
  pqxx::nontransaction tx(*conn);
  tx.exec("SET search_path TO " + tx.quote_name(schema) + ", public");
  tx.exec("SET TIME ZONE 'Europe/Paris'");
  return conn;
}

ConnectionPool::ConnectionPool(PoolOptions options, std::vector<PreparedStatement> statements,
                               PoolGauges gauges)
    : options_(std::move(options)), statements_(std::move(statements)), gauges_(gauges) {}

ConnectionPool::~ConnectionPool() = default;

std::unique_ptr<pqxx::connection> ConnectionPool::Open() {
  auto conn = OpenConnection(options_.url, options_.schema);
  for (const auto& s : statements_) conn->prepare(s.name, s.sql);
  return conn;
}

bool ConnectionPool::HasFreeConnection() const {
  std::lock_guard lock(mu_);
  return !idle_.empty() || open_ < options_.size;
}

ConnectionPool::Lease ConnectionPool::Acquire() {
  std::unique_lock lock(mu_);
  ++waiting_;
  UpdateGauges();
  const auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
  while (idle_.empty() && open_ >= options_.size) {
    if (freed_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.size) {
      --waiting_;
      UpdateGauges();
      throw pqxx::broken_connection("timed out waiting for a database connection");
    }
  }
  --waiting_;
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    UpdateGauges();
    return Lease(this, std::move(conn));
  }
  ++open_;  // reserve the slot, then connect without holding the lock
  UpdateGauges();
  lock.unlock();
  try {
    return Lease(this, Open());
  } catch (...) {
    lock.lock();
    --open_;
    UpdateGauges();
    freed_.notify_one();
    throw;
  }
}

void ConnectionPool::Return(std::unique_ptr<pqxx::connection> conn) {
  std::lock_guard lock(mu_);
  if (conn && conn->is_open()) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
  UpdateGauges();
  freed_.notify_one();
}

void ConnectionPool::UpdateGauges() {
  if (gauges_.open) gauges_.open->Set(open_);
  if (gauges_.in_use) gauges_.in_use->Set(open_ - static_cast<int>(idle_.size()));
  if (gauges_.waiting) gauges_.waiting->Set(waiting_);
}

namespace {
// Leases held by the current thread (see ConnectionsHeldByThisThread).
thread_local int leases_held = 0;
}  // namespace

int ConnectionsHeldByThisThread() { return leases_held; }

void RequireNoConnectionHeld(const char* what) {
  if (leases_held > 0) {
    throw std::logic_error(std::string(what) +
                           " while a database connection is held: a remote call must never keep "
                           "a pooled connection waiting");
  }
}

ConnectionPool::Lease::Lease(ConnectionPool* pool, std::unique_ptr<pqxx::connection> conn)
    : pool_(pool), conn_(std::move(conn)) {
  ++leases_held;
}

ConnectionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), conn_(std::move(other.conn_)) {
  other.pool_ = nullptr;
}

ConnectionPool::Lease::~Lease() {
  if (pool_ == nullptr) return;  // moved from
  --leases_held;
  pool_->Return(std::move(conn_));
}

void WithTransaction(ConnectionPool& pool, const std::function<void(pqxx::work&)>& body) {
  auto lease = pool.Acquire();
  pqxx::work tx(*lease);
  body(tx);
  tx.commit();
}

void WithReadTransaction(ConnectionPool& pool,
                         const std::function<void(pqxx::transaction_base&)>& body) {
  auto lease = pool.Acquire();
  pqxx::read_transaction tx(*lease);
  body(tx);
  tx.commit();
}

void WithSingleStatementRead(ConnectionPool& pool,
                             const std::function<void(pqxx::transaction_base&)>& body) {
  auto lease = pool.Acquire();
  pqxx::nontransaction tx(*lease);
  body(tx);
}

void WithAutocommit(ConnectionPool& pool,
                    const std::function<void(pqxx::transaction_base&)>& body) {
  auto lease = pool.Acquire();
  pqxx::nontransaction tx(*lease);
  body(tx);
}

void RetryOptimisticUpdate(const std::string& etag, const std::function<bool()>& attempt) {
  for (int tries = 0; tries < 3; ++tries) {
    if (attempt()) return;
    if (!etag.empty()) break;
  }
  throw StaleEtagError();
}

std::optional<int64_t> LockRowVersion(pqxx::transaction_base& tx, std::string_view table,
                                      const std::string& id) {
  const auto r = tx.exec_params("SELECT version FROM " + tx.quote_name(std::string(table)) +
                                    " WHERE id = $1::uuid FOR UPDATE",
                                id);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<int64_t>();
}

}  // namespace ctg
