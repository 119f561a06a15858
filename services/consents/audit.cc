#include "consents/audit.h"

#include <array>
#include <map>
#include <set>

#include "common/api.h"
#include "common/auth.h"
#include "common/errors.h"

namespace ctg::consents {
namespace {

// Each field as its length in 8 big-endian bytes, then its bytes: what PostgreSQL writes as
// int8send(octet_length(f)) || convert_to(f, 'UTF8'), so the database can recompute a hash.
void Field(Sha256Stream& h, const std::string& value) {
  uint64_t size = value.size();
  char bytes[8];
  for (int i = 7; i >= 0; --i) {
    bytes[i] = static_cast<char>(size & 0xff);
    size >>= 8;
  }
  h.Update(std::string_view(bytes, sizeof bytes));
  h.Update(value);
}

constexpr char kEventColumns[] =
    "chain, seq, (extract(epoch FROM event_time) * 1000000)::bigint, actor, organisation, "
    "operation, reference, before, after, previous_hash, hash";

AuditRecord RecordFromRow(const pqxx::row& row) {
  AuditRecord r;
  r.chain = row[0].as<std::string>();
  r.seq = row[1].as<int64_t>();
  r.time_micros = row[2].as<int64_t>();
  r.actor = row[3].as<std::string>();
  r.organisation = row[4].as<std::string>();
  r.operation = row[5].as<std::string>();
  r.reference = row[6].as<std::string>();
  r.before = row[7].as<std::string>();
  r.after = row[8].as<std::string>();
  r.previous_hash = row[9].as<std::string>();
  r.hash = row[10].as<std::string>();
  return r;
}

std::string EventName(const std::string& chain, int64_t seq) {
  return "auditEvents/" + chain + "/" + std::to_string(seq);
}

}  // namespace

std::string AuditHash(const AuditRecord& r) {
  Sha256Stream h;
  Field(h, r.previous_hash);
  Field(h, r.chain);
  Field(h, std::to_string(r.seq));
  Field(h, std::to_string(r.time_micros));
  Field(h, r.actor);
  Field(h, r.organisation);
  Field(h, r.operation);
  Field(h, r.reference);
  Field(h, r.before);
  Field(h, r.after);
  return h.HexDigest();
}

std::string AuditHashSql() {
  std::string sql = "encode(sha256(";
  const char* fields[] = {
      "previous_hash", "chain",
      "seq::text",     "((extract(epoch FROM event_time) * 1000000)::bigint)::text",
      "actor",         "organisation",
      "operation",     "reference",
      "before",        "after"};
  bool first = true;
  for (const char* f : fields) {
    if (!first) sql += " || ";
    first = false;
    sql += std::string("int8send(octet_length(") + f + ")) || convert_to(" + f + ", 'UTF8')";
  }
  return sql + "), 'hex')";
}

const std::vector<PreparedStatement>& AuditStatements() {
  static const std::string by_reference = std::string("SELECT ") + kEventColumns +
                                          ", id FROM audit_events WHERE reference = $1 AND "
                                          "id > $2 ORDER BY id LIMIT $3";
  static const std::string page = std::string("SELECT ") + kEventColumns +
                                  " FROM audit_events WHERE (chain, seq) > ($1, $2) "
                                  "ORDER BY chain, seq LIMIT 10000";
  static const std::vector<PreparedStatement> statements = {
      {"audit_by_reference", by_reference.c_str()},
      {"audit_page", page.c_str()},
      {"audit_heads_all", "SELECT chain, seq, hash FROM audit_heads ORDER BY chain"},
      {"audit_key", "SELECT value FROM audit_keys WHERE name = 'checkpoint'"},
      {"audit_key_create",
       "INSERT INTO audit_keys (name, value) VALUES ('checkpoint', "
       "replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')) "
       "ON CONFLICT (name) DO NOTHING"},
      {"audit_checkpoints_all", "SELECT chain, seq, hash, signature FROM audit_checkpoints"},
      {"audit_check_chains",
       "SELECT chain FROM audit_heads WHERE chain LIKE '%/checks' AND ($1 = '' OR chain = $1) "
       "ORDER BY chain"},
      // The last event the purge removes: the one before the first event recorded at or after
      // the cutoff (sequence order is commit order, so a newer check never goes), with how many
      // events remain up to it.
      {"audit_last_before",
       "SELECT e.seq, e.hash, (SELECT count(*) FROM audit_events c WHERE c.chain = $1 AND "
       "c.seq <= e.seq) FROM audit_events e WHERE e.chain = $1 AND e.seq = coalesce((SELECT "
       "min(seq) - 1 FROM audit_events WHERE chain = $1 AND event_time >= 'epoch'::timestamptz "
       "+ $2::bigint * interval '1 microsecond'), (SELECT max(seq) FROM audit_events WHERE "
       "chain = $1))"},
      {"audit_checkpoint_set",
       "INSERT INTO audit_checkpoints (chain, seq, hash, purge_time, purged_events, signature) "
       "VALUES ($1, $2, $3, 'epoch'::timestamptz + $4::bigint * interval '1 microsecond', $5, "
       "$6) ON CONFLICT (chain) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, "
       "purge_time = EXCLUDED.purge_time, purged_events = audit_checkpoints.purged_events + "
       "EXCLUDED.purged_events, signature = EXCLUDED.signature"},
      // The head the appender starts from when it does not know it (created when the chain is
      // new; not locked: the append checks it did not move).
      {"audit_head_read_or_create",
       "WITH created AS (INSERT INTO audit_heads (chain, seq, hash) VALUES ($1, 0, '') "
       "ON CONFLICT (chain) DO NOTHING RETURNING seq, hash) "
       "SELECT seq, hash FROM created UNION ALL SELECT seq, hash FROM audit_heads WHERE chain = "
       "$1"},
      // The appender's batch for one chain, in one statement: the head moves from where the
      // appender left it (seq and hash) to the batch's last event, and the events are written
      // only if it did; no row when the head had moved.
      {"audit_append_after_head",
       "WITH moved AS (UPDATE audit_heads h SET seq = x.s, hash = x.hh FROM unnest($1::text[], "
       "$2::bigint[], $3::text[], $4::bigint[], $5::text[]) AS x(c, os, oh, s, hh) WHERE "
       "h.chain = x.c AND h.seq = x.os AND h.hash = x.oh RETURNING h.chain) "
       "INSERT INTO audit_events (chain, seq, event_time, actor, organisation, operation, "
       "reference, before, after, previous_hash, hash) SELECT c, s, 'epoch'::timestamptz + t * "
       "interval '1 microsecond', a, o, op, r, b, af, p, h FROM unnest($6::text[], $7::bigint[], "
       "$8::bigint[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], "
       "$14::text[], $15::text[], $16::text[]) AS x(c, s, t, a, o, op, r, b, af, p, h) WHERE "
       "x.c IN (SELECT chain FROM moved) RETURNING seq"},
      // Runs as the schema's owner (migration 005): the service's own role may not delete.
      {"audit_purge_delete", "SELECT purge_checked_events($1)"},
      // Creates the heads that do not exist yet and locks them all, returning each one's last
      // sequence and hash, in one statement (an upsert locks the row it meets).
      {"audit_heads_lock_many",
       "INSERT INTO audit_heads AS h (chain, seq, hash) SELECT c, 0, '' FROM "
       "unnest($1::text[]) c ORDER BY c ON CONFLICT (chain) DO UPDATE SET seq = h.seq "
       "RETURNING chain, seq, hash"},
      // The batch's events and the chains' new heads, in one statement.
      {"audit_insert_many",
       "WITH events AS (INSERT INTO audit_events (chain, seq, event_time, actor, organisation, "
       "operation, reference, before, after, previous_hash, hash) SELECT c, s, "
       "'epoch'::timestamptz + t * interval '1 microsecond', a, o, op, r, b, af, p, h FROM "
       "unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], "
       "$7::text[], $8::text[], $9::text[], $10::text[], $11::text[]) AS x(c, s, t, a, o, op, "
       "r, b, af, p, h)) UPDATE audit_heads h SET seq = x.s, hash = x.hh FROM "
       "unnest($12::text[], $13::bigint[], $14::text[]) AS x(c, s, hh) WHERE h.chain = x.c"},
  };
  return statements;
}

namespace {

// Each chain's last sequence and hash.
using Heads = std::map<std::string, std::pair<int64_t, std::string>>;

// The events of `records`, chained after `heads` (their sequences, previous hashes and hashes
// filled in; `heads` moved to the chains' new ends), as the eleven array literals of
// audit_events' columns in table order, and the events' names.
struct ChainedEvents {
  std::vector<std::string> columns;
  std::vector<std::string> names;
};

ChainedEvents ChainAfter(const std::vector<AuditRecord*>& records, Heads& heads) {
  std::vector<std::vector<std::string>> cols(11);
  ChainedEvents out;
  for (auto* rec : records) {
    auto& head = heads[rec->chain];
    rec->seq = ++head.first;
    rec->previous_hash = head.second;
    rec->hash = AuditHash(*rec);
    head.second = rec->hash;
    const std::string values[] = {rec->chain,
                                  std::to_string(rec->seq),
                                  std::to_string(rec->time_micros),
                                  rec->actor,
                                  rec->organisation,
                                  rec->operation,
                                  rec->reference,
                                  rec->before,
                                  rec->after,
                                  rec->previous_hash,
                                  rec->hash};
    for (size_t i = 0; i < cols.size(); ++i) cols[i].push_back(values[i]);
    out.names.push_back(EventName(rec->chain, rec->seq));
  }
  for (const auto& col : cols) out.columns.push_back(PgArrayLiteral(col));
  return out;
}

// The chains of `heads` with their sequences and hashes, as three array literals.
std::array<std::string, 3> HeadArrays(const Heads& heads) {
  std::vector<std::string> chains, seqs, hashes;
  for (const auto& [chain, head] : heads) {
    chains.push_back(chain);
    seqs.push_back(std::to_string(head.first));
    hashes.push_back(head.second);
  }
  return {PgArrayLiteral(chains), PgArrayLiteral(seqs), PgArrayLiteral(hashes)};
}

std::vector<std::string> ChainsOf(const std::vector<AuditRecord*>& records) {
  std::set<std::string> chains;
  for (const auto* r : records) chains.insert(r->chain);
  return {chains.begin(), chains.end()};
}

}  // namespace

std::vector<std::string> AppendAuditEvents(pqxx::transaction_base& tx,
                                           const std::vector<AuditRecord*>& records) {
  Heads heads;
  for (const auto& row :
       tx.exec_prepared("audit_heads_lock_many", PgArrayLiteral(ChainsOf(records)))) {
    heads[row[0].as<std::string>()] = {row[1].as<int64_t>(), row[2].as<std::string>()};
  }
  const ChainedEvents e = ChainAfter(records, heads);
  const auto h = HeadArrays(heads);
  const auto& c = e.columns;
  tx.exec_prepared("audit_insert_many", c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9],
                   c[10], h[0], h[1], h[2]);
  return e.names;
}

std::string AppendAudit(pqxx::transaction_base& tx, AuditRecord& record) {
  return AppendAuditEvents(tx, {&record}).front();
}

struct AuditAppender::Pending {
  AuditRecord record;
  bool done = false;  // its batch is committed (or failed: error)
  bool lead = false;  // it was handed the writing of the next batch
  std::string name;
  std::exception_ptr error;
  // Its own: a finished batch wakes exactly its callers and the next leader, not every waiter
  // (measured: waking all of them on each commit cost more CPU than the checks themselves).
  std::condition_variable cv;
};

AuditAppender::AuditAppender(ConnectionPool& pool, size_t max_batch)
    : pool_(pool), max_batch_(max_batch) {}

AuditAppender::~AuditAppender() {
  std::unique_lock lock(mu_);
  stopping_ = true;
  // Every caller has left Append (not only been served), so the mutex outlives them.
  cv_.wait(lock, [this] { return callers_ == 0; });
}

std::string AuditAppender::Append(AuditRecord record) {
  RequireNoConnectionHeld("waiting for the audit trail");
  Pending pending;
  pending.record = std::move(record);
  std::unique_lock lock(mu_);
  if (stopping_) throw UnavailableError("the service is stopping");
  ++callers_;
  queue_.push_back(&pending);
  // The first caller to find no batch being written writes the queue itself: its own event and
  // those that arrived meanwhile; then it hands the writing over to the first caller still
  // queued. The others wait for their batch.
  if (writing_) {
    pending.cv.wait(lock, [&] { return pending.done || pending.lead; });
  } else {
    writing_ = true;
    pending.lead = true;
  }
  while (!pending.done) {
    std::vector<Pending*> batch;
    while (!queue_.empty() && batch.size() < max_batch_) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    lock.unlock();
    WriteBatch(batch);
    lock.lock();
    for (auto* p : batch) {
      p->done = true;
      if (p != &pending) p->cv.notify_one();  // under the lock: it cannot leave before
    }
  }
  if (pending.lead) {
    // This caller wrote: the next one queued leads, or nobody writes.
    if (queue_.empty()) {
      writing_ = false;
    } else {
      queue_.front()->lead = true;
      queue_.front()->cv.notify_one();
    }
  }
  if (--callers_ == 0) cv_.notify_all();
  if (pending.error) std::rethrow_exception(pending.error);
  return pending.name;
}

void AuditAppender::WriteBatch(std::vector<Pending*>& batch) {
  // One statement per chain of the batch (usually one), each its own transaction: it moves the
  // chain's head from where this appender last left it and writes the chain's events, or does
  // neither when another writer moved the head meanwhile (then the head is read again). One
  // round trip, and a single row lock per statement, so it never deadlocks with AppendAudit.
  std::map<std::string, std::vector<Pending*>> by_chain;
  for (auto* p : batch) by_chain[p->record.chain].push_back(p);
  for (auto& [chain, pendings] : by_chain) {
    std::vector<AuditRecord*> records;
    for (auto* p : pendings) records.push_back(&p->record);
    try {
      for (int attempt = 1;; ++attempt) {
        bool written = false;
        WithAutocommit(pool_, [&](pqxx::transaction_base& tx) {
          auto known = heads_.find(chain);
          if (known == heads_.end()) {
            const auto row = tx.exec_prepared1("audit_head_read_or_create", chain);
            known =
                heads_
                    .emplace(chain, std::make_pair(row[0].as<int64_t>(), row[1].as<std::string>()))
                    .first;
          }
          const Heads start = {{chain, known->second}};
          Heads after = start;
          const ChainedEvents e = ChainAfter(records, after);
          const auto from = HeadArrays(start);
          const auto to = HeadArrays(after);
          const auto& c = e.columns;
          const auto inserted =
              tx.exec_prepared("audit_append_after_head", from[0], from[1], from[2], to[1], to[2],
                               c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10]);
          written = !inserted.empty();
          if (written) {
            heads_[chain] = after[chain];
            for (size_t i = 0; i < pendings.size(); ++i) pendings[i]->name = e.names[i];
          } else {
            heads_.erase(chain);
          }
        });
        if (written) break;
        if (attempt == 8) {
          throw UnavailableError("the audit trail kept moving under other writers; retry");
        }
      }
    } catch (...) {
      heads_.erase(chain);  // unknown again
      const auto error = std::current_exception();
      for (auto* p : pendings) p->error = error;
    }
  }
}

std::vector<AuditRecord> AuditEventsOf(pqxx::transaction_base& tx, const std::string& reference,
                                       int64_t after, int limit) {
  std::vector<AuditRecord> out;
  for (const auto& row : tx.exec_prepared("audit_by_reference", reference, after, limit)) {
    out.push_back(RecordFromRow(row));
    out.back().position = row[11].as<int64_t>();
  }
  return out;
}

namespace {

std::string CheckpointSignature(const std::string& key, const std::string& chain, int64_t seq,
                                const std::string& hash) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::string mac = HmacSha256(key, chain + "|" + std::to_string(seq) + "|" + hash);
  std::string hex;
  for (unsigned char c : mac) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  return hex;
}

}  // namespace

std::string CheckChainOf(const std::string& holder_id) { return holder_id + "/checks"; }

std::vector<std::string> CheckChains(pqxx::transaction_base& tx, const std::string& holder_id) {
  std::vector<std::string> out;
  for (const auto& row :
       tx.exec_prepared("audit_check_chains", holder_id.empty() ? "" : CheckChainOf(holder_id))) {
    out.push_back(row[0].as<std::string>());
  }
  return out;
}

std::optional<std::pair<int64_t, std::string>> PurgeCheckChain(pqxx::transaction_base& tx,
                                                               const std::string& chain,
                                                               int64_t cutoff_micros,
                                                               int64_t now_micros) {
  // Heads are locked in name order, as a batch of the appender locks them: the holder's chain
  // ("<holder>", where the purge's own event goes) before its check chain ("<holder>/checks").
  const std::string holder_chain = chain.substr(0, chain.find('/'));
  tx.exec_prepared("audit_heads_lock_many", PgArrayLiteral({holder_chain, chain}));
  const auto last = tx.exec_prepared("audit_last_before", chain, cutoff_micros);
  if (last.empty()) return std::nullopt;
  const int64_t seq = last[0][0].as<int64_t>();
  const std::string hash = last[0][1].as<std::string>();
  const int64_t count = last[0][2].as<int64_t>();
  tx.exec_prepared("audit_key_create");
  const std::string key = tx.exec_prepared1("audit_key")[0].as<std::string>();
  tx.exec_prepared("audit_checkpoint_set", chain, seq, hash, now_micros, count,
                   CheckpointSignature(key, chain, seq, hash));
  tx.exec_prepared("audit_purge_delete", chain);
  return std::make_pair(count, EventName(chain, seq));
}

ChainVerification VerifyAuditChains(pqxx::transaction_base& tx) {
  ChainVerification v;
  // No key yet means no purge yet: any checkpoint found then is forged.
  const auto key_row = tx.exec_prepared("audit_key");
  const std::string key = key_row.empty() ? "" : key_row[0][0].as<std::string>();
  struct Checkpoint {
    int64_t seq;
    std::string hash;
    bool signed_ok;
  };
  std::map<std::string, Checkpoint> checkpoints;
  for (const auto& row : tx.exec_prepared("audit_checkpoints_all")) {
    const std::string chain = row[0].as<std::string>();
    const int64_t seq = row[1].as<int64_t>();
    const std::string hash = row[2].as<std::string>();
    checkpoints[chain] = {
        seq, hash,
        !key.empty() && CheckpointSignature(key, chain, seq, hash) == row[3].as<std::string>()};
  }
  std::map<std::string, std::pair<int64_t, std::string>> heads;
  for (const auto& row : tx.exec_prepared("audit_heads_all")) {
    heads[row[0].as<std::string>()] = {row[1].as<int64_t>(), row[2].as<std::string>()};
  }
  auto fail = [&](const std::string& name, const std::string& problem) {
    if (!v.valid) return;
    v.valid = false;
    v.first_bad = name;
    v.problem = problem;
  };
  std::string chain, after_chain;
  int64_t expected_seq = 1, after_seq = 0;
  std::string previous;
  auto close_chain = [&] {
    if (chain.empty()) return;
    ++v.chains;
    auto head = heads.find(chain);
    if (head == heads.end() || head->second.first != expected_seq - 1 ||
        head->second.second != previous) {
      fail(EventName(chain, expected_seq),
           "the chain ends before its recorded head (events deleted at its end, or the head "
           "changed)");
    }
    heads.erase(chain);
  };
  for (;;) {
    auto page = tx.exec_prepared("audit_page", after_chain, after_seq);
    if (page.empty()) break;
    for (const auto& row : page) {
      AuditRecord r = RecordFromRow(row);
      after_chain = r.chain;
      after_seq = r.seq;
      if (r.chain != chain) {
        close_chain();
        chain = r.chain;
        expected_seq = 1;
        previous.clear();
        // A purged chain starts after its checkpoint, which must carry the schema's signature.
        auto cp = checkpoints.find(chain);
        if (cp != checkpoints.end()) {
          if (!cp->second.signed_ok) {
            fail(EventName(chain, cp->second.seq), "its purge checkpoint is not signed (forged)");
          }
          expected_seq = cp->second.seq + 1;
          previous = cp->second.hash;
        }
      }
      ++v.events;
      const std::string name = EventName(r.chain, r.seq);
      if (r.seq != expected_seq) {
        fail(EventName(r.chain, expected_seq),
             "missing from the chain (deleted), or an event inserted with another sequence");
      } else if (r.previous_hash != previous) {
        fail(name, "does not follow the previous event (an event inserted or deleted before it)");
      } else if (AuditHash(r) != r.hash) {
        fail(name, "its content does not match its hash (edited)");
      }
      previous = r.hash;
      expected_seq = r.seq + 1;
    }
  }
  close_chain();
  for (const auto& [lost, head] : heads) {
    // A chain purged up to its head has no event left: its checkpoint is its head.
    auto cp = checkpoints.find(lost);
    if (cp != checkpoints.end() && cp->second.signed_ok && cp->second.seq == head.first &&
        cp->second.hash == head.second) {
      ++v.chains;
      continue;
    }
    if (head.first > 0) fail(EventName(lost, 1), "every event of this chain is missing");
  }
  return v;
}

}  // namespace ctg::consents
