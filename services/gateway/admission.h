#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/access.h"
#include "common/token_verifier.h"
#include "gateway/gateway_metrics.h"
#include "gateway/method_catalog.h"
#include "gateway/rate_limiter.h"
#include "gateway/router.h"

namespace ctg::gateway {

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

// What the gateway checks every call against, shared by its two gRPC front ends (the HTTP/2
// relay on the public port and the terminating proxy behind it). Every reference outlives the
// front ends.
struct GatewayChecks {
  const TokenVerifier& verifier;
  RateLimiter& limiter;
  ConcurrencyLimiter& concurrency;
  Router& router;
  const MethodCatalog& catalog;
  GatewayMetrics& metrics;
  RetryBudget& retry_budget;
};

// The headers of a call that admission reads.
struct CallHeaders {
  std::string_view path;             // ":path", "/ctg.partners.v1.PartnerService/GetOrganisation"
  std::string_view authorization;    // "" when absent
  bool has_idempotency_key = false;  // "idempotency-key" or "x-idempotency-key" present
  // The caller's address without its port (PeerAddress): open methods are limited per address.
  std::string peer_address;
};

// The gateway's decision about one call: refused (with the status to answer), answered by the
// gateway itself (merged reflection), or forwarded to `backend`.
struct Admission {
  // OK when admitted; otherwise the status to finish the call with, and `trailers` to send.
  grpc::Status refusal;
  std::vector<std::pair<std::string, std::string>> trailers;
  std::string service = "unknown", method = "unknown";
  std::string principal;                             // the token's subject ("" for open methods)
  std::string caller_key;                            // what the limits count the call against
  GatewayMetrics::MethodMetrics* metrics = nullptr;  // counted as started
  std::shared_ptr<const MethodPolicy> policy;        // null for open methods
  // Counted by the concurrency limiter: ReleaseAdmission must be called when the call ends.
  bool counted_in_flight = false;
  bool local_reflection = false;  // answered by the gateway from every backend's descriptors
  Backend* backend = nullptr;     // where to forward it (admitted and not local)
  // It may be sent again after UNAVAILABLE (IsSafeToRetry).
  bool safe_to_retry = false;
};

// Checks one call in the gateway's order — method path, token (except open methods), rate limit,
// calls in flight, route, the method's declared access as its backend described it (the rule the
// service enforces, so the gateway never refuses what the service allows), then picks a healthy
// backend — and counts it in the gateway's metrics. Credits the retry budget for an admitted call.
Admission AdmitCall(GatewayChecks& checks, const CallHeaders& headers);

// Ends what AdmitCall counted for the duration of the call (the concurrency slot).
void ReleaseAdmission(GatewayChecks& checks, const Admission& admission);

// What the gateway saw of one call once it ended.
struct CallOutcome {
  std::string request_id;
  std::string_view path;  // the method path as received
  std::string backend;    // the last backend address tried ("" when none)
  int code = 0;           // the gRPC status code the caller received
  std::string message;    // its message (logged for a failure)
  double seconds = 0;
  int64_t messages_in = 0, messages_out = 0;
  size_t bytes_in = 0, bytes_out = 0;
  int attempts = 0;
  std::string peer;  // the caller's address as the transport gave it
};

// Counts an ended call in the gateway's metrics and, with `access_log`, writes its one JSON
// access-log line (or appends it to `log_batch`, for EmitLines once the answer has left): what
// both front ends record.
void RecordCall(GatewayChecks& checks, const Admission& admission, const CallOutcome& outcome,
                bool access_log, std::string* log_batch = nullptr);

// Methods any caller may call without a token: health checking and server reflection.
bool IsOpenMethod(std::string_view service);

// Whether a call may be sent again after UNAVAILABLE: methods declared read_only, and calls
// carrying an idempotency key.
bool IsSafeToRetry(const MethodPolicy& policy, bool has_idempotency_key);

// The address of a gRPC peer without its port ("ipv4:10.0.0.1:53124" -> "ipv4:10.0.0.1",
// "ipv6:[::1]:5000" -> "ipv6:[::1]"): calls without a token are limited per address, since each
// new connection has a new port.
std::string PeerAddress(const std::string& peer);

// The name of the reflection service the gateway answers itself.
inline constexpr std::string_view kReflectionService = "grpc.reflection.v1alpha.ServerReflection";

}  // namespace ctg::gateway
