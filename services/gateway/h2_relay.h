#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "gateway/admission.h"

namespace ctg::gateway {

// Settings of the gateway's public gRPC listener.
struct RelayOptions {
  // "host:port"; port 0 picks one.
  std::string listen_address = "127.0.0.1:0";
  // PEM certificate chain and key (empty: plaintext, which the gateway allows on loopback only);
  // with `tls_client_ca`, callers must present a certificate it signed (mTLS).
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  // Event-loop threads; each connection (with its connections to the backends) lives on one.
  int threads = 2;
  // Streams a client may open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS).
  int max_concurrent_streams = 100;
  // Largest gRPC request message forwarded (a larger one ends the call: RESOURCE_EXHAUSTED).
  size_t max_message_bytes = 12 * 1024 * 1024;
  // Deadline given to a call that arrives without one (sent on as grpc-timeout).
  std::chrono::milliseconds default_deadline{30000};
  // Attempts per call, the first included (see H2Relay on what is retried).
  int max_attempts = 3;
  // A call is retried only while all it sent fits in this many bytes.
  size_t max_replay_bytes = 64 * 1024;
  // One JSON access-log line per call (RecordCall).
  bool access_log = true;
  // How long an access-log line may wait to be written with others (0: written at once, after
  // the answer). Lines are written when 64 KiB are pending, at this interval, and at Stop.
  std::chrono::milliseconds access_log_flush{20};
  // Where every call the relay does not forward itself goes, unchanged but for kRelayPeerHeader
  // (the caller's address): the gateway's terminating proxy on a private Unix socket
  // ("unix:/path"), which serves the gateway's own health, merged reflection, and answers
  // unknown services and non-gRPC requests.
  std::string fallback_address;
  // A second listener, plaintext, on this Unix socket path ("": none), for the gateway's own
  // browser listener: there, and only there, a call may name its caller's address in
  // kRelayPeerHeader (the socket's directory is the gateway's own, mode 0700).
  std::string private_socket_path;
};

// The gateway's public gRPC port: an HTTP/2 relay. It reads each call's headers, admits it
// exactly like the terminating proxy (AdmitCall: token, rate and concurrency limits, route,
// declared access, healthy backend), then relays the call's HTTP/2 frames to the backend and
// back — messages, metadata, trailers, flow control, cancellation — without decoding gRPC, on the
// thread that read them: no hand-off between threads and no second HTTP/2 stack per call, which
// is what a terminating proxy costs (measured in gateway_bench). Each call still gets its request
// id (x-request-id, kept or generated, sent on and echoed), a deadline, the metrics and the access
// log. A refused call is answered by the relay itself (trailers-only: grpc-status, grpc-message,
// grpc-status-details-bin, retry-after-ms). Retries, within RetryBudget: a call the backend
// never processed (connection refused or lost before it answered, stream refused, GOAWAY) is sent
// to another instance whatever its method; a call answered UNAVAILABLE with nothing else is
// retried when IsSafeToRetry; both only while its request fits in max_replay_bytes, and never
// once a response header reached the caller. Calls for anything but a routed service go to
// `fallback_address`.
class H2Relay {
 public:
  H2Relay(RelayOptions options, GatewayChecks checks);
  ~H2Relay();
  H2Relay(const H2Relay&) = delete;
  H2Relay& operator=(const H2Relay&) = delete;

  // Binds and starts serving; throws std::runtime_error when the address cannot be bound or the
  // certificate does not load.
  void Start();
  // Stops accepting, tells every client to go away (GOAWAY), lets the calls in flight finish
  // within `grace`, then closes every connection and joins the threads.
  void Stop(std::chrono::milliseconds grace);
  // The bound port (after Start).
  int port() const;

  // The relay's state (h2_relay.cc).
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes a grpc-message value (gRPC's HTTP/2 protocol: every byte outside 0x20-0x7E,
// and '%', as %XX).
std::string PercentEncodeGrpcMessage(const std::string& message);

// gRPC's grpc-timeout header value for `timeout` ("30000m"; at most 8 digits, coarser units for
// longer ones).
std::string GrpcTimeoutHeader(std::chrono::milliseconds timeout);

}  // namespace ctg::gateway
