#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/auth.h"
#include "common/config.h"
#include "common/token_verifier.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace ctg {

// A public key for asymmetric tokens: RSA keys verify RS256, P-256 EC keys verify ES256.
struct JwtPublicKey {
  std::string kid;  // matched against the token header's "kid" when both are set
  std::string alg;  // "RS256" or "ES256", from the key type
  std::shared_ptr<EVP_PKEY> key;
};

// Reads every "-----BEGIN PUBLIC KEY-----" block of `pem` (SubjectPublicKeyInfo). A line
// "# kid: <id>" just before a block names its key id. Throws ConfigError on anything else.
std::vector<JwtPublicKey> ParseJwtPublicKeys(std::string_view pem);

// Verifies HS256 tokens (when an HMAC key is configured, through the shared JwtVerifier) and
// RS256/ES256 tokens against configured public keys, with the same claim checks: expiry,
// not-before, issuer, audience, bounded clock skew, subject and known roles. "none" and any
// other algorithm are refused, as is an HS256 token when no HMAC key is configured.
class MultiAlgTokenVerifier : public TokenVerifier {
 public:
  // `settings.hs256_key` may be empty (asymmetric tokens only).
  MultiAlgTokenVerifier(JwtSettings settings, std::vector<JwtPublicKey> public_keys);

  // See TokenVerifier.
  Principal VerifyAuthorizationHeader(std::string_view header) const override;
  // Verifies a compact token at `now`.
  Principal Verify(std::string_view token, std::chrono::system_clock::time_point now =
                                               std::chrono::system_clock::now()) const;

 private:
  JwtSettings settings_;
  std::unique_ptr<JwtVerifier> hs256_;
  std::vector<JwtPublicKey> public_keys_;
};

// The token verifier of every binary: HS256 with the configured key (when there is one) and
// RS256/ES256 with the configured public keys.
std::unique_ptr<TokenVerifier> MakeTokenVerifier(const JwtConfig& jwt);

// Signs a token with an RSA (RS256) or P-256 (ES256) private key in PEM; for tests and tools.
std::string MintAsymmetricToken(
    const TokenClaims& claims, std::string_view private_key_pem, std::string_view kid = "",
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace ctg
