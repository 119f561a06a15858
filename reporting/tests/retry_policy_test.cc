// The retry delays of failed report jobs: exponential, capped, fully jittered.
#include "reporting/retry_policy.h"

#include <gtest/gtest.h>

namespace ctg::reporting {
namespace {

using std::chrono::milliseconds;

TEST(RetryPolicyTest, TheLongestDelayDoublesUpToTheCap) {
  const RetryPolicy policy{milliseconds(2000), milliseconds(60000)};
  EXPECT_EQ(policy.MaxDelayAfter(1), milliseconds(2000));
  EXPECT_EQ(policy.MaxDelayAfter(2), milliseconds(4000));
  EXPECT_EQ(policy.MaxDelayAfter(3), milliseconds(8000));
  EXPECT_EQ(policy.MaxDelayAfter(5), milliseconds(32000));
  EXPECT_EQ(policy.MaxDelayAfter(6), milliseconds(60000));     // 64 s capped
  EXPECT_EQ(policy.MaxDelayAfter(1000), milliseconds(60000));  // no overflow
}

TEST(RetryPolicyTest, EachDelayIsDrawnBetweenZeroAndTheLongest) {
  const RetryPolicy policy{milliseconds(1000), milliseconds(10000)};
  EXPECT_EQ(policy.DelayAfter(3, 0.0), milliseconds(0));
  EXPECT_EQ(policy.DelayAfter(3, 0.5), milliseconds(2000));
  EXPECT_EQ(policy.DelayAfter(3, 0.999), milliseconds(3996));
  // Out-of-range draws are clamped rather than trusted.
  EXPECT_EQ(policy.DelayAfter(3, 7.0), milliseconds(4000));
  EXPECT_EQ(policy.DelayAfter(3, -1.0), milliseconds(0));
}

}  // namespace
}  // namespace ctg::reporting
