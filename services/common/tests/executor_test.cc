#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>

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
