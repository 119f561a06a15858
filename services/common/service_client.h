#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "common/auth.h"

namespace ctg {

// Identity of a service calling another backend service: a short-lived token with role
// `service`, minted with the service's own key and renewed before it expires. Behind the
// gateway the backends trust the same issuer, so no user token is ever forwarded.
class ServiceIdentity {
 public:
  // `subject` names the calling service in the callee's logs ("ctg-action-plan").
  ServiceIdentity(JwtSettings settings, std::string subject);

  // Adds the bearer token and a deadline of `timeout` to `context`. Throws std::logic_error when
  // the calling thread holds a database connection (no remote call inside a transaction).
  void Prepare(grpc::ClientContext& context,
               std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  const JwtSettings settings_;
  const std::string subject_;
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
