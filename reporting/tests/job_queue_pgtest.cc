// The report job queue on a real PostgreSQL: one job per request, claims that never overlap,
// leases that expire, retries with backoff, cancellation, pruning. Every instant comes from a
// fixed clock the test moves.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "common/testing/test_database.h"
#include "reporting/job_notifier.h"
#include "reporting/job_queue.h"

namespace ctg {
const MigrationSet& ReportingMigrations();
}  // namespace ctg

namespace ctg::reporting {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// 2026-06-01T08:00:00Z, whatever today is.
const TimePoint kT0 = TimePoint(seconds(1780300800));

class JobQueueTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new testing::TestDatabase({&ReportingMigrations()});
    // As deployed: the workers' role holds only what the runtime grants it.
    pqxx::connection owner(db_->url());
    const RuntimeRole role{testing::kTestRuntimeRole, {}};
    ApplyMigrations(owner, ReportingMigrations(), &role);
  }
  static void TearDownTestSuite() { delete db_; }
  void SetUp() override {
    db_->Truncate("reporting");
    pool_ = std::make_unique<ConnectionPool>(
        PoolOptions{db_->runtime_url(), "reporting", 8, milliseconds(5000)}, JobQueueStatements());
  }
  // A queue with `lease` and `attempts`, retries after 1 s doubling up to 10 s.
  JobQueue Queue(milliseconds lease = seconds(2), int attempts = 3) {
    QueueOptions options;
    options.lease = lease;
    options.max_attempts = attempts;
    options.retry = RetryPolicy{seconds(1), seconds(10)};
    return JobQueue(*pool_, options);
  }
  static JobKey Key(int year = 2026, const std::string& convention =
                                         "conventions/0b6f6c9e-3f2a-4a57-9d51-5f1c2a7e8d40") {
    return JobKey{convention, ReportKind::kAnnualReview, year, std::to_string(year) + "-12-31"};
  }

  static testing::TestDatabase* db_;
  std::unique_ptr<ConnectionPool> pool_;
};
testing::TestDatabase* JobQueueTest::db_ = nullptr;

TEST_F(JobQueueTest, TheSameRequestTwiceIsTheSameJobAndANewVersionIsAnother) {
  JobQueue queue = Queue();
  const auto [first, created] = queue.Enqueue(Key(), false, "copil", kT0);
  EXPECT_TRUE(created);
  EXPECT_EQ(first.state, JobState::kAvailable);
  EXPECT_EQ(first.version, 1);
  EXPECT_EQ(first.key.cutoff, "2026-12-31");
  const auto [again, created_again] = queue.Enqueue(Key(), false, "someone-else", kT0);
  EXPECT_FALSE(created_again);
  EXPECT_EQ(again.id, first.id);
  EXPECT_EQ(again.requested_by, "copil");
  const auto [second, created_second] = queue.Enqueue(Key(), true, "copil", kT0);
  EXPECT_TRUE(created_second);
  EXPECT_NE(second.id, first.id);
  EXPECT_EQ(second.version, 2);
  // Without asking for a new one, the latest version is the answer.
  EXPECT_EQ(queue.Enqueue(Key(), false, "copil", kT0).first.id, second.id);
  // Another year or convention is another report.
  EXPECT_TRUE(queue.Enqueue(Key(2027), false, "copil", kT0).second);
}

TEST_F(JobQueueTest, EveryChangeOfAJobIsAnnouncedWhenItCommits) {
  JobNotifier notifier(db_->runtime_url());
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (!notifier.listening() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_TRUE(notifier.listening());
  std::atomic<int> called{0};
  notifier.OnChange([&] { ++called; });
  // Nothing happens: nothing is announced (the wait times out).
  uint64_t seen = notifier.changes();
  EXPECT_EQ(notifier.WaitForChange(seen, milliseconds(300)), seen);
  JobQueue queue = Queue();
  queue.Enqueue(Key(), false, "copil", kT0);  // a new job
  seen = notifier.WaitForChange(seen, seconds(10));
  EXPECT_GE(seen, 1u);
  const auto claim = queue.Claim("w1", kT0);  // claimed
  ASSERT_TRUE(claim);
  const uint64_t claimed = notifier.WaitForChange(seen, seconds(10));
  EXPECT_GT(claimed, seen);
  EXPECT_TRUE(queue.Complete(*claim, "reports/x", kT0));  // finished
  EXPECT_GT(notifier.WaitForChange(claimed, seconds(10)), claimed);
  EXPECT_GE(called.load(), 3);
}

TEST_F(JobQueueTest, ConcurrentRequestsOfOneReportMakeOneJob) {
  JobQueue queue = Queue();
  std::mutex mu;
  std::set<std::string> ids;
  std::atomic<int> created{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&] {
      const auto [job, made] = queue.Enqueue(Key(), false, "copil", kT0);
      if (made) ++created;
      std::lock_guard lock(mu);
      ids.insert(job.id);
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(ids.size(), 1u);
}

TEST_F(JobQueueTest, WorkersSharingTheQueueNeverClaimTheSameJob) {
  JobQueue queue = Queue(seconds(60));
  for (int year = 2000; year < 2040; ++year) queue.Enqueue(Key(year), false, "copil", kT0);
  std::mutex mu;
  std::multiset<std::string> claimed;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      const std::string name = "worker-" + std::to_string(w);
      while (auto job = queue.Claim(name, kT0)) {
        EXPECT_EQ(job->lease_owner, name);
        EXPECT_TRUE(queue.Complete(*job, "reports/" + job->id, kT0));
        std::lock_guard lock(mu);
        claimed.insert(job->id);
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(claimed.size(), 40u);
  EXPECT_EQ(std::set<std::string>(claimed.begin(), claimed.end()).size(), 40u);  // once each
  EXPECT_EQ(queue.Stats(kT0).available, 0);
}

TEST_F(JobQueueTest, AStoppedWorkerLosesItsJobWhenItsLeaseEndsAndTheJobIsFinishedOnce) {
  JobQueue queue = Queue(seconds(2));
  const Job asked = queue.Enqueue(Key(), false, "copil", kT0).first;
  const auto first = queue.Claim("worker-a", kT0);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, asked.id);
  EXPECT_EQ(first->attempt, 1);
  // While the lease runs nobody else gets it.
  EXPECT_FALSE(queue.Claim("worker-b", kT0 + seconds(1)));
  // worker-a stops heart-beating; after its lease another worker takes the job over.
  const auto second = queue.Claim("worker-b", kT0 + seconds(3));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->id, asked.id);
  EXPECT_EQ(second->attempt, 2);
  // worker-a, back, changes nothing: its heartbeat tells it to stop, its result is refused.
  EXPECT_FALSE(queue.Heartbeat(*first, "render", 50, kT0 + seconds(3)));
  EXPECT_FALSE(queue.Complete(*first, "reports/from-a", kT0 + seconds(3)));
  EXPECT_FALSE(queue.Fail(*first, "late", kT0 + seconds(3), 0.5));
  EXPECT_TRUE(queue.Complete(*second, "reports/from-b", kT0 + seconds(4)));
  const auto done = queue.Get(asked.id);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, JobState::kSucceeded);
  EXPECT_EQ(done->report, "reports/from-b");
  EXPECT_EQ(done->finished_at, kT0 + seconds(4));
  EXPECT_FALSE(queue.Claim("worker-c", kT0 + seconds(60)));  // finished: never claimed again
}

TEST_F(JobQueueTest, HeartbeatsKeepTheLeaseAndRecordTheProgress) {
  JobQueue queue = Queue(seconds(2));
  queue.Enqueue(Key(), false, "copil", kT0);
  const auto job = queue.Claim("worker-a", kT0);
  ASSERT_TRUE(job);
  ASSERT_TRUE(queue.Heartbeat(*job, "gather", 30, kT0 + milliseconds(1500)));
  EXPECT_FALSE(queue.Claim("worker-b", kT0 + seconds(3)));  // renewed until T0 + 3.5 s
  const auto seen = queue.Get(job->id);
  EXPECT_EQ(seen->stage, "gather");
  EXPECT_EQ(seen->percent, 30);
  EXPECT_EQ(seen->run_after, kT0 + milliseconds(3500));
  EXPECT_TRUE(queue.Claim("worker-b", kT0 + seconds(4)));
}

TEST_F(JobQueueTest, AFailedAttemptIsRetriedAfterItsBackoffThenFailsForGood) {
  JobQueue queue = Queue(seconds(30), /*attempts=*/3);
  const Job asked = queue.Enqueue(Key(), false, "copil", kT0).first;
  TimePoint now = kT0;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    const auto job = queue.Claim("worker-a", now);
    ASSERT_TRUE(job) << attempt;
    EXPECT_EQ(job->attempt, attempt);
    ASSERT_TRUE(queue.Fail(*job, "partners unavailable", now, 0.5));
    const auto after = queue.Get(asked.id);
    if (attempt < 3) {
      EXPECT_EQ(after->state, JobState::kAvailable);
      // Half of 1 s, 2 s: the drawn share of the doubling delay.
      const auto delay = milliseconds(500 << (attempt - 1));
      EXPECT_EQ(after->run_after, now + delay);
      EXPECT_FALSE(queue.Claim("worker-a", now + delay - milliseconds(1)));
      now += delay;
    } else {
      EXPECT_EQ(after->state, JobState::kFailed);
      EXPECT_EQ(after->last_error, "partners unavailable");
      EXPECT_EQ(after->finished_at, now);
    }
  }
  EXPECT_FALSE(queue.Claim("worker-a", now + seconds(600)));
}

TEST_F(JobQueueTest, ALeaseLostOnTheLastAttemptFailsTheJobWithTheReason) {
  JobQueue queue = Queue(seconds(2), /*attempts=*/1);
  const Job asked = queue.Enqueue(Key(), false, "copil", kT0).first;
  ASSERT_TRUE(queue.Claim("worker-a", kT0));
  // The worker dies; the next claim finds nothing to run and fails the job, with why.
  EXPECT_FALSE(queue.Claim("worker-b", kT0 + seconds(5)));
  const auto after = queue.Get(asked.id);
  EXPECT_EQ(after->state, JobState::kFailed);
  EXPECT_NE(after->last_error.find("lost its lease"), std::string::npos) << after->last_error;
}

TEST_F(JobQueueTest, ACancelledJobStopsItsWorkerAtTheNextHeartbeat) {
  JobQueue queue = Queue();
  const Job asked = queue.Enqueue(Key(), false, "copil", kT0).first;
  const auto job = queue.Claim("worker-a", kT0);
  ASSERT_TRUE(job);
  EXPECT_TRUE(queue.Cancel(asked.id, kT0 + seconds(1)));
  EXPECT_FALSE(queue.Heartbeat(*job, "render", 60, kT0 + seconds(1)));
  EXPECT_FALSE(queue.Complete(*job, "reports/x", kT0 + seconds(1)));
  EXPECT_EQ(queue.Get(asked.id)->state, JobState::kCancelled);
  EXPECT_FALSE(queue.Cancel(asked.id, kT0 + seconds(2)));  // finished already
}

TEST_F(JobQueueTest, PruningDeletesOnlyJobsFinishedBeforeTheRetention) {
  JobQueue queue = Queue(seconds(60));
  for (int year = 2020; year < 2024; ++year) queue.Enqueue(Key(year), false, "copil", kT0);
  auto a = queue.Claim("w", kT0);
  ASSERT_TRUE(queue.Complete(*a, "reports/a", kT0));
  auto b = queue.Claim("w", kT0);
  ASSERT_TRUE(queue.Complete(*b, "reports/b", kT0 + std::chrono::hours(24 * 40)));
  auto running = queue.Claim("w", kT0);  // the third stays running, the fourth available
  ASSERT_TRUE(running);
  EXPECT_EQ(queue.Prune(kT0 + std::chrono::hours(24 * 30)), 1);  // only a
  EXPECT_FALSE(queue.Get(a->id));
  EXPECT_TRUE(queue.Get(b->id));
  EXPECT_TRUE(queue.Get(running->id));
  const auto stats = queue.Stats(kT0 + seconds(90));
  EXPECT_EQ(stats.available, 1);
  EXPECT_EQ(stats.running, 1);
  EXPECT_EQ(stats.oldest_available_age, seconds(90));
}

}  // namespace
}  // namespace ctg::reporting
