#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ctg::gateway {

// Per-key token buckets (the key is the caller's principal). Each key gets `burst` tokens that
// refill at `rate_per_second`; a call takes one. Thread-safe. Idle full buckets are dropped
// once the table grows, so memory stays bounded by the number of active callers.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // A rate of 0 disables limiting.
  RateLimiter(double rate_per_second, double burst);

  // Takes one token for `key`. Returns zero when the call may proceed, otherwise how long the
  // caller should wait before a token is available (the call must be refused).
  std::chrono::milliseconds Acquire(const std::string& key, Clock::time_point now = Clock::now());

  bool enabled() const { return rate_ > 0; }

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  void EvictIdle(Clock::time_point now);

  const double rate_;
  const double burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// Counts the calls in flight per key (the caller's principal) and refuses one beyond `limit`:
// a caller opening many connections still gets at most `limit` calls at once. Thread-safe.
class ConcurrencyLimiter {
 public:
  // A limit of 0 disables limiting.
  explicit ConcurrencyLimiter(int limit) : limit_(limit) {}

  // Counts one more call for `key`; false (nothing counted) when `key` is at the limit.
  bool TryAcquire(const std::string& key);
  // Ends one call counted by TryAcquire.
  void Release(const std::string& key);
  int limit() const { return limit_; }

 private:
  const int limit_;
  std::mutex mu_;
  std::unordered_map<std::string, int> in_flight_;  // keys with no call are erased
};

}  // namespace ctg::gateway
