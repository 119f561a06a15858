#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "common/db.h"

namespace ctg::consents {

// One event of the audit trail (CNIL recommendation 2021-122: the individually identified
// author, the time, the nature of the operation and the reference of the data concerned), with
// the state before and after.
struct AuditRecord {
  std::string chain;          // the holding organisation's id: one chain per holder
  int64_t seq = 0;            // 1, 2, ... within the chain
  int64_t time_micros = 0;    // since the epoch
  std::string actor;          // the token's subject
  std::string organisation;   // "organisations/{uuid}" of the actor ("" for a service)
  std::string operation;      // "create", "submit", "check", "denied:DECIDE", ...
  std::string reference;      // "exchangeRequests/{uuid}"
  std::string before;         // JSON
  std::string after;          // JSON
  std::string previous_hash;  // hex SHA-256 of the previous event of the chain ("" for the first)
  std::string hash;           // hex SHA-256 of this one
  int64_t position = 0;       // insertion order across chains (lists); not hashed
};

// The hash of an event: SHA-256 over the previous hash and every field, each length-prefixed
// (so no two different events serialize alike), as 64 hex digits.
std::string AuditHash(const AuditRecord& record);

// The same hash as a SQL expression over the columns of audit_events (benchmarks compare
// VerifyAuditChains with the database recomputing it).
std::string AuditHashSql();

// Named statements of the audit trail.
const std::vector<PreparedStatement>& AuditStatements();

// Appends `record` (chain, time, actor, organisation, operation, reference, before, after set)
// to its chain within `tx`: locks the chain's head, fills seq, previous_hash and hash, writes
// the event and the new head. Returns the event's name ("auditEvents/{chain}/{seq}").
std::string AppendAudit(pqxx::transaction_base& tx, AuditRecord& record);
// The same for several events at once, in their order (several per chain allowed): one statement
// locks every chain's head (name order, so concurrent writers never deadlock), one writes the
// events and the new heads. Returns the events' names, in order. AppendAudit and the appender's
// batches both write through it.
std::vector<std::string> AppendAuditEvents(pqxx::transaction_base& tx,
                                           const std::vector<AuditRecord*>& records);

// Appends events from many calls with one transaction per batch (group commit): a call hands
// its event over and waits until the batch holding it is committed, so an acknowledged check is
// always audited, while a thousand concurrent checks cost a few commits instead of a thousand
// waits on their chain's head. No thread of its own: the first caller that finds no batch being
// written writes one (its own event and whatever queued meanwhile), so a lone check pays no
// hand-off. Heads are locked per batch, so several processes appending to
// the same chains stay correct. For events that are not part of another write (checks, refused
// attempts); a state change appends in its own transaction with AppendAudit.
class AuditAppender {
 public:
  // Writes with connections from `pool`; at most `max_batch` events per transaction.
  explicit AuditAppender(ConnectionPool& pool, size_t max_batch = 512);
  // Waits until what is queued is written.
  ~AuditAppender();
  AuditAppender(const AuditAppender&) = delete;
  AuditAppender& operator=(const AuditAppender&) = delete;

  // Appends `record` and returns its name once committed; throws what the batch's transaction
  // threw (the event is then not written). Must be called without a connection held.
  std::string Append(AuditRecord record);

 private:
  struct Pending;
  void WriteBatch(std::vector<Pending*>& batch);

  ConnectionPool& pool_;
  const size_t max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;  // the destructor waits on it for the last caller
  std::deque<Pending*> queue_;
  // The heads of the chains this appender last wrote (read by the caller writing a batch only).
  std::map<std::string, std::pair<int64_t, std::string>> heads_;
  bool writing_ = false;  // a caller is writing a batch
  int callers_ = 0;       // callers inside Append
  bool stopping_ = false;
};

// The chain of a holder's checks ("<holder id>/checks"), purged after their retention apart
// from the holder's own chain of state changes.
std::string CheckChainOf(const std::string& holder_id);

// Deletes the events of check chain `chain` recorded before `cutoff_micros`, after writing (or
// moving) the chain's signed checkpoint to the last of them, within `tx` (which must hold the
// chain's head: the caller appends the purge's own event to the holder's chain in the same
// transaction). Returns the number of events deleted and the checkpoint's event name, or
// nothing when no event is old enough.
std::optional<std::pair<int64_t, std::string>> PurgeCheckChain(pqxx::transaction_base& tx,
                                                               const std::string& chain,
                                                               int64_t cutoff_micros,
                                                               int64_t now_micros);

// Every check chain ("" : all holders), or that of `holder_id` only.
std::vector<std::string> CheckChains(pqxx::transaction_base& tx, const std::string& holder_id);

// The events about `reference` in the order they were written (`position`), `limit` of them
// after position `after` (0: from the first).
std::vector<AuditRecord> AuditEventsOf(pqxx::transaction_base& tx, const std::string& reference,
                                       int64_t after, int limit);

// The result of recomputing every chain.
struct ChainVerification {
  bool valid = true;
  int64_t events = 0;
  int chains = 0;
  std::string first_bad;  // "auditEvents/{chain}/{seq}"
  std::string problem;
};
// Recomputes every chain from its first event: an edited event (its hash), an inserted or
// deleted one (the sequence and the previous hash), a deleted tail (the head) are found; the
// first bad event is named. Reads in pages, so memory does not grow with the trail.
ChainVerification VerifyAuditChains(pqxx::transaction_base& tx);

}  // namespace ctg::consents
