#include "common/jwt_keys.h"

#include <gtest/gtest.h>

#include "common/config.h"
#include "common/errors.h"
#include "gateway/tests/test_pki.h"

namespace ctg::gateway {
namespace {

using namespace std::chrono_literals;

TokenClaims Claims() {
  TokenClaims c;
  c.subject = "sys-caf47";
  c.roles = {Role::kService};
  c.issuer = "ctg-prod";
  c.audience = "ctg";
  c.lifetime = 10min;  // a service token: at most 15 minutes
  return c;
}

JwtSettings Settings(std::string hs256_key = "") {
  return JwtSettings{std::move(hs256_key), "ctg-prod", "ctg", 30s};
}

TEST(MultiAlgTokenVerifier, AcceptsRs256AndEs256WithConfiguredKeys) {
  const auto rsa = testing::GenerateRsaKey();
  const auto ec = testing::GenerateEcKey();
  MultiAlgTokenVerifier verifier(
      Settings(), ParseJwtPublicKeys(rsa.public_pem + "# kid: ec1\n" + ec.public_pem));
  auto p1 = verifier.Verify(MintAsymmetricToken(Claims(), rsa.private_pem));
  EXPECT_EQ(p1.subject, "sys-caf47");
  EXPECT_TRUE(p1.Has(Role::kService));
  auto p2 = verifier.VerifyAuthorizationHeader(
      "Bearer " + MintAsymmetricToken(Claims(), ec.private_pem, "ec1"));
  EXPECT_EQ(p2.subject, "sys-caf47");
}

TEST(MultiAlgTokenVerifier, RefusesUnknownKeysExpiryAudienceAndConfusion) {
  const auto ec = testing::GenerateEcKey();
  const auto other = testing::GenerateEcKey();
  MultiAlgTokenVerifier verifier(Settings(), ParseJwtPublicKeys(ec.public_pem));
  EXPECT_THROW(verifier.Verify(MintAsymmetricToken(Claims(), other.private_pem)),
               UnauthenticatedError);
  EXPECT_THROW(verifier.Verify(MintAsymmetricToken(Claims(), ec.private_pem, "",
                                                   std::chrono::system_clock::now() - 1h)),
               UnauthenticatedError);
  auto wrong_aud = Claims();
  wrong_aud.audience = "elsewhere";
  EXPECT_THROW(verifier.Verify(MintAsymmetricToken(wrong_aud, ec.private_pem)),
               UnauthenticatedError);
  // HS256 signed with the public key as the HMAC secret: the classic confusion attack.
  EXPECT_THROW(verifier.Verify(MintHs256Token(Claims(), ec.public_pem)), UnauthenticatedError);
  // alg: none.
  const std::string good = MintAsymmetricToken(Claims(), ec.private_pem);
  const auto dot = good.find('.');
  const std::string none = Base64UrlEncode(R"({"alg":"none"})") + "." +
                           good.substr(dot + 1, good.rfind('.') - dot - 1) + ".";
  EXPECT_THROW(verifier.Verify(none), UnauthenticatedError);
  // A tampered payload.
  std::string tampered = good;
  tampered[dot + 5] = tampered[dot + 5] == 'A' ? 'B' : 'A';
  EXPECT_THROW(verifier.Verify(tampered), UnauthenticatedError);
}

// A token naming a key id the verifier does not know is refused, even when a key without an id
// would verify its signature (a rotated-out kid must not fall back on another key).
TEST(MultiAlgTokenVerifier, RefusesAnUnknownKidEvenWithAKeyWithoutKid) {
  const auto ec = testing::GenerateEcKey();
  MultiAlgTokenVerifier verifier(Settings(), ParseJwtPublicKeys(ec.public_pem));
  EXPECT_EQ(verifier.Verify(MintAsymmetricToken(Claims(), ec.private_pem)).subject, "sys-caf47");
  EXPECT_THROW(verifier.Verify(MintAsymmetricToken(Claims(), ec.private_pem, "rotated-out")),
               UnauthenticatedError);
  MultiAlgTokenVerifier named(Settings(), ParseJwtPublicKeys("# kid: k1\n" + ec.public_pem));
  EXPECT_EQ(named.Verify(MintAsymmetricToken(Claims(), ec.private_pem, "k1")).subject, "sys-caf47");
  EXPECT_THROW(named.Verify(MintAsymmetricToken(Claims(), ec.private_pem, "k2")),
               UnauthenticatedError);
}

TEST(MultiAlgTokenVerifier, KeepsHs256WhenConfigured) {
  const auto ec = testing::GenerateEcKey();
  const std::string key(40, 'k');
  MultiAlgTokenVerifier verifier(Settings(key), ParseJwtPublicKeys(ec.public_pem));
  EXPECT_EQ(verifier.Verify(MintHs256Token(Claims(), key)).subject, "sys-caf47");
  EXPECT_EQ(verifier.Verify(MintAsymmetricToken(Claims(), ec.private_pem)).subject, "sys-caf47");
}

TEST(ParseJwtPublicKeys, RejectsGarbage) {
  EXPECT_TRUE(ParseJwtPublicKeys("nothing here").empty());
  EXPECT_THROW(ParseJwtPublicKeys("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
               ConfigError);
}

}  // namespace
}  // namespace ctg::gateway
