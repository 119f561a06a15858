#include "gateway/gateway.h"

#include <arpa/inet.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/config.h"
#include "common/jwt_keys.h"
#include "common/log.h"
#include "common/token_cache.h"
#include "gateway/manifest.h"

namespace ctg::gateway {
namespace {

constexpr Setting kListen{"listen", "CTG_GATEWAY_LISTEN"};
constexpr Setting kHttpListen{"http-listen", "CTG_GATEWAY_HTTP_LISTEN"};
constexpr Setting kConsoleDir{"console-dir", "CTG_GATEWAY_CONSOLE_DIR"};
constexpr Setting kDevSignIn{"dev-sign-in", "CTG_GATEWAY_DEV_SIGN_IN"};
constexpr Setting kOidcAuthorize{"oidc-authorization-endpoint",
                                 "CTG_GATEWAY_OIDC_AUTHORIZATION_ENDPOINT"};
constexpr Setting kOidcToken{"oidc-token-endpoint", "CTG_GATEWAY_OIDC_TOKEN_ENDPOINT"};
constexpr Setting kOidcClient{"oidc-client-id", "CTG_GATEWAY_OIDC_CLIENT_ID"};
constexpr Setting kOidcScope{"oidc-scope", "CTG_GATEWAY_OIDC_SCOPE"};
constexpr Setting kMetrics{"metrics-listen", "CTG_GATEWAY_METRICS_LISTEN"};
constexpr Setting kRoutes{"routes-file", "CTG_GATEWAY_ROUTES_FILE"};
constexpr Setting kManifest{"manifest-file", "CTG_GATEWAY_MANIFEST_FILE"};
constexpr Setting kTlsCert{"tls-cert-file", "CTG_GATEWAY_TLS_CERT_FILE"};
constexpr Setting kTlsKey{"tls-key-file", "CTG_GATEWAY_TLS_KEY_FILE"};
constexpr Setting kTlsClientCa{"tls-client-ca-file", "CTG_GATEWAY_TLS_CLIENT_CA_FILE"};
constexpr Setting kPlaintext{"plaintext", "CTG_GATEWAY_PLAINTEXT"};
constexpr Setting kRateRps{"rate-limit-rps", "CTG_GATEWAY_RATE_LIMIT_RPS"};
constexpr Setting kRateBurst{"rate-limit-burst", "CTG_GATEWAY_RATE_LIMIT_BURST"};
constexpr Setting kMaxMessage{"max-message-bytes", "CTG_GATEWAY_MAX_MESSAGE_BYTES"};
constexpr Setting kMaxStreams{"max-concurrent-streams", "CTG_GATEWAY_MAX_CONCURRENT_STREAMS"};
constexpr Setting kMaxCalls{"max-calls-per-caller", "CTG_GATEWAY_MAX_CALLS_PER_CALLER"};
constexpr Setting kDeadline{"default-deadline-ms", "CTG_GATEWAY_DEFAULT_DEADLINE_MS"};
constexpr Setting kHealth{"health-interval-ms", "CTG_GATEWAY_HEALTH_INTERVAL_MS"};
constexpr Setting kRetry{"retry-max-attempts", "CTG_GATEWAY_RETRY_MAX_ATTEMPTS"};
constexpr Setting kAccessLog{"access-log", "CTG_GATEWAY_ACCESS_LOG"};
constexpr Setting kAccessLogFlush{"access-log-flush-ms", "CTG_GATEWAY_ACCESS_LOG_FLUSH_MS"};
constexpr Setting kFastPath{"unary-fast-path", "CTG_GATEWAY_UNARY_FAST_PATH"};
constexpr Setting kRelay{"h2-relay", "CTG_GATEWAY_H2_RELAY"};
constexpr Setting kGrace{"shutdown-grace-seconds", "CTG_SHUTDOWN_GRACE_SECONDS"};
constexpr Setting kPortFile{"port-file", "CTG_GATEWAY_PORT_FILE"};
constexpr Setting kAll[] = {kManifest,   kListen,     kMetrics,     kRoutes,        kFastPath,
                            kTlsCert,    kTlsKey,     kTlsClientCa, kPlaintext,     kRateRps,
                            kRateBurst,  kMaxMessage, kMaxStreams,  kDeadline,      kHealth,
                            kRetry,      kAccessLog,  kGrace,       kPortFile,      kMaxCalls,
                            kHttpListen, kConsoleDir, kDevSignIn,   kOidcAuthorize, kOidcToken,
                            kOidcClient, kOidcScope,  kRelay,       kAccessLogFlush};

using Reader = SettingsReader;

// An identity provider's endpoint: https, or http on a loopback host (a test's provider), read
// strictly (ParseUrlOrigin: no user information, no spaces).
bool IsProviderUrl(const std::string& url) {
  const auto origin = ParseUrlOrigin(url);
  if (!origin) return false;
  return origin->scheme == "https" || IsLoopbackAddress(origin->host_port);
}

// The console's production sign-in: all three settings or none, URLs of a provider, and the
// provider's public keys (its tokens are RS256/ES256; an HS256 key is never shared with it).
void CheckOidcSettings(const GatewayConfig& c) {
  const bool any = !c.oidc_authorization_endpoint.empty() || !c.oidc_token_endpoint.empty() ||
                   !c.oidc_client_id.empty();
  if (!any) return;
  if (c.oidc_authorization_endpoint.empty() || c.oidc_token_endpoint.empty() ||
      c.oidc_client_id.empty()) {
    throw ConfigError("settings " + Reader::Describe(kOidcAuthorize) + ", " +
                      Reader::Describe(kOidcToken) + " and " + Reader::Describe(kOidcClient) +
                      " go together");
  }
  for (const Setting* s : {&kOidcAuthorize, &kOidcToken}) {
    const std::string& url =
        s == &kOidcAuthorize ? c.oidc_authorization_endpoint : c.oidc_token_endpoint;
    if (!IsProviderUrl(url)) {
      throw ConfigError("setting " + Reader::Describe(*s) +
                        " must be an https:// URL (http:// only on a loopback host)");
    }
  }
  if (c.oidc_scope.find_first_of("\"\\<>") != std::string::npos || c.oidc_scope.empty()) {
    throw ConfigError("setting " + Reader::Describe(kOidcScope) +
                      " must be space-separated scopes");
  }
  if (c.jwt.public_keys.empty()) {
    throw ConfigError("settings " + Reader::Describe(kOidcToken) +
                      " needs the provider's public keys (--jwt-public-keys-file)");
  }
  if (c.http_listen_address.empty() || c.console_dir.empty()) {
    throw ConfigError("settings " + Reader::Describe(kOidcAuthorize) + " need " +
                      Reader::Describe(kHttpListen) + " and " + Reader::Describe(kConsoleDir));
  }
}

}  // namespace

bool IsLoopbackAddress(const std::string& address) {
  const auto colon = address.rfind(':');
  std::string host = colon == std::string::npos ? address : address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return false;
  // Decided on what the name resolves to, never on how it is spelt ("127.evil.example"):
  // every address it resolves to must be a loopback one.
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) return false;
  bool all_loopback = true;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
      all_loopback = all_loopback && (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    } else if (a->ai_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
      all_loopback = all_loopback && IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    } else {
      all_loopback = false;
    }
  }
  freeaddrinfo(found);
  return all_loopback;
}

GatewayConfig LoadGatewayConfig(int argc, const char* const* argv) {
  std::vector<Setting> known(std::begin(kAll), std::end(kAll));
  known.insert(known.end(), JwtSettingList().begin(), JwtSettingList().end());
  const SettingsReader reader(argc, argv, known);
  auto get = [&](const Setting& s, std::string* out) { return reader.Get(s, out); };

  GatewayConfig c;
  std::string v;
  reader.ReadAddress(kListen, &c.listen_address, /*allow_off=*/false);
  reader.ReadAddress(kMetrics, &c.metrics_address, /*allow_off=*/true);
  if (get(kHttpListen, &v) && v != "off") {
    reader.ReadAddress(kHttpListen, &c.http_listen_address, /*allow_off=*/false);
  }
  const bool has_routes = get(kRoutes, &v) && !v.empty();
  if (has_routes) c.routes_text = ReadSecretFile(v, Reader::Describe(kRoutes));
  const bool has_manifest = get(kManifest, &v) && !v.empty();
  if (has_manifest) {
    const std::string text = ReadSecretFile(v, Reader::Describe(kManifest));
    ParseManifest(text);  // a bad manifest is a configuration error now, not at start
    c.manifest_text = text;
  }
  if (has_routes == has_manifest) {
    throw ConfigError("setting " + Reader::Describe(kManifest) + " or " +
                      Reader::Describe(kRoutes) + " is required (one of them)");
  }
  ReadJwtConfig(reader, &c.jwt);
  if (get(kTlsCert, &v)) c.tls_cert = ReadSecretFile(v, Reader::Describe(kTlsCert));
  if (get(kTlsKey, &v)) c.tls_key = ReadSecretFile(v, Reader::Describe(kTlsKey));
  if (get(kTlsClientCa, &v)) c.tls_client_ca = ReadSecretFile(v, Reader::Describe(kTlsClientCa));
  if (get(kPlaintext, &v)) c.plaintext = Reader::ParseBool(v, kPlaintext);
  if (get(kRateRps, &v)) c.rate_limit_rps = Reader::ParseNumber(v, kRateRps, 0, 1e6);
  if (get(kRateBurst, &v)) c.rate_limit_burst = Reader::ParseNumber(v, kRateBurst, 1, 1e6);
  if (get(kMaxMessage, &v)) c.max_message_bytes = Reader::ParseInt(v, kMaxMessage, 1024, 256 << 20);
  if (get(kMaxStreams, &v)) c.max_concurrent_streams = Reader::ParseInt(v, kMaxStreams, 1, 100000);
  if (get(kMaxCalls, &v)) c.max_calls_per_caller = Reader::ParseInt(v, kMaxCalls, 0, 100000);
  if (get(kDeadline, &v)) {
    c.default_deadline = std::chrono::milliseconds(Reader::ParseInt(v, kDeadline, 1, 3600000));
  }
  if (get(kHealth, &v)) {
    c.health_interval = std::chrono::milliseconds(Reader::ParseInt(v, kHealth, 10, 600000));
  }
  if (get(kRetry, &v)) c.retry_max_attempts = Reader::ParseInt(v, kRetry, 1, 10);
  if (get(kAccessLog, &v)) c.access_log = Reader::ParseBool(v, kAccessLog);
  if (get(kAccessLogFlush, &v)) {
    c.access_log_flush = std::chrono::milliseconds(Reader::ParseInt(v, kAccessLogFlush, 0, 10000));
  }
  if (get(kFastPath, &v)) c.unary_fast_path = Reader::ParseBool(v, kFastPath);
  if (get(kRelay, &v)) c.h2_relay = Reader::ParseBool(v, kRelay);
  if (get(kGrace, &v)) c.shutdown_grace = std::chrono::seconds(Reader::ParseInt(v, kGrace, 0, 600));
  if (get(kPortFile, &v)) c.port_file = v;
  if (get(kConsoleDir, &v) && !v.empty()) {
    if (!std::filesystem::is_regular_file(v + "/index.html")) {
      throw ConfigError("setting " + Reader::Describe(kConsoleDir) +
                        " must name a directory holding index.html");
    }
    c.console_dir = v;
  }
  if (get(kDevSignIn, &v)) c.dev_sign_in = Reader::ParseBool(v, kDevSignIn);
  get(kOidcAuthorize, &c.oidc_authorization_endpoint);
  get(kOidcToken, &c.oidc_token_endpoint);
  get(kOidcClient, &c.oidc_client_id);
  get(kOidcScope, &c.oidc_scope);
  CheckOidcSettings(c);
  // Transport security is checked here so that a bad combination never starts.
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    throw ConfigError("settings " + Reader::Describe(kTlsCert) + " and " +
                      Reader::Describe(kTlsKey) + " go together");
  }
  if (c.tls_cert.empty() && !c.plaintext) {
    throw ConfigError("setting " + Reader::Describe(kTlsCert) + " is required (or " +
                      Reader::Describe(kPlaintext) + " on a loopback address)");
  }
  if (c.tls_cert.empty() && !IsLoopbackAddress(c.listen_address)) {
    throw ConfigError("setting " + Reader::Describe(kPlaintext) +
                      " is only allowed on a loopback " + Reader::Describe(kListen));
  }
  if (!c.http_listen_address.empty() && c.tls_cert.empty() &&
      !IsLoopbackAddress(c.http_listen_address)) {
    throw ConfigError("setting " + Reader::Describe(kHttpListen) +
                      " serves plain HTTP only on a loopback address (or give " +
                      Reader::Describe(kTlsCert) + ")");
  }
  if (c.dev_sign_in && (c.jwt.hs256_key.empty() || c.http_listen_address.empty() ||
                        !IsLoopbackAddress(c.http_listen_address))) {
    throw ConfigError("setting " + Reader::Describe(kDevSignIn) +
                      " is for development: it needs the HS256 key and a loopback " +
                      Reader::Describe(kHttpListen));
  }
  if (!c.tls_client_ca.empty() && c.tls_cert.empty()) {
    throw ConfigError("setting " + Reader::Describe(kTlsClientCa) + " needs TLS");
  }
  return c;
}

Gateway::Gateway(GatewayConfig config)
    : config_(std::move(config)),
      routes_(config_.manifest_text.empty()
                  ? ParseRoutes(config_.routes_text)
                  : RoutesFromManifest(ParseManifest(config_.manifest_text))),
      limiter_(config_.rate_limit_rps, config_.rate_limit_burst),
      concurrency_(config_.max_calls_per_caller) {
  std::unique_ptr<TokenVerifier> verifier = MakeTokenVerifier(config_.jwt);
  // Callers send the same token on every call: verify it once, until it expires.
  verifier_ = std::make_unique<CachingTokenVerifier>(std::move(verifier));
  RouterOptions router_options;
  router_options.health_interval = config_.health_interval;
  router_options.health_timeout =
      std::min<std::chrono::milliseconds>(config_.health_interval, std::chrono::milliseconds(1000));
  router_options.max_message_bytes = config_.max_message_bytes;
  router_ = std::make_unique<Router>(routes_, router_options, &metrics_);
  ProxyOptions proxy_options;
  proxy_options.default_deadline = config_.default_deadline;
  proxy_options.max_attempts = config_.retry_max_attempts;
  proxy_options.access_log = config_.access_log;
  proxy_options.unary_fast_path = config_.unary_fast_path;
  proxy_options.trust_relay_peer_header = config_.h2_relay;
  proxy_ = std::make_unique<GatewayProxy>(checks(), proxy_options);
}

GatewayChecks Gateway::checks() {
  return GatewayChecks{*verifier_, limiter_, concurrency_, *router_,
                       catalog_,   metrics_, retry_budget_};
}

Gateway::~Gateway() { Shutdown(); }

void Gateway::Start() {
  if (config_.metrics_address != "off") {
    metrics_endpoint_ =
        std::make_unique<MetricsEndpoint>(config_.metrics_address, metrics_.registry());
  }
  router_->SetRecoveryListener([this](Backend* backend) { LearnMethods(backend); });
  router_->Start();

  // With the relay, the terminating proxy listens on a Unix socket in a directory of its own
  // (mode 0700): the relay passes it the calls it does not forward itself, with the caller's
  // address in a header that proxy trusts, so nothing else may reach that socket.
  std::string proxy_address = config_.listen_address;
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (config_.h2_relay) {
    // Those of gateways that ended without their shutdown (killed) go first.
    RemoveStalePrivateDirs(std::filesystem::temp_directory_path());
    std::string dir = (std::filesystem::temp_directory_path() / "ctg-gateway.XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) {
      throw ConfigError("cannot create the gateway's private socket directory under " +
                        std::filesystem::temp_directory_path().string());
    }
    private_dir_ = dir;
    proxy_address = "unix:" + dir + "/proxy.sock";
  } else if (!config_.tls_cert.empty()) {
    grpc::SslServerCredentialsOptions options(
        config_.tls_client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                      : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    options.pem_key_cert_pairs.push_back({config_.tls_key, config_.tls_cert});
    options.pem_root_certs = config_.tls_client_ca;
    credentials = grpc::SslServerCredentials(options);
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  // Reflection is answered by the proxy from every backend's descriptors, never by the plugin
  // (which a process hosting services too, like the tests, has registered globally).
  builder.SetOption(WithoutReflectionPlugin());
  int proxy_port = 0;
  builder.AddListeningPort(proxy_address, credentials, &proxy_port);
  builder.RegisterCallbackGenericService(proxy_.get());
  ApplyServerLimits(builder);
  builder.SetMaxReceiveMessageSize(config_.max_message_bytes);
  builder.SetMaxSendMessageSize(config_.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, config_.max_concurrent_streams);
  server_ = builder.BuildAndStart();
  if (!server_ || proxy_port == 0) {
    throw ConfigError("setting --listen (CTG_GATEWAY_LISTEN): cannot listen on " + proxy_address);
  }
  port_ = proxy_port;
  if (config_.h2_relay) {
    RelayOptions options;
    options.listen_address = config_.listen_address;
    options.tls_cert = config_.tls_cert;
    options.tls_key = config_.tls_key;
    options.tls_client_ca = config_.tls_client_ca;
    options.max_concurrent_streams = config_.max_concurrent_streams;
    options.max_message_bytes = size_t(config_.max_message_bytes);
    options.default_deadline = config_.default_deadline;
    options.max_attempts = config_.retry_max_attempts;
    options.access_log = config_.access_log;
    options.access_log_flush = config_.access_log_flush;
    options.fallback_address = proxy_address;
    options.private_socket_path = private_dir_ + "/relay.sock";
    relay_ = std::make_unique<H2Relay>(options, checks());
    try {
      relay_->Start();
    } catch (const std::exception& e) {
      throw ConfigError("setting --listen (CTG_GATEWAY_LISTEN): cannot listen on " +
                        config_.listen_address + ": " + e.what());
    }
    port_ = relay_->port();
  }
  if (!config_.http_listen_address.empty()) {
    // Browser calls are made on the gateway's own server, in process: the same checks as gRPC.
    ConnectOptions options;
    options.listen_address = config_.http_listen_address;
    options.tls_cert = config_.tls_cert;
    options.tls_key = config_.tls_key;
    options.max_body_bytes = static_cast<size_t>(config_.max_message_bytes);
    options.console_dir = config_.console_dir;
    if (config_.dev_sign_in) {
      options.dev_signin_key = config_.jwt.hs256_key;
      options.dev_issuer = config_.jwt.issuer;
      options.dev_audience = config_.jwt.audience;
    }
    options.oidc_authorization_endpoint = config_.oidc_authorization_endpoint;
    options.oidc_token_endpoint = config_.oidc_token_endpoint;
    options.oidc_client_id = config_.oidc_client_id;
    options.oidc_scope = config_.oidc_scope;
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(config_.max_message_bytes);
    args.SetMaxSendMessageSize(config_.max_message_bytes);
    // Browser calls go through the same front end as gRPC callers: the relay (on its private
    // socket) or the proxy (in process), so exactly the same checks apply.
    connect_ = std::make_unique<ConnectListener>(
        options,
        relay_ ? grpc::CreateCustomChannel("unix:" + private_dir_ + "/relay.sock",
                                           grpc::InsecureChannelCredentials(), args)
               : server_->InProcessChannel(args),
        catalog_);
    try {
      connect_->Start();
    } catch (const std::exception& e) {
      throw ConfigError("setting --http-listen (CTG_GATEWAY_HTTP_LISTEN): cannot listen on " +
                        config_.http_listen_address + ": " + e.what());
    }
  }
  UpdateOwnHealth();
  router_->SetHealthListener([this] { UpdateOwnHealth(); });
  if (!config_.port_file.empty()) {
    WritePortFile(config_.port_file, port_, metrics_port(), http_port());
  }
  LogLine("info")
      .Add("msg", "listening")
      .Add("service", "ctg-gateway")
      .Add("grpc_port", int64_t(port_))
      .Add("metrics_port", int64_t(metrics_port()))
      .Add("http_port", int64_t(http_port()))
      .Add("tls", config_.tls_cert.empty()        ? "off"
                  : config_.tls_client_ca.empty() ? "on"
                                                  : "mtls")
      .Emit();
}

namespace {

// Whether something listens on the Unix socket `path`.
bool SomeoneListensOn(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return false;
  addr.sun_family = AF_UNIX;
  std::copy(path.begin(), path.end(), addr.sun_path);
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return true;  // cannot tell: keep it
  const bool listening = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return listening;
}

}  // namespace

void RemoveStalePrivateDirs(const std::filesystem::path& parent) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("ctg-gateway.", 0) != 0 || !entry.is_directory(ec)) continue;
    struct stat st {};
    if (lstat(entry.path().c_str(), &st) != 0 || st.st_uid != geteuid()) continue;
    // A gateway starting now has made its directory but not bound its socket yet: left alone.
    if (now - fs::last_write_time(entry.path(), ec) < std::chrono::minutes(1)) continue;
    if (SomeoneListensOn((entry.path() / "proxy.sock").string())) continue;
    fs::remove_all(entry.path(), ec);
  }
}

std::unique_ptr<grpc::ServerBuilderOption> WithoutReflectionPlugin() {
  class Option : public grpc::ServerBuilderOption {
   public:
    void UpdateArguments(grpc::ChannelArguments*) override {}
    void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
      plugins->erase(
          std::remove_if(plugins->begin(), plugins->end(),
                         [](const auto& p) { return p->name() == "proto_server_reflection"; }),
          plugins->end());
    }
  };
  return std::make_unique<Option>();
}

void Gateway::LearnMethods(Backend* backend) {
  if (backend->service().rfind("grpc.", 0) == 0) return;  // protocol services: nothing to learn
  try {
    // A channel of its own: descriptor files are larger than the message limit the gateway
    // sets on its forwarding channels, and they come from a trusted backend.
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
    const auto channel =
        grpc::CreateCustomChannel(backend->address(), grpc::InsecureChannelCredentials(), args);
    const auto files =
        FetchServiceDescriptors(channel, {backend->service()}, std::chrono::milliseconds(1000));
    if (!catalog_.AddFiles(files)) throw std::runtime_error("unreadable descriptor file");
  } catch (const std::exception& e) {
    // Until it describes its methods the gateway knows no access rule for them and refuses its
    // calls (UNAVAILABLE); it stays out of merged reflection.
    LogLine("warning")
        .Add("msg", "cannot learn the methods of a backend")
        .Add("service", backend->service())
        .Add("backend", backend->address())
        .Add("error", e.what())
        .Emit();
  }
}

int Gateway::metrics_port() const { return metrics_endpoint_ ? metrics_endpoint_->port() : 0; }

void Gateway::UpdateOwnHealth() {
  if (!server_) return;
  auto* health = server_->GetHealthCheckService();
  if (health == nullptr) return;
  bool all = true;
  for (const auto& [service, healthy] : router_->ServiceHealth()) {
    health->SetServingStatus(service, healthy);
    all = all && healthy;
  }
  health->SetServingStatus("", all);
}

void Gateway::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  router_->SetHealthListener(nullptr);
  if (connect_) connect_->Stop();  // its calls in flight finish on the server first
  // The relay's calls in flight finish (those it passed to the proxy too) before the proxy stops.
  if (relay_) relay_->Stop(config_.shutdown_grace);
  if (server_) {
    if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(false);
    server_->Shutdown(std::chrono::system_clock::now() + config_.shutdown_grace);
    server_->Wait();
  }
  router_->Stop();
  if (!private_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(private_dir_, ignored);
  }
}

int RunGatewayMain(int argc, char** argv) {
  return RunDaemonMain("ctg-gateway", [&]() -> std::unique_ptr<Daemon> {
    return std::make_unique<Gateway>(LoadGatewayConfig(argc, argv));
  });
}

}  // namespace ctg::gateway
