#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/db.h"
#include "reporting/retry_policy.h"

namespace ctg::reporting {

using TimePoint = std::chrono::system_clock::time_point;

// What a report is (convention art. 8 and 11): an annual review (point d'étape) of a year, the
// mid-term bilan intermédiaire, the bilan final. Numbers as stored (and as in the API).
enum class ReportKind : int { kAnnualReview = 1, kIntermediateReview = 2, kFinalReview = 3 };

enum class JobState : int {
  kAvailable = 1,  // waiting to be claimed (possibly not before run_after: a retry)
  kRunning = 2,    // claimed under a lease
  kSucceeded = 3,
  kFailed = 4,  // every attempt failed
  kCancelled = 5,
};

// What identifies a report asked for: the same key twice is the same job.
struct JobKey {
  std::string convention;  // "conventions/{uuid}"
  ReportKind kind = ReportKind::kAnnualReview;
  int year = 0;        // the annual review's year; 0 for the bilans
  std::string cutoff;  // "YYYY-MM-DD": data known at this date
};

struct Job {
  std::string id;
  int64_t seq = 0;  // insertion order (lists)
  JobKey key;
  int version = 1;
  JobState state = JobState::kAvailable;
  int attempt = 0;  // attempts started so far (a claim starts one)
  int max_attempts = 0;
  TimePoint run_after;  // available: not before; running: end of the lease
  std::string lease_owner;
  std::string stage;
  int percent = 0;
  std::string last_error;
  std::string report;  // "reports/{uuid}" once succeeded
  std::string requested_by;
  TimePoint created_at;
  std::optional<TimePoint> finished_at;
};

struct QueueOptions {
  // How long a claim lasts without a heartbeat: a worker killed mid-job loses its job this long
  // after its last heartbeat, and another worker takes it.
  std::chrono::milliseconds lease{std::chrono::seconds(15)};
  RetryPolicy retry;
  int max_attempts = 5;
};

// Depth and age of the queue (metrics).
struct QueueStats {
  int64_t available = 0;  // claimable now or after their backoff
  int64_t running = 0;
  std::chrono::seconds oldest_available_age{0};  // since the oldest available job was asked
};

// The named statements of the queue (for the pool).
const std::vector<PreparedStatement>& JobQueueStatements();

// The report jobs of schema `reporting` in PostgreSQL. Every method is one statement, so workers
// on several machines share the queue safely: a claim locks the row it takes and skips rows
// other claimers hold (FOR UPDATE SKIP LOCKED); every change a worker makes to a job it runs is
// guarded by its lease (lease_owner), so a worker that lost its lease changes nothing. `now` is
// the caller's clock (injected).
class JobQueue {
 public:
  JobQueue(ConnectionPool& pool, QueueOptions options);

  // The job of `key` (the latest version), created when there is none or when `new_version`
  // asks for the next one. Returns it and whether it was created. Two concurrent callers of the
  // same key get the same job: the unique key decides, not a prior read.
  std::pair<Job, bool> Enqueue(const JobKey& key, bool new_version, const std::string& requested_by,
                               TimePoint now);

  // Claims the available job that has waited longest, or a running one whose lease expired
  // (its worker died), for `worker` under a new lease; starts an attempt. Nothing when no job
  // is claimable. A job whose attempts are all used up when its lease expires is marked failed
  // instead ("lease lost"), and the next one is looked at.
  std::optional<Job> Claim(const std::string& worker, TimePoint now);

  // The methods below act on a job as `claim` (what Claim returned) holds it: they change it
  // only while that claim is current (same lease owner, same attempt), so a worker whose lease
  // expired and whose job another worker took changes nothing.

  // Renews the lease and records the progress. False when the claim is no longer current
  // (taken over, or the job cancelled): the worker must stop.
  bool Heartbeat(const Job& claim, const std::string& stage, int percent, TimePoint now);

  // Marks the job succeeded with its report. False (nothing changed) when the claim is stale.
  bool Complete(const Job& claim, const std::string& report, TimePoint now);

  // The same within `tx`, so that what the job produced is written in the transaction that
  // marks it succeeded: nothing is kept when the claim turns out stale (the caller rolls back).
  bool CompleteIn(pqxx::transaction_base& tx, const Job& claim, const std::string& report,
                  TimePoint now);

  // Records a failed attempt: the job becomes available again after the retry delay (drawn
  // with `random01` in [0, 1)), or failed for good once its attempts are used up. False when
  // the claim is stale.
  bool Fail(const Job& claim, const std::string& error, TimePoint now, double random01);

  // Cancels a job that has not finished: a running one's worker learns it at its next
  // heartbeat. False when it had finished already or does not exist.
  bool Cancel(const std::string& id, TimePoint now);

  std::optional<Job> Get(const std::string& id);

  // The jobs of `convention`, newest first: `limit` of them with a sequence below `before`
  // (0: from the newest).
  std::vector<Job> ListOf(const std::string& convention, int64_t before, int limit);

  // Deletes finished jobs (succeeded, failed, cancelled) that finished before `before`, except
  // those whose report exists (the same request keeps giving that report); returns how many.
  int64_t Prune(TimePoint before);

  QueueStats Stats(TimePoint now);

  const QueueOptions& options() const { return options_; }

 private:
  ConnectionPool& pool_;
  const QueueOptions options_;
};

}  // namespace ctg::reporting
