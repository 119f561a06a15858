#include "gateway/tables.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/config.h"
#include "ctg/action_plan/v1/action_plan.pb.h"
#include "ctg/partners/v1/partners.pb.h"
#include "gateway/gateway.h"
#include "gateway/proxy.h"
#include "gateway/rate_limiter.h"

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

TEST(AuthzTable, MostSpecificPatternWinsAndDefaultDenies) {
  auto table = AuthzTable::Parse(
      "ctg.p.v1.S/* = *\n"
      "ctg.p.v1.S/Create* = caf_agent, copil_secretariat\n"
      "ctg.p.v1.S/CreateThing = service\n"
      "grpc.health.v1.* = open\n");
  Principal caf{"u", "", {Role::kCafAgent}};
  Principal auditor{"u", "", {Role::kAuditor}};
  Principal service{"u", "", {Role::kService}};
  const auto* get = table.Find("ctg.p.v1.S", "GetThing");
  ASSERT_NE(get, nullptr);
  EXPECT_TRUE(AuthzTable::Allows(get, auditor));
  const auto* create = table.Find("ctg.p.v1.S", "CreateOther");
  EXPECT_TRUE(AuthzTable::Allows(create, caf));
  EXPECT_FALSE(AuthzTable::Allows(create, auditor));
  const auto* exact = table.Find("ctg.p.v1.S", "CreateThing");
  EXPECT_TRUE(AuthzTable::Allows(exact, service));
  EXPECT_FALSE(AuthzTable::Allows(exact, caf));
  EXPECT_EQ(table.Find("ctg.other.v1.S", "Get"), nullptr);
  EXPECT_FALSE(AuthzTable::Allows(nullptr, caf));
  const auto* health = table.Find("grpc.health.v1.Health", "Check");
  ASSERT_NE(health, nullptr);
  EXPECT_TRUE(health->open);
}

TEST(AuthzTable, RejectsUnknownRolesAndBadPatterns) {
  EXPECT_THROW(AuthzTable::Parse("ctg.p.v1.S/M = wizard\n"), ConfigError);
  EXPECT_THROW(AuthzTable::Parse("ctg.p.v1.S = *\n"), ConfigError);
  EXPECT_THROW(AuthzTable::Parse("ctg.p.v1.S/M =\n"), ConfigError);
  EXPECT_THROW(AuthzTable::Parse("ctg.p.v1.S/M = open, dpo\n"), ConfigError);
  EXPECT_THROW(AuthzTable::Parse("ctg.p.v1.S/M = dpo\nctg.p.v1.S/M = dpo\n"), ConfigError);
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

TEST(IsSafeToRetry, ReadsAndIdempotentWrites) {
  std::multimap<grpc::string_ref, grpc::string_ref> none;
  EXPECT_TRUE(IsSafeToRetry("GetOrganisation", none));
  EXPECT_TRUE(IsSafeToRetry("ListFacilities", none));
  EXPECT_FALSE(IsSafeToRetry("Getaway", none));
  EXPECT_FALSE(IsSafeToRetry("CreateOrganisation", none));
  std::multimap<grpc::string_ref, grpc::string_ref> keyed{{"idempotency-key", "k"}};
  EXPECT_TRUE(IsSafeToRetry("CreateOrganisation", keyed));
}

TEST(GatewayConfig, PlaintextOnlyOnLoopback) {
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1:8443"));
  EXPECT_TRUE(IsLoopbackAddress("[::1]:8443"));
  EXPECT_TRUE(IsLoopbackAddress("localhost:1"));
  EXPECT_FALSE(IsLoopbackAddress("0.0.0.0:8443"));
  EXPECT_FALSE(IsLoopbackAddress("10.0.0.1:8443"));
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

TEST(DeployTables, TheShippedRoutesAndAuthzFilesParse) {
  const auto routes = ParseRoutes(ReadFile(std::string(CTG_SOURCE_DIR) + "/deploy/gateway.routes"));
  EXPECT_FALSE(routes.empty());
  const auto authz =
      AuthzTable::Parse(ReadFile(std::string(CTG_SOURCE_DIR) + "/deploy/gateway.authz"));
  // Every routed service has at least one rule, so none is silently unreachable.
  for (const auto& r : routes) {
    bool covered = false;
    for (const auto& rule : authz.rules()) {
      covered = covered || rule.pattern.rfind(r.service, 0) == 0 ||
                (rule.pattern.back() == '*' &&
                 r.service.rfind(rule.pattern.substr(0, rule.pattern.size() - 1), 0) == 0);
    }
    EXPECT_TRUE(covered) << r.service;
  }
  Principal reader{"u", "", {Role::kAuditor}};
  Principal caf{"u", "", {Role::kCafAgent}};
  const auto* get = authz.Find("ctg.partners.v1.PartnerService", "GetOrganisation");
  EXPECT_TRUE(AuthzTable::Allows(get, reader));
  const auto* create = authz.Find("ctg.partners.v1.PartnerService", "CreateOrganisation");
  EXPECT_FALSE(AuthzTable::Allows(create, reader));
  EXPECT_TRUE(AuthzTable::Allows(create, caf));
  EXPECT_TRUE(authz.Find("grpc.health.v1.Health", "Check")->open);
}

// The shipped role table against every method the services declare (from their compiled
// descriptors), for every role: every method has a rule, every read is open to every role, and
// the read-only roles (DPO, CDSF, auditor) may change nothing in the partner registry or the
// action plan — the services would refuse them anyway, the gateway refuses them first.
TEST(DeployTables, RoleMatrixOverEveryMethodOfTheShippedServices) {
  const auto authz =
      AuthzTable::Parse(ReadFile(std::string(CTG_SOURCE_DIR) + "/deploy/gateway.authz"));
  const std::vector<Role> all_roles = {
      Role::kCafAgent, Role::kCollectivityAgent, Role::kCopilSecretariat, Role::kDpo,
      Role::kCdsf,     Role::kAuditor,           Role::kService};
  const std::vector<Role> read_only = {Role::kDpo, Role::kCdsf, Role::kAuditor};
  int methods = 0;
  for (const auto* service :
       {ctg::partners::v1::Organisation::descriptor()->file()->FindServiceByName("PartnerService"),
        ctg::action_plan::v1::Action::descriptor()->file()->FindServiceByName(
            "ActionPlanService")}) {
    ASSERT_NE(service, nullptr);
    for (int m = 0; m < service->method_count(); ++m) {
      const std::string method = service->method(m)->name();
      ++methods;
      const AuthzRule* rule = authz.Find(service->full_name(), method);
      ASSERT_NE(rule, nullptr) << service->full_name() << "/" << method;
      EXPECT_FALSE(rule->open) << method;
      const bool read = method.rfind("Get", 0) == 0 || method.rfind("List", 0) == 0 ||
                        method.rfind("Check", 0) == 0 || method.rfind("Export", 0) == 0;
      for (Role role : all_roles) {
        const Principal principal{"u", "", {role}};
        const bool allowed = AuthzTable::Allows(rule, principal);
        if (read) {
          EXPECT_TRUE(allowed) << method << " for " << RoleName(role);
        } else if (std::find(read_only.begin(), read_only.end(), role) != read_only.end()) {
          EXPECT_FALSE(allowed) << method << " for " << RoleName(role);
        }
      }
      // A caller without any role reads ('*' is any authenticated caller) but never writes.
      EXPECT_EQ(AuthzTable::Allows(rule, Principal{"u", "", {}}), read) << method;
    }
  }
  EXPECT_GE(methods, 38);  // 25 partners + 13 action plan RPCs today
}

}  // namespace
}  // namespace ctg::gateway
