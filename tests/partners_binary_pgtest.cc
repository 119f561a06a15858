// End-to-end test of the real ctg-partners binary: started as a child process on an empty
// throwaway database (it applies its own migrations), reached over loopback sockets only.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <future>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "ctg/partners/v1/partners.grpc.pb.h"
#include "e2e_support.h"

namespace ctg::e2e {
namespace {

namespace v1 = ::ctg::partners::v1;
using grpc::health::v1::HealthCheckResponse;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kService[] = "ctg.partners.v1.PartnerService";

// One binary on one database for the whole suite; tests that stop a binary start their own.
class PartnersBinaryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new EmptyDatabase();
    partners_ = new PartnersProcess(db_->url());
    ASSERT_TRUE(partners_->WaitForHealth(HealthCheckResponse::SERVING, seconds(30)))
        << partners_->log();
  }
  static void TearDownTestSuite() {
    delete partners_;
    partners_ = nullptr;
    delete db_;
    db_ = nullptr;
  }

  // Creates an EPCI organisation with a unique SIREN-free display name.
  static v1::Organisation CreateEpci(PartnersProcess& process, const std::string& display_name) {
    auto stub = v1::PartnerService::NewStub(process.channel());
    v1::CreateOrganisationRequest request;
    request.mutable_organisation()->set_kind(v1::EPCI);
    request.mutable_organisation()->set_display_name(display_name);
    v1::Organisation created;
    auto context = Context(Token({"registry_admin"}));
    const grpc::Status status = stub->CreateOrganisation(context.get(), request, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created;
  }

  // Runs the binary with `flags` (and no CTG_* environment) and returns how it ended.
  static CommandResult RunWithFlags(const std::vector<std::string>& flags) {
    std::vector<std::string> argv = {CTG_PARTNERS_BINARY};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return RunCommand(argv, CleanEnvironment(), "", seconds(30));
  }

  static EmptyDatabase* db_;
  static PartnersProcess* partners_;
};

EmptyDatabase* PartnersBinaryTest::db_ = nullptr;
PartnersProcess* PartnersBinaryTest::partners_ = nullptr;

TEST_F(PartnersBinaryTest, HealthIsServingForServerAndService) {
  EXPECT_EQ(partners_->Health(""), HealthCheckResponse::SERVING);
  EXPECT_EQ(partners_->Health(kService), HealthCheckResponse::SERVING);
}

TEST_F(PartnersBinaryTest, AppliedItsOwnMigrationsOnTheEmptyDatabase) {
  pqxx::connection conn(db_->url());
  pqxx::nontransaction tx(conn);
  const auto count = tx.exec1(
                           "SELECT count(*) FROM pg_tables WHERE schemaname = 'partners' AND "
                           "tablename = 'organisations'")[0]
                         .as<int>();
  EXPECT_EQ(count, 1);
}

// Lists the services through grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo (a
// bidirectional stream), with the message types libgrpc++_reflection registers in the
// generated descriptor pool.
TEST_F(PartnersBinaryTest, ReflectionListsTheServices) {
  namespace pb = google::protobuf;
  // Referencing the library keeps it linked (it is otherwise dropped as unused), and loading it
  // registers the reflection messages.
  void (*volatile keep_linked)() = &grpc::reflection::InitProtoReflectionServerBuilderPlugin;
  ASSERT_NE(keep_linked, nullptr);
  const auto* pool = pb::DescriptorPool::generated_pool();
  const auto* request_type =
      pool->FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionRequest");
  const auto* response_type =
      pool->FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionResponse");
  ASSERT_NE(request_type, nullptr);
  ASSERT_NE(response_type, nullptr);
  pb::DynamicMessageFactory factory;
  std::unique_ptr<pb::Message> request(factory.GetPrototype(request_type)->New());
  std::unique_ptr<pb::Message> response(factory.GetPrototype(response_type)->New());
  ASSERT_TRUE(pb::util::JsonStringToMessage(R"({"listServices": "*"})", request.get()).ok());
  std::string bytes;
  ASSERT_TRUE(request->SerializeToString(&bytes));

  grpc::GenericStub stub(partners_->channel());
  grpc::CompletionQueue cq;
  auto context = Context("");
  auto call = stub.PrepareCall(
      context.get(), "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  ASSERT_NE(call, nullptr);
  // One operation at a time: each tag is awaited before the next starts.
  auto await = [&cq](intptr_t expected) {
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), expected);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(await(1));
  grpc::Slice slice(bytes);
  grpc::ByteBuffer out(&slice, 1);
  call->Write(out, reinterpret_cast<void*>(2));
  ASSERT_TRUE(await(2));
  call->WritesDone(reinterpret_cast<void*>(3));
  ASSERT_TRUE(await(3));
  grpc::ByteBuffer in;
  call->Read(&in, reinterpret_cast<void*>(4));
  ASSERT_TRUE(await(4));
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  await(5);
  ASSERT_TRUE(status.ok()) << status.error_message();
  cq.Shutdown();

  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(in.Dump(&slices).ok());
  std::string answer;
  for (const auto& s : slices) answer.append(reinterpret_cast<const char*>(s.begin()), s.size());
  ASSERT_TRUE(response->ParseFromString(answer));
  std::string json;
  ASSERT_TRUE(pb::util::MessageToJsonString(*response, &json).ok());
  EXPECT_NE(json.find("\"ctg.partners.v1.PartnerService\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"grpc.health.v1.Health\""), std::string::npos) << json;
}

TEST_F(PartnersBinaryTest, AuthenticatedCallWorksAndMissingTokenIsUnauthenticated) {
  const v1::Organisation created = CreateEpci(*partners_, "Agglomération de test (auth)");
  ASSERT_FALSE(created.name().empty());

  auto stub = v1::PartnerService::NewStub(partners_->channel());
  v1::GetOrganisationRequest get;
  get.set_name(created.name());
  v1::Organisation read;
  auto authed = Context(Token({"auditor"}));
  const grpc::Status ok = stub->GetOrganisation(authed.get(), get, &read);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(read.display_name(), "Agglomération de test (auth)");

  auto anonymous = Context("");
  const grpc::Status denied = stub->GetOrganisation(anonymous.get(), get, &read);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  auto forged = Context("not.a.token");
  EXPECT_EQ(stub->GetOrganisation(forged.get(), get, &read).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(PartnersBinaryTest, MetricsEndpointExposesRpcAndPoolMetrics) {
  auto stub = v1::PartnerService::NewStub(partners_->channel());
  v1::ListOrganisationsRequest request;
  v1::ListOrganisationsResponse response;
  auto authed = Context(Token({"auditor"}));
  ASSERT_TRUE(stub->ListOrganisations(authed.get(), request, &response).ok());
  auto anonymous = Context("");
  ASSERT_EQ(stub->ListOrganisations(anonymous.get(), request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  ASSERT_GT(partners_->metrics_port(), 0);
  const std::string metrics = HttpGet(partners_->metrics_port(), "/metrics");
  ASSERT_EQ(metrics.rfind("HTTP/1.", 0), 0u) << metrics;
  EXPECT_NE(metrics.find(" 200 "), std::string::npos) << metrics.substr(0, 200);
  for (const char* wanted :
       {"grpc_server_started_total", "grpc_server_handled_total",
        "grpc_server_handling_seconds_bucket", "ctg_db_pool_connections",
        "grpc_method=\"ListOrganisations\"", "grpc_code=\"OK\"", "grpc_code=\"UNAUTHENTICATED\""}) {
    EXPECT_NE(metrics.find(wanted), std::string::npos) << "missing " << wanted;
  }
  // The standard process metrics, read from the service's own /proc entry.
  EXPECT_GT(SampleValue(metrics, "process_resident_memory_bytes"), 1 << 20);
  EXPECT_GT(SampleValue(metrics, "process_open_fds"), 3);
  EXPECT_GT(SampleValue(metrics, "process_start_time_seconds"), 1.7e9);
  EXPECT_GE(SampleValue(metrics, "process_cpu_seconds_total"), 0);
  EXPECT_NE(metrics.find("# TYPE process_cpu_seconds_total counter"), std::string::npos);
  // The code label is on the handled counter itself.
  bool handled_with_code = false;
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("grpc_server_handled_total{", 0) == 0 &&
        line.find("grpc_code=") != std::string::npos) {
      handled_with_code = true;
    }
  }
  EXPECT_TRUE(handled_with_code);
}

TEST_F(PartnersBinaryTest, BadSettingsExitTwoWithOneLineNamingTheSetting) {
  const std::string key = partners_->key_file();
  const std::vector<std::string> good = {"--listen=127.0.0.1:0", "--metrics-listen=127.0.0.1:0",
                                         "--jwt-key-file=" + key};
  struct Case {
    std::vector<std::string> flags;
    std::string setting;
  };
  const std::vector<Case> cases = {
      {{"--database-url=" + db_->url(), "--db-pool-size=0"}, "--db-pool-size"},
      {{}, "--database-url"},
      {{"--database-url=" + db_->url(), "--workers=many"}, "--workers"},
      {{"--database-url=" + db_->url(), "--listen=nowhere"}, "--listen"},
      {{"--database-url=" + db_->url(), "--no-such-setting=1"}, "--no-such-setting"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> flags = good;
    flags.insert(flags.end(), c.flags.begin(), c.flags.end());
    const CommandResult result = RunWithFlags(flags);
    EXPECT_EQ(result.exit_code, 2) << c.setting << ": " << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    EXPECT_NE(result.err.find(c.setting), std::string::npos) << result.err;
  }
  // A key file too short: named, and its content never echoed.
  TempDir dir;
  WriteFile(dir.File("short.key"), "tiny-secret");
  const CommandResult result =
      RunWithFlags({"--database-url=" + db_->url(), "--jwt-key-file=" + dir.File("short.key")});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("--jwt-key-file"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find("tiny-secret"), std::string::npos) << result.err;
}

TEST_F(PartnersBinaryTest, SigtermLetsTheInFlightCallFinishThenExitsZero) {
  PartnersProcess draining(db_->url(), {"--shutdown-grace-seconds=20"});
  ASSERT_TRUE(draining.WaitForHealth(HealthCheckResponse::SERVING, seconds(30))) << draining.log();
  const v1::Organisation created = CreateEpci(draining, "Agglomération de test (drain)");
  ASSERT_FALSE(created.name().empty());
  const std::string id = created.name().substr(created.name().find('/') + 1);

  // Hold the row lock so that the update blocks inside the server.
  pqxx::connection locker(db_->url());
  pqxx::work lock_tx(locker);
  lock_tx.exec_params("SELECT 1 FROM partners.organisations WHERE id = $1::uuid FOR UPDATE", id);

  auto update = std::async(std::launch::async, [&draining, &created] {
    auto stub = v1::PartnerService::NewStub(draining.channel());
    v1::UpdateOrganisationRequest request;
    *request.mutable_organisation() = created;
    request.mutable_organisation()->set_display_name("Agglomération renommée");
    request.mutable_update_mask()->add_paths("display_name");
    v1::Organisation updated;
    auto context = Context(Token({"registry_admin"}), seconds(60));
    grpc::Status status = stub->UpdateOrganisation(context.get(), request, &updated);
    return std::make_pair(status, updated);
  });

  // Wait until the server's statement waits on our lock.
  const bool blocked = WaitForLockWaiters(*db_, 1, seconds(10));
  ASSERT_TRUE(blocked) << "the update never blocked on the row lock";

  draining.process().Signal(SIGTERM);
  // Draining: the process waits for the call instead of ending.
  EXPECT_FALSE(draining.process().WaitExit(milliseconds(700)).has_value()) << draining.log();
  EXPECT_EQ(update.wait_for(milliseconds(0)), std::future_status::timeout);
  lock_tx.commit();

  const auto [status, updated] = update.get();
  EXPECT_TRUE(status.ok()) << grpc::StatusCode(status.error_code()) << " "
                           << status.error_message();
  EXPECT_EQ(updated.display_name(), "Agglomération renommée");
  const auto exit_code = draining.process().WaitExit(seconds(25));
  ASSERT_TRUE(exit_code.has_value()) << draining.log();
  EXPECT_EQ(*exit_code, 0) << draining.log();
  EXPECT_NE(draining.log().find("shutting down"), std::string::npos) << draining.log();
}

TEST_F(PartnersBinaryTest, HealthIsNotServingWhileTheDatabaseIsMissingThenRecovers) {
  pqxx::connection admin(db_->admin_url());
  const std::string name = db_->name() + "_late";
  const std::string url = db_->admin_url() + " dbname=" + name;
  PartnersProcess waiting(url);
  std::this_thread::sleep_for(milliseconds(1500));
  EXPECT_EQ(waiting.Health(), HealthCheckResponse::NOT_SERVING) << waiting.log();
  EXPECT_EQ(waiting.Health(kService), HealthCheckResponse::NOT_SERVING);
  {
    pqxx::nontransaction tx(admin);
    tx.exec("CREATE DATABASE " + tx.quote_name(name));
  }
  const bool recovered = waiting.WaitForHealth(HealthCheckResponse::SERVING, seconds(30));
  waiting.process().Signal(SIGTERM);
  EXPECT_EQ(waiting.process().WaitExit(seconds(20)), 0);
  pqxx::nontransaction tx(admin);
  tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name) + " WITH (FORCE)");
  EXPECT_TRUE(recovered) << waiting.log();
}

// A migration edited after it was applied: the binary stops with one line naming the file (exit
// 1) instead of serving on a schema that no longer matches its source.
TEST_F(PartnersBinaryTest, AnEditedMigrationStopsTheBinary) {
  EmptyDatabase db;
  {
    PartnersProcess first(db.url());
    ASSERT_TRUE(first.WaitForHealth(HealthCheckResponse::SERVING, seconds(30))) << first.log();
  }
  {
    pqxx::connection conn(db.url());
    pqxx::work tx(conn);
    tx.exec("UPDATE partners.schema_migrations SET checksum = 'edited' WHERE version = 1");
    tx.commit();
  }
  PartnersProcess second(db.url());
  const auto exit_code = second.process().WaitExit(seconds(30));
  ASSERT_TRUE(exit_code.has_value()) << second.log();
  EXPECT_EQ(*exit_code, 1) << second.log();
  EXPECT_NE(second.log().find("001_init.sql"), std::string::npos) << second.log();
  EXPECT_NE(second.log().find("edited after it was applied"), std::string::npos) << second.log();
}

}  // namespace
}  // namespace ctg::e2e
