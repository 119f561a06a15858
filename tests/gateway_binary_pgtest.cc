// The real ctg-gateway binary in front of real ctg-partners processes on a real PostgreSQL:
// routing, authentication and authorization before forwarding, traffic moving away from a
// killed instance and back to a restarted one, and a clean SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "common/jwt_keys.h"
#include "common/testing/test_host.h"
#include "ctg/partners/v1/partners.grpc.pb.h"
#include "e2e_support.h"
#include "gateway/method_catalog.h"
#include "gateway/tests/echo_backend.h"
#include "gateway/tests/test_pki.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace ctg::e2e {
namespace {

namespace pv1 = ::ctg::partners::v1;
using Serving = grpc::health::v1::HealthCheckResponse;

grpc::StatusCode ListThrough(pv1::PartnerService::Stub& stub, const std::string& token) {
  pv1::ListOrganisationsRequest request;
  pv1::ListOrganisationsResponse response;
  return stub.ListOrganisations(Context(token).get(), request, &response).error_code();
}

TEST(GatewayBinaryTest, FrontsRealServicesAndFollowsTheirHealth) {
  EmptyDatabase db;
  auto a = std::make_unique<PartnersProcess>(db.url());
  auto b = std::make_unique<PartnersProcess>(db.url());
  ASSERT_TRUE(a->WaitForHealth(Serving::SERVING, std::chrono::seconds(30)));
  ASSERT_TRUE(b->WaitForHealth(Serving::SERVING, std::chrono::seconds(30)));
  const std::string b_address = b->address();
  GatewayProcess gateway(PartnersRoutes({a->address(), b_address}), a->key_file());
  ASSERT_TRUE(gateway.WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) << gateway.log();
  auto stub = pv1::PartnerService::NewStub(gateway.channel());
  const auto secretariat = Token({"registry_admin"});

  // Authenticated and authorized calls reach a backend; the others are refused at the gateway.
  EXPECT_EQ(ListThrough(*stub, secretariat), grpc::StatusCode::OK);
  EXPECT_EQ(ListThrough(*stub, ""), grpc::StatusCode::UNAUTHENTICATED);
  pv1::CreateOrganisationRequest create;
  create.mutable_organisation()->set_kind(pv1::CAF);
  create.mutable_organisation()->set_display_name("Caf de Lot-et-Garonne");
  pv1::Organisation created;
  EXPECT_EQ(stub->CreateOrganisation(Context(Token({"dpo"})).get(), create, &created).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub->CreateOrganisation(Context(secretariat).get(), create, &created).ok());
  // Bad input still gets the service's own field violations through the gateway.
  create.mutable_organisation()->set_display_name("");
  EXPECT_EQ(stub->CreateOrganisation(Context(secretariat).get(), create, &created).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // One instance dies: traffic moves to the other, no call fails.
  a->process().Signal(SIGKILL);
  a->process().WaitExit(std::chrono::seconds(10));
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(ListThrough(*stub, secretariat), grpc::StatusCode::OK) << "call " << i;
  }
  // Both die: the gateway says so, and calls fail fast with UNAVAILABLE.
  b->process().Signal(SIGKILL);
  b->process().WaitExit(std::chrono::seconds(10));
  b.reset();
  EXPECT_TRUE(gateway.WaitForHealth(Serving::NOT_SERVING, std::chrono::seconds(10)));
  EXPECT_EQ(ListThrough(*stub, secretariat), grpc::StatusCode::UNAVAILABLE);

  // An instance comes back on a routed address: traffic returns to it.
  b = std::make_unique<PartnersProcess>(db.url(),
                                        std::vector<std::string>{"--listen=" + b_address});
  ASSERT_TRUE(b->WaitForHealth(Serving::SERVING, std::chrono::seconds(30)));
  ASSERT_TRUE(gateway.WaitForHealth(Serving::SERVING, std::chrono::seconds(10)));
  EXPECT_EQ(ListThrough(*stub, secretariat), grpc::StatusCode::OK);

  gateway.process().Signal(SIGTERM);
  EXPECT_EQ(gateway.process().WaitExit(std::chrono::seconds(20)), 0);
}

// Every call through the gateway leaves one access-log line: its request id (the caller's, or
// the one generated and echoed), principal, method, backend, status and sizes, never the token.
// Lines are written in batches (--access-log-flush-ms) and the last ones when the gateway stops.
TEST(GatewayBinaryTest, EachCallLeavesOneAccessLogLineWithoutItsToken) {
  EmptyDatabase db;
  PartnersProcess partners(db.url());
  ASSERT_TRUE(partners.WaitForHealth(Serving::SERVING, std::chrono::seconds(30)));
  // A long flush interval: the lines of these calls can only come out at the stop.
  GatewayProcess gateway(PartnersRoutes({partners.address()}), partners.key_file(),
                         {"--access-log-flush-ms=10000"});
  ASSERT_TRUE(gateway.WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) << gateway.log();
  auto stub = pv1::PartnerService::NewStub(gateway.channel());
  const std::string token = Token({"registry_admin"});
  for (int i = 0; i < 3; ++i) {
    auto context = Context(token);
    context->AddMetadata("x-request-id", "access-log-test-" + std::to_string(i));
    pv1::ListOrganisationsRequest request;
    pv1::ListOrganisationsResponse response;
    ASSERT_TRUE(stub->ListOrganisations(context.get(), request, &response).ok());
  }
  EXPECT_EQ(ListThrough(*stub, ""), grpc::StatusCode::UNAUTHENTICATED);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(gateway.log().find("access-log-test-"), std::string::npos) << "not yet flushed";

  // Stopping writes them at once, not at the end of the interval.
  const auto stop = std::chrono::steady_clock::now();
  gateway.process().Signal(SIGTERM);
  ASSERT_EQ(gateway.process().WaitExit(std::chrono::seconds(20)), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - stop, std::chrono::seconds(8));
  const std::string log = gateway.log();
  std::vector<std::string> access;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("\"msg\":\"access\"") != std::string::npos &&
        line.find("PartnerService/ListOrganisations") != std::string::npos) {
      access.push_back(line);
    }
  }
  ASSERT_EQ(access.size(), 4u) << log;
  for (int i = 0; i < 3; ++i) {
    const std::string& line = access[i];
    EXPECT_NE(line.find("\"request_id\":\"access-log-test-" + std::to_string(i) + "\""),
              std::string::npos)
        << line;
    EXPECT_NE(line.find("\"principal\":\""), std::string::npos) << line;
    EXPECT_NE(line.find("\"method\":\"/ctg.partners.v1.PartnerService/ListOrganisations\""),
              std::string::npos)
        << line;
    EXPECT_NE(line.find("\"backend\":\"" + partners.address() + "\""), std::string::npos) << line;
    EXPECT_NE(line.find("\"code\":\"OK\""), std::string::npos) << line;
  }
  EXPECT_NE(access[3].find("\"code\":\"UNAUTHENTICATED\""), std::string::npos) << access[3];
  // The token (its signature, the part that authenticates) appears nowhere in the log.
  EXPECT_EQ(log.find(token.substr(token.rfind('.') + 1)), std::string::npos);
  EXPECT_EQ(log.find("Bearer ey"), std::string::npos) << log;
}

// Production tokens are signed by an identity provider (RS256/ES256): the gateway and the
// services behind it are given the same public keys, so such a token passes both checks
// (defence in depth), while a token signed by another key is refused at the gateway.
TEST(GatewayBinaryTest, AsymmetricTokensPassTheGatewayAndTheService) {
  EmptyDatabase db;
  TempDir keys;
  const auto idp = gateway::testing::GenerateEcKey();
  const auto rogue = gateway::testing::GenerateEcKey();
  WriteFile(keys.File("idp.pem"), "# kid: idp-1\n" + idp.public_pem);
  const std::string public_keys = "--jwt-public-keys-file=" + keys.File("idp.pem");
  PartnersProcess partners(db.url(), {public_keys});
  ASSERT_TRUE(partners.WaitForHealth(Serving::SERVING, std::chrono::seconds(30)));
  GatewayProcess gateway(PartnersRoutes({partners.address()}), partners.key_file(), {public_keys});
  ASSERT_TRUE(gateway.WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) << gateway.log();
  auto stub = pv1::PartnerService::NewStub(gateway.channel());

  TokenClaims claims;
  claims.subject = "agent-caf47";
  claims.roles = {Role::kCafAgent};
  claims.issuer = kIssuer;
  claims.audience = kAudience;
  EXPECT_EQ(ListThrough(*stub, MintAsymmetricToken(claims, idp.private_pem, "idp-1")),
            grpc::StatusCode::OK);
  EXPECT_EQ(ListThrough(*stub, MintAsymmetricToken(claims, rogue.private_pem, "idp-1")),
            grpc::StatusCode::UNAUTHENTICATED);
  // The service checks the token itself too: called directly, the same rules hold.
  auto direct = pv1::PartnerService::NewStub(partners.channel());
  EXPECT_EQ(ListThrough(*direct, MintAsymmetricToken(claims, idp.private_pem, "idp-1")),
            grpc::StatusCode::OK);
  EXPECT_EQ(ListThrough(*direct, MintAsymmetricToken(claims, rogue.private_pem)),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ListThrough(*direct, Token({"registry_admin"})), grpc::StatusCode::OK);  // HS256
}

// The gateway exports its own counters and the standard process metrics on its metrics port.
TEST(GatewayBinaryTest, MetricsPortExportsCallAndProcessMetrics) {
  EmptyDatabase db;
  PartnersProcess partners(db.url());
  ASSERT_TRUE(partners.WaitForHealth(Serving::SERVING, std::chrono::seconds(30)));
  GatewayProcess gateway(PartnersRoutes({partners.address()}), partners.key_file());
  ASSERT_TRUE(gateway.WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) << gateway.log();
  auto stub = pv1::PartnerService::NewStub(gateway.channel());
  ASSERT_EQ(ListThrough(*stub, Token({"auditor"})), grpc::StatusCode::OK);

  // The gateway counts a call just after its answer has left: read until it is there.
  std::string metrics;
  ctg::testing::WaitFor([&] {
    metrics = HttpGet(gateway.metrics_port(), "/metrics");
    return metrics.find("grpc_server_handled_total{grpc_code=\"OK\"") != std::string::npos;
  });
  ASSERT_NE(metrics.find(" 200 "), std::string::npos) << metrics.substr(0, 200);
  EXPECT_NE(metrics.find("grpc_server_handled_total{grpc_code=\"OK\""), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("grpc_method=\"ListOrganisations\""), std::string::npos);
  const pid_t pid = gateway.process().pid();
  // Figures of the gateway process itself, not of the test: compare with its /proc entry.
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  double rss_kib = 0;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) rss_kib = std::atof(line.c_str() + 6);
  }
  const double rss = SampleValue(metrics, "process_resident_memory_bytes");
  EXPECT_GT(rss, 0.5 * rss_kib * 1024);
  EXPECT_LT(rss, 2.0 * rss_kib * 1024);
  EXPECT_GT(SampleValue(metrics, "process_open_fds"), 3);
  EXPECT_GT(SampleValue(metrics, "process_max_fds"), SampleValue(metrics, "process_open_fds"));
  EXPECT_GE(SampleValue(metrics, "process_cpu_seconds_total"), 0);
  EXPECT_GT(SampleValue(metrics, "process_start_time_seconds"), 1.7e9);
}

// Reflection through the gateway covers every service behind it at once (each backend describes
// itself; the gateway merges), so grpcurl or ctgctl pointed at the gateway sees the whole API.
TEST(GatewayBinaryTest, ReflectionCoversEveryBackendService) {
  EmptyDatabase db;
  PartnersProcess partners(db.url());
  ASSERT_TRUE(partners.WaitForHealth(Serving::SERVING, std::chrono::seconds(30)));
  gateway::testing::EchoBackend echo("echo");
  GatewayProcess gateway(PartnersRoutes({partners.address()}) +
                             "ctg.testing.v1.EchoService = " + echo.address() + "\n",
                         partners.key_file());
  ASSERT_TRUE(gateway.WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) << gateway.log();

  std::vector<gateway::internal::ServerReflectionRequest> requests(3);
  requests[0].set_list_services("");
  requests[1].set_file_containing_symbol("ctg.partners.v1.PartnerService");
  requests[2].set_file_containing_symbol("ctg.testing.v1.EchoService.Echo");
  const auto responses =
      gateway::ExchangeReflection(gateway.channel(), requests, std::chrono::seconds(10));
  ASSERT_EQ(responses.size(), 3u);
  std::set<std::string> services;
  for (const auto& s : responses[0].list_services_response().service()) services.insert(s.name());
  EXPECT_TRUE(services.count("ctg.partners.v1.PartnerService"));
  EXPECT_TRUE(services.count("ctg.testing.v1.EchoService"));
  auto first_file = [](const gateway::internal::ServerReflectionResponse& r) {
    google::protobuf::FileDescriptorProto file;
    if (r.file_descriptor_response().file_descriptor_proto_size() > 0) {
      file.ParseFromString(r.file_descriptor_response().file_descriptor_proto(0));
    }
    return file;
  };
  const auto partners_file = first_file(responses[1]);
  EXPECT_EQ(partners_file.name(), "ctg/partners/v1/partners.proto");
  // Its imports come with it (and theirs), so a client can build every message type.
  std::set<std::string> sent;
  for (const auto& bytes : responses[1].file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto f;
    ASSERT_TRUE(f.ParseFromString(bytes));
    sent.insert(f.name());
  }
  for (const auto& dependency : partners_file.dependency()) {
    EXPECT_EQ(sent.count(dependency), 1u) << dependency;
  }
  EXPECT_EQ(first_file(responses[2]).name(), "ctg/testing/v1/echo.proto");

  // The gateway applies what each backend declares: Echo is open to every role, Chat to the
  // service role only.
  auto echo_stub = ctg::testing::v1::EchoService::NewStub(gateway.channel());
  ctg::testing::v1::EchoRequest req;
  ctg::testing::v1::EchoResponse resp;
  EXPECT_EQ(echo_stub->Echo(Context(Token({"auditor"})).get(), req, &resp).error_code(),
            grpc::StatusCode::OK);
  auto chat_context = Context(Token({"auditor"}));
  auto chat = echo_stub->Chat(chat_context.get());
  chat->WritesDone();
  EXPECT_EQ(chat->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace ctg::e2e
