#pragma once

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <mutex>
#include <string>

#include "common/token_verifier.h"
#include "gateway/admission.h"
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
  // One JSON access-log line per call on stderr.
  bool access_log = true;
  // Unary methods learnt from the backends are forwarded with one batch each way; false
  // forwards every call as a stream (the general path, which works for any call shape).
  bool unary_fast_path = true;
  // Calls arrive from the gateway's own relay (on a socket only it can reach): the caller's
  // address is read from kRelayPeerHeader, set by the relay, instead of the connection's peer.
  bool trust_relay_peer_header = false;
};

// The header in which the gateway's HTTP/2 relay tells the proxy behind it the caller's address
// (see ProxyOptions::trust_relay_peer_header); never forwarded to a backend.
inline constexpr char kRelayPeerHeader[] = "x-ctg-relay-peer";

// The transparent proxy: a generic callback service that accepts every method, checks the
// caller (token, rate limit, route, the method's declared access as its backend described it),
// then forwards raw messages both ways
// to a healthy backend, with metadata, deadline, cancellation, trailing metadata and status.
class GatewayProxy : public grpc::CallbackGenericService {
 public:
  // Every reference must outlive the service (and the server it is registered with).
  // Unary methods known to `catalog` take a fast path; the others are forwarded as streams.
  GatewayProxy(GatewayChecks checks, ProxyOptions options);

  // Creates the reactor that serves one call (gRPC calls this for every unregistered method).
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override;

 private:
  friend class ProxyCall;
  GatewayChecks checks_;
  const ProxyOptions options_;
};

}  // namespace ctg::gateway
