#include "gateway/admission.h"

#include "common/errors.h"
#include "common/log.h"
#include "common/metrics.h"
#include "gateway/tables.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace ctg::gateway {
namespace {

// RESOURCE_EXHAUSTED carrying a google.rpc.RetryInfo with the delay before the next token.
grpc::Status RateLimitedStatus(std::chrono::milliseconds wait) {
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_seconds(wait.count() / 1000);
  retry.mutable_retry_delay()->set_nanos(int32_t(wait.count() % 1000) * 1000000);
  google::rpc::Status detail;
  detail.set_code(grpc::StatusCode::RESOURCE_EXHAUSTED);
  const std::string message =
      "rate limit exceeded; retry in " + std::to_string(wait.count()) + " ms";
  detail.set_message(message);
  detail.add_details()->PackFrom(retry);
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, message, detail.SerializeAsString());
}

}  // namespace

void RetryBudget::Deposit() {
  std::lock_guard lock(mu_);
  tokens_ = std::min(burst_, tokens_ + ratio_);
}

bool RetryBudget::Withdraw() {
  std::lock_guard lock(mu_);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

std::string PeerAddress(const std::string& peer) {
  const auto colon = peer.rfind(':');
  const auto scheme = peer.find(':');
  if (colon == std::string::npos || colon == scheme) return peer;  // no port (unix socket...)
  return peer.substr(0, colon);
}

bool IsOpenMethod(std::string_view service) {
  return service == "grpc.health.v1.Health" || service.rfind("grpc.reflection.", 0) == 0;
}

bool IsSafeToRetry(const MethodPolicy& policy, bool has_idempotency_key) {
  return policy.read_only || has_idempotency_key;
}

Admission AdmitCall(GatewayChecks& checks, const CallHeaders& headers) {
  Admission a;
  const auto refuse = [&a](grpc::StatusCode code, std::string message) {
    a.refusal = grpc::Status(code, std::move(message));
    return a;
  };
  std::string service, method;
  if (!SplitMethodPath(headers.path, &service, &method)) {
    a.metrics = &checks.metrics.ForMethod(a.service, a.method);
    checks.metrics.ServerStarted(*a.metrics);
    return refuse(grpc::StatusCode::UNIMPLEMENTED, "malformed method path");
  }
  a.service = std::move(service);
  a.method = std::move(method);
  a.metrics = &checks.metrics.ForMethod(a.service, a.method);
  checks.metrics.ServerStarted(*a.metrics);
  const bool open = IsOpenMethod(a.service);
  Principal principal;
  if (!open) {
    try {
      principal = checks.verifier.VerifyAuthorizationHeader(headers.authorization);
    } catch (const UnauthenticatedError& e) {
      return refuse(grpc::StatusCode::UNAUTHENTICATED, e.what());
    }
    a.principal = principal.subject;
  }
  // Per principal; open methods per peer address (its port changes with every connection).
  a.caller_key = a.principal.empty() ? "peer:" + headers.peer_address : a.principal;
  const auto wait = checks.limiter.Acquire(a.caller_key);
  if (wait.count() > 0) {
    checks.metrics.Limited("rate");
    a.trailers.emplace_back("retry-after-ms", std::to_string(wait.count()));
    a.refusal = RateLimitedStatus(wait);
    return a;
  }
  if (!checks.concurrency.TryAcquire(a.caller_key)) {
    checks.metrics.Limited("concurrency");
    return refuse(grpc::StatusCode::RESOURCE_EXHAUSTED,
                  "too many calls in flight for this caller (limit " +
                      std::to_string(checks.concurrency.limit()) + ")");
  }
  a.counted_in_flight = true;
  const bool routed = checks.router.Knows(a.service);
  a.local_reflection = a.service == kReflectionService && !routed;
  if (!a.local_reflection && !routed) {
    return refuse(grpc::StatusCode::UNIMPLEMENTED, "unknown service " + a.service);
  }
  if (!open) {
    // The method's declared access, as its backend described it: the very rule the service
    // enforces, so the gateway never refuses what the service allows.
    a.policy = checks.catalog.Policy(headers.path);
    if (a.policy == nullptr) {
      if (!checks.catalog.Knows(a.service)) {
        return refuse(grpc::StatusCode::UNAVAILABLE,
                      "the access rules of " + a.service +
                          " are not known yet (its backends have not described their methods); "
                          "retry later");
      }
      return refuse(grpc::StatusCode::UNIMPLEMENTED,
                    "unknown method " + a.service + "/" + a.method);
    }
    if (!a.policy->Allows(principal)) {
      return refuse(grpc::StatusCode::PERMISSION_DENIED,
                    "no role of the caller may call " + a.policy->FullName() +
                        " (allowed: " + DescribeRoles(*a.policy) + ")");
    }
  }
  if (a.local_reflection) return a;
  a.backend = checks.router.Pick(a.service);
  if (a.backend == nullptr) {
    return refuse(grpc::StatusCode::UNAVAILABLE, "no healthy backend for " + a.service);
  }
  checks.retry_budget.Deposit();
  a.safe_to_retry = a.policy != nullptr && IsSafeToRetry(*a.policy, headers.has_idempotency_key);
  return a;
}

void ReleaseAdmission(GatewayChecks& checks, const Admission& admission) {
  if (admission.counted_in_flight) checks.concurrency.Release(admission.caller_key);
}

void RecordCall(GatewayChecks& checks, const Admission& admission, const CallOutcome& outcome,
                bool access_log, std::string* log_batch) {
  checks.metrics.ServerHandled(*admission.metrics, outcome.code, outcome.seconds,
                               outcome.messages_in, outcome.messages_out);
  if (!access_log) return;
  LogLine line("info");
  line.Add("msg", "access")
      .Add("request_id", outcome.request_id)
      .Add("principal", admission.principal)
      .Add("method", std::string(outcome.path))
      .Add("backend", outcome.backend)
      .Add("code", StatusCodeName(outcome.code))
      .Add("duration_ms", outcome.seconds * 1000)
      .Add("bytes_in", int64_t(outcome.bytes_in))
      .Add("bytes_out", int64_t(outcome.bytes_out))
      .Add("attempts", int64_t(outcome.attempts))
      .Add("peer", outcome.peer);
  if (!outcome.message.empty() && outcome.code != 0) line.Add("error", outcome.message);
  if (log_batch != nullptr) {
    line.AppendTo(log_batch);
  } else {
    line.Emit();
  }
}

}  // namespace ctg::gateway
