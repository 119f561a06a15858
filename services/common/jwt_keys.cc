#include "common/jwt_keys.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cmath>

#include "common/config.h"
#include "common/errors.h"

namespace ctg {
namespace {

std::string AlgOf(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return EVP_PKEY_get_bits(key) >= 2048 ? "RS256" : "";
    case EVP_PKEY_EC:
      return EVP_PKEY_get_bits(key) == 256 ? "ES256" : "";
    default:
      return "";
  }
}

// Converts a JWS ES256 signature (r || s, 32 bytes each) to DER.
std::optional<std::string> EcdsaJwsToDer(const std::string& sig) {
  if (sig.size() != 64) return std::nullopt;
  ECDSA_SIG* s = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr);
  BIGNUM* ss = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr);
  ECDSA_SIG_set0(s, r, ss);
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(s, &der);
  ECDSA_SIG_free(s);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), size_t(len));
  OPENSSL_free(der);
  return out;
}

std::optional<std::string> EcdsaDerToJws(const unsigned char* der, size_t len) {
  ECDSA_SIG* s = d2i_ECDSA_SIG(nullptr, &der, long(len));
  if (s == nullptr) return std::nullopt;
  std::string out(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(s), reinterpret_cast<unsigned char*>(&out[0]), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(s), reinterpret_cast<unsigned char*>(&out[32]), 32);
  ECDSA_SIG_free(s);
  return out;
}

bool VerifySignature(EVP_PKEY* key, std::string_view input, const std::string& signature) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace

std::vector<JwtPublicKey> ParseJwtPublicKeys(std::string_view pem) {
  constexpr std::string_view kBegin = "-----BEGIN PUBLIC KEY-----";
  constexpr std::string_view kEnd = "-----END PUBLIC KEY-----";
  std::vector<JwtPublicKey> keys;
  size_t pos = 0;
  while ((pos = pem.find(kBegin, pos)) != std::string_view::npos) {
    const size_t end = pem.find(kEnd, pos);
    if (end == std::string_view::npos) throw ConfigError("JWT public keys: unterminated PEM block");
    const std::string block(pem.substr(pos, end + kEnd.size() - pos));
    JwtPublicKey k;
    // "# kid: <id>" on the line before the block.
    const size_t line_end = pem.rfind('\n', pos == 0 ? 0 : pos - 1);
    if (pos > 0 && line_end != std::string_view::npos) {
      const size_t line_start = pem.rfind('\n', line_end == 0 ? 0 : line_end - 1);
      auto line =
          pem.substr(line_start == std::string_view::npos ? 0 : line_start + 1,
                     line_end - (line_start == std::string_view::npos ? 0 : line_start + 1));
      constexpr std::string_view kKid = "# kid:";
      if (line.substr(0, kKid.size()) == kKid) {
        auto id = line.substr(kKid.size());
        while (!id.empty() && id.front() == ' ') id.remove_prefix(1);
        while (!id.empty() && (id.back() == ' ' || id.back() == '\r')) id.remove_suffix(1);
        k.kid = std::string(id);
      }
    }
    BIO* bio = BIO_new_mem_buf(block.data(), int(block.size()));
    EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (key == nullptr) throw ConfigError("JWT public keys: unreadable PEM public key");
    k.key = std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
    k.alg = AlgOf(key);
    if (k.alg.empty()) {
      throw ConfigError("JWT public keys: only RSA >= 2048 bits (RS256) and P-256 (ES256)");
    }
    keys.push_back(std::move(k));
    pos = end + kEnd.size();
  }
  return keys;
}

MultiAlgTokenVerifier::MultiAlgTokenVerifier(JwtSettings settings,
                                             std::vector<JwtPublicKey> public_keys)
    : settings_(std::move(settings)), public_keys_(std::move(public_keys)) {
  if (!settings_.hs256_key.empty()) hs256_ = std::make_unique<JwtVerifier>(settings_);
}

Principal MultiAlgTokenVerifier::VerifyAuthorizationHeader(std::string_view header) const {
  return Verify(BearerToken(header));
}

Principal MultiAlgTokenVerifier::Verify(std::string_view token,
                                        std::chrono::system_clock::time_point now) const {
  const auto parts = SplitJws(token);
  if (parts.alg == "HS256") {
    if (!hs256_) throw UnauthenticatedError("unsupported token algorithm");
    return hs256_->Verify(token, now);
  }
  if (parts.alg != "RS256" && parts.alg != "ES256") {
    throw UnauthenticatedError("unsupported token algorithm");
  }
  std::string sig = parts.signature;
  if (parts.alg == "ES256") {
    auto der = EcdsaJwsToDer(sig);
    if (!der) throw UnauthenticatedError("bad token signature");
    sig = *der;
  }
  bool verified = false;
  for (const auto& k : public_keys_) {
    // A token naming a key is checked with that key only: an unknown kid is refused even when
    // keys without a kid exist.
    if (k.alg != parts.alg || (!parts.kid.empty() && k.kid != parts.kid)) continue;
    if (VerifySignature(k.key.get(), parts.signing_input, sig)) {
      verified = true;
      break;
    }
  }
  if (!verified) throw UnauthenticatedError("bad token signature");
  return PrincipalFromClaims(parts.payload_json, settings_, now);
}

std::unique_ptr<TokenVerifier> MakeTokenVerifier(const JwtConfig& jwt) {
  return std::make_unique<MultiAlgTokenVerifier>(jwt.Settings(),
                                                 ParseJwtPublicKeys(jwt.public_keys));
}

std::string MintAsymmetricToken(const TokenClaims& claims, std::string_view private_key_pem,
                                std::string_view kid, std::chrono::system_clock::time_point now) {
  BIO* bio = BIO_new_mem_buf(private_key_pem.data(), int(private_key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) throw ConfigError("unreadable private key");
  std::shared_ptr<EVP_PKEY> owner(key, EVP_PKEY_free);
  const std::string alg = AlgOf(key);
  if (alg.empty()) throw ConfigError("unsupported private key");
  // The payload is the one the HS256 minter builds; only the header and signature differ.
  const std::string hs = MintHs256Token(claims, "unused", now);
  const size_t dot1 = hs.find('.');
  const std::string payload = hs.substr(dot1 + 1, hs.rfind('.') - dot1 - 1);
  std::string header = R"({"alg":")" + alg + R"(","typ":"JWT")";
  if (!kid.empty()) header += R"(,"kid":")" + std::string(kid) + "\"";
  header += "}";
  const std::string input = Base64UrlEncode(header) + "." + payload;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  std::string sig;
  if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) == 1) {
    sig.resize(len);
    if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(&sig[0]), &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
      sig.clear();
    }
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (sig.empty()) throw ConfigError("signing failed");
  if (alg == "ES256") {
    auto jws = EcdsaDerToJws(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
    if (!jws) throw ConfigError("signing failed");
    sig = *jws;
  }
  return input + "." + Base64UrlEncode(sig);
}

}  // namespace ctg
