#include "reporting/job_queue.h"

#include <algorithm>

#include "common/api.h"
#include "common/rpc.h"

namespace ctg::reporting {
namespace {

// Every job column, in Job's order, instants as microseconds since the epoch.
#define CTG_JOB_COLUMNS                                                                     \
  "id::text, convention, kind, year, cutoff::text, version, state, attempt, max_attempts, " \
  "(extract(epoch FROM run_after) * 1000000)::bigint, coalesce(lease_owner, ''), stage, "   \
  "percent, last_error, report, requested_by, (extract(epoch FROM created_at) * "           \
  "1000000)::bigint, "                                                                      \
  "(extract(epoch FROM finished_at) * 1000000)::bigint, seq"
#define CTG_MICROS(n) "'epoch'::timestamptz + $" #n "::bigint * interval '1 microsecond'"

const std::vector<PreparedStatement> kStatements = {
    {"job_insert",
     "INSERT INTO report_jobs (id, convention, kind, year, cutoff, version, state, max_attempts, "
     "run_after, requested_by, created_at) SELECT $1::uuid, $2, $3, $4, $5::date, CASE WHEN $6 "
     "THEN coalesce(max(version), 0) + 1 ELSE 1 END, 1, $7, " CTG_MICROS(8) ", $9, " CTG_MICROS(
         8) " FROM report_jobs WHERE convention = $2 AND kind = $3 AND year = $4 AND cutoff = "
            "$5::date ON CONFLICT (convention, kind, year, cutoff, version) DO NOTHING "
            "RETURNING " CTG_JOB_COLUMNS},
    {"job_latest",
     "SELECT " CTG_JOB_COLUMNS
     " FROM report_jobs WHERE convention = $1 AND kind = $2 AND year = $3 AND cutoff = $4::date "
     "ORDER BY version DESC LIMIT 1"},
    // The candidate is locked and others skip it; a running job is a candidate only once its
    // lease has ended. One whose attempts are used up is failed instead of started again.
    {"job_claim",
     "UPDATE report_jobs j SET "
     "state = CASE WHEN j.attempt >= j.max_attempts THEN 4 ELSE 2 END, "
     "attempt = CASE WHEN j.attempt >= j.max_attempts THEN j.attempt ELSE j.attempt + 1 END, "
     "lease_owner = CASE WHEN j.attempt >= j.max_attempts THEN NULL ELSE $1 END, "
     "run_after = " CTG_MICROS(
         2) " + $3::bigint * interval '1 millisecond', "
            "stage = CASE WHEN j.attempt >= j.max_attempts THEN j.stage ELSE 'claimed' END, "
            "percent = CASE WHEN j.attempt >= j.max_attempts THEN j.percent ELSE 0 END, "
            "last_error = CASE WHEN j.attempt >= j.max_attempts THEN 'every attempt failed; the "
            "last "
            "one lost its lease (its worker stopped)' ELSE j.last_error END, "
            "finished_at = CASE WHEN j.attempt >= j.max_attempts THEN " CTG_MICROS(
                2) " END "
                   "FROM (SELECT id AS candidate FROM report_jobs WHERE state IN (1, 2) AND "
                   "run_after <= " CTG_MICROS(2) " ORDER BY run_after, seq LIMIT 1 FOR UPDATE SKIP "
                                                 "LOCKED) c WHERE j.id = c.candidate "
                                                 "RETURNING " CTG_JOB_COLUMNS},
    {"job_heartbeat",
     "UPDATE report_jobs SET run_after = " CTG_MICROS(
         4) " + $5::bigint * interval '1 millisecond', stage = $6, percent = $7 WHERE id = "
            "$1::uuid AND state = 2 AND lease_owner = $2 AND attempt = $3"},
    {"job_complete",
     "UPDATE report_jobs SET state = 3, report = $5, lease_owner = NULL, stage = 'done', "
     "percent = 100, finished_at = " CTG_MICROS(
         4) " WHERE id = $1::uuid AND state = 2 AND lease_owner = $2 AND attempt = $3"},
    {"job_fail",
     "UPDATE report_jobs SET state = CASE WHEN attempt >= max_attempts THEN 4 ELSE 1 END, "
     "run_after = " CTG_MICROS(
         4) " + $5::bigint * interval '1 millisecond', last_error = $6, "
            "lease_owner = NULL, finished_at = CASE WHEN attempt >= max_attempts THEN " CTG_MICROS(
                4) " END WHERE id = $1::uuid AND state = 2 AND lease_owner = $2 AND attempt = $3"},
    {"job_cancel",
     "UPDATE report_jobs SET state = 5, lease_owner = NULL, finished_at = " CTG_MICROS(
         2) " WHERE id = $1::uuid AND state IN (1, 2)"},
    {"job_get", "SELECT " CTG_JOB_COLUMNS " FROM report_jobs WHERE id = $1::uuid"},
    {"job_list",
     "SELECT " CTG_JOB_COLUMNS
     " FROM report_jobs WHERE convention = $1 AND ($2 = 0 OR seq < $2) ORDER BY seq DESC "
     "LIMIT $3"},
    // A job whose report exists stays: it is what makes the same request give the same report.
    {"job_prune",
     "DELETE FROM report_jobs j WHERE state IN (3, 4, 5) AND finished_at < " CTG_MICROS(
         1) " AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.job = j.id)"},
    {"job_stats",
     "SELECT count(*) FILTER (WHERE state = 1), count(*) FILTER (WHERE state = 2), "
     "coalesce(extract(epoch FROM max(" CTG_MICROS(
         1) " - created_at) FILTER (WHERE state = "
            "1))::bigint, 0) FROM report_jobs WHERE state IN (1, 2)"},
};

#undef CTG_MICROS
#undef CTG_JOB_COLUMNS

TimePoint AtMicros(int64_t micros) { return TimePoint(std::chrono::microseconds(micros)); }

Job JobFromRow(const pqxx::row& row) {
  Job j;
  j.id = row[0].as<std::string>();
  j.key.convention = row[1].as<std::string>();
  j.key.kind = static_cast<ReportKind>(row[2].as<int>());
  j.key.year = row[3].as<int>();
  j.key.cutoff = row[4].as<std::string>();
  j.version = row[5].as<int>();
  j.state = static_cast<JobState>(row[6].as<int>());
  j.attempt = row[7].as<int>();
  j.max_attempts = row[8].as<int>();
  j.run_after = AtMicros(row[9].as<int64_t>());
  j.lease_owner = row[10].as<std::string>();
  j.stage = row[11].as<std::string>();
  j.percent = row[12].as<int>();
  j.last_error = row[13].as<std::string>();
  j.report = row[14].as<std::string>();
  j.requested_by = row[15].as<std::string>();
  j.created_at = AtMicros(row[16].as<int64_t>());
  if (!row[17].is_null()) j.finished_at = AtMicros(row[17].as<int64_t>());
  j.seq = row[18].as<int64_t>();
  return j;
}

int64_t Micros(TimePoint t) { return MicrosSinceEpoch(t); }

}  // namespace

const std::vector<PreparedStatement>& JobQueueStatements() { return kStatements; }

JobQueue::JobQueue(ConnectionPool& pool, QueueOptions options)
    : pool_(pool), options_(std::move(options)) {}

std::pair<Job, bool> JobQueue::Enqueue(const JobKey& key, bool new_version,
                                       const std::string& requested_by, TimePoint now) {
  std::pair<Job, bool> out;
  WithAutocommit(pool_, [&](pqxx::transaction_base& tx) {
    const int kind = static_cast<int>(key.kind);
    const auto inserted =
        tx.exec_prepared("job_insert", NewUuid(), key.convention, kind, key.year, key.cutoff,
                         new_version, options_.max_attempts, Micros(now), requested_by);
    if (!inserted.empty()) {
      out = {JobFromRow(inserted[0]), true};
      return;
    }
    // The key existed (or a concurrent caller created that version first): the latest one.
    out = {JobFromRow(tx.exec_prepared1("job_latest", key.convention, kind, key.year, key.cutoff)),
           false};
  });
  return out;
}

std::optional<Job> JobQueue::Claim(const std::string& worker, TimePoint now) {
  std::optional<Job> out;
  WithAutocommit(pool_, [&](pqxx::transaction_base& tx) {
    // Each pass takes one job; one found with its attempts used up is failed and passed over.
    for (int passes = 0; passes < 100; ++passes) {
      const auto r = tx.exec_prepared("job_claim", worker, Micros(now),
                                      static_cast<int64_t>(options_.lease.count()));
      if (r.empty()) return;
      Job job = JobFromRow(r[0]);
      if (job.state == JobState::kRunning) {
        out = std::move(job);
        return;
      }
    }
  });
  return out;
}

bool JobQueue::Heartbeat(const Job& claim, const std::string& stage, int percent, TimePoint now) {
  bool current = false;
  WithAutocommit(pool_, [&](pqxx::transaction_base& tx) {
    current = tx.exec_prepared("job_heartbeat", claim.id, claim.lease_owner, claim.attempt,
                               Micros(now), static_cast<int64_t>(options_.lease.count()), stage,
                               std::clamp(percent, 0, 100))
                  .affected_rows() == 1;
  });
  return current;
}

bool JobQueue::Complete(const Job& claim, const std::string& report, TimePoint now) {
  bool current = false;
  WithAutocommit(pool_, [&](pqxx::transaction_base& tx) {
    current = tx.exec_prepared("job_complete", claim.id, claim.lease_owner, claim.attempt,
                               Micros(now), report)
                  .affected_rows() == 1;
  });
  return current;
}

bool JobQueue::CompleteIn(pqxx::transaction_base& tx, const Job& claim, const std::string& report,
                          TimePoint now) {
  return tx.exec_prepared("job_complete", claim.id, claim.lease_owner, claim.attempt, Micros(now),
                          report)
             .affected_rows() == 1;
}

bool JobQueue::Fail(const Job& claim, const std::string& error, TimePoint now, double random01) {
  const auto delay = options_.retry.DelayAfter(claim.attempt, random01);
  bool current = false;
  WithAutocommit(pool_, [&](pqxx::transaction_base& tx) {
    current = tx.exec_prepared("job_fail", claim.id, claim.lease_owner, claim.attempt, Micros(now),
                               static_cast<int64_t>(delay.count()), error)
                  .affected_rows() == 1;
  });
  return current;
}

bool JobQueue::Cancel(const std::string& id, TimePoint now) {
  bool cancelled = false;
  WithAutocommit(pool_, [&](pqxx::transaction_base& tx) {
    cancelled = tx.exec_prepared("job_cancel", id, Micros(now)).affected_rows() == 1;
  });
  return cancelled;
}

std::optional<Job> JobQueue::Get(const std::string& id) {
  std::optional<Job> out;
  WithSingleStatementRead(pool_, [&](pqxx::transaction_base& tx) {
    const auto r = tx.exec_prepared("job_get", id);
    if (!r.empty()) out = JobFromRow(r[0]);
  });
  return out;
}

std::vector<Job> JobQueue::ListOf(const std::string& convention, int64_t before, int limit) {
  std::vector<Job> out;
  WithSingleStatementRead(pool_, [&](pqxx::transaction_base& tx) {
    for (const auto& row : tx.exec_prepared("job_list", convention, before, limit)) {
      out.push_back(JobFromRow(row));
    }
  });
  return out;
}

int64_t JobQueue::Prune(TimePoint before) {
  int64_t pruned = 0;
  WithAutocommit(pool_, [&](pqxx::transaction_base& tx) {
    pruned = tx.exec_prepared("job_prune", Micros(before)).affected_rows();
  });
  return pruned;
}

QueueStats JobQueue::Stats(TimePoint now) {
  QueueStats stats;
  WithSingleStatementRead(pool_, [&](pqxx::transaction_base& tx) {
    const auto row = tx.exec_prepared1("job_stats", Micros(now));
    stats.available = row[0].as<int64_t>();
    stats.running = row[1].as<int64_t>();
    stats.oldest_available_age = std::chrono::seconds(row[2].as<int64_t>());
  });
  return stats;
}

}  // namespace ctg::reporting
