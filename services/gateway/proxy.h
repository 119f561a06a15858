#pragma once

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <mutex>
#include <string>

#include "common/token_verifier.h"
#include "gateway/gateway_metrics.h"
#include "gateway/method_catalog.h"
#include "gateway/rate_limiter.h"
#include "gateway/router.h"
#include "gateway/tables.h"

namespace ctg::gateway {

// Behaviour of the proxy for every call.
struct ProxyOptions {
  // Deadline given to a call that arrives without one.
  std::chrono::milliseconds default_deadline{30000};
  // Attempts per call (first one included) for calls that are safe to retry on UNAVAILABLE.
  int max_attempts = 3;
  // A call is only retried while every request message it sent fits in this many bytes.
  size_t max_replay_bytes = 64 * 1024;
  // Retry budget: each call earns `retry_ratio` retry tokens, up to `retry_burst`; a retry
  // spends one. Bounds retries to ~10% of traffic when a backend fails.
  double retry_ratio = 0.1;
  double retry_burst = 10;
  // One JSON access-log line per call on stderr.
  bool access_log = true;
  // Unary methods learnt from the backends are forwarded with one batch each way; false
  // forwards every call as a stream (the general path, which works for any call shape).
  bool unary_fast_path = true;
};

// A bounded budget of retries shared by every call (thread-safe).
class RetryBudget {
 public:
  RetryBudget(double ratio, double burst) : ratio_(ratio), burst_(burst), tokens_(burst) {}
  // Credits one call.
  void Deposit();
  // Takes one retry token; false when the budget is spent.
  bool Withdraw();

 private:
  const double ratio_;
  const double burst_;
  std::mutex mu_;
  double tokens_;
};

// The address of a gRPC peer without its port ("ipv4:10.0.0.1:53124" -> "ipv4:10.0.0.1",
// "ipv6:[::1]:5000" -> "ipv6:[::1]"): calls without a token are limited per address, since each
// new connection has a new port.
std::string PeerAddress(const std::string& peer);

// Methods any caller may call without a token: health checking and server reflection.
bool IsOpenMethod(std::string_view service);

// Whether a call may be sent again after UNAVAILABLE: methods declared read_only, and calls
// carrying an "idempotency-key" / "x-idempotency-key" header.
bool IsSafeToRetry(const MethodPolicy& policy,
                   const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);

// The transparent proxy: a generic callback service that accepts every method, checks the
// caller (token, rate limit, route, the method's declared access as its backend described it),
// then forwards raw messages both ways
// to a healthy backend, with metadata, deadline, cancellation, trailing metadata and status.
class GatewayProxy : public grpc::CallbackGenericService {
 public:
  // Every reference must outlive the service (and the server it is registered with).
  // Unary methods known to `catalog` take a fast path; the others are forwarded as streams.
  GatewayProxy(const TokenVerifier& verifier, RateLimiter& limiter, ConcurrencyLimiter& concurrency,
               Router& router, const MethodCatalog& catalog, GatewayMetrics& metrics,
               ProxyOptions options);

  // Creates the reactor that serves one call (gRPC calls this for every unregistered method).
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override;

 private:
  friend class ProxyCall;
  const TokenVerifier& verifier_;
  RateLimiter& limiter_;
  ConcurrencyLimiter& concurrency_;
  Router& router_;
  const MethodCatalog& catalog_;
  GatewayMetrics& metrics_;
  const ProxyOptions options_;
  RetryBudget retry_budget_;
};

}  // namespace ctg::gateway
