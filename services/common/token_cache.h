#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/token_verifier.h"

namespace ctg {

// A TokenVerifier that remembers the tokens another verifier accepted, so that a caller sending
// the same token on every call pays for its parsing and signature check once. The key is the
// exact authorization header value; an entry is only served strictly before the token's "exp"
// (after it, the call goes to the wrapped verifier again, which applies its own leeway). Refused
// tokens are never cached. Bounded: when full, every entry is dropped. Thread-safe.
class CachingTokenVerifier : public TokenVerifier {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  explicit CachingTokenVerifier(std::unique_ptr<TokenVerifier> inner, size_t max_entries = 10000,
                                Clock clock = nullptr);

  // See TokenVerifier.
  Principal VerifyAuthorizationHeader(std::string_view header) const override;

  // Entries currently held (for tests).
  size_t size() const;

 private:
  struct Entry {
    Principal principal;
    int64_t exp = 0;  // seconds since the epoch
  };

  int64_t NowSeconds() const;

  const std::unique_ptr<TokenVerifier> inner_;
  const size_t max_entries_;
  const Clock clock_;
  mutable std::shared_mutex mu_;
  mutable std::unordered_map<std::string, Entry> entries_;
};

// The "exp" claim of a compact token given as an "authorization" header value ("Bearer
// <token>"), without verifying anything; nullopt when absent or malformed.
std::optional<int64_t> TokenExpiry(std::string_view header);

}  // namespace ctg
