#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "common/api.h"
#include "common/rpc.h"

namespace ctg {
namespace {

TEST(ExecutorTest, RunsEveryQueuedTaskBeforeStopping) {
  std::atomic<int> ran{0};
  {
    Executor executor(2);
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(executor.TryPost([&] { ++ran; }));
  }
  EXPECT_EQ(ran.load(), 100);
}

// Posters racing with workers that fall asleep and wake up (the hand-off): every task runs
// exactly once, and a task posted while every worker sleeps is not left waiting.
TEST(ExecutorTest, EveryTaskFromRacingPostersRunsOnceAndNoneWaitsForTheNext) {
  constexpr int kPosters = 4, kPerPoster = 5000;
  std::vector<std::atomic<int>> runs(kPosters * kPerPoster);
  {
    Executor executor(3, /*max_queued=*/kPosters * kPerPoster);
    std::vector<std::thread> posters;
    for (int p = 0; p < kPosters; ++p) {
      posters.emplace_back([&, p] {
        for (int i = 0; i < kPerPoster; ++i) {
          const int slot = p * kPerPoster + i;
          ASSERT_TRUE(executor.TryPost([&runs, slot] { ++runs[slot]; }));
          if (i % 500 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
      });
    }
    for (auto& t : posters) t.join();
    // Workers now idle; one lone task must be picked up without another post behind it.
    for (int i = 0; i < 20; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      auto ran = std::make_shared<std::promise<void>>();  // outlives a failed wait
      ASSERT_TRUE(executor.TryPost([ran] { ran->set_value(); }));
      ASSERT_EQ(ran->get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
    }
  }
  for (size_t i = 0; i < runs.size(); ++i) ASSERT_EQ(runs[i].load(), 1) << "task " << i;
}

TEST(ExecutorTest, RefusesWorkBeyondItsQueueBound) {
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> started;
  Executor executor(1, /*max_queued=*/2);
  // The single worker blocks on the gate, so later tasks stay queued.
  ASSERT_TRUE(executor.TryPost([&] {
    started.set_value();
    gate.wait();
  }));
  started.get_future().wait();
  EXPECT_TRUE(executor.TryPost([] {}));
  EXPECT_TRUE(executor.TryPost([] {}));
  EXPECT_FALSE(executor.TryPost([] {}));  // full: refused, not queued
  release.set_value();
}

// Request ids and resource ids: canonical lower-case version-4 UUIDs, never the same twice.
TEST(NewUuidTest, IsAVersion4UuidInCanonicalFormAndNeverRepeats) {
  std::set<std::string> seen;
  for (int i = 0; i < 5000; ++i) {
    const std::string id = NewUuid();
    ASSERT_TRUE(IsUuid(id)) << id;
    EXPECT_EQ(id[14], '4') << id;                                          // version
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;  // RFC 4122 variant
    EXPECT_TRUE(seen.insert(id).second) << id;
  }
}

}  // namespace
}  // namespace ctg
