#include "reporting/retry_policy.h"

#include <algorithm>

namespace ctg::reporting {

std::chrono::milliseconds RetryPolicy::MaxDelayAfter(int attempt) const {
  // Doubling stops at the cap (and long before the count could overflow).
  std::chrono::milliseconds delay = base;
  for (int i = 1; i < attempt && delay < cap; ++i) delay *= 2;
  return std::min(delay, cap);
}

std::chrono::milliseconds RetryPolicy::DelayAfter(int attempt, double random01) const {
  const double r = std::clamp(random01, 0.0, 1.0);
  return std::chrono::milliseconds(
      static_cast<long long>(r * static_cast<double>(MaxDelayAfter(attempt).count())));
}

}  // namespace ctg::reporting
