#include "common/token_cache.h"

#include <gtest/gtest.h>

#include <atomic>

#include "common/errors.h"

namespace ctg {
namespace {

using namespace std::chrono_literals;

constexpr char kKey[] = "token-cache-test-key-0123456789abcdef0123";

// Counts the verifications that reach the real verifier, which runs on the test's clock.
class CountingVerifier : public TokenVerifier {
 public:
  CountingVerifier(std::atomic<int>* calls, const std::chrono::system_clock::time_point* now)
      : verifier_(JwtSettings{kKey, "ctg-test", "ctg", 30s}), calls_(calls), now_(now) {}
  Principal VerifyAuthorizationHeader(std::string_view header) const override {
    ++*calls_;
    constexpr std::string_view kBearer = "Bearer ";
    if (header.substr(0, kBearer.size()) != kBearer) throw UnauthenticatedError("no bearer");
    return verifier_.Verify(header.substr(kBearer.size()), *now_);
  }

 private:
  JwtVerifier verifier_;
  std::atomic<int>* calls_;
  const std::chrono::system_clock::time_point* now_;
};

std::string Header(const std::string& subject, std::chrono::system_clock::time_point now,
                   std::chrono::seconds lifetime = 1h) {
  TokenClaims claims;
  claims.subject = subject;
  claims.roles = {Role::kAuditor};
  claims.issuer = "ctg-test";
  claims.audience = "ctg";
  claims.lifetime = lifetime;
  return "Bearer " + MintHs256Token(claims, kKey, now);
}

struct Fixture {
  std::atomic<int> calls{0};
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
  CachingTokenVerifier verifier{std::make_unique<CountingVerifier>(&calls, &now), 10000,
                                [this] { return now; }};
};

TEST(CachingTokenVerifier, VerifiesOnceThenServesFromCache) {
  Fixture f;
  const auto h = Header("alice", f.now);
  EXPECT_EQ(f.verifier.VerifyAuthorizationHeader(h).subject, "alice");
  EXPECT_EQ(f.verifier.VerifyAuthorizationHeader(h).subject, "alice");
  const auto p = f.verifier.VerifyAuthorizationHeader(h);
  EXPECT_TRUE(p.Has(Role::kAuditor));
  EXPECT_EQ(f.calls, 1);
  EXPECT_EQ(f.verifier.size(), 1u);
}

TEST(CachingTokenVerifier, DifferentTokenIsNotServedFromCache) {
  Fixture f;
  const auto alice = Header("alice", f.now);
  const auto bob = Header("bob", f.now);
  EXPECT_EQ(f.verifier.VerifyAuthorizationHeader(alice).subject, "alice");
  EXPECT_EQ(f.verifier.VerifyAuthorizationHeader(bob).subject, "bob");
  EXPECT_EQ(f.calls, 2);
  EXPECT_EQ(f.verifier.VerifyAuthorizationHeader(alice).subject, "alice");
  EXPECT_EQ(f.verifier.VerifyAuthorizationHeader(bob).subject, "bob");
  EXPECT_EQ(f.calls, 2);
}

TEST(CachingTokenVerifier, TamperedTokenStillRefused) {
  Fixture f;
  const auto good = Header("alice", f.now);
  EXPECT_EQ(f.verifier.VerifyAuthorizationHeader(good).subject, "alice");
  // Same header and payload, one signature character changed; and one payload character.
  std::string bad_sig = good;
  bad_sig.back() = bad_sig.back() == 'A' ? 'B' : 'A';
  EXPECT_THROW(f.verifier.VerifyAuthorizationHeader(bad_sig), UnauthenticatedError);
  std::string bad_payload = good;
  const auto dot = bad_payload.find('.');
  bad_payload[dot + 5] = bad_payload[dot + 5] == 'A' ? 'B' : 'A';
  EXPECT_THROW(f.verifier.VerifyAuthorizationHeader(bad_payload), UnauthenticatedError);
  // A prefix or extension of a cached token is a different key.
  EXPECT_THROW(f.verifier.VerifyAuthorizationHeader(good + "x"), UnauthenticatedError);
  EXPECT_THROW(f.verifier.VerifyAuthorizationHeader(good.substr(0, good.size() - 1) + ""),
               UnauthenticatedError);
  // Refused twice: refusals are not cached either.
  EXPECT_THROW(f.verifier.VerifyAuthorizationHeader(bad_sig), UnauthenticatedError);
  EXPECT_EQ(f.verifier.size(), 1u);
  EXPECT_EQ(f.verifier.VerifyAuthorizationHeader(good).subject, "alice");
}

TEST(CachingTokenVerifier, NeverServesAnEntryPastItsExpiry) {
  Fixture f;
  const auto h = Header("alice", f.now, 60s);
  EXPECT_EQ(f.verifier.VerifyAuthorizationHeader(h).subject, "alice");
  f.now += 30s;
  EXPECT_EQ(f.verifier.VerifyAuthorizationHeader(h).subject, "alice");
  EXPECT_EQ(f.calls, 1);
  // Past exp but within the leeway: the real verifier decides again (and accepts).
  f.now += 31s;
  EXPECT_EQ(f.verifier.VerifyAuthorizationHeader(h).subject, "alice");
  EXPECT_EQ(f.calls, 2);
  // Past exp and the leeway: refused, although it was cached twice.
  f.now += 60s;
  EXPECT_THROW(f.verifier.VerifyAuthorizationHeader(h), UnauthenticatedError);
  EXPECT_THROW(f.verifier.VerifyAuthorizationHeader(h), UnauthenticatedError);
  EXPECT_EQ(f.calls, 4);
}

TEST(CachingTokenVerifier, DoesNotCacheATokenAcceptedOnlyThroughTheLeeway) {
  Fixture f;
  // Expired 10 s ago, accepted thanks to the 30 s leeway: verified every time.
  const auto h = Header("alice", f.now - 70s, 60s);
  EXPECT_EQ(f.verifier.VerifyAuthorizationHeader(h).subject, "alice");
  EXPECT_EQ(f.verifier.VerifyAuthorizationHeader(h).subject, "alice");
  EXPECT_EQ(f.calls, 2);
  EXPECT_EQ(f.verifier.size(), 0u);
}

TEST(CachingTokenVerifier, StaysBounded) {
  std::atomic<int> calls{0};
  const auto now = std::chrono::system_clock::now();
  CachingTokenVerifier verifier(std::make_unique<CountingVerifier>(&calls, &now), 3);
  for (int i = 0; i < 10; ++i) {
    verifier.VerifyAuthorizationHeader(Header("user" + std::to_string(i), now));
    EXPECT_LE(verifier.size(), 3u);
  }
  EXPECT_EQ(calls, 10);
}

TEST(TokenExpiry, ReadsExpOrNothing) {
  const auto now = std::chrono::system_clock::now();
  const auto exp = TokenExpiry(Header("alice", now, 60s));
  ASSERT_TRUE(exp.has_value());
  EXPECT_EQ(*exp,
            std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() + 60);
  EXPECT_FALSE(TokenExpiry("Bearer a.b.c").has_value());
  EXPECT_FALSE(TokenExpiry("garbage").has_value());
  EXPECT_FALSE(TokenExpiry("").has_value());
}

}  // namespace
}  // namespace ctg
