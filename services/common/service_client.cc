#include "common/service_client.h"

#include "common/db.h"
#include "common/errors.h"

namespace ctg {

ServiceIdentity::ServiceIdentity(JwtSettings settings, std::string subject)
    : settings_(std::move(settings)), subject_(std::move(subject)) {}

void ServiceIdentity::Prepare(grpc::ClientContext& context, std::chrono::milliseconds timeout) {
  RequireNoConnectionHeld("a call to another service");
  const auto now = std::chrono::system_clock::now();
  std::string token;
  {
    std::lock_guard lock(mu_);
    if (token_.empty() || now >= renew_at_) {
      TokenClaims claims;
      claims.subject = subject_;
      claims.roles = {Role::kService};
      claims.issuer = settings_.issuer;
      claims.audience = settings_.audience;
      claims.lifetime = std::chrono::minutes(10);
      token_ = MintHs256Token(claims, settings_.hs256_key, now);
      renew_at_ = now + std::chrono::minutes(5);
    }
    token = token_;
  }
  context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(now + timeout);
}

std::shared_ptr<grpc::Channel> BackendChannel(const std::string& address) {
  return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
}

void ThrowDependencyError(const grpc::Status& status, const std::string& what) {
  switch (status.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      throw NotFoundError(what + " not found");
    case grpc::StatusCode::INVALID_ARGUMENT:
      throw ValidationError(what, status.error_message());
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      // Our own identity was refused: a configuration fault, not the caller's.
      throw std::runtime_error("dependency refused the service identity: " +
                               status.error_message());
    default:
      throw UnavailableError(what + " cannot be checked now: dependency unavailable");
  }
}

}  // namespace ctg
