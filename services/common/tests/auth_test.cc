#include "common/auth.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/errors.h"

namespace ctg {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

constexpr char kKey[] = "unit-test-key-0123456789-0123456789-0123";

JwtVerifier Verifier() { return JwtVerifier({kKey, "ctg-dev", "ctg", seconds(30)}); }

TokenClaims Claims() {
  TokenClaims c;
  c.subject = "alice";
  c.organisation = "organisations/00000000-0000-4000-8000-000000000001";
  c.roles = {Role::kDpo, Role::kCafAgent};
  c.issuer = "ctg-dev";
  c.audience = "ctg";
  c.lifetime = hours(1);
  return c;
}

std::string Forge(const std::string& header_json, const std::string& payload_json,
                  const std::string& signature) {
  return Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload_json) + "." + signature;
}

TEST(Base64UrlTest, RoundTripsEveryLength) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "\xff\xfe\x00\x01"}) {
    auto decoded = Base64UrlDecode(Base64UrlEncode(s));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, s);
  }
  EXPECT_FALSE(Base64UrlDecode("ab+c").has_value());
  // "QQ" is the canonical encoding of "A"; "QR" differs only in unused bits: refused.
  EXPECT_EQ(Base64UrlDecode("QQ"), "A");
  EXPECT_FALSE(Base64UrlDecode("QR").has_value());
  EXPECT_FALSE(Base64UrlDecode("a").has_value());
}

TEST(JwtTest, MintedTokenVerifiesToItsPrincipal) {
  const auto principal = Verifier().Verify(MintHs256Token(Claims(), kKey));
  EXPECT_EQ(principal.subject, "alice");
  EXPECT_EQ(principal.organisation, "organisations/00000000-0000-4000-8000-000000000001");
  EXPECT_TRUE(principal.Has(Role::kDpo));
  EXPECT_TRUE(principal.Has(Role::kCafAgent));
  EXPECT_FALSE(principal.Has(Role::kAuditor));
}

TEST(JwtTest, RejectsAnotherKey) {
  const auto token = MintHs256Token(Claims(), "another-key-0123456789-0123456789-0123");
  EXPECT_THROW(Verifier().Verify(token), UnauthenticatedError);
}

TEST(JwtTest, RejectsTamperedPayload) {
  auto token = MintHs256Token(Claims(), kKey);
  auto claims = Claims();
  claims.roles = {Role::kService};
  const auto other = MintHs256Token(claims, kKey);
  // Header and signature of one token, payload of another.
  const auto d1 = token.find('.'), d2 = token.rfind('.');
  const auto o1 = other.find('.'), o2 = other.rfind('.');
  const auto spliced = token.substr(0, d1) + other.substr(o1, o2 - o1) + token.substr(d2);
  EXPECT_THROW(Verifier().Verify(spliced), UnauthenticatedError);
}

TEST(JwtTest, RejectsAlgNoneAndOtherAlgorithms) {
  const std::string payload =
      R"({"sub":"x","iss":"ctg-dev","aud":"ctg","exp":99999999999,"roles":["service"]})";
  EXPECT_THROW(Verifier().Verify(Forge(R"({"alg":"none"})", payload, "")), UnauthenticatedError);
  EXPECT_THROW(Verifier().Verify(Forge(R"({"alg":"RS256"})", payload, "c2ln")),
               UnauthenticatedError);
}

TEST(JwtTest, ChecksExpiryWithLeeway) {
  const auto now = std::chrono::system_clock::now();
  const auto token = MintHs256Token(Claims(), kKey, now);
  EXPECT_NO_THROW(Verifier().Verify(token, now + hours(1) + seconds(29)));
  EXPECT_THROW(Verifier().Verify(token, now + hours(1) + seconds(31)), UnauthenticatedError);
  EXPECT_THROW(Verifier().Verify(token, now - seconds(31)), UnauthenticatedError);  // nbf
}

TEST(JwtTest, ChecksIssuerAudienceAndRoles) {
  auto claims = Claims();
  claims.issuer = "someone-else";
  EXPECT_THROW(Verifier().Verify(MintHs256Token(claims, kKey)), UnauthenticatedError);
  claims = Claims();
  claims.audience = "other-api";
  EXPECT_THROW(Verifier().Verify(MintHs256Token(claims, kKey)), UnauthenticatedError);
  claims = Claims();
  claims.roles = {};
  EXPECT_THROW(Verifier().Verify(MintHs256Token(claims, kKey)), UnauthenticatedError);
}

TEST(JwtTest, AuthorizationHeaderNeedsBearerScheme) {
  const auto token = MintHs256Token(Claims(), kKey);
  EXPECT_NO_THROW(Verifier().VerifyAuthorizationHeader("Bearer " + token));
  EXPECT_THROW(Verifier().VerifyAuthorizationHeader(""), UnauthenticatedError);
  EXPECT_THROW(Verifier().VerifyAuthorizationHeader("Basic " + token), UnauthenticatedError);
  EXPECT_THROW(Verifier().VerifyAuthorizationHeader(token), UnauthenticatedError);
}

TEST(JwtTest, ErrorsNeverEchoTheToken) {
  const auto token = MintHs256Token(Claims(), "another-key-0123456789-0123456789-0123");
  try {
    Verifier().Verify(token);
    FAIL();
  } catch (const UnauthenticatedError& e) {
    EXPECT_EQ(std::string(e.what()).find(token.substr(0, 20)), std::string::npos);
  }
}

TEST(RoleTest, NamesRoundTrip) {
  for (Role r : {Role::kCafAgent, Role::kCollectivityAgent, Role::kCopilSecretariat, Role::kDpo,
                 Role::kCdsf, Role::kAuditor, Role::kService}) {
    EXPECT_EQ(ParseRole(RoleName(r)), r);
  }
  EXPECT_FALSE(ParseRole("admin").has_value());
}

// A token with exactly this header and payload, correctly signed with kKey.
std::string SignHs256(const std::string& header_json, const std::string& payload_json) {
  const std::string input = Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kKey, int(sizeof(kKey) - 1),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), len));
}

std::string Claim(const std::string& name, std::chrono::system_clock::time_point at) {
  return "\"" + name +
         "\":" + std::to_string(std::chrono::duration_cast<seconds>(at.time_since_epoch()).count());
}

// RFC 7515 §4.1.11: a "crit" header names extensions the recipient must understand; this
// verifier understands none, so a token carrying one is refused even when correctly signed.
TEST(JwtTest, RefusesCriticalExtensionsItDoesNotUnderstand) {
  const auto now = std::chrono::system_clock::now();
  const std::string payload = R"({"sub":"a","iss":"ctg-dev","aud":"ctg","roles":["dpo"],)" +
                              Claim("exp", now + hours(1)) + "}";
  // The same token without crit is accepted: only the header makes the difference.
  EXPECT_NO_THROW(Verifier().Verify(SignHs256(R"({"alg":"HS256"})", payload)));
  const std::string token = SignHs256(R"({"alg":"HS256","crit":["exp"],"exp":1})", payload);
  try {
    Verifier().Verify(token);
    ADD_FAILURE() << "a token with crit was accepted";
  } catch (const UnauthenticatedError& e) {
    EXPECT_NE(std::string(e.what()).find("critical"), std::string::npos) << e.what();
  }
}

// A token valid for ten years is refused: at most 12 hours for a person, 15 minutes for a
// service, counted from its issue and from now.
TEST(JwtTest, RefusesTokensLivingLongerThanTheMaximum) {
  auto claims = Claims();
  claims.lifetime = hours(24 * 3650);
  EXPECT_THROW(Verifier().Verify(MintHs256Token(claims, kKey)), UnauthenticatedError);
  claims.lifetime = hours(12);
  EXPECT_NO_THROW(Verifier().Verify(MintHs256Token(claims, kKey)));
  // Issued long ago with a long life: still too long from its issue.
  const auto now = std::chrono::system_clock::now();
  claims.lifetime = hours(30);
  EXPECT_THROW(Verifier().Verify(MintHs256Token(claims, kKey, now - hours(20)), now),
               UnauthenticatedError);
  auto service = Claims();
  service.roles = {Role::kService};
  service.lifetime = hours(1);
  EXPECT_THROW(Verifier().Verify(MintHs256Token(service, kKey)), UnauthenticatedError);
  service.lifetime = std::chrono::minutes(10);
  EXPECT_NO_THROW(Verifier().Verify(MintHs256Token(service, kKey)));
  // A token without iat is bounded from now.
  const std::string prefix = R"({"sub":"a","iss":"ctg-dev","aud":"ctg","roles":["dpo"],)";
  EXPECT_NO_THROW(Verifier().Verify(
      SignHs256(R"({"alg":"HS256"})", prefix + Claim("exp", now + hours(2)) + "}")));
  EXPECT_THROW(Verifier().Verify(SignHs256(R"({"alg":"HS256"})",
                                           prefix + Claim("exp", now + hours(24 * 30)) + "}")),
               UnauthenticatedError);
}

}  // namespace
}  // namespace ctg
