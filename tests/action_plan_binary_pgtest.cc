// End-to-end test of the real ctg-action-plan binary, with the real ctg-partners binary it calls,
// on an empty throwaway database (each applies its own migrations): health, reflection, metrics,
// bad settings, the VGA plan loaded by `ctgctl load-action-plan`, and a SIGTERM that lets an
// in-flight call finish.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <pqxx/pqxx>
#include <thread>

#include "common/api.h"
#include "common/jwt_keys.h"
#include "ctg/action_plan/v1/action_plan.grpc.pb.h"
#include "ctg/partners/v1/partners.grpc.pb.h"
#include "e2e_support.h"
#include "gateway/method_catalog.h"
#include "gateway/tests/test_pki.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace ctg::e2e {
namespace {

namespace v1 = ::ctg::action_plan::v1;
namespace pv1 = ::ctg::partners::v1;
using grpc::health::v1::HealthCheckResponse;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kService[] = "ctg.action_plan.v1.ActionPlanService";

CommandResult Ctgctl(const std::vector<std::string>& args) { return RunCtgctl(args); }

class ActionPlanBinaryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new EmptyDatabase();
    partners_ = new PartnersProcess(db_->url());
    ASSERT_TRUE(partners_->WaitForHealth(HealthCheckResponse::SERVING, seconds(30)))
        << partners_->log();
    plan_ = new ActionPlanProcess(db_->url(), partners_->address());
    ASSERT_TRUE(plan_->WaitForHealth(HealthCheckResponse::SERVING, seconds(30))) << plan_->log();
  }
  static void TearDownTestSuite() {
    delete plan_;
    delete partners_;
    delete db_;
  }

  // Imports the VGA convention as `./ctg up` does (registry_admin); returns the organisation
  // holding its secretariat ("" when the seed files are missing).
  static std::string ImportVga() {
    const std::string document = std::string(CTG_SOURCE_DIR) + "/deploy/seed/vga/convention.json";
    const std::string communes = std::string(CTG_SHARED_DIR) + "/data/vga_communes.csv";
    if (!std::filesystem::exists(document) || !std::filesystem::exists(communes)) return "";
    const CommandResult imported =
        Ctgctl({"import-convention", "--addr", partners_->address(), "--token",
                Token({"registry_admin"}), "--document", document, "--communes", communes});
    EXPECT_EQ(imported.exit_code, 0) << imported.err;
    const std::string secretariat = LineValue(imported.out, "  secrétariat : ");
    EXPECT_EQ(secretariat.rfind("organisations/", 0), 0u) << imported.out;
    return secretariat;
  }
  // Loads the VGA plan with `token`.
  static CommandResult LoadPlan(const std::string& token) {
    return Ctgctl({"load-action-plan", "--addr", plan_->address(), "--partners-addr",
                   partners_->address(), "--token", token, "--plan",
                   std::string(CTG_SOURCE_DIR) + "/deploy/seed/vga/action_plan.json"});
  }
  // Imports the convention and loads its plan as the secretariat; returns the secretariat.
  static std::string LoadVga() {
    const std::string secretariat = ImportVga();
    if (secretariat.empty()) return "";
    const CommandResult loaded = LoadPlan(Token({"copil_secretariat"}, secretariat));
    EXPECT_EQ(loaded.exit_code, 0) << loaded.err << plan_->log();
    return secretariat;
  }

  static EmptyDatabase* db_;
  static PartnersProcess* partners_;
  static ActionPlanProcess* plan_;
};

EmptyDatabase* ActionPlanBinaryTest::db_ = nullptr;
PartnersProcess* ActionPlanBinaryTest::partners_ = nullptr;
ActionPlanProcess* ActionPlanBinaryTest::plan_ = nullptr;

TEST_F(ActionPlanBinaryTest, HealthReflectionAndMetrics) {
  EXPECT_EQ(plan_->Health(""), HealthCheckResponse::SERVING);
  EXPECT_EQ(plan_->Health(kService), HealthCheckResponse::SERVING);
  std::vector<gateway::internal::ServerReflectionRequest> requests(1);
  requests[0].set_list_services("");
  const auto responses = gateway::ExchangeReflection(plan_->channel(), requests, seconds(10));
  ASSERT_EQ(responses.size(), 1u);
  std::set<std::string> services;
  for (const auto& s : responses[0].list_services_response().service()) services.insert(s.name());
  EXPECT_EQ(services.count(kService), 1u);
  // A refused call is counted and logged like any other.
  auto stub = v1::ActionPlanService::NewStub(plan_->channel());
  v1::ListAxesRequest req;
  v1::ListAxesResponse resp;
  EXPECT_EQ(stub->ListAxes(Context("").get(), req, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  const std::string metrics = HttpGet(plan_->metrics_port(), "/metrics");
  EXPECT_NE(metrics.find("grpc_server_handled_total{grpc_code=\"UNAUTHENTICATED\","
                         "grpc_method=\"ListAxes\",grpc_service=\"" +
                         std::string(kService) + "\",grpc_type=\"unary\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_TRUE(plan_->WaitForLog("\"method\":\"/ctg.action_plan.v1.ActionPlanService/ListAxes\""))
      << plan_->log();
}

TEST_F(ActionPlanBinaryTest, WithoutThePartnersBackendItRefusesToStart) {
  const CommandResult result = RunCommand({CTG_ACTION_PLAN_BINARY, "--database-url=" + db_->url(),
                                           "--jwt-key-file=" + partners_->key_file()},
                                          CleanEnvironment(), "", seconds(30));
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("--backends"), std::string::npos) << result.err;
}

TEST_F(ActionPlanBinaryTest, CtgctlLoadsTheVgaPlanOnceAndOnlyTheSecretariatMayLoadIt) {
  const std::string secretariat = ImportVga();
  if (secretariat.empty()) GTEST_SKIP() << "seed files not found";
  auto count = [] {
    pqxx::connection conn(db_->url());
    pqxx::nontransaction tx(conn);
    return tx.exec1("SELECT count(*) FROM action_plan.actions")[0].as<int>();
  };
  // An agent of the same organisation without the secretariat role may not change the plan.
  const CommandResult refused = LoadPlan(Token({"collectivity_agent"}, secretariat));
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.err.find("PERMISSION_DENIED"), std::string::npos) << refused.err;
  EXPECT_EQ(count(), 0);
  const CommandResult first = LoadPlan(Token({"copil_secretariat"}, secretariat));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("axes : 5 créé(s), 0 déjà présent(s)"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("actions : 38 créée(s), 0 déjà présente(s)"), std::string::npos)
      << first.out;
  // Again: nothing new.
  const CommandResult second = LoadPlan(Token({"copil_secretariat"}, secretariat));
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("axes : 0 créé(s), 5 déjà présent(s)"), std::string::npos)
      << second.out;
  EXPECT_NE(second.out.find("actions : 0 créée(s), 38 déjà présente(s)"), std::string::npos)
      << second.out;
  EXPECT_EQ(count(), 38);
}

// An import with 500 bad rows, through the real gateway, by a client with gRPC's default limits:
// the caller gets INVALID_ARGUMENT with the bad cells it can act on (not a transport error
// about metadata sizes), and the count of the others.
TEST_F(ActionPlanBinaryTest, AnImportWithHundredsOfBadRowsReportsItsCellsThroughTheGateway) {
  const std::string secretariat = LoadVga();
  if (secretariat.empty()) GTEST_SKIP() << "seed files not found";
  GatewayProcess gateway("ctg.partners.v1.PartnerService = " + partners_->address() + "\n" +
                             "ctg.action_plan.v1.ActionPlanService = " + plan_->address() + "\n",
                         partners_->key_file(), {"--rate-limit-rps=0"});
  ASSERT_TRUE(gateway.WaitForHealth(HealthCheckResponse::SERVING, seconds(30))) << gateway.log();
  const std::string token = Token({"copil_secretariat"}, secretariat);
  auto stub = v1::ActionPlanService::NewStub(gateway.channel());  // default channel limits
  pv1::ListConventionsRequest list;
  pv1::ListConventionsResponse conventions;
  ASSERT_TRUE(pv1::PartnerService::NewStub(gateway.channel())
                  ->ListConventions(Context(token).get(), list, &conventions)
                  .ok());
  ASSERT_EQ(conventions.conventions_size(), 1);
  v1::ExportTrackingTableRequest export_req;
  export_req.set_convention(conventions.conventions(0).name());
  export_req.set_quarter("2025-Q1");
  export_req.set_format(v1::CSV);
  v1::ExportedFile file;
  const auto exported = stub->ExportTrackingTable(Context(token).get(), export_req, &file);
  ASSERT_TRUE(exported.ok()) << exported.error_message();
  // The header, then 500 rows whose every cell is wrong.
  const std::string header = file.content().substr(0, file.content().find('\n') + 1);
  const auto separators = std::count(header.begin(), header.end(), ';');
  std::string csv = header;
  for (int i = 0; i < 500; ++i) {
    std::string row = "pas-un-numero";
    for (int c = 0; c < separators; ++c) row += ";=FORMULE()";
    csv += row + "\n";
  }
  v1::ImportTrackingTableRequest import;
  import.set_convention(export_req.convention());
  import.set_quarter("2025-Q1");
  import.set_format(v1::CSV);
  import.set_content(csv);
  v1::ImportTrackingTableResponse resp;
  const auto status = stub->ImportTrackingTable(Context(token).get(), import, &resp);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_LT(status.error_message().size(), 400u) << status.error_message();
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  int violations = 0;
  std::string total;
  for (const auto& any : details.details()) {
    google::rpc::BadRequest bad;
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&bad)) {
      violations = bad.field_violations_size();
      ASSERT_GT(violations, 0);
      EXPECT_EQ(bad.field_violations(0).field().rfind("rows[", 0), 0u)
          << bad.field_violations(0).field();
    } else if (any.UnpackTo(&info)) {
      EXPECT_EQ(info.reason(), "TOO_MANY_VIOLATIONS");
      total = info.metadata().at("total_violations");
    }
  }
  EXPECT_GT(violations, 10);
  EXPECT_LE(violations, 50);
  ASSERT_FALSE(total.empty());
  EXPECT_GT(std::stoi(total), violations);
}

TEST_F(ActionPlanBinaryTest, SigtermLetsTheInFlightCallFinishThenExitsZero) {
  const std::string secretariat = LoadVga();
  if (secretariat.empty()) GTEST_SKIP() << "seed files not found";
  ActionPlanProcess draining(db_->url(), partners_->address(), {"--shutdown-grace-seconds=20"});
  ASSERT_TRUE(draining.WaitForHealth(HealthCheckResponse::SERVING, seconds(30))) << draining.log();
  pqxx::connection locker(db_->url());
  pqxx::work lock_tx(locker);
  const auto axis = lock_tx.exec1(
      "SELECT id::text, version FROM action_plan.axes WHERE number = 1 "
      "FOR UPDATE");
  const std::string axis_name = "axes/" + axis[0].as<std::string>();

  auto update = std::async(std::launch::async, [&] {
    auto stub = v1::ActionPlanService::NewStub(draining.channel());
    v1::UpdateAxisRequest request;
    request.mutable_axis()->set_name(axis_name);
    request.mutable_axis()->set_weight(2);
    request.mutable_update_mask()->add_paths("weight");
    v1::Axis updated;
    auto context = Context(Token({"copil_secretariat"}, secretariat), seconds(60));
    grpc::Status status = stub->UpdateAxis(context.get(), request, &updated);
    return std::make_pair(status, updated);
  });
  const bool blocked = WaitForLockWaiters(*db_, 1, seconds(10));
  ASSERT_TRUE(blocked) << "the update never blocked on the row lock";
  draining.process().Signal(SIGTERM);
  EXPECT_FALSE(draining.process().WaitExit(milliseconds(700)).has_value()) << draining.log();
  lock_tx.commit();
  const auto [status, updated] = update.get();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(updated.weight(), 2);
  const auto exit_code = draining.process().WaitExit(seconds(25));
  ASSERT_TRUE(exit_code.has_value()) << draining.log();
  EXPECT_EQ(*exit_code, 0) << draining.log();
}

// Production keys: no HS256 key anywhere. Users' tokens come from an identity provider
// (ES256), and the action plan signs its calls to partners with its own ES256 key, whose
// public half partners trusts under the kid "ctg-action-plan". The service identity gets only
// what its role is declared for (reads), never administrator rights.
TEST(ProductionIdentities, ServicesCallEachOtherWithTheirOwnKeysAndNoSharedSecret) {
  EmptyDatabase db;
  TempDir keys;
  const auto idp = gateway::testing::GenerateEcKey();
  const auto plan_key = gateway::testing::GenerateEcKey();
  WriteFile(keys.File("public.pem"),
            "# kid: idp-1\n" + idp.public_pem + "# kid: ctg-action-plan\n" + plan_key.public_pem);
  WriteFile(keys.File("plan.key"), plan_key.private_pem);
  const std::string trust = "--jwt-public-keys-file=" + keys.File("public.pem");
  PartnersProcess partners(db.url(), {trust}, /*hs256_key=*/false);
  ASSERT_TRUE(partners.WaitForHealth(HealthCheckResponse::SERVING, seconds(30))) << partners.log();

  // Without a key to sign its calls, the action plan does not start.
  const CommandResult unsigned_plan =
      RunCommand({CTG_ACTION_PLAN_BINARY, "--database-url=" + db.url(), trust,
                  "--backends=partners=" + partners.address()},
                 CleanEnvironment(), "", seconds(30));
  EXPECT_EQ(unsigned_plan.exit_code, 2) << unsigned_plan.err;
  EXPECT_NE(unsigned_plan.err.find("--service-key-file"), std::string::npos) << unsigned_plan.err;

  ActionPlanProcess plan(db.url(), partners.address(),
                         {trust, "--service-key-file=" + keys.File("plan.key")},
                         /*hs256_key=*/false);
  ASSERT_TRUE(plan.WaitForHealth(HealthCheckResponse::SERVING, seconds(30))) << plan.log();

  auto user = [&](Role role, const std::string& org) {
    TokenClaims claims;
    claims.subject = "user-" + std::string(RoleName(role));
    claims.organisation = org;
    claims.roles = {role};
    claims.issuer = kIssuer;
    claims.audience = kAudience;
    claims.lifetime = std::chrono::hours(1);
    return MintAsymmetricToken(claims, idp.private_pem, "idp-1");
  };
  auto partners_stub = pv1::PartnerService::NewStub(partners.channel());
  auto create_org = [&](pv1::OrganisationKind kind, const std::string& name) {
    pv1::CreateOrganisationRequest req;
    req.mutable_organisation()->set_kind(kind);
    req.mutable_organisation()->set_display_name(name);
    req.mutable_organisation()->set_departement("47");
    pv1::Organisation out;
    const auto status =
        partners_stub->CreateOrganisation(Context(user(Role::kRegistryAdmin, "")).get(), req, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out.name();
  };
  const auto epci = create_org(pv1::EPCI, "Val de Garonne Agglomération");
  const auto caf = create_org(pv1::CAF, "Caf de Lot-et-Garonne");
  pv1::CreateConventionRequest conv;
  conv.mutable_convention()->set_title("CTG");
  conv.mutable_convention()->set_territory(epci);
  *conv.mutable_convention()->mutable_start_date() = CivilDate{2025, 1, 1}.ToProto();
  *conv.mutable_convention()->mutable_end_date() = CivilDate{2029, 12, 31}.ToProto();
  conv.mutable_convention()->add_parties()->set_organisation(epci);
  conv.mutable_convention()->add_parties()->set_organisation(caf);
  pv1::Convention convention;
  ASSERT_TRUE(
      partners_stub->CreateConvention(Context(user(Role::kCafAgent, caf)).get(), conv, &convention)
          .ok());

  // Reading the plan makes the action plan call partners with its own identity.
  auto plan_stub = v1::ActionPlanService::NewStub(plan.channel());
  v1::ListAxesRequest list;
  list.set_convention(convention.name());
  v1::ListAxesResponse axes;
  const auto status = plan_stub->ListAxes(Context(user(Role::kCafAgent, caf)).get(), list, &axes);
  EXPECT_TRUE(status.ok()) << status.error_message() << plan.log() << partners.log();
  EXPECT_TRUE(partners.WaitForLog("\"principal\":\"ctg-action-plan\"")) << partners.log();

  // An HS256 token (the development key) is refused by both.
  EXPECT_EQ(plan_stub->ListAxes(Context(Token({"caf_agent"}, caf)).get(), list, &axes).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // The service identity is no administrator: with the action plan's own key, role service,
  // it may not create an organisation.
  TokenClaims service;
  service.subject = "ctg-action-plan";
  service.roles = {Role::kService};
  service.issuer = kIssuer;
  service.audience = kAudience;
  service.lifetime = std::chrono::minutes(10);
  pv1::CreateOrganisationRequest create;
  create.mutable_organisation()->set_kind(pv1::COMMUNE);
  create.mutable_organisation()->set_display_name("Intrus");
  create.mutable_organisation()->set_insee_code("47999");
  pv1::Organisation out;
  EXPECT_EQ(
      partners_stub
          ->CreateOrganisation(
              Context(MintAsymmetricToken(service, plan_key.private_pem, "ctg-action-plan")).get(),
              create, &out)
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace ctg::e2e
