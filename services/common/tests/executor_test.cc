#include <gtest/gtest.h>

#include <atomic>
#include <future>

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

}  // namespace
}  // namespace ctg
