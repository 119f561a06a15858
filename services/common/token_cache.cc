#include "common/token_cache.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cmath>

namespace ctg {

std::optional<int64_t> TokenExpiry(std::string_view header) {
  constexpr std::string_view kBearer = "Bearer ";
  if (header.substr(0, kBearer.size()) != kBearer) return std::nullopt;
  const std::string_view token = header.substr(kBearer.size());
  const auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return std::nullopt;
  const auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return std::nullopt;
  const auto payload = Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload) return std::nullopt;
  google::protobuf::Struct claims;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(*payload, &claims, options).ok()) {
    return std::nullopt;
  }
  const auto it = claims.fields().find("exp");
  if (it == claims.fields().end() ||
      it->second.kind_case() != google::protobuf::Value::kNumberValue) {
    return std::nullopt;
  }
  const double exp = it->second.number_value();
  if (!std::isfinite(exp) || exp <= 0 || exp > 1e15) return std::nullopt;
  // A fractional exp is served only up to its whole second.
  return int64_t(std::floor(exp));
}

CachingTokenVerifier::CachingTokenVerifier(std::unique_ptr<TokenVerifier> inner, size_t max_entries,
                                           Clock clock)
    : inner_(std::move(inner)), max_entries_(max_entries), clock_(std::move(clock)) {}

int64_t CachingTokenVerifier::NowSeconds() const {
  const auto now = clock_ ? clock_() : std::chrono::system_clock::now();
  // Rounded up, so that an entry is never served during the second its token expires.
  const auto since = now.time_since_epoch();
  const auto whole = std::chrono::duration_cast<std::chrono::seconds>(since);
  return whole.count() + (since > whole ? 1 : 0);
}

Principal CachingTokenVerifier::VerifyAuthorizationHeader(std::string_view header) const {
  std::string key(header);
  const int64_t now = NowSeconds();
  bool expired = false;
  {
    // Shared: the callers of a busy service look their tokens up side by side (an exclusive lock
    // here made them wait in turn, in the kernel).
    std::shared_lock lock(mu_);
    if (auto it = entries_.find(key); it != entries_.end()) {
      if (now < it->second.exp) return it->second.principal;
      expired = true;
    }
  }
  if (expired) {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(key); it != entries_.end() && now >= it->second.exp) {
      entries_.erase(it);
    }
  }
  // Throws for a refused token, which is therefore never cached.
  Principal principal = inner_->VerifyAuthorizationHeader(header);
  const auto exp = TokenExpiry(header);
  if (exp && NowSeconds() < *exp && max_entries_ > 0) {
    std::lock_guard lock(mu_);
    if (entries_.size() >= max_entries_) entries_.clear();
    entries_[std::move(key)] = Entry{principal, *exp};
  }
  return principal;
}

size_t CachingTokenVerifier::size() const {
  std::shared_lock lock(mu_);
  return entries_.size();
}

}  // namespace ctg
