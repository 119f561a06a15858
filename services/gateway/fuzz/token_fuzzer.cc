// Feeds arbitrary bytes to the bearer-token verifiers. Every input must end in a Principal or
// an UnauthenticatedError: no crash, no other exception, no undefined behaviour. The first byte
// picks the entry point; the rest is the token or header.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/auth.h"
#include "common/errors.h"
#include "common/jwt_keys.h"

namespace {

constexpr char kKey[] = "fuzz-key-0123456789-0123456789-0123456789";

const ctg::JwtVerifier& Hs256() {
  static const ctg::JwtVerifier verifier({kKey, "ctg-dev", "ctg", std::chrono::seconds(30)});
  return verifier;
}

const ctg::MultiAlgTokenVerifier& MultiAlg() {
  static const ctg::MultiAlgTokenVerifier verifier(
      {kKey, "ctg-dev", "ctg", std::chrono::seconds(30)}, {});
  return verifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 4) {
      case 0:
        Hs256().Verify(input);
        break;
      case 1:
        Hs256().VerifyAuthorizationHeader(input);
        break;
      case 2:
        MultiAlg().Verify(input);
        break;
      default:
        MultiAlg().VerifyAuthorizationHeader("Bearer " + input);
        break;
    }
  } catch (const ctg::UnauthenticatedError&) {
  }
  return 0;
}
