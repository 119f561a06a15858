// The gateway's browser listener (Connect protocol over HTTP/1.1) in front of a real Echo
// backend, called with a plain HTTP client over loopback (and HTTPS with a test PKI): JSON and
// binary unary calls through the gateway's own checks, errors with the HTTP status of their
// code, and the framing refusals (path, verb, protocol header, content type, origin, size).
#include "gateway/connect.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/auth.h"
#include "gateway/gateway.h"
#include "gateway/tests/echo_backend.h"
#include "gateway/tests/test_pki.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace ctg::gateway {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace v1 = ::ctg::testing::v1;
using namespace std::chrono_literals;

constexpr char kKey[] = "gateway-test-key-0123456789abcdef0123456789";
constexpr char kEcho[] = "ctg.testing.v1.EchoService";
constexpr char kServerName[] = "gateway.test";

std::string Token() {
  TokenClaims claims;
  claims.subject = "alice";
  claims.roles = {Role::kAuditor};
  claims.issuer = "ctg-test";
  claims.audience = "ctg";
  claims.lifetime = 10min;
  return MintHs256Token(claims, kKey);
}

struct Answer {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// The usual headers of a Connect call from the console.
Headers Connect(const std::string& content_type = "application/json") {
  return {{"Content-Type", content_type},
          {"Connect-Protocol-Version", "1"},
          {"Authorization", "Bearer " + Token()}};
}

template <class Stream>
Answer Exchange(Stream& stream, http::verb verb, const std::string& target, const std::string& body,
                const Headers& headers) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  http::read(stream, buffer, parser);
  const auto& res = parser.get();
  Answer a;
  a.status = static_cast<int>(res.result_int());
  a.body = res.body();
  for (const auto& f : res) a.headers[std::string(f.name_string())] = std::string(f.value());
  return a;
}

Answer Send(int port, const std::string& target, const std::string& body, const Headers& headers,
            http::verb verb = http::verb::post) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                         static_cast<unsigned short>(port)));
  stream.expires_after(10s);
  Answer a = Exchange(stream, verb, target, body, headers);
  beast::error_code ec;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  return a;
}

constexpr char kEchoPath[] = "/ctg.testing.v1.EchoService/Echo";

class ConnectListenerTest : public ::testing::Test {
 protected:
  void SetUp() override { backend_ = std::make_unique<testing::EchoBackend>("a"); }

  GatewayConfig Config() {
    GatewayConfig c;
    c.listen_address = "127.0.0.1:0";
    c.http_listen_address = "127.0.0.1:0";
    c.metrics_address = "off";
    c.routes_text = std::string(kEcho) + " = " + backend_->address() + "\n";
    c.jwt.hs256_key = kKey;
    c.jwt.issuer = "ctg-test";
    c.jwt.audience = "ctg";
    c.plaintext = true;
    c.rate_limit_rps = 0;
    c.health_interval = 50ms;
    c.access_log = false;
    c.shutdown_grace = 1s;
    return c;
  }

  void Start(GatewayConfig c) {
    gateway_ = std::make_unique<Gateway>(std::move(c));
    gateway_->Start();
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!gateway_->catalog().Knows(kEcho) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
    ASSERT_TRUE(gateway_->catalog().Knows(kEcho));
    ASSERT_GT(gateway_->http_port(), 0);
  }
  void Start() { Start(Config()); }

  Answer Post(const std::string& body, const Headers& headers,
              const std::string& path = kEchoPath) {
    return Send(gateway_->http_port(), path, body, headers);
  }

  std::unique_ptr<testing::EchoBackend> backend_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(ConnectListenerTest, AJsonCallGoesThroughTheGatewayToTheBackend) {
  Start();
  Headers headers = Connect();
  headers.push_back({"x-request-id", "req-http-1"});
  const Answer a = Post(R"({"message": "bonjour à tous"})", headers);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.header("Content-Type"), "application/json");
  EXPECT_EQ(a.header("x-request-id"), "req-http-1");
  EXPECT_EQ(a.header("Cache-Control"), "no-store");
  EXPECT_NE(a.body.find(R"("message":"bonjour à tous")"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find(R"("backend":"a")"), std::string::npos) << a.body;
  EXPECT_EQ(backend_->calls(), 1);
  // The backend got the call as the gateway forwards any: token checked, request id kept.
  const auto seen = backend_->last_call();
  EXPECT_EQ(seen.metadata.count("x-request-id"), 1u);
  EXPECT_EQ(seen.metadata.find("x-request-id")->second, "req-http-1");
}

TEST_F(ConnectListenerTest, ABinaryCallCarriesTheProtobufMessage) {
  Start();
  v1::EchoRequest req;
  req.set_message("binaire");
  const Answer a = Post(req.SerializeAsString(), Connect("application/proto"));
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.header("Content-Type"), "application/proto");
  v1::EchoResponse resp;
  ASSERT_TRUE(resp.ParseFromString(a.body));
  EXPECT_EQ(resp.message(), "binaire");
}

TEST_F(ConnectListenerTest, TheGatewaysOwnChecksApply) {
  Start();
  // No token: refused by the gateway before any backend, as over gRPC.
  Headers anonymous = {{"Content-Type", "application/json"}, {"Connect-Protocol-Version", "1"}};
  Answer a = Post(R"({"message": "x"})", anonymous);
  EXPECT_EQ(a.status, 401) << a.body;
  EXPECT_NE(a.body.find(R"("code":"unauthenticated")"), std::string::npos) << a.body;
  Headers forged = anonymous;
  forged.push_back({"Authorization", "Bearer not-a-token"});
  EXPECT_EQ(Post(R"({"message": "x"})", forged).status, 401);
  EXPECT_EQ(backend_->calls(), 0);
}

TEST_F(ConnectListenerTest, ErrorsComeBackWithTheHttpStatusOfTheirCode) {
  Start();
  const std::vector<std::pair<int, std::pair<int, std::string>>> cases = {
      {3, {400, "invalid_argument"}},
      {5, {404, "not_found"}},
      {6, {409, "already_exists"}},
      {7, {403, "permission_denied"}},
      {9, {412, "failed_precondition"}},
      {10, {409, "aborted"}},
      {13, {500, "internal"}}};
  for (const auto& [code, expected] : cases) {
    const Answer a = Post(R"({"message": "m", "failCode": )" + std::to_string(code) +
                              R"(, "failMessage": "refusé : raison"})",
                          Connect());
    EXPECT_EQ(a.status, expected.first) << code << " " << a.body;
    EXPECT_NE(a.body.find(R"("code":")" + expected.second + "\""), std::string::npos) << a.body;
    EXPECT_NE(a.body.find(R"("message":"refusé : raison")"), std::string::npos) << a.body;
    EXPECT_EQ(a.header("Content-Type"), "application/json");
  }
  // UNAVAILABLE (the gateway then also takes the backend out of rotation for a while).
  const Answer a =
      Post(R"({"message": "m", "failCode": 14, "failMessage": "plus tard"})", Connect());
  EXPECT_EQ(a.status, 503) << a.body;
  EXPECT_NE(a.body.find(R"("code":"unavailable")"), std::string::npos) << a.body;
}

TEST_F(ConnectListenerTest, FramingErrorsAreRefusedBeforeAnyCall) {
  GatewayConfig c = Config();
  c.max_message_bytes = 4096;
  Start(c);
  // JSON that does not map onto the request message.
  Answer a = Post(R"({"nope": 1})", Connect());
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.body.find(R"("code":"invalid_argument")"), std::string::npos) << a.body;
  EXPECT_EQ(Post("{not json", Connect()).status, 400);
  // Without the protocol header (what a form or a plain link would send).
  EXPECT_EQ(Post(R"({"message": "x"})",
                 {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + Token()}})
                .status,
            400);
  // A cross-site form post: its content types are refused, whatever the headers.
  for (const char* type :
       {"application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", ""}) {
    a = Post("message=x", Connect(type));
    EXPECT_EQ(a.status, 415) << type;
    EXPECT_EQ(a.header("Accept-Post"), "application/json, application/proto");
  }
  // Another origin.
  Headers other = Connect();
  other.push_back({"Origin", "https://evil.example"});
  EXPECT_EQ(Post(R"({"message": "x"})", other).status, 403);
  Headers same = Connect();
  same.push_back({"Origin", "http://127.0.0.1"});
  EXPECT_EQ(Post(R"({"message": "x"})", same).status, 200);
  // Unknown paths, the protocol services, another verb.
  EXPECT_EQ(Post("{}", Connect(), "/ctg.testing.v1.EchoService/Nope").status, 404);
  EXPECT_EQ(Post("{}", Connect(), "/grpc.health.v1.Health/Check").status, 404);
  EXPECT_EQ(Post("{}", Connect(), "/").status, 404);
  a = Send(gateway_->http_port(), kEchoPath, "", Connect(), http::verb::get);
  EXPECT_EQ(a.status, 405);
  EXPECT_EQ(a.header("Allow"), "POST");
  // An oversized body.
  a = Post(R"({"message": ")" + std::string(8000, 'x') + "\"}", Connect());
  EXPECT_EQ(a.status, 413);
  EXPECT_NE(a.body.find(R"("code":"resource_exhausted")"), std::string::npos) << a.body;
  // Nothing of the above reached the backend but the one same-origin call.
  EXPECT_EQ(backend_->calls(), 1);
}

// "flags, big-endian length, message" frames of a Connect stream.
std::string Envelope(unsigned char flags, const std::string& data) {
  std::string out(5, '\0');
  out[0] = static_cast<char>(flags);
  const uint32_t n = static_cast<uint32_t>(data.size());
  for (int i = 0; i < 4; ++i) out[1 + i] = static_cast<char>(n >> (24 - 8 * i));
  return out + data;
}

std::vector<std::pair<int, std::string>> Envelopes(const std::string& body) {
  std::vector<std::pair<int, std::string>> out;
  size_t at = 0;
  while (at + 5 <= body.size()) {
    const auto* b = reinterpret_cast<const unsigned char*>(body.data() + at);
    const size_t n = size_t(b[1]) << 24 | size_t(b[2]) << 16 | size_t(b[3]) << 8 | b[4];
    out.push_back({b[0], body.substr(at + 5, n)});
    at += 5 + n;
  }
  EXPECT_EQ(at, body.size()) << "trailing bytes";
  return out;
}

constexpr char kExpandPath[] = "/ctg.testing.v1.EchoService/Expand";

TEST_F(ConnectListenerTest, AServerStreamComesAsEnvelopesThenItsEnd) {
  Start();
  const Answer a = Post(Envelope(0, R"({"message": "flux", "repeat": 3})"),
                        Connect("application/connect+json"), kExpandPath);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.header("Content-Type"), "application/connect+json");
  EXPECT_EQ(a.header("Transfer-Encoding"), "chunked");
  const auto frames = Envelopes(a.body);
  ASSERT_EQ(frames.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(frames[i].first, 0);
    EXPECT_NE(frames[i].second.find(R"("message":"flux")"), std::string::npos) << frames[i].second;
  }
  EXPECT_NE(frames[1].second.find(R"("index":1)"), std::string::npos) << frames[1].second;
  EXPECT_EQ(frames[3].first, 2);  // end of stream, no error
  EXPECT_EQ(frames[3].second, "{}");
  // In binary.
  v1::EchoRequest req;
  req.set_message("bin");
  req.set_repeat(2);
  const Answer b =
      Post(Envelope(0, req.SerializeAsString()), Connect("application/connect+proto"), kExpandPath);
  ASSERT_EQ(b.status, 200);
  const auto binary = Envelopes(b.body);
  ASSERT_EQ(binary.size(), 3u);
  v1::EchoResponse resp;
  ASSERT_TRUE(resp.ParseFromString(binary[1].second));
  EXPECT_EQ(resp.index(), 1);
}

TEST_F(ConnectListenerTest, AStreamsErrorIsInItsEndMessage) {
  Start();
  const Answer a = Post(
      Envelope(0, R"({"message": "x", "repeat": 1, "failCode": 9, "failMessage": "pas encore"})"),
      Connect("application/connect+json"), kExpandPath);
  ASSERT_EQ(a.status, 200) << a.body;
  const auto frames = Envelopes(a.body);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].first, 2);
  EXPECT_EQ(frames[1].second, R"({"error":{"code":"failed_precondition","message":"pas encore"}})");
  // The framing: a unary content type, a broken envelope, a client stream.
  Answer b = Post(R"({"message": "x"})", Connect(), kExpandPath);
  EXPECT_EQ(b.status, 415);
  EXPECT_EQ(b.header("Accept-Post"), "application/connect+json, application/connect+proto");
  EXPECT_EQ(Post("\x00\x00", Connect("application/connect+json"), kExpandPath).status, 400);
  EXPECT_EQ(Post(Envelope(1, "{}"), Connect("application/connect+json"), kExpandPath).status,
            400);  // compressed: not offered
  EXPECT_EQ(Post(Envelope(0, "{}"), Connect("application/connect+json"),
                 "/ctg.testing.v1.EchoService/Collect")
                .status,
            501);
}

TEST_F(ConnectListenerTest, OneConnectionCarriesSeveralCalls) {
  Start();
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                         static_cast<unsigned short>(gateway_->http_port())));
  stream.expires_after(10s);
  for (int i = 0; i < 3; ++i) {
    const Answer a = Exchange(stream, http::verb::post, kEchoPath,
                              R"({"message": "n)" + std::to_string(i) + "\"}", Connect());
    EXPECT_EQ(a.status, 200);
    // A stream between unary calls, on the same connection.
    const Answer s = Exchange(stream, http::verb::post, kExpandPath,
                              Envelope(0, R"({"message": "s", "repeat": 2})"),
                              Connect("application/connect+json"));
    EXPECT_EQ(Envelopes(s.body).size(), 3u);
  }
  EXPECT_EQ(backend_->calls(), 6);
}

TEST_F(ConnectListenerTest, HttpsWithTheGatewaysCertificate) {
  const auto pki = testing::MakeTestPki(kServerName, "browser");
  GatewayConfig c = Config();
  c.plaintext = false;
  c.tls_cert = pki.server_cert;
  c.tls_key = pki.server_key;
  Start(c);
  asio::io_context ioc;
  asio::ssl::context tls(asio::ssl::context::tls_client);
  tls.add_certificate_authority(asio::buffer(pki.ca_cert));
  tls.set_verify_mode(asio::ssl::verify_peer);
  tls.set_verify_callback(asio::ssl::host_name_verification(kServerName));
  beast::ssl_stream<beast::tcp_stream> stream(ioc, tls);
  SSL_set_tlsext_host_name(stream.native_handle(), kServerName);
  beast::get_lowest_layer(stream).connect(asio::ip::tcp::endpoint(
      asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(gateway_->http_port())));
  beast::get_lowest_layer(stream).expires_after(10s);
  stream.handshake(asio::ssl::stream_base::client);
  Headers headers = Connect();
  const Answer a =
      Exchange(stream, http::verb::post, kEchoPath, R"({"message": "chiffré"})", headers);
  EXPECT_EQ(a.status, 200) << a.body;
  EXPECT_NE(a.body.find("chiffré"), std::string::npos);
  // Plain HTTP on the TLS port gets no answer.
  EXPECT_ANY_THROW(Send(gateway_->http_port(), kEchoPath, "{}", Connect()));
}

TEST_F(ConnectListenerTest, TheConsolesFilesComeWithAStrictSecurityPolicy) {
  const std::string dir =
      std::filesystem::temp_directory_path() / ("ctg-console-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir + "/modules");
  std::ofstream(dir + "/index.html") << "<!DOCTYPE html><html lang=\"fr\"></html>";
  std::ofstream(dir + "/modules/app.js") << "export const x = 1;";
  std::ofstream(dir + "/.secret") << "no";
  GatewayConfig c = Config();
  c.console_dir = dir;
  Start(c);
  const int port = gateway_->http_port();
  Answer a = Send(port, "/", "", {}, http::verb::get);
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "<!DOCTYPE html><html lang=\"fr\"></html>");
  EXPECT_EQ(a.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(a.header("Content-Security-Policy"), kConsoleSecurityPolicy);
  EXPECT_EQ(a.header("X-Frame-Options"), "DENY");
  EXPECT_EQ(a.header("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(a.header("Access-Control-Allow-Origin"), "");  // no CORS, ever
  a = Send(port, "/modules/app.js", "", {}, http::verb::get);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.header("Content-Type"), "text/javascript; charset=utf-8");
  for (const char* refused : {"/.secret", "/../etc/passwd", "/modules/../.secret", "/nope.js",
                              "/modules", "//etc/passwd", "/modules/%2e%2e/x"}) {
    EXPECT_EQ(Send(port, refused, "", {}, http::verb::get).status, 404) << refused;
  }
  // Calls still work beside the files.
  EXPECT_EQ(Post(R"({"message": "x"})", Connect()).status, 200);
  std::filesystem::remove_all(dir);
}

TEST_F(ConnectListenerTest, DevelopmentSignInMintsAShortLivedTokenTheGatewayAccepts) {
  GatewayConfig c = Config();
  c.dev_sign_in = true;
  Start(c);
  const Headers json = {{"Content-Type", "application/json"}};
  Answer a = Post(R"({"role": "auditor"})", json, "/dev/sign-in");
  ASSERT_EQ(a.status, 200) << a.body;
  const size_t at = a.body.find(R"("token":")");
  ASSERT_NE(at, std::string::npos);
  const std::string token = a.body.substr(at + 9, a.body.find('"', at + 9) - at - 9);
  EXPECT_NE(a.body.find(R"("expiresInSeconds":3600)"), std::string::npos);
  const Answer call = Post(R"({"message": "signé"})", {{"Content-Type", "application/json"},
                                                       {"Connect-Protocol-Version", "1"},
                                                       {"Authorization", "Bearer " + token}});
  EXPECT_EQ(call.status, 200) << call.body;
  // A service identity, an unknown role, a malformed organisation, a form, another origin.
  EXPECT_EQ(Post(R"({"role": "service"})", json, "/dev/sign-in").status, 400);
  EXPECT_EQ(Post(R"({"role": "king"})", json, "/dev/sign-in").status, 400);
  EXPECT_EQ(Post(R"({"role": "auditor", "organisation": "x"})", json, "/dev/sign-in").status, 400);
  EXPECT_EQ(
      Post("role=auditor", {{"Content-Type", "application/x-www-form-urlencoded"}}, "/dev/sign-in")
          .status,
      415);
  EXPECT_EQ(Post(R"({"role": "auditor"})",
                 {{"Content-Type", "application/json"}, {"Origin", "https://evil.example"}},
                 "/dev/sign-in")
                .status,
            403);
}

TEST_F(ConnectListenerTest, WithoutTheDevelopmentFlagThereIsNoSignIn) {
  Start();
  EXPECT_EQ(
      Post(R"({"role": "auditor"})", {{"Content-Type", "application/json"}}, "/dev/sign-in").status,
      404);
}

TEST(ConnectConfigTest, DevelopmentSignInOnlyOnLoopbackWithTheHs256Key) {
  const std::string dir =
      std::filesystem::temp_directory_path() / ("ctg-connect-config-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/routes") << std::string(kEcho) << " = 127.0.0.1:1\n";
  std::ofstream(dir + "/key") << kKey;
  const std::string routes = "--routes-file=" + dir + "/routes";
  const std::string key = "--jwt-key-file=" + dir + "/key";
  auto load = [&](std::vector<std::string> flags) {
    std::vector<const char*> argv = {"ctg-gateway", routes.c_str(), "--plaintext=true"};
    for (const auto& f : flags) argv.push_back(f.c_str());
    return LoadGatewayConfig(static_cast<int>(argv.size()), argv.data());
  };
  EXPECT_TRUE(load({key, "--http-listen=127.0.0.1:0", "--dev-sign-in=true"}).dev_sign_in);
  try {
    load({key, "--dev-sign-in=true"});  // no browser listener
    ADD_FAILURE() << "accepted without a browser listener";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("dev-sign-in"), std::string::npos) << e.what();
  }
  // Plain HTTP on a public address is refused anyway; with TLS the sign-in still is.
  EXPECT_THROW(load({key, "--http-listen=0.0.0.0:0", "--dev-sign-in=true"}), ConfigError);
  EXPECT_THROW(load({key, "--console-dir=" + dir}), ConfigError);  // no index.html
  std::ofstream(dir + "/index.html") << "<!DOCTYPE html>";
  EXPECT_EQ(load({key, "--console-dir=" + dir}).console_dir, dir);

  // The production sign-in: the provider's endpoints and the console's client id together,
  // https (http on loopback only), with the provider's public keys.
  std::ofstream(dir + "/idp.pem") << testing::GenerateRsaKey().public_pem;
  const std::vector<std::string> oidc = {key,
                                         "--http-listen=127.0.0.1:0",
                                         "--console-dir=" + dir,
                                         "--jwt-public-keys-file=" + dir + "/idp.pem",
                                         "--oidc-authorization-endpoint=https://idp.example/auth",
                                         "--oidc-token-endpoint=https://idp.example/token",
                                         "--oidc-client-id=ctg-console"};
  const GatewayConfig config = load(oidc);
  EXPECT_EQ(config.oidc_token_endpoint, "https://idp.example/token");
  EXPECT_EQ(config.oidc_scope, "openid");
  auto but = [&](const std::string& flag) {
    std::vector<std::string> flags = oidc;
    flags.push_back(flag);
    return flags;
  };
  EXPECT_THROW(load(but("--oidc-client-id=")), ConfigError);
  EXPECT_THROW(load(but("--oidc-token-endpoint=http://idp.example/token")), ConfigError);
  EXPECT_THROW(load(but("--oidc-authorization-endpoint=javascript:alert(1)")), ConfigError);
  EXPECT_THROW(load(but("--oidc-token-endpoint=http://localhost:80@evil.example/token")),
               ConfigError);
  EXPECT_THROW(load(but("--oidc-token-endpoint=https://idp.example *")), ConfigError);
  EXPECT_EQ(load(but("--oidc-token-endpoint=http://127.0.0.1:9/token")).oidc_token_endpoint,
            "http://127.0.0.1:9/token");
  std::vector<std::string> without_keys = oidc;
  // Without --jwt-public-keys-file: the HS256 key (still given) is never the provider's.
  without_keys.erase(without_keys.begin() + 3);
  try {
    load(without_keys);
    ADD_FAILURE() << "accepted without the provider's public keys";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("public keys"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(ConsolePolicyTest, OnlyTheProvidersTokenEndpointOriginJoinsConnectSrc) {
  EXPECT_EQ(ConsolePolicy({}), kConsoleSecurityPolicy);
  const std::string policy = ConsolePolicy({"https://idp.example:8443/realms/ctg/token?x=1"});
  EXPECT_NE(policy.find("connect-src 'self' https://idp.example:8443; font-src"), std::string::npos)
      << policy;
  EXPECT_NE(policy.find("script-src 'self'; style-src"), std::string::npos) << policy;
  EXPECT_NE(ConsolePolicy({"http://127.0.0.1:9/"}).find("connect-src 'self' http://127.0.0.1:9;"),
            std::string::npos);
  EXPECT_THROW(ConsolePolicy({"idp.example/token"}), std::invalid_argument);
  EXPECT_THROW(ConsolePolicy({"https:///token"}), std::invalid_argument);
  EXPECT_THROW(ConsolePolicy({"https://idp.example *"}), std::invalid_argument);
}

TEST(ParseUrlOriginTest, ReadsOnlyPlainHostsAndRefusesUserInformation) {
  const auto origin = ParseUrlOrigin("https://idp.example:8443/realms/ctg?x=1#y");
  ASSERT_TRUE(origin);
  EXPECT_EQ(origin->origin, "https://idp.example:8443");
  EXPECT_EQ(origin->host_port, "idp.example:8443");
  EXPECT_EQ(ParseUrlOrigin("http://127.0.0.1/token")->host_port, "127.0.0.1:80");
  EXPECT_EQ(ParseUrlOrigin("https://[::1]:9/")->host, "[::1]");
  EXPECT_EQ(ParseUrlOrigin("https://idp.example")->origin, "https://idp.example");
  // The browser would go to evil.example: refused, not read as localhost.
  EXPECT_FALSE(ParseUrlOrigin("http://localhost:80@evil.example/token"));
  for (const char* bad :
       {"https://", "https:///x", "https://idp.example *", "https://idp.example;x/", "ftp://a/",
        "https://a:/", "https://a:123456/", "https://a b/", "https://[::1/", "javascript:x"}) {
    EXPECT_FALSE(ParseUrlOrigin(bad)) << bad;
  }
}

TEST(SignInConfigJsonTest, NamesTheWaysToSignIn) {
  ConnectOptions options;
  EXPECT_EQ(SignInConfigJson(options), R"({"development":false,"oidc":null})");
  options.dev_signin_key = "k";
  options.oidc_authorization_endpoint = "https://idp.example/auth";
  options.oidc_token_endpoint = "https://idp.example/token";
  options.oidc_client_id = "ctg-console";
  EXPECT_EQ(SignInConfigJson(options),
            R"({"development":true,"oidc":{"authorizationEndpoint":"https://idp.example/auth",)"
            R"("tokenEndpoint":"https://idp.example/token","clientId":"ctg-console",)"
            R"("scope":"openid"}})");
}

TEST(ConnectErrorJsonTest, FieldViolationsAreGivenAsBytesAndAsJson) {
  google::rpc::BadRequest bad;
  auto* v = bad.add_field_violations();
  v->set_field("organisation.display_name");
  v->set_description("obligatoire");
  google::rpc::Status details;
  details.set_code(3);
  details.add_details()->PackFrom(bad);
  const std::string json = ConnectErrorJson(grpc::Status(
      grpc::StatusCode::INVALID_ARGUMENT, "invalid request", details.SerializeAsString()));
  EXPECT_NE(json.find(R"("code":"invalid_argument","message":"invalid request")"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("type":"google.rpc.BadRequest")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("field":"organisation.display_name")"), std::string::npos) << json;
  // The bytes, in standard base64: they decode back to the BadRequest.
  const size_t at = json.find(R"("value":")") + 9;
  std::string value = json.substr(at, json.find('"', at) - at);
  for (char& c : value) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  const auto bytes = Base64UrlDecode(value);
  ASSERT_TRUE(bytes.has_value());
  google::rpc::BadRequest back;
  ASSERT_TRUE(back.ParseFromString(*bytes));
  EXPECT_EQ(back.field_violations(0).description(), "obligatoire");
  // A message with a quote and a newline stays valid JSON.
  EXPECT_EQ(ConnectErrorJson(grpc::Status(grpc::StatusCode::NOT_FOUND, "a \"b\"\nc")),
            R"({"code":"not_found","message":"a \"b\"\nc"})");
}

TEST(ConnectErrorJsonTest, EveryCodeHasItsHttpStatus) {
  const std::map<grpc::StatusCode, int> expected = {{grpc::StatusCode::CANCELLED, 499},
                                                    {grpc::StatusCode::UNKNOWN, 500},
                                                    {grpc::StatusCode::INVALID_ARGUMENT, 400},
                                                    {grpc::StatusCode::DEADLINE_EXCEEDED, 504},
                                                    {grpc::StatusCode::NOT_FOUND, 404},
                                                    {grpc::StatusCode::ALREADY_EXISTS, 409},
                                                    {grpc::StatusCode::PERMISSION_DENIED, 403},
                                                    {grpc::StatusCode::RESOURCE_EXHAUSTED, 429},
                                                    {grpc::StatusCode::FAILED_PRECONDITION, 412},
                                                    {grpc::StatusCode::ABORTED, 409},
                                                    {grpc::StatusCode::OUT_OF_RANGE, 400},
                                                    {grpc::StatusCode::UNIMPLEMENTED, 501},
                                                    {grpc::StatusCode::INTERNAL, 500},
                                                    {grpc::StatusCode::UNAVAILABLE, 503},
                                                    {grpc::StatusCode::DATA_LOSS, 500},
                                                    {grpc::StatusCode::UNAUTHENTICATED, 401}};
  for (const auto& [code, status] : expected) {
    EXPECT_EQ(HttpStatusOf(code), status) << ConnectCodeName(code);
  }
  EXPECT_EQ(ConnectCodeName(grpc::StatusCode::CANCELLED), "canceled");
  EXPECT_EQ(ConnectCodeName(grpc::StatusCode::UNAUTHENTICATED), "unauthenticated");
}

}  // namespace
}  // namespace ctg::gateway
