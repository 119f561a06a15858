#include "gateway/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace ctg::gateway {
namespace {
constexpr size_t kEvictThreshold = 10000;
}

RateLimiter::RateLimiter(double rate_per_second, double burst)
    : rate_(rate_per_second), burst_(std::max(1.0, burst)) {}

std::chrono::milliseconds RateLimiter::Acquire(const std::string& key, Clock::time_point now) {
  if (rate_ <= 0) return std::chrono::milliseconds(0);
  std::lock_guard lock(mu_);
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!inserted) {
    const double elapsed = std::chrono::duration<double>(now - b.updated).count();
    if (elapsed > 0) {
      b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
      b.updated = now;
    }
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    if (inserted && buckets_.size() > kEvictThreshold) EvictIdle(now);
    return std::chrono::milliseconds(0);
  }
  const double wait_s = (1.0 - b.tokens) / rate_;
  return std::chrono::milliseconds(std::max<int64_t>(1, int64_t(std::ceil(wait_s * 1000))));
}

void RateLimiter::EvictIdle(Clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double elapsed = std::chrono::duration<double>(now - it->second.updated).count();
    if (it->second.tokens + elapsed * rate_ >= burst_) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

bool ConcurrencyLimiter::TryAcquire(const std::string& key) {
  if (limit_ <= 0) return true;
  std::lock_guard lock(mu_);
  int& n = in_flight_[key];
  if (n >= limit_) return false;
  ++n;
  return true;
}

void ConcurrencyLimiter::Release(const std::string& key) {
  if (limit_ <= 0) return;
  std::lock_guard lock(mu_);
  auto it = in_flight_.find(key);
  if (it != in_flight_.end() && --it->second <= 0) in_flight_.erase(it);
}

}  // namespace ctg::gateway
