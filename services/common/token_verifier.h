#pragma once

#include <memory>
#include <string_view>

#include "common/auth.h"

namespace ctg {

// Checks the bearer token of a call before anything is forwarded.
class TokenVerifier {
 public:
  virtual ~TokenVerifier() = default;
  // Verifies an "authorization" header value ("Bearer <token>") and returns its principal;
  // throws UnauthenticatedError (message safe to return, never containing the token).
  virtual Principal VerifyAuthorizationHeader(std::string_view header) const = 0;
};

// HS256 tokens, through the shared runtime's JwtVerifier (the same checks the services make).
class Hs256TokenVerifier : public TokenVerifier {
 public:
  explicit Hs256TokenVerifier(JwtSettings settings) : verifier_(std::move(settings)) {}
  // See TokenVerifier.
  Principal VerifyAuthorizationHeader(std::string_view header) const override {
    return verifier_.VerifyAuthorizationHeader(header);
  }

 private:
  JwtVerifier verifier_;
};

}  // namespace ctg
