// The gateway in front of real Echo backends (in-process gRPC servers on port 0), called over
// real loopback channels: every call type, metadata, deadlines, cancellation, tokens,
// authorization (the access declared in echo.proto, learnt from the backends), limits, health,
// failover, reflection and misbehaving backends. Every test runs twice: with the unary fast path
// (unary calls forwarded with one batch each way) and with every call forwarded as a stream.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

#include "common/auth.h"
#include "common/rpc.h"
#include "common/testing/test_host.h"
#include "gateway/gateway.h"
#include "gateway/tests/echo_backend.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace ctg::gateway {
namespace {

namespace v1 = ::ctg::testing::v1;
using testing::EchoBackend;
using namespace std::chrono_literals;

constexpr char kKey[] = "gateway-test-key-0123456789abcdef0123456789";
constexpr char kIssuer[] = "ctg-test";
constexpr char kAudience[] = "ctg";
constexpr char kEcho[] = "ctg.testing.v1.EchoService";

std::string Token(std::vector<Role> roles, const std::string& subject = "alice",
                  const std::string& key = kKey, const std::string& audience = kAudience,
                  std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) {
  TokenClaims claims;
  claims.subject = subject;
  claims.roles = std::move(roles);
  claims.issuer = kIssuer;
  claims.audience = audience;
  claims.lifetime = 10min;  // within the 15 minutes a service token may live
  return MintHs256Token(claims, key, now);
}

GatewayConfig BaseConfig(const std::string& routes) {
  GatewayConfig c;
  c.listen_address = "127.0.0.1:0";
  c.metrics_address = "off";
  c.routes_text = routes;
  c.jwt.hs256_key = kKey;
  c.jwt.issuer = kIssuer;
  c.jwt.audience = kAudience;
  c.plaintext = true;
  c.rate_limit_rps = 0;
  c.health_interval = 50ms;
  c.access_log = false;
  c.shutdown_grace = 1s;
  return c;
}

std::string Routes(const std::vector<EchoBackend*>& backends) {
  std::string r = std::string(kEcho) + " = ";
  for (size_t i = 0; i < backends.size(); ++i) {
    r += (i ? ", " : "") + backends[i]->address();
  }
  return r + "\n";
}

std::string Str(grpc::string_ref s) { return std::string(s.data(), s.size()); }

std::vector<std::string> Values(const std::multimap<grpc::string_ref, grpc::string_ref>& md,
                                const std::string& key) {
  std::vector<std::string> out;
  auto [b, e] = md.equal_range(key);
  for (auto it = b; it != e; ++it) out.push_back(Str(it->second));
  return out;
}

// The parameter: which front end serves the public port. The relay (the default), or the
// terminating proxy alone (--h2-relay=false) with or without its unary fast path; the proxy also
// stands behind the relay for what it does not forward itself.
enum class FrontEnd { kRelay, kProxyUnaryFastPath, kProxyEverythingStreamed };

class GatewayTest : public ::testing::TestWithParam<FrontEnd> {
 protected:
  void SetUp() override {
    a_ = std::make_unique<EchoBackend>("a", 0);
    b_ = std::make_unique<EchoBackend>("b", 0);
  }

  void StartGateway(GatewayConfig config) {
    config.h2_relay = GetParam() == FrontEnd::kRelay;
    config.unary_fast_path = GetParam() != FrontEnd::kProxyEverythingStreamed;
    gateway_ = std::make_unique<Gateway>(std::move(config));
    gateway_->Start();
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(gateway_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::EchoService::NewStub(channel_);
  }
  void StartGateway() { StartGateway(BaseConfig(Routes({a_.get(), b_.get()}))); }

  std::unique_ptr<grpc::ClientContext> Context(const std::string& token,
                                               std::chrono::milliseconds timeout = 10s) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    ctx->set_deadline(std::chrono::system_clock::now() + timeout);
    return ctx;
  }

  grpc::Status Echo(const std::string& token, v1::EchoResponse* resp = nullptr,
                    const std::string& message = "hi") {
    v1::EchoRequest req;
    req.set_message(message);
    v1::EchoResponse ignored;
    auto ctx = Context(token);
    return stub_->Echo(ctx.get(), req, resp ? resp : &ignored);
  }

  int BackendCalls() { return a_->calls() + b_->calls(); }

  std::unique_ptr<EchoBackend> a_, b_;
  std::unique_ptr<Gateway> gateway_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EchoService::Stub> stub_;
};

TEST_P(GatewayTest, UnaryPassesMetadataTrailersAndStatus) {
  StartGateway();
  auto ctx = Context(Token({Role::kAuditor}));
  ctx->AddMetadata("x-echo", "bonjour");
  ctx->AddMetadata("x-echo-bin", std::string("\x00\x01\xff", 3));
  ctx->AddMetadata("x-request-id", "req-42");
  v1::EchoRequest req;
  req.set_message("hello");
  v1::EchoResponse resp;
  grpc::Status status = stub_->Echo(ctx.get(), req, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.message(), "hello");
  EXPECT_THAT(Values(ctx->GetServerInitialMetadata(), "x-echo-initial"),
              ::testing::ElementsAre("bonjour"));
  EXPECT_THAT(Values(ctx->GetServerTrailingMetadata(), "x-echo-trailer"),
              ::testing::ElementsAre("bonjour"));
  EXPECT_THAT(Values(ctx->GetServerTrailingMetadata(), "x-echo-bin"),
              ::testing::ElementsAre(std::string("\x00\x01\xff", 3)));
  EXPECT_THAT(Values(ctx->GetServerInitialMetadata(), "x-request-id"),
              ::testing::ElementsAre("req-42"));
  // The backend sees the caller's headers, its token (defence in depth) and the request id.
  auto seen = (resp.backend() == "a" ? a_ : b_)->last_call();
  EXPECT_EQ(seen.metadata.count("authorization"), 1u);
  ASSERT_EQ(seen.metadata.count("x-request-id"), 1u);
  EXPECT_EQ(seen.metadata.find("x-request-id")->second, "req-42");
}

TEST_P(GatewayTest, RequestIdIsGeneratedWhenAbsent) {
  StartGateway();
  auto ctx = Context(Token({Role::kAuditor}));
  v1::EchoRequest req;
  v1::EchoResponse resp;
  ASSERT_TRUE(stub_->Echo(ctx.get(), req, &resp).ok());
  auto ids = Values(ctx->GetServerInitialMetadata(), "x-request-id");
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0].size(), 36u);
}

TEST_P(GatewayTest, ErrorStatusMessageDetailsAndTrailersPassThrough) {
  StartGateway();
  auto ctx = Context(Token({Role::kAuditor}));
  ctx->AddMetadata("x-echo", "e");
  v1::EchoRequest req;
  req.set_message("m");
  req.set_fail_code(grpc::StatusCode::FAILED_PRECONDITION);
  req.set_fail_message("not now");
  v1::EchoResponse resp;
  grpc::Status status = stub_->Echo(ctx.get(), req, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "not now");
  EXPECT_EQ(status.error_details(), "details:m");
  EXPECT_THAT(Values(ctx->GetServerTrailingMetadata(), "x-echo-trailer"),
              ::testing::ElementsAre("e"));
}

TEST_P(GatewayTest, ClientStreaming) {
  StartGateway();
  auto ctx = Context(Token({Role::kCafAgent}));
  v1::EchoResponse resp;
  auto writer = stub_->Collect(ctx.get(), &resp);
  for (const char* m : {"un", "deux", "trois"}) {
    v1::EchoRequest req;
    req.set_message(m);
    ASSERT_TRUE(writer->Write(req));
  }
  ASSERT_TRUE(writer->WritesDone());
  grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.message(), "un,deux,trois");
  EXPECT_EQ(resp.index(), 3);
}

TEST_P(GatewayTest, ServerStreamingWithTrailersAndFinalError) {
  StartGateway();
  auto ctx = Context(Token({Role::kAuditor}));
  ctx->AddMetadata("x-echo", "s");
  v1::EchoRequest req;
  req.set_message("x");
  req.set_repeat(5);
  req.set_fail_code(grpc::StatusCode::ABORTED);
  req.set_fail_message("stream ended badly");
  auto reader = stub_->Expand(ctx.get(), req);
  v1::EchoResponse resp;
  std::vector<int> indexes;
  while (reader->Read(&resp)) indexes.push_back(resp.index());
  grpc::Status status = reader->Finish();
  EXPECT_EQ(indexes, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(status.error_message(), "stream ended badly");
  EXPECT_THAT(Values(ctx->GetServerInitialMetadata(), "x-echo-initial"),
              ::testing::ElementsAre("s"));
  EXPECT_THAT(Values(ctx->GetServerTrailingMetadata(), "x-echo-trailer"),
              ::testing::ElementsAre("s"));
}

TEST_P(GatewayTest, BidiStreamingInterleaves) {
  StartGateway();
  auto ctx = Context(Token({Role::kService}));
  auto stream = stub_->Chat(ctx.get());
  for (int i = 0; i < 4; ++i) {
    v1::EchoRequest req;
    req.set_message("ping" + std::to_string(i));
    ASSERT_TRUE(stream->Write(req));
    v1::EchoResponse resp;
    ASSERT_TRUE(stream->Read(&resp));  // each answer arrives before the next request is sent
    EXPECT_EQ(resp.message(), "ping" + std::to_string(i));
    EXPECT_EQ(resp.index(), i);
  }
  ASSERT_TRUE(stream->WritesDone());
  v1::EchoResponse extra;
  EXPECT_FALSE(stream->Read(&extra));
  EXPECT_TRUE(stream->Finish().ok());
}

// Many times the windows (1 MiB per stream, 8 MiB per connection) each way, with the caller
// reading while it writes: every byte arrives, in order, so the front end hands flow-control
// credit back as the other side takes the bytes (a leak would stall the stream at the window).
TEST_P(GatewayTest, LargeStreamsFlowThroughTheWindowsBothWays) {
  StartGateway(BaseConfig(Routes({a_.get()})));
  auto ctx = Context(Token({Role::kService}), 60s);
  auto stream = stub_->Chat(ctx.get());
  constexpr int kMessages = 160;
  const std::string payload(100 * 1024, 'x');
  std::thread writer([&] {
    for (int i = 0; i < kMessages; ++i) {
      v1::EchoRequest req;
      req.set_message(std::to_string(i) + ":" + payload);
      if (!stream->Write(req)) return;
    }
    stream->WritesDone();
  });
  int received = 0;
  v1::EchoResponse resp;
  while (stream->Read(&resp)) {
    EXPECT_EQ(resp.message(), std::to_string(received) + ":" + payload);
    ++received;
  }
  writer.join();
  const grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(received, kMessages);  // 16 MB each way

  auto ctx2 = Context(Token({Role::kAuditor}), 60s);
  v1::EchoRequest req;
  req.set_message(payload);
  req.set_repeat(160);
  auto reader = stub_->Expand(ctx2.get(), req);
  int n = 0;
  while (reader->Read(&resp)) {
    EXPECT_EQ(resp.index(), n);
    EXPECT_EQ(resp.message().size(), payload.size());
    ++n;
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(n, 160);
}

// A caller cannot pass itself off as another address: the header in which the relay names the
// caller to the proxy behind it is dropped from what callers send, and never reaches a backend.
TEST_P(GatewayTest, ACallerCannotNameItsOwnAddress) {
  StartGateway(BaseConfig(Routes({a_.get()})));
  auto ctx = Context(Token({Role::kAuditor}));
  ctx->AddMetadata(kRelayPeerHeader, "ipv4:203.0.113.7:4242");
  v1::EchoRequest req;
  v1::EchoResponse resp;
  ASSERT_TRUE(stub_->Echo(ctx.get(), req, &resp).ok());
  EXPECT_EQ(a_->last_call().metadata.count(kRelayPeerHeader), 0u);
}

TEST_P(GatewayTest, DeadlinePropagatesToTheBackend) {
  StartGateway();
  const auto deadline = std::chrono::system_clock::now() + 300ms;
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + Token({Role::kAuditor}));
  ctx.set_deadline(deadline);
  v1::EchoRequest req;
  req.set_hang(true);
  v1::EchoResponse resp;
  grpc::Status status = stub_->Echo(&ctx, req, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EchoBackend* seen = a_->calls() > 0 ? a_.get() : b_.get();
  ASSERT_EQ(seen->calls(), 1);
  // The backend got the caller's deadline (give or take transit), not the 30 s default.
  EXPECT_LE(seen->last_call().deadline, deadline + 1s);
  EXPECT_TRUE(seen->WaitForCancellations(1, 10s));
}

TEST_P(GatewayTest, DefaultDeadlineWhenTheCallerGivesNone) {
  auto config = BaseConfig(Routes({a_.get()}));
  config.default_deadline = 200ms;
  StartGateway(std::move(config));
  grpc::ClientContext ctx;  // no deadline
  ctx.AddMetadata("authorization", "Bearer " + Token({Role::kAuditor}));
  v1::EchoRequest req;
  req.set_hang(true);
  v1::EchoResponse resp;
  grpc::Status status = stub_->Echo(&ctx, req, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_NE(a_->last_call().deadline, std::chrono::system_clock::time_point::max());
  EXPECT_TRUE(a_->WaitForCancellations(1, 10s));
}

TEST_P(GatewayTest, CancellationPropagatesToTheBackend) {
  StartGateway(BaseConfig(Routes({a_.get()})));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + Token({Role::kAuditor}));
  v1::EchoRequest req;
  req.set_hang(true);
  v1::EchoResponse resp;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub_->async()->Echo(&ctx, &req, &resp, [&](grpc::Status s) {
    std::lock_guard lock(mu);
    status = s;
    done = true;
    cv.notify_all();
  });
  ASSERT_TRUE(a_->WaitForCalls(1, 10s));  // the backend is serving the call
  ctx.TryCancel();
  EXPECT_TRUE(a_->WaitForCancellations(1, 10s));
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return done; });
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
}

TEST_P(GatewayTest, BadTokensAreRefusedBeforeAnyBackendSeesTheCall) {
  StartGateway();
  const std::string good = Token({Role::kAuditor});
  const auto dot = good.find('.');
  const std::string payload = good.substr(dot + 1, good.rfind('.') - dot - 1);
  const std::string alg_none =
      Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." + payload + ".";
  const std::string cases[] = {
      "",  // missing
      Token({Role::kAuditor}, "alice", kKey, kAudience,
            std::chrono::system_clock::now() - 3h),                                // expired
      Token({Role::kAuditor}, "alice", "another-key-0123456789abcdef0123456789"),  // bad signature
      alg_none,                                                                    // alg: none
      Token({Role::kAuditor}, "alice", kKey, "someone-else"),                      // wrong audience
      "not-a-jwt",                                                                 // garbage
  };
  for (const auto& token : cases) {
    grpc::Status status = Echo(token);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << token;
  }
  // Every call type is checked the same way.
  auto ctx = Context("");
  auto stream = stub_->Chat(ctx.get());
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(BackendCalls(), 0);
  EXPECT_TRUE(Echo(good).ok());
}

TEST_P(GatewayTest, AuthorizationMatrix) {
  StartGateway();
  const std::vector<Role>& roles = AllRoles();
  // Expected: method -> roles allowed (as declared in echo.proto).
  const std::map<std::string, std::set<Role>> allowed = {
      {"Echo", {roles.begin(), roles.end()}},
      {"Collect", {Role::kCafAgent, Role::kCopilSecretariat}},
      {"Expand", {Role::kCopilSecretariat, Role::kAuditor}},
      {"Chat", {Role::kService}},
  };
  int expected_backend_calls = 0;
  for (Role role : roles) {
    const std::string token = Token({role}, std::string(RoleName(role)));
    for (const auto& [method, who] : allowed) {
      auto ctx = Context(token);
      grpc::Status status;
      v1::EchoRequest req;
      v1::EchoResponse resp;
      if (method == "Echo") {
        status = stub_->Echo(ctx.get(), req, &resp);
      } else if (method == "Collect") {
        auto w = stub_->Collect(ctx.get(), &resp);
        w->WritesDone();
        status = w->Finish();
      } else if (method == "Expand") {
        auto r = stub_->Expand(ctx.get(), req);
        while (r->Read(&resp)) {
        }
        status = r->Finish();
      } else {
        auto s = stub_->Chat(ctx.get());
        s->WritesDone();
        status = s->Finish();
      }
      const bool ok = who.count(role) != 0;
      if (ok) ++expected_backend_calls;
      EXPECT_EQ(status.error_code(),
                ok ? grpc::StatusCode::OK : grpc::StatusCode::PERMISSION_DENIED)
          << RoleName(role) << " x " << method << ": " << status.error_message();
    }
  }
  EXPECT_EQ(BackendCalls(), expected_backend_calls);
}

TEST_P(GatewayTest, UnknownServiceAndMethodAreUnimplemented) {
  StartGateway();
  grpc::GenericStub generic(channel_);
  for (const char* method : {"/ctg.nothing.v1.Nope/Get", "/ctg.testing.v1.EchoService/Nope"}) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + Token({Role::kAuditor}));
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    grpc::ByteBuffer request, response;
    grpc::Slice empty("");
    request = grpc::ByteBuffer(&empty, 1);
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status status;
    generic.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
      std::lock_guard lock(mu);
      status = s;
      done = true;
      cv.notify_all();
    });
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done; });
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << method;
  }
}

TEST_P(GatewayTest, RateLimitPerPrincipal) {
  auto config = BaseConfig(Routes({a_.get()}));
  config.rate_limit_rps = 0.001;  // practically no refill during the test
  config.rate_limit_burst = 3;
  StartGateway(std::move(config));
  const std::string alice = Token({Role::kAuditor}, "alice");
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Echo(alice).ok());
  auto ctx = Context(alice);
  v1::EchoRequest req;
  v1::EchoResponse resp;
  grpc::Status status = stub_->Echo(ctx.get(), req, &resp);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(details.details(0).UnpackTo(&retry));
  EXPECT_GT(retry.retry_delay().seconds(), 0);
  EXPECT_EQ(Values(ctx->GetServerTrailingMetadata(), "retry-after-ms").size(), 1u);
  EXPECT_EQ(a_->calls(), 3);
  // Another principal is not affected.
  EXPECT_TRUE(Echo(Token({Role::kAuditor}, "bob")).ok());
}

// Calls without a token (server reflection) are limited per peer address: a caller opening a
// new connection (a new port) for each call does not get a fresh bucket.
TEST_P(GatewayTest, CallsWithoutATokenAreLimitedPerAddressWhateverTheConnection) {
  auto config = BaseConfig(Routes({a_.get()}));
  config.rate_limit_rps = 0.001;
  config.rate_limit_burst = 2;
  StartGateway(std::move(config));
  std::vector<internal::ServerReflectionRequest> list(1);
  list[0].set_list_services("");
  int refused = 0;
  for (int i = 0; i < 4; ++i) {
    // A channel of its own each time: another connection, another source port.
    grpc::ChannelArguments args;
    args.SetInt("ctg.test.connection", i);  // distinct arguments: no shared subchannel
    auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(gateway_->port()),
                                             grpc::InsecureChannelCredentials(), args);
    try {
      ExchangeReflection(channel, list, 10s);
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("RESOURCE_EXHAUSTED"), std::string::npos) << e.what();
      ++refused;
    }
  }
  EXPECT_EQ(refused, 2);
}

TEST_P(GatewayTest, OversizedMessageIsRefused) {
  auto config = BaseConfig(Routes({a_.get()}));
  config.max_message_bytes = 4096;
  StartGateway(std::move(config));
  grpc::Status status = Echo(Token({Role::kAuditor}), nullptr, std::string(10000, 'x'));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(a_->calls(), 0);
  EXPECT_TRUE(Echo(Token({Role::kAuditor})).ok());
}

TEST_P(GatewayTest, RoundRobinThenFailoverToTheHealthyInstanceAndBack) {
  StartGateway();
  // Both in rotation first: on a loaded machine one's first health check can come late (it once
  // served all ten calls from "a").
  ASSERT_TRUE(gateway_->router().WaitForHealth(kEcho, a_->address(), true, 10s));
  ASSERT_TRUE(gateway_->router().WaitForHealth(kEcho, b_->address(), true, 10s));
  const std::string token = Token({Role::kAuditor});
  std::map<std::string, int> served;
  for (int i = 0; i < 10; ++i) {
    v1::EchoResponse resp;
    ASSERT_TRUE(Echo(token, &resp).ok());
    ++served[resp.backend()];
  }
  EXPECT_EQ(served["a"], 5);
  EXPECT_EQ(served["b"], 5);

  const int port_a = a_->port();
  const std::string address_a = a_->address();
  a_->Stop();
  ASSERT_TRUE(gateway_->router().WaitForHealth(kEcho, address_a, false, 10s));
  served.clear();
  for (int i = 0; i < 10; ++i) {
    v1::EchoResponse resp;
    grpc::Status status = Echo(token, &resp);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ++served[resp.backend()];
  }
  EXPECT_EQ(served["b"], 10);

  a_ = std::make_unique<EchoBackend>("a", port_a);  // restarted on the same address
  ASSERT_NE(a_->port(), 0);
  ASSERT_TRUE(gateway_->router().WaitForHealth(kEcho, address_a, true, 10s));
  served.clear();
  for (int i = 0; i < 10; ++i) {
    v1::EchoResponse resp;
    ASSERT_TRUE(Echo(token, &resp).ok());
    ++served[resp.backend()];
  }
  EXPECT_EQ(served["a"], 5);
}

TEST_P(GatewayTest, SafeCallsAreRetriedOnAnotherInstance) {
  auto config = BaseConfig(Routes({a_.get(), b_.get()}));
  config.health_interval = std::chrono::hours(1);  // the gateway does not notice the failure
  StartGateway(std::move(config));
  a_->Stop();
  const std::string token = Token({Role::kAuditor});
  for (int i = 0; i < 4; ++i) {
    auto ctx = Context(token);
    ctx->AddMetadata("idempotency-key", "k" + std::to_string(i));
    v1::EchoRequest req;
    v1::EchoResponse resp;
    grpc::Status status = stub_->Echo(ctx.get(), req, &resp);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(resp.backend(), "b");
  }
}

TEST_P(GatewayTest, ReadOnlyMethodsAreRetriedWithoutAKey) {
  auto config = BaseConfig(Routes({a_.get(), b_.get()}));
  config.health_interval = std::chrono::hours(1);
  StartGateway(std::move(config));
  a_->Stop();
  // Expand is declared read_only: retried on the live instance, no idempotency key needed.
  for (int i = 0; i < 4; ++i) {
    auto ctx = Context(Token({Role::kAuditor}));
    v1::EchoRequest req;
    req.set_repeat(2);
    auto reader = stub_->Expand(ctx.get(), req);
    v1::EchoResponse resp;
    int n = 0;
    while (reader->Read(&resp)) {
      EXPECT_EQ(resp.backend(), "b");
      ++n;
    }
    const grpc::Status status = reader->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(n, 2);
  }
}

TEST_P(GatewayTest, ABackendThatDoesNotDescribeItsMethodsGetsNoCall) {
  EchoBackend silent("silent", 0, /*reflection=*/false);
  StartGateway(BaseConfig(Routes({&silent})));
  // Its access rules are unknown: the gateway refuses rather than guess (fail closed).
  const grpc::Status status = Echo(Token({Role::kAuditor}));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("access rules"));
  EXPECT_EQ(silent.calls(), 0);
}

TEST_P(GatewayTest, WritesAreNotRetriedAndADeadInstanceIsEjectedAtOnce) {
  auto config = BaseConfig(Routes({a_.get(), b_.get()}));
  config.health_interval = std::chrono::hours(1);  // only passive ejection can notice
  StartGateway(std::move(config));
  a_->Stop();
  const std::string token = Token({Role::kAuditor});
  // Without an idempotency key a write is not retried by the terminating proxy: the one call
  // that reaches the dead instance fails; that failure ejects it, so every later call goes to the
  // live one. The relay sees the refused connection itself: the call was never sent, so it goes
  // to the live instance whatever its method, and nothing fails.
  int unavailable = 0;
  for (int i = 0; i < 6; ++i) {
    if (Echo(token).error_code() == grpc::StatusCode::UNAVAILABLE) ++unavailable;
  }
  EXPECT_EQ(unavailable, GetParam() == FrontEnd::kRelay ? 0 : 1);
  EXPECT_EQ(b_->calls(), GetParam() == FrontEnd::kRelay ? 6 : 5);
}

TEST_P(GatewayTest, OwnHealthFollowsBackendsAndNeedsNoToken) {
  StartGateway();
  auto health = grpc::health::v1::Health::NewStub(channel_);
  auto check = [&](const std::string& service) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::health::v1::HealthCheckResponse resp;
    grpc::Status status = health->Check(&ctx, req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp.status();
  };
  EXPECT_EQ(check(""), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(check(kEcho), grpc::health::v1::HealthCheckResponse::SERVING);
  const std::string address_a = a_->address(), address_b = b_->address();
  a_->Stop();
  ASSERT_TRUE(gateway_->router().WaitForHealth(kEcho, address_a, false, 10s));
  EXPECT_EQ(check(""), grpc::health::v1::HealthCheckResponse::SERVING);
  b_->Stop();
  ASSERT_TRUE(gateway_->router().WaitForHealth(kEcho, address_b, false, 10s));
  EXPECT_EQ(check(""), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(check(kEcho), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Echo(Token({Role::kAuditor})).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_P(GatewayTest, MetricsCoverServerClientAndBackendHealth) {
  StartGateway();
  ASSERT_TRUE(Echo(Token({Role::kAuditor})).ok());
  EXPECT_EQ(Echo("").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  const auto collect = [&] {
    std::map<std::string, double> totals;
    for (const auto& family : gateway_->metrics().registry()->Collect()) {
      for (const auto& m : family.metric) totals[family.name] += m.counter.value + m.gauge.value;
    }
    return totals;
  };
  // The relay counts a call just after its answer has left: wait for the second one.
  std::map<std::string, double> totals;
  ctg::testing::WaitFor([&] {
    totals = collect();
    return totals["grpc_server_handled_total"] >= 2;
  });
  EXPECT_EQ(totals["grpc_server_started_total"], 2);
  EXPECT_EQ(totals["grpc_server_handled_total"], 2);
  EXPECT_EQ(totals["grpc_client_started_total"], 1);
  EXPECT_EQ(totals["grpc_client_handled_total"], 1);
  EXPECT_EQ(totals["ctg_gateway_backend_healthy"], 2);
}

TEST_P(GatewayTest, ABackendDyingMidStreamEndsThatStreamOnly) {
  StartGateway();
  auto ctx = Context(Token({Role::kService}));
  auto stream = stub_->Chat(ctx.get());
  v1::EchoRequest req;
  req.set_message("un");
  v1::EchoResponse resp;
  ASSERT_TRUE(stream->Write(req));
  ASSERT_TRUE(stream->Read(&resp));
  EchoBackend* serving = resp.backend() == "a" ? a_.get() : b_.get();
  const std::string dead_address = serving->address();
  serving->Stop();  // in the middle of the conversation
  req.set_message("deux");
  stream->Write(req);  // may or may not be accepted: the backend is gone
  EXPECT_FALSE(stream->Read(&resp));
  stream->WritesDone();
  const grpc::Status status = stream->Finish();
  EXPECT_THAT(status.error_code(),
              ::testing::AnyOf(grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::CANCELLED))
      << status.error_message();
  // Not retried (the caller had already received a message); the others are served.
  ASSERT_TRUE(gateway_->router().WaitForHealth(kEcho, dead_address, false, 10s));
  const std::string token = Token({Role::kAuditor});
  for (int i = 0; i < 4; ++i) {
    v1::EchoResponse r;
    ASSERT_TRUE(Echo(token, &r).ok());
    EXPECT_NE(r.backend(), resp.backend() == "a" ? "a" : "b");
  }
}

TEST_P(GatewayTest, CallShapesAreLearntFromTheBackends) {
  StartGateway();
  const MethodCatalog& catalog = gateway_->catalog();
  EXPECT_EQ(catalog.Shape("/ctg.testing.v1.EchoService/Echo"), CallShape::kUnary);
  EXPECT_EQ(catalog.Shape("/ctg.testing.v1.EchoService/Collect"), CallShape::kClientStreaming);
  EXPECT_EQ(catalog.Shape("/ctg.testing.v1.EchoService/Expand"), CallShape::kServerStreaming);
  EXPECT_EQ(catalog.Shape("/ctg.testing.v1.EchoService/Chat"), CallShape::kBidiStreaming);
  EXPECT_EQ(catalog.Shape("/ctg.testing.v1.EchoService/Nope"), CallShape::kUnknown);
  // So are their declared access rules, exactly as echo.proto states them.
  const auto expand = catalog.Policy("/ctg.testing.v1.EchoService/Expand");
  ASSERT_NE(expand, nullptr);
  EXPECT_TRUE(expand->read_only);
  EXPECT_EQ(expand->roles, (std::set<Role>{Role::kCopilSecretariat, Role::kAuditor}));
  EXPECT_TRUE(catalog.Policy("/ctg.testing.v1.EchoService/Echo")->every_role);
  EXPECT_EQ(catalog.Policy("/ctg.testing.v1.EchoService/Nope"), nullptr);
}

TEST_P(GatewayTest, ReflectionIsAnsweredFromWhatTheBackendsDescribe) {
  StartGateway();
  std::vector<internal::ServerReflectionRequest> requests(4);
  requests[0].set_list_services("");
  requests[1].set_file_containing_symbol("ctg.testing.v1.EchoService.Echo");
  requests[2].set_file_by_filename("ctg/testing/v1/echo.proto");
  requests[3].set_file_containing_symbol("ctg.nothing.v1.Nope");
  // No token: reflection is open.
  const auto responses = ExchangeReflection(channel_, requests, 10s);
  ASSERT_EQ(responses.size(), 4u);
  std::vector<std::string> services;
  for (const auto& s : responses[0].list_services_response().service()) {
    services.push_back(s.name());
  }
  EXPECT_THAT(services, ::testing::Contains("grpc.reflection.v1alpha.ServerReflection"));
  EXPECT_EQ(std::count(services.begin(), services.end(), kEcho), 1);
  for (int i : {1, 2}) {
    // The file and the access declarations it imports.
    ASSERT_EQ(responses[i].file_descriptor_response().file_descriptor_proto_size(), 3) << i;
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(
        file.ParseFromString(responses[i].file_descriptor_response().file_descriptor_proto(0)));
    EXPECT_EQ(file.name(), "ctg/testing/v1/echo.proto");
  }
  EXPECT_EQ(responses[3].error_response().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_P(GatewayTest, CallsInFlightPerCallerAreCapped) {
  auto config = BaseConfig(Routes({a_.get()}));
  config.max_calls_per_caller = 2;
  StartGateway(std::move(config));
  const std::string alice = Token({Role::kAuditor}, "alice");
  // Two calls of alice hang in the backend...
  struct Pending {
    grpc::ClientContext ctx;
    v1::EchoRequest req;
    v1::EchoResponse resp;
    std::promise<grpc::Status> done;
  };
  std::vector<std::unique_ptr<Pending>> pending;
  for (int i = 0; i < 2; ++i) {
    auto p = std::make_unique<Pending>();
    p->ctx.AddMetadata("authorization", "Bearer " + alice);
    p->req.set_hang(true);
    stub_->async()->Echo(&p->ctx, &p->req, &p->resp,
                         [raw = p.get()](grpc::Status s) { raw->done.set_value(s); });
    pending.push_back(std::move(p));
  }
  ASSERT_TRUE(a_->WaitForCalls(2, 10s));
  // ... so her third is refused at the gateway, on any connection, while bob is served.
  auto other_channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(gateway_->port()),
                                                 grpc::InsecureChannelCredentials(), [] {
                                                   grpc::ChannelArguments args;
                                                   args.SetInt("test.distinct", 1);
                                                   return args;
                                                 }());
  auto other_stub = v1::EchoService::NewStub(other_channel);
  v1::EchoRequest req;
  v1::EchoResponse resp;
  grpc::Status refused = other_stub->Echo(Context(alice).get(), req, &resp);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("limit 2"));
  EXPECT_TRUE(Echo(Token({Role::kAuditor}, "bob")).ok());
  EXPECT_EQ(a_->calls(), 3);  // the refused call never reached the backend
  // Once her calls end, she is served again.
  for (auto& p : pending) p->ctx.TryCancel();
  for (auto& p : pending) {
    EXPECT_EQ(p->done.get_future().get().error_code(), grpc::StatusCode::CANCELLED);
  }
  grpc::Status again;
  for (int i = 0; i < 50; ++i) {  // the gateway releases a slot when its side of the call ends
    again = Echo(alice);
    if (again.ok()) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(again.ok()) << again.error_message();
}

// A gRPC server that passes its health check but answers every other call with bytes that are
// no protobuf message. Everything, health included, is served by one generic service (gRPC's
// built-in health service would turn the generic one off).
class GarbageBackend {
 public:
  GarbageBackend() {
    grpc::ServerBuilder builder;
    builder.SetOption(WithoutReflectionPlugin());
    builder.SetOption(std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~GarbageBackend() { server_->Shutdown(std::chrono::system_clock::now()); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  class Reactor : public grpc::ServerGenericBidiReactor {
   public:
    explicit Reactor(bool health) : health_(health) { StartRead(&in_); }
    void OnReadDone(bool) override {
      grpc::health::v1::HealthCheckResponse serving;
      serving.set_status(grpc::health::v1::HealthCheckResponse::SERVING);
      grpc::Slice bytes(health_ ? serving.SerializeAsString()
                                : std::string("\xff\xff\xff\xff\x0f garbage", 13));
      out_ = grpc::ByteBuffer(&bytes, 1);
      StartWriteAndFinish(&out_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    const bool health_;
    grpc::ByteBuffer in_, out_;
  };
  class Service : public grpc::CallbackGenericService {
    grpc::ServerGenericBidiReactor* CreateReactor(
        grpc::GenericCallbackServerContext* ctx) override {
      return new Reactor(ctx->method() == "/grpc.health.v1.Health/Check");
    }
  };
  Service service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// A TCP listener that answers every connection with an HTTP/1.1 error and closes it: not gRPC.
class JunkListener {
 public:
  JunkListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), len);
    listen(fd_, 16);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) continue;
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) continue;
        ++connections_;
        const char junk[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        (void)!write(c, junk, sizeof(junk) - 1);
        close(c);
      }
    });
  }
  ~JunkListener() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

// Sends `bytes` to 127.0.0.1:`port` on a new connection, then reads until the peer closes or
// `wait` passes; returns what came back.
std::string RawExchange(int port, const std::string& bytes, std::chrono::milliseconds wait) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  std::string got;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    (void)!write(fd, bytes.data(), bytes.size());
    const auto until = std::chrono::steady_clock::now() + wait;
    char buf[4096];
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, size_t(n));
    }
  }
  close(fd);
  return got;
}

// What an attacker sends to the public port: bytes that are not HTTP/2, a browser's HTTP/1.1,
// then a valid HTTP/2 preface followed by 2,000 streams each reset at once (the "rapid reset"
// pattern). None of it reaches a backend, and the gateway keeps serving everyone else.
TEST_P(GatewayTest, GarbageAndRapidResetsOnThePublicPortHarmNoOne) {
  StartGateway(BaseConfig(Routes({a_.get()})));
  ASSERT_TRUE(Echo(Token({Role::kAuditor})).ok());
  const int port = gateway_->port();
  RawExchange(port, std::string(4096, '\xff'), 500ms);
  RawExchange(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 500ms);
  std::string flood = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  flood += std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);  // empty SETTINGS
  const std::string path = "/ctg.testing.v1.EchoService/Echo";
  for (uint32_t id = 1; id < 4000; id += 2) {
    // HEADERS (END_HEADERS), literal fields without indexing: :method POST, :scheme http,
    // :path, :authority, content-type; then RST_STREAM CANCEL on the same stream.
    std::string block;
    auto literal = [&](const std::string& name, const std::string& value) {
      block += '\x00';
      block += char(name.size());
      block += name;
      block += char(value.size());
      block += value;
    };
    literal(":method", "POST");
    literal(":scheme", "http");
    literal(":path", path);
    literal(":authority", "gateway");
    literal("content-type", "application/grpc");
    auto frame = [&](uint8_t type, uint8_t flags, const std::string& payload) {
      const uint32_t n = payload.size();
      flood += char(n >> 16);
      flood += char(n >> 8);
      flood += char(n);
      flood += char(type);
      flood += char(flags);
      flood += char((id >> 24) & 0x7f);
      flood += char(id >> 16);
      flood += char(id >> 8);
      flood += char(id);
      flood += payload;
    };
    frame(0x1, 0x4, block);
    frame(0x3, 0x0, std::string("\x00\x00\x00\x08", 4));
  }
  // (The relay's nghttp2 ends such a connection after 1,000 resets: GOAWAY, INTERNAL_ERROR.)
  RawExchange(port, flood, 1000ms);
  // Without a token none of those calls passes admission: the backend saw only the first call.
  EXPECT_EQ(a_->calls(), 1);
  for (int i = 0; i < 3; ++i) {
    const grpc::Status status = Echo(Token({Role::kAuditor}));
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(a_->calls(), 4);
}

TEST_P(GatewayTest, GarbageFromABackendFailsOnlyTheCallsItServes) {
  GarbageBackend garbage;
  JunkListener junk;
  StartGateway(BaseConfig(std::string(kEcho) + " = " + garbage.address() + ", " + a_->address() +
                          ", " + junk.address() + "\n"));
  // The listener that does not speak gRPC never passes a health check: it gets no call.
  EXPECT_TRUE(gateway_->router().WaitForHealth(kEcho, junk.address(), false, 10s));
  EXPECT_GT(junk.connections(), 0);
  const std::string token = Token({Role::kAuditor});
  // Raw bytes through the gateway: each call gets what its instance sent, status included.
  grpc::GenericStub generic(channel_);
  int from_a = 0, junk_bytes = 0;
  for (int i = 0; i < 6; ++i) {
    auto ctx = Context(token);
    v1::EchoRequest req;
    req.set_message("m" + std::to_string(i));
    grpc::Slice slice(req.SerializeAsString());
    grpc::ByteBuffer request(&slice, 1), response;
    std::promise<grpc::Status> done;
    generic.UnaryCall(ctx.get(), "/ctg.testing.v1.EchoService/Echo", grpc::StubOptions(), &request,
                      &response, [&](grpc::Status s) { done.set_value(s); });
    const grpc::Status status = done.get_future().get();
    ASSERT_TRUE(status.ok()) << status.error_message();
    const std::string bytes = ByteBufferToString(response);
    v1::EchoResponse resp;
    if (resp.ParseFromString(bytes) && resp.backend() == "a") {
      ++from_a;
      EXPECT_EQ(resp.message(), "m" + std::to_string(i));
    } else {
      EXPECT_EQ(bytes, std::string("\xff\xff\xff\xff\x0f garbage", 13));
      ++junk_bytes;
    }
  }
  EXPECT_GT(from_a, 0);
  EXPECT_GT(junk_bytes, 0);
  EXPECT_EQ(a_->calls(), from_a);
  // A typed caller rejects the garbage itself (gRPC's stub reports a unary call without a
  // usable message); the calls the good instance serves still succeed.
  int failed = 0, succeeded = 0;
  for (int i = 0; i < 4; ++i) (Echo(token).ok() ? succeeded : failed)++;
  EXPECT_GT(failed, 0);
  EXPECT_GT(succeeded, 0);
  // The gateway itself is unharmed.
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  ASSERT_TRUE(health->Check(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST(RouterTest, MethodsAreLearntOnRecoveryAndPeriodically) {
  EchoBackend backend("a");
  RouterOptions options;
  options.relearn_rounds = 3;
  Router router(ParseRoutes(Routes({&backend})), options, nullptr);
  std::atomic<int> learnt{0};
  router.SetRecoveryListener([&](Backend* b) {
    EXPECT_EQ(b->address(), backend.address());
    ++learnt;
  });
  router.CheckNow();  // first check: the instance becomes healthy
  EXPECT_EQ(learnt, 1);
  router.CheckNow();
  EXPECT_EQ(learnt, 1);
  router.CheckNow();  // third round: every healthy instance again
  EXPECT_EQ(learnt, 2);
  backend.Stop();
  for (int i = 0; i < 3; ++i) router.CheckNow();  // an unhealthy instance is never asked
  EXPECT_EQ(learnt, 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, GatewayTest,
                         ::testing::Values(FrontEnd::kRelay, FrontEnd::kProxyUnaryFastPath,
                                           FrontEnd::kProxyEverythingStreamed),
                         [](const ::testing::TestParamInfo<FrontEnd>& info) {
                           switch (info.param) {
                             case FrontEnd::kRelay:
                               return "Relay";
                             case FrontEnd::kProxyUnaryFastPath:
                               return "ProxyUnaryFastPath";
                             default:
                               return "ProxyEverythingStreamed";
                           }
                         });

}  // namespace
}  // namespace ctg::gateway
