#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "common/auth.h"
#include "common/config.h"

namespace ctg {

// Identity of a service calling another backend service: a short-lived token (10 minutes) with
// role `service` only, renewed before it expires, so no user token is ever forwarded. In
// production it is signed with the service's own private key (ES256 or RS256, kid = its name by
// default), whose public half the callees trust; without one, with the shared HS256 key
// (development). The `service` role grants only the methods that declare it.
class ServiceIdentity {
 public:
  // `subject` names the calling service in the callee's logs ("ctg-action-plan"). Throws
  // ConfigError when `jwt` has neither a service key nor an HS256 key.
  ServiceIdentity(const JwtConfig& jwt, std::string subject);

  // Adds the bearer token and a deadline of `timeout` to `context`. Throws std::logic_error when
  // the calling thread holds a database connection (no remote call inside a transaction).
  void Prepare(grpc::ClientContext& context,
               std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  const JwtSettings settings_;
  const std::string subject_;
  const std::string private_key_;  // PEM; empty: HS256 with settings_.hs256_key
  const std::string kid_;
  std::mutex mu_;
  std::string token_;
  std::chrono::system_clock::time_point renew_at_{};
};

// A channel to a backend service at `address` (host:port), plaintext on loopback.
std::shared_ptr<grpc::Channel> BackendChannel(const std::string& address);

// Maps a failed call to another service onto the status this service returns: NOT_FOUND and
// INVALID_ARGUMENT stay meaningful to the caller only through `what`; unreachable dependencies
// become UNAVAILABLE. Throws the matching domain error.
[[noreturn]] void ThrowDependencyError(const grpc::Status& status, const std::string& what);

}  // namespace ctg
