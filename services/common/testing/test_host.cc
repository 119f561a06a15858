#include "common/testing/test_host.h"

#include <stdexcept>
#include <thread>

#include "common/testing/test_database.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace ctg::testing {

const char kTestJwtKey[] = "test-key-0123456789-0123456789-0123456789";
const char kTestIssuer[] = "ctg-test";
const char kTestAudience[] = "ctg";

std::string TestToken(std::vector<Role> roles, const std::string& organisation,
                      const std::string& subject) {
  TokenClaims claims;
  claims.subject = subject;
  claims.organisation = organisation;
  claims.roles = std::move(roles);
  claims.issuer = kTestIssuer;
  claims.audience = kTestAudience;
  return MintHs256Token(claims, kTestJwtKey);
}

InProcessService::InProcessService(ServiceSpec spec, const std::string& database_url,
                                   std::map<std::string, std::string> backends, Clock clock) {
  ServiceConfig config;
  config.listen_address = "127.0.0.1:0";
  config.metrics_address = "off";
  // As in production: migrations as the owner, calls as a role holding only what the runtime
  // grants it.
  config.owner_database_url = database_url;
  config.database_url = RuntimeRoleUrl(database_url);
  config.db_pool_size = 4;
  config.workers = 4;
  config.jwt.hs256_key = kTestJwtKey;
  config.jwt.issuer = kTestIssuer;
  config.jwt.audience = kTestAudience;
  config.shutdown_grace = std::chrono::seconds(2);
  config.backends = std::move(backends);
  host_ = std::make_unique<ServiceHost>(std::move(spec), config, std::move(clock));
  host_->Start();
  if (!host_->WaitUntilReady(std::chrono::seconds(30))) {
    throw std::runtime_error("in-process service did not become ready");
  }
  channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(host_->port()),
                                 grpc::InsecureChannelCredentials());
}

InProcessService::~InProcessService() { host_->Shutdown(); }

std::unique_ptr<grpc::ClientContext> AuthedContext(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

std::vector<std::string> ViolatedFields(const grpc::Status& status) {
  std::vector<std::string> fields;
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return fields;
  for (const auto& any : details.details()) {
    google::rpc::BadRequest bad_request;
    if (any.UnpackTo(&bad_request)) {
      for (const auto& v : bad_request.field_violations()) fields.push_back(v.field());
    }
  }
  return fields;
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace ctg::testing
