#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace ctg {

// The roles a token may carry, numbered as ctg.api.v1.Role (protos/ctg/api/v1/access.proto),
// which defines them and their wire names. What each role may do is declared per method in the
// protos; object-level rules (which organisation's data a role may touch) are in each service's
// access.cc.
enum class Role {
  kCafAgent = 1,           // staff of a Caf
  kCollectivityAgent = 2,  // staff of a commune or EPCI
  kCopilSecretariat = 3,   // the COPIL's permanent secretariat
  kDpo = 4,                // a party's data protection officer
  kCdsf = 5,               // the comité départemental des services aux familles
  kAuditor = 6,            // read-only access for audits
  kService = 7,            // service-to-service calls inside the backend
  kRegistryAdmin = 8,      // administrators of the reference registry
};

// Every role, in number order.
const std::vector<Role>& AllRoles();
// Returns the wire name of a role ("caf_agent", ...).
std::string_view RoleName(Role role);
// Parses a wire role name; nullopt when unknown.
std::optional<Role> ParseRole(std::string_view name);

// Who is calling: taken from a verified token, never from the request body.
struct Principal {
  std::string subject;       // individually identified author (CNIL logging)
  std::string organisation;  // "organisations/{uuid}" of the caller's employer; may be empty
  std::set<Role> roles;

  bool Has(Role role) const { return roles.count(role) != 0; }
  bool HasAny(std::initializer_list<Role> any) const;
};

// Settings a verifier needs. The key is a secret: never logged or echoed.
struct JwtSettings {
  std::string hs256_key;
  std::string issuer;
  std::string audience;
  // Tolerated clock difference when checking exp and nbf.
  std::chrono::seconds leeway{30};
  // The longest a token may be valid, both from its issue (exp - iat) and from now
  // (exp - now): a person's session, and the much shorter life of a service's own token.
  std::chrono::seconds max_lifetime{std::chrono::hours(12)};
  std::chrono::seconds max_service_lifetime{std::chrono::minutes(15)};
};

// Verifies compact JWS tokens signed with HS256 and returns the principal they carry.
// Rejects any other algorithm (including "none"), bad signatures, expired or not-yet-valid
// tokens, a wrong issuer or audience, and unknown roles. Errors throw UnauthenticatedError with
// a message that never contains the token.
class JwtVerifier {
 public:
  explicit JwtVerifier(JwtSettings settings);
  Principal Verify(std::string_view token, std::chrono::system_clock::time_point now =
                                               std::chrono::system_clock::now()) const;
  // Verifies the value of an "authorization" header ("Bearer <token>").
  Principal VerifyAuthorizationHeader(std::string_view header) const;

 private:
  JwtSettings settings_;
};

// A compact JWS split into its decoded parts. Throws UnauthenticatedError when the token is
// too large, has not exactly three segments, a segment is not base64url, or the header names
// critical extensions ("crit", RFC 7515 §4.1.11: this verifier understands none).
struct JwsParts {
  std::string header_json;
  std::string payload_json;
  std::string signature;
  std::string_view signing_input;  // "header.payload", a view into the token
  std::string alg;                 // the header's "alg" ("" when absent)
  std::string kid;                 // the header's "kid" ("" when absent)
};
JwsParts SplitJws(std::string_view token);

// The Bearer token of an "authorization" header value; throws UnauthenticatedError otherwise.
std::string_view BearerToken(std::string_view header);

// Checks the claims of a token whose signature has been verified (expiry and not-before with
// the leeway, a lifetime within the configured maximum, issuer, audience as a string or array,
// subject, known roles) and returns its principal. One function for every algorithm, so HS256 and
// RS256/ES256 tokens obey the same rules. Throws UnauthenticatedError.
Principal PrincipalFromClaims(std::string_view payload_json, const JwtSettings& settings,
                              std::chrono::system_clock::time_point now);

// Claims for a token to mint (development tokens, tests, service identities).
struct TokenClaims {
  std::string subject;
  std::string organisation;
  std::vector<Role> roles;
  std::string issuer;
  std::string audience;
  std::chrono::seconds lifetime{std::chrono::hours(12)};
};

// Signs an HS256 token with `key`.
std::string MintHs256Token(
    const TokenClaims& claims, std::string_view key,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// HMAC-SHA-256 of `data` under `key` (32 raw bytes).
std::string HmacSha256(std::string_view key, std::string_view data);

// SHA-256 of `data` as 64 lower-case hex digits (request fingerprints, migration checksums).
std::string Sha256Hex(std::string_view data);

// SHA-256 of data given in pieces (a streamed batch's fingerprint), same digest as Sha256Hex
// of the pieces joined.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(std::string_view data);
  // The digest of everything given so far, as 64 lower-case hex digits (ends the stream).
  std::string HexDigest();

 private:
  ::evp_md_ctx_st* ctx_;
};

// Base64url without padding (RFC 7515 §2), used by tokens and page tokens.
std::string Base64UrlEncode(std::string_view data);
// Standard base64 (RFC 4648 §4) without padding: gRPC's "-bin" headers, Connect's error details.
std::string Base64Encode(std::string_view data);
// Returns nullopt on any character outside the base64url alphabet.
std::optional<std::string> Base64UrlDecode(std::string_view data);

}  // namespace ctg
