#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/server_builder_option.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "common/config.h"
#include "common/metrics.h"
#include "common/process.h"
#include "common/rpc.h"
#include "common/token_verifier.h"
#include "gateway/connect.h"
#include "gateway/gateway_metrics.h"
#include "gateway/h2_relay.h"
#include "gateway/method_catalog.h"
#include "gateway/proxy.h"
#include "gateway/rate_limiter.h"
#include "gateway/router.h"
#include "gateway/tables.h"

namespace ctg::gateway {

// Settings of the gateway. Each comes from a flag (--listen=...) or its environment variable
// (flags win); see LoadGatewayConfig for the names.
struct GatewayConfig {
  std::string listen_address = "127.0.0.1:0";  // --listen / CTG_GATEWAY_LISTEN
  // --http-listen / CTG_GATEWAY_HTTP_LISTEN: the browser listener (Connect protocol over
  // HTTP/1.1, ConnectListener), with the same TLS certificate (no client certificate asked);
  // "" or "off": none. Plain HTTP only on a loopback address, like --plaintext.
  std::string http_listen_address;
  // --console-dir / CTG_GATEWAY_CONSOLE_DIR: the web console's files, served by the browser
  // listener from the same origin ("": none).
  std::string console_dir;
  // --dev-sign-in=true / CTG_GATEWAY_DEV_SIGN_IN: POST /dev/sign-in mints short-lived HS256
  // tokens for a chosen role and organisation (development only: needs the HS256 key and a
  // loopback browser listener).
  bool dev_sign_in = false;
  // The console's production sign-in (OpenID Connect, authorization code with PKCE, see
  // ConnectOptions): --oidc-authorization-endpoint, --oidc-token-endpoint, --oidc-client-id
  // (all three or none; https URLs, http only on loopback; needs --jwt-public-keys-file with the
  // provider's keys) and --oidc-scope (default "openid"), each also CTG_GATEWAY_OIDC_*.
  std::string oidc_authorization_endpoint;
  std::string oidc_token_endpoint;
  std::string oidc_client_id;
  std::string oidc_scope = "openid";
  std::string metrics_address = "127.0.0.1:0";  // --metrics-listen / CTG_GATEWAY_METRICS_LISTEN
  // Where the services are, one of: the service manifest (--manifest-file /
  // CTG_GATEWAY_MANIFEST_FILE, deploy/services.json), or a routes table listing instances
  // (--routes-file / CTG_GATEWAY_ROUTES_FILE).
  std::string manifest_text;
  std::string routes_text;
  JwtConfig jwt;  // the token settings, read like the services' (see JwtConfig)
  // TLS on the public port: PEM certificate chain and key (--tls-cert-file, --tls-key-file);
  // with --tls-client-ca-file, callers must present a certificate signed by that CA (mTLS).
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  // --plaintext=true / CTG_GATEWAY_PLAINTEXT: serve without TLS; refused unless the listen
  // address is loopback.
  bool plaintext = false;
  double rate_limit_rps = 50;     // --rate-limit-rps: per principal; 0 disables
  double rate_limit_burst = 100;  // --rate-limit-burst
  // --max-message-bytes: defaults to the limit of every ctg endpoint (kMaxMessageBytes).
  int max_message_bytes = kMaxMessageBytes;
  int max_concurrent_streams = 100;  // --max-concurrent-streams: per client connection
  // --max-calls-per-caller: calls in flight per principal (per peer address for open methods),
  // whatever the number of connections; 0 disables.
  int max_calls_per_caller = 200;
  std::chrono::milliseconds default_deadline{30000};  // --default-deadline-ms
  std::chrono::milliseconds health_interval{1000};    // --health-interval-ms
  int retry_max_attempts = 3;                         // --retry-max-attempts (1 = no retry)
  bool access_log = true;                             // --access-log=true|false
  // --access-log-flush-ms: how long the relay's access-log lines may wait to be written
  // together (0: each loop turn's lines at once, after their answers).
  std::chrono::milliseconds access_log_flush{20};
  // --unary-fast-path=true|false: forward the unary methods learnt from the backends with one
  // batch each way (false: every call as a stream).
  bool unary_fast_path = true;
  // --h2-relay=true|false / CTG_GATEWAY_H2_RELAY: the public port is the HTTP/2 relay (H2Relay),
  // with the terminating proxy behind it on a private socket; false: the terminating proxy
  // itself listens on the public port (the way to compare both, see gateway_bench).
  bool h2_relay = true;
  std::chrono::seconds shutdown_grace{10};  // --shutdown-grace-seconds
  std::string port_file;                    // --port-file: written with "grpc_port metrics_port"
};

// Reads and validates the configuration (files included); throws ConfigError naming the first
// bad setting.
GatewayConfig LoadGatewayConfig(int argc, const char* const* argv);

// A server builder option that removes gRPC's reflection plugin from that one server (the plugin
// registers itself for every server of the process).
std::unique_ptr<grpc::ServerBuilderOption> WithoutReflectionPlugin();

// Removes the private socket directories ("ctg-gateway.*" in `parent`, the temporary directory)
// of this user's gateways that ended without their shutdown (killed): nothing listens on their
// proxy socket any more, and they are older than a minute (a gateway starting now is left alone).
void RemoveStalePrivateDirs(const std::filesystem::path& parent);

// Whether `address` ("host:port") names a loopback interface.
bool IsLoopbackAddress(const std::string& address);

// The gateway process: the public gRPC port (TLS or loopback plaintext) served by the HTTP/2 relay
// (H2Relay) with the transparent proxy (GatewayProxy) and the gateway's own grpc.health.v1 behind
// it on a private socket (or the proxy alone on the public port: GatewayConfig::h2_relay), the
// browser listener, backend health checking and the metrics port.
class Gateway : public Daemon {
 public:
  // Parses the routing table; throws ConfigError. Who may call what is not configured here: it is
  // each method's declared access, learnt from the backends with their methods.
  explicit Gateway(GatewayConfig config);
  ~Gateway() override;

  // Checks every backend once, then starts listening; throws ConfigError if it cannot.
  void Start() override;
  // Stops accepting calls, lets in-flight calls finish within the grace period, then stops.
  void Shutdown() override;

  int port() const { return port_; }
  int metrics_port() const;
  // The browser listener's port (0 without one).
  int http_port() const { return connect_ ? connect_->port() : 0; }
  Router& router() { return *router_; }
  const MethodCatalog& catalog() const { return catalog_; }
  GatewayMetrics& metrics() { return metrics_; }

 private:
  void UpdateOwnHealth();
  // What both front ends check calls against.
  GatewayChecks checks();
  // Reads the methods of `backend`'s service from its server reflection into the catalog.
  void LearnMethods(Backend* backend);

  GatewayConfig config_;
  std::vector<ServiceRoute> routes_;
  GatewayMetrics metrics_;
  std::unique_ptr<MetricsEndpoint> metrics_endpoint_;
  std::unique_ptr<TokenVerifier> verifier_;
  RateLimiter limiter_;
  ConcurrencyLimiter concurrency_;
  std::unique_ptr<Router> router_;
  MethodCatalog catalog_;
  // Each call earns a tenth of a retry, up to 10 saved: retries stay ~10% of traffic when a
  // backend fails.
  RetryBudget retry_budget_{0.1, 10};
  std::unique_ptr<GatewayProxy> proxy_;
  std::unique_ptr<H2Relay> relay_;
  std::string private_dir_;  // the proxy's socket directory behind the relay
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ConnectListener> connect_;
  int port_ = 0;
  bool stopped_ = false;
};

// The whole `main` of ctg-gateway: RunDaemonMain with the gateway's configuration.
int RunGatewayMain(int argc, char** argv);

}  // namespace ctg::gateway
