#include "common/service_client.h"

#include "common/db.h"
#include "common/errors.h"
#include "common/jwt_keys.h"
#include "common/rpc.h"

namespace ctg {

ServiceIdentity::ServiceIdentity(const JwtConfig& jwt, std::string subject)
    : settings_(jwt.Settings()),
      subject_(std::move(subject)),
      private_key_(jwt.service_key),
      kid_(jwt.service_key_id.empty() ? subject_ : jwt.service_key_id) {
  if (private_key_.empty() && settings_.hs256_key.empty()) {
    throw ConfigError(
        "setting --service-key-file (CTG_SERVICE_KEY_FILE) is required: this service calls "
        "others and no HS256 key is configured to sign its calls");
  }
  if (!private_key_.empty()) {
    TokenClaims probe;
    probe.subject = subject_;
    probe.roles = {Role::kService};
    MintAsymmetricToken(probe, private_key_, kid_);  // throws ConfigError when unreadable
  }
}

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
      token_ = private_key_.empty() ? MintHs256Token(claims, settings_.hs256_key, now)
                                    : MintAsymmetricToken(claims, private_key_, kid_, now);
      renew_at_ = now + std::chrono::minutes(5);
    }
    token = token_;
  }
  context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(now + timeout);
}

std::shared_ptr<grpc::Channel> BackendChannel(const std::string& address) {
  grpc::ChannelArguments args;
  ApplyChannelLimits(args);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
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
