#pragma once

#include <chrono>

namespace ctg::reporting {

// How long a failed job waits before its next attempt: exponential backoff with full jitter
// (each delay uniformly drawn in [0, min(cap, base * 2^(attempt - 1))]), so that jobs failing
// together on a source service that went down do not all come back at the same instant.
struct RetryPolicy {
  std::chrono::milliseconds base{2000};
  std::chrono::milliseconds cap{std::chrono::minutes(5)};

  // The delay after failed attempt number `attempt` (1, 2, ...), `random01` drawn uniformly in
  // [0, 1) by the caller (tests pass fixed values).
  std::chrono::milliseconds DelayAfter(int attempt, double random01) const;
  // The longest delay DelayAfter can return for `attempt`.
  std::chrono::milliseconds MaxDelayAfter(int attempt) const;
};

}  // namespace ctg::reporting
