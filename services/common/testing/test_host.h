#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/auth.h"
#include "common/server.h"

namespace ctg::testing {

// HS256 key, issuer and audience shared by in-process hosts and the tokens tests mint.
extern const char kTestJwtKey[];
extern const char kTestIssuer[];
extern const char kTestAudience[];

// Mints a token for the test key.
std::string TestToken(std::vector<Role> roles, const std::string& organisation = "",
                      const std::string& subject = "test-user");

// Hosts a service in-process on 127.0.0.1:0 against `database_url` and waits until it is ready:
// `database_url` (a TestDatabase's url) owns the schema and applies the migrations, the calls
// run as kTestRuntimeRole (RuntimeRoleUrl).
class InProcessService {
 public:
  // `backends` are the --backends entries (name -> host:port) of services it calls; `clock` is
  // the service's wall clock (a fixed one keeps a test independent of today's date).
  InProcessService(ServiceSpec spec, const std::string& database_url,
                   std::map<std::string, std::string> backends = {}, Clock clock = SystemClock());
  ~InProcessService();
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  ServiceHost& host() { return *host_; }

 private:
  std::unique_ptr<ServiceHost> host_;
  std::shared_ptr<grpc::Channel> channel_;
};

// A client context carrying `token` as bearer credentials and a 10-second deadline.
std::unique_ptr<grpc::ClientContext> AuthedContext(const std::string& token);

// The fields named by the google.rpc.BadRequest detail of an INVALID_ARGUMENT status.
std::vector<std::string> ViolatedFields(const grpc::Status& status);

// Polls `condition` every 10 ms until it holds or `timeout` passes; returns whether it held. For
// what a process does just after its answer has left (a log line, a metric).
bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace ctg::testing
