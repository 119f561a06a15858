#include "common/auth.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <cmath>

#include "common/errors.h"
#include "ctg/api/v1/access.pb.h"

namespace ctg {
namespace {

google::protobuf::Struct ParseJsonObject(std::string_view json, const char* what) {
  google::protobuf::Struct object;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(std::string(json), &object, options).ok()) {
    throw UnauthenticatedError(std::string("malformed token ") + what);
  }
  return object;
}

const google::protobuf::Value* Field(const google::protobuf::Struct& object, const char* key) {
  auto it = object.fields().find(key);
  return it == object.fields().end() ? nullptr : &it->second;
}

std::string StringClaim(const google::protobuf::Struct& claims, const char* key) {
  const auto* v = Field(claims, key);
  if (v == nullptr) return "";
  if (v->kind_case() != google::protobuf::Value::kStringValue) {
    throw UnauthenticatedError(std::string("token claim '") + key + "' must be a string");
  }
  return v->string_value();
}

std::optional<double> NumericClaim(const google::protobuf::Struct& claims, const char* key) {
  const auto* v = Field(claims, key);
  if (v == nullptr) return std::nullopt;
  if (v->kind_case() != google::protobuf::Value::kNumberValue ||
      !std::isfinite(v->number_value())) {
    throw UnauthenticatedError(std::string("token claim '") + key + "' must be a number");
  }
  return v->number_value();
}

}  // namespace

namespace {

// Wire names: the lower-case names of ctg.api.v1.Role ("caf_agent"), built once.
struct RoleNames {
  std::vector<Role> roles;
  std::vector<std::string> names;  // indexed by role number
  RoleNames() {
    const auto* e = api::v1::Role_descriptor();
    names.resize(e->value_count() + 1);
    for (int i = 0; i < e->value_count(); ++i) {
      const auto* v = e->value(i);
      if (v->number() == api::v1::ROLE_UNSPECIFIED) continue;
      std::string name = v->name();
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (static_cast<size_t>(v->number()) >= names.size()) names.resize(v->number() + 1);
      names[v->number()] = name;
      roles.push_back(static_cast<Role>(v->number()));
    }
  }
};

const RoleNames& Names() {
  static const RoleNames names;
  return names;
}

}  // namespace

const std::vector<Role>& AllRoles() { return Names().roles; }

std::string_view RoleName(Role role) {
  const auto& names = Names().names;
  const auto i = static_cast<size_t>(role);
  return i < names.size() && !names[i].empty() ? std::string_view(names[i]) : "unknown";
}

std::optional<Role> ParseRole(std::string_view name) {
  const auto& n = Names();
  for (Role r : n.roles) {
    if (n.names[static_cast<size_t>(r)] == name) return r;
  }
  return std::nullopt;
}

bool Principal::HasAny(std::initializer_list<Role> any) const {
  for (Role r : any) {
    if (Has(r)) return true;
  }
  return false;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &out_len);
  return std::string(reinterpret_cast<char*>(out), out_len);
}

namespace {
std::string HexOf(const unsigned char* digest, unsigned int len) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}
}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return HexOf(digest, len);
}

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(ctx_); }

void Sha256Stream::Update(std::string_view data) {
  EVP_DigestUpdate(ctx_, data.data(), data.size());
}

std::string Sha256Stream::HexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, digest, &len);
  return HexOf(digest, len);
}

std::string Base64UrlEncode(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t n = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i + 1 == data.size()) {
    uint32_t n = uint8_t(data[i]) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
  } else if (i + 2 == data.size()) {
    uint32_t n = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
  }
  return out;
}

std::string Base64Encode(std::string_view data) {
  std::string out = Base64UrlEncode(data);
  for (char& c : out) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view data) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  if (data.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : data) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((buffer >> bits) & 0xFF);
    }
  }
  // Canonical encoding only: the unused low bits of the last character must be zero, so that
  // one byte string has exactly one encoding (no malleable signatures or tokens).
  if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

JwtVerifier::JwtVerifier(JwtSettings settings) : settings_(std::move(settings)) {}

std::string_view BearerToken(std::string_view header) {
  constexpr std::string_view kBearer = "Bearer ";
  if (header.empty()) throw UnauthenticatedError("missing authorization: Bearer token");
  if (header.size() <= kBearer.size() || header.substr(0, kBearer.size()) != kBearer) {
    throw UnauthenticatedError("authorization header must be 'Bearer <token>'");
  }
  return header.substr(kBearer.size());
}

JwsParts SplitJws(std::string_view token) {
  if (token.size() > 8192) throw UnauthenticatedError("token too large");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    throw UnauthenticatedError("malformed token: expected three base64url segments");
  }
  auto header_json = Base64UrlDecode(token.substr(0, dot1));
  auto payload_json = Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = Base64UrlDecode(token.substr(dot2 + 1));
  if (!header_json || !payload_json || !signature) {
    throw UnauthenticatedError("malformed token: bad base64url");
  }
  JwsParts parts;
  const auto header = ParseJsonObject(*header_json, "header");
  if (Field(header, "crit") != nullptr) {
    throw UnauthenticatedError(
        "token header names critical extensions this verifier does not understand");
  }
  parts.alg = StringClaim(header, "alg");
  parts.kid = StringClaim(header, "kid");
  parts.header_json = std::move(*header_json);
  parts.payload_json = std::move(*payload_json);
  parts.signature = std::move(*signature);
  parts.signing_input = token.substr(0, dot2);
  return parts;
}

Principal PrincipalFromClaims(std::string_view payload_json, const JwtSettings& settings,
                              std::chrono::system_clock::time_point now) {
  const auto claims = ParseJsonObject(payload_json, "payload");
  const double now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const double leeway = settings.leeway.count();
  const auto exp = NumericClaim(claims, "exp");
  if (!exp) throw UnauthenticatedError("token has no expiry");
  if (now_s > *exp + leeway) throw UnauthenticatedError("token expired");
  if (auto nbf = NumericClaim(claims, "nbf"); nbf && now_s + leeway < *nbf) {
    throw UnauthenticatedError("token not yet valid");
  }
  const auto iat = NumericClaim(claims, "iat");
  if (StringClaim(claims, "iss") != settings.issuer) {
    throw UnauthenticatedError("token issuer not accepted");
  }
  // "aud" may be a string or an array of strings (RFC 7519 §4.1.3).
  bool audience_ok = false;
  if (const auto* aud = Field(claims, "aud")) {
    if (aud->kind_case() == google::protobuf::Value::kStringValue) {
      audience_ok = aud->string_value() == settings.audience;
    } else if (aud->kind_case() == google::protobuf::Value::kListValue) {
      for (const auto& v : aud->list_value().values()) {
        audience_ok = audience_ok || v.string_value() == settings.audience;
      }
    }
  }
  if (!audience_ok) throw UnauthenticatedError("token audience not accepted");

  Principal principal;
  principal.subject = StringClaim(claims, "sub");
  if (principal.subject.empty()) throw UnauthenticatedError("token has no subject");
  principal.organisation = StringClaim(claims, "org");
  const auto* roles = Field(claims, "roles");
  if (roles == nullptr || roles->kind_case() != google::protobuf::Value::kListValue) {
    throw UnauthenticatedError("token has no roles");
  }
  for (const auto& v : roles->list_value().values()) {
    auto role = ParseRole(v.string_value());
    if (!role) throw UnauthenticatedError("token carries an unknown role");
    principal.roles.insert(*role);
  }
  if (principal.roles.empty()) throw UnauthenticatedError("token has no roles");
  // A stolen long-lived token is a long-lived breach: the lifetime is bounded from the issue and
  // from now, more tightly for service identities.
  const double max_lifetime =
      double(principal.Has(Role::kService) ? settings.max_service_lifetime.count()
                                           : settings.max_lifetime.count());
  if ((iat && *exp - *iat > max_lifetime + leeway) || *exp - now_s > max_lifetime + leeway) {
    throw UnauthenticatedError("token lifetime exceeds the accepted maximum");
  }
  return principal;
}

Principal JwtVerifier::VerifyAuthorizationHeader(std::string_view header) const {
  return Verify(BearerToken(header));
}

Principal JwtVerifier::Verify(std::string_view token,
                              std::chrono::system_clock::time_point now) const {
  const auto parts = SplitJws(token);
  // Only the algorithm this verifier is configured for; "none" and asymmetric algorithms with
  // an HMAC key (the classic confusion attack) are refused before any signature check.
  if (parts.alg != "HS256") throw UnauthenticatedError("unsupported token algorithm");
  const std::string expected = HmacSha256(settings_.hs256_key, parts.signing_input);
  if (parts.signature.size() != expected.size() ||
      CRYPTO_memcmp(parts.signature.data(), expected.data(), expected.size()) != 0) {
    throw UnauthenticatedError("bad token signature");
  }
  return PrincipalFromClaims(parts.payload_json, settings_, now);
}

std::string MintHs256Token(const TokenClaims& claims, std::string_view key,
                           std::chrono::system_clock::time_point now) {
  google::protobuf::Struct payload;
  auto& f = *payload.mutable_fields();
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  f["sub"].set_string_value(claims.subject);
  if (!claims.organisation.empty()) f["org"].set_string_value(claims.organisation);
  f["iss"].set_string_value(claims.issuer);
  f["aud"].set_string_value(claims.audience);
  f["iat"].set_number_value(double(now_s));
  f["nbf"].set_number_value(double(now_s));
  f["exp"].set_number_value(double(now_s + claims.lifetime.count()));
  auto* roles = f["roles"].mutable_list_value();
  for (Role r : claims.roles) roles->add_values()->set_string_value(std::string(RoleName(r)));
  std::string payload_json;
  (void)google::protobuf::util::MessageToJsonString(payload, &payload_json);
  const std::string signing_input =
      Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." + Base64UrlEncode(payload_json);
  return signing_input + "." + Base64UrlEncode(HmacSha256(key, signing_input));
}

}  // namespace ctg
