#include "gateway/tables.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "common/config.h"
#include "ctg/action_plan/v1/action_plan.pb.h"
#include "ctg/consents/v1/consents.pb.h"
#include "ctg/indicators/v1/indicators.pb.h"
#include "ctg/partners/v1/partners.pb.h"
#include "ctg/reporting/v1/reporting.pb.h"
#include "gateway/gateway.h"
#include "gateway/h2_relay.h"
#include "gateway/listen.h"
#include "gateway/manifest.h"
#include "gateway/proxy.h"
#include "gateway/rate_limiter.h"
#include "gateway/router.h"

namespace ctg::gateway {
namespace {

TEST(SplitMethodPath, AcceptsOnlyServiceSlashMethod) {
  std::string s, m;
  ASSERT_TRUE(SplitMethodPath("/ctg.partners.v1.PartnerService/GetOrganisation", &s, &m));
  EXPECT_EQ(s, "ctg.partners.v1.PartnerService");
  EXPECT_EQ(m, "GetOrganisation");
  EXPECT_FALSE(SplitMethodPath("", &s, &m));
  EXPECT_FALSE(SplitMethodPath("/NoMethod", &s, &m));
  EXPECT_FALSE(SplitMethodPath("/a.B/", &s, &m));
  EXPECT_FALSE(SplitMethodPath("a.B/C", &s, &m));
  EXPECT_FALSE(SplitMethodPath("/a.B/C/D", &s, &m));
}

TEST(ParseRoutes, ReadsServicesAndInstances) {
  auto routes = ParseRoutes(
      "# comment\n"
      "ctg.partners.v1.PartnerService = 127.0.0.1:50051, 127.0.0.1:50061  # two\n"
      "\n"
      "ctg.testing.v1.EchoService=localhost:1\n");
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].service, "ctg.partners.v1.PartnerService");
  EXPECT_EQ(routes[0].backends, (std::vector<std::string>{"127.0.0.1:50051", "127.0.0.1:50061"}));
  EXPECT_EQ(routes[1].backends, (std::vector<std::string>{"localhost:1"}));
}

TEST(ParseRoutes, RejectsBadLinesNamingThem) {
  EXPECT_THROW(ParseRoutes("ctg.a.B\n"), ConfigError);
  EXPECT_THROW(ParseRoutes("ctg.a.B = \n"), ConfigError);
  EXPECT_THROW(ParseRoutes("ctg.a.B = host\n"), ConfigError);
  EXPECT_THROW(ParseRoutes("ctg.a.B = host:99999\n"), ConfigError);
  EXPECT_THROW(ParseRoutes("NoDot = host:1\n"), ConfigError);
  EXPECT_THROW(ParseRoutes("ctg.a.B = h:1\nctg.a.B = h:2\n"), ConfigError);
  try {
    ParseRoutes("ctg.a.B = h:1\n\nctg.c.D = nope\n");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
}

TEST(InRotationAfterCheck, OneSlowCheckDoesNotTakeAHealthyInstanceOut) {
  int slow = 0;
  // Healthy, then one timed-out check: still in rotation; a second in a row takes it out.
  EXPECT_TRUE(InRotationAfterCheck(true, false, true, &slow, 2));
  EXPECT_FALSE(InRotationAfterCheck(true, false, true, &slow, 2));
  // An answer resets the count; a refusal (not a timeout) takes it out at once.
  EXPECT_TRUE(InRotationAfterCheck(false, true, false, &slow, 2));
  EXPECT_EQ(slow, 0);
  EXPECT_FALSE(InRotationAfterCheck(true, false, false, &slow, 2));
  // Never healthy: a timeout keeps it out; with a threshold of 1 the first timeout counts.
  EXPECT_FALSE(InRotationAfterCheck(false, false, true, &slow, 2));
  slow = 0;
  EXPECT_FALSE(InRotationAfterCheck(true, false, true, &slow, 1));
}

TEST(RateLimiter, RefillsAtTheConfiguredRate) {
  RateLimiter limiter(2, 3);  // 2 per second, burst 3
  const auto t0 = RateLimiter::Clock::time_point() + std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Acquire("alice", t0).count(), 0);
  EXPECT_EQ(limiter.Acquire("alice", t0).count(), 500);
  EXPECT_EQ(limiter.Acquire("bob", t0).count(), 0);  // buckets are per principal
  EXPECT_EQ(limiter.Acquire("alice", t0 + std::chrono::milliseconds(500)).count(), 0);
  EXPECT_GT(limiter.Acquire("alice", t0 + std::chrono::milliseconds(500)).count(), 0);
}

TEST(RateLimiter, ZeroRateDisables) {
  RateLimiter limiter(0, 1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.Acquire("x").count(), 0);
}

TEST(RetryBudget, BoundsRetries) {
  RetryBudget budget(0.5, 2);
  EXPECT_TRUE(budget.Withdraw());
  EXPECT_TRUE(budget.Withdraw());
  EXPECT_FALSE(budget.Withdraw());
  budget.Deposit();
  EXPECT_FALSE(budget.Withdraw());
  budget.Deposit();
  EXPECT_TRUE(budget.Withdraw());
}

TEST(IsSafeToRetry, DeclaredReadsAndIdempotentWrites) {
  MethodPolicy read;
  read.read_only = true;
  MethodPolicy write;
  EXPECT_TRUE(IsSafeToRetry(read, /*has_idempotency_key=*/false));
  EXPECT_FALSE(IsSafeToRetry(write, /*has_idempotency_key=*/false));
  EXPECT_TRUE(IsSafeToRetry(write, /*has_idempotency_key=*/true));
}

TEST(PeerAddress, DropsThePortThatChangesWithEachConnection) {
  EXPECT_EQ(PeerAddress("ipv4:10.0.0.1:53124"), "ipv4:10.0.0.1");
  EXPECT_EQ(PeerAddress("ipv4:10.0.0.1:53125"), "ipv4:10.0.0.1");
  EXPECT_EQ(PeerAddress("ipv6:[::1]:5000"), "ipv6:[::1]");
  EXPECT_EQ(PeerAddress("unix:/tmp/s"), "unix:/tmp/s");
}

TEST(IsOpenMethod, OnlyHealthAndReflection) {
  EXPECT_TRUE(IsOpenMethod("grpc.health.v1.Health"));
  EXPECT_TRUE(IsOpenMethod("grpc.reflection.v1alpha.ServerReflection"));
  EXPECT_FALSE(IsOpenMethod("grpc.healthy.Thing"));
  EXPECT_FALSE(IsOpenMethod("ctg.partners.v1.PartnerService"));
}

TEST(GatewayConfig, PlaintextOnlyOnLoopback) {
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1:8443"));
  EXPECT_TRUE(IsLoopbackAddress("[::1]:8443"));
  EXPECT_TRUE(IsLoopbackAddress("localhost:1"));
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.53:8443"));
  EXPECT_FALSE(IsLoopbackAddress("0.0.0.0:8443"));
  EXPECT_FALSE(IsLoopbackAddress("10.0.0.1:8443"));
  // Decided on the resolved address, not on the spelling of the name.
  EXPECT_FALSE(IsLoopbackAddress("127.evil.example:8443"));
  EXPECT_FALSE(IsLoopbackAddress("127.0.0.1.nip.io:8443"));
  EXPECT_FALSE(IsLoopbackAddress(":8443"));
}

TEST(GatewayConfig, BadSettingsAreNamed) {
  const char* missing_routes[] = {"ctg-gateway", "--plaintext=true"};
  try {
    LoadGatewayConfig(2, missing_routes);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--routes-file"), std::string::npos) << e.what();
  }
  const char* unknown[] = {"ctg-gateway", "--nope=1"};
  EXPECT_THROW(LoadGatewayConfig(2, unknown), ConfigError);
}

}  // namespace
}  // namespace ctg::gateway

namespace ctg::gateway {
namespace {

std::string ReadFile(const std::string& path) { return ReadSecretFile(path, path); }

TEST(DeployTables, TheShippedManifestParsesAndRoutesEveryService) {
  const auto manifest =
      ParseManifest(ReadFile(std::string(CTG_SOURCE_DIR) + "/deploy/services.json"));
  ASSERT_GE(manifest.services_size(), 2);
  EXPECT_EQ(manifest.services(0).name(), "partners");
  const auto routes = RoutesFromManifest(manifest);
  ASSERT_EQ(routes.size(), static_cast<size_t>(manifest.services_size()));
  EXPECT_EQ(routes[0].service, "ctg.partners.v1.PartnerService");
  EXPECT_EQ(routes[0].backends, (std::vector<std::string>{"127.0.0.1:50051"}));
}

TEST(ParseManifest, RefusesWhatCouldNotStart) {
  const std::string ok_partners =
      R"({"name": "partners", "binary": "ctg-partners", "grpcService": "ctg.p.v1.P",)"
      R"( "port": 50051, "metricsPort": 9464})";
  EXPECT_NO_THROW(ParseManifest(R"({"services": [)" + ok_partners + "]}"));
  // A dependency listed after its user, or unknown.
  EXPECT_THROW(ParseManifest(R"({"services": [{"name": "plan", "binary": "b", "grpcService":)"
                             R"( "ctg.a.v1.A", "port": 1, "metricsPort": 2, "backends":)"
                             R"( ["partners"]}, )" +
                             ok_partners + "]}"),
               ConfigError);
  // A port used twice.
  EXPECT_THROW(ParseManifest(R"({"services": [)" + ok_partners +
                             R"(], "gateway": {"port": 50051, "metricsPort": 1}})"),
               ConfigError);
  EXPECT_THROW(ParseManifest("{not json"), ConfigError);
  EXPECT_THROW(ParseManifest(R"({"services": [{"name": "x"}]})"), ConfigError);
}

// Every routed service declares the access of every one of its methods (the gateway learns
// them; a method without one would stop the service at start-up).
TEST(DeployTables, EveryMethodOfTheRoutedServicesDeclaresItsAccess) {
  const auto routes = RoutesFromManifest(
      ParseManifest(ReadFile(std::string(CTG_SOURCE_DIR) + "/deploy/services.json")));
  // Links the services' descriptors into the generated pool.
  ASSERT_NE(ctg::partners::v1::Organisation::descriptor(), nullptr);
  ASSERT_NE(ctg::action_plan::v1::Action::descriptor(), nullptr);
  ASSERT_NE(ctg::indicators::v1::Indicator::descriptor(), nullptr);
  ASSERT_NE(ctg::consents::v1::ExchangeRequest::descriptor(), nullptr);
  ASSERT_NE(ctg::reporting::v1::ReportJob::descriptor(), nullptr);
  int methods = 0;
  for (const auto& r : routes) {
    const auto policies = ServicePolicies(r.service);
    EXPECT_FALSE(policies.empty()) << r.service;
    methods += static_cast<int>(policies.size());
  }
  // 25 partners + 13 action plan + 11 indicators + 12 consents + 5 reporting RPCs today.
  EXPECT_GE(methods, 66);
}

}  // namespace
}  // namespace ctg::gateway

namespace ctg::gateway {
namespace {

TEST(RelayWire, GrpcMessagesArePercentEncoded) {
  EXPECT_EQ(PercentEncodeGrpcMessage("no role may call X (allowed: dpo)"),
            "no role may call X (allowed: dpo)");
  EXPECT_EQ(PercentEncodeGrpcMessage("100% refusé\n"), "100%25 refus%C3%A9%0A");
}

TEST(RelayWire, GrpcTimeoutHeaderKeepsAtMostEightDigits) {
  EXPECT_EQ(GrpcTimeoutHeader(std::chrono::milliseconds(30000)), "30000m");
  EXPECT_EQ(GrpcTimeoutHeader(std::chrono::milliseconds(-5)), "0m");
  EXPECT_EQ(GrpcTimeoutHeader(std::chrono::milliseconds(123456789)), "123456S");
  EXPECT_EQ(GrpcTimeoutHeader(std::chrono::hours(24 * 365 * 20000)), "99999999H");
}

TEST(ListenEndpoint, LiteralsOnly) {
  EXPECT_EQ(ListenEndpoint("127.0.0.1:50050").port(), 50050);
  EXPECT_TRUE(ListenEndpoint("[::1]:0").address().is_v6());
  EXPECT_EQ(ListenEndpoint("localhost:8").address().to_string(), "127.0.0.1");
  EXPECT_THROW(ListenEndpoint("example.org:80"), std::runtime_error);
  EXPECT_THROW(ListenEndpoint("127.0.0.1"), std::runtime_error);
  EXPECT_THROW(ListenEndpoint("127.0.0.1:80x"), std::runtime_error);
  EXPECT_THROW(ListenEndpoint("127.0.0.1:70000"), std::runtime_error);
}

}  // namespace
}  // namespace ctg::gateway

namespace ctg::gateway {
namespace {

// A Unix socket bound at `path`; listening when `listen_too` (closed with the returned fd).
int BindUnixSocket(const std::filesystem::path& path, bool listen_too) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string p = path.string();
  std::copy(p.begin(), p.end(), addr.sun_path);
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  if (listen_too) EXPECT_EQ(listen(fd, 1), 0);
  return fd;
}

TEST(RemoveStalePrivateDirs, OnlyThoseOfGatewaysThatAreGone) {
  namespace fs = std::filesystem;
  const fs::path parent =
      fs::temp_directory_path() / ("ctg-stale-test." + std::to_string(getpid()));
  fs::remove_all(parent);
  for (const char* d : {"ctg-gateway.dead", "ctg-gateway.young", "ctg-gateway.alive", "other"}) {
    fs::create_directories(parent / d);
  }
  close(BindUnixSocket(parent / "ctg-gateway.dead" / "proxy.sock", false));   // killed
  close(BindUnixSocket(parent / "ctg-gateway.young" / "proxy.sock", false));  // starting
  const int alive = BindUnixSocket(parent / "ctg-gateway.alive" / "proxy.sock", true);
  const auto old = fs::file_time_type::clock::now() - std::chrono::minutes(5);
  for (const char* d : {"ctg-gateway.dead", "ctg-gateway.alive", "other"}) {
    fs::last_write_time(parent / d, old);
  }
  RemoveStalePrivateDirs(parent);
  EXPECT_FALSE(fs::exists(parent / "ctg-gateway.dead"));
  EXPECT_TRUE(fs::exists(parent / "ctg-gateway.young"));
  EXPECT_TRUE(fs::exists(parent / "ctg-gateway.alive"));
  EXPECT_TRUE(fs::exists(parent / "other"));
  close(alive);
  fs::remove_all(parent);
}

}  // namespace
}  // namespace ctg::gateway
