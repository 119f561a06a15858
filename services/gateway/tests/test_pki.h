#pragma once

#include <string>

namespace ctg::gateway::testing {

// A key pair in PEM (PKCS#8 private key, SubjectPublicKeyInfo public key).
struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

// A fresh P-256 key (ES256).
KeyPair GenerateEcKey();
// A fresh 2048-bit RSA key (RS256).
KeyPair GenerateRsaKey();

// A throwaway certificate authority with one server and one client certificate it signed.
struct TestPki {
  std::string ca_cert;
  std::string server_cert, server_key;  // subjectAltName DNS:<server_name>
  std::string client_cert, client_key;  // CN=<client_name>
};

// Generates a test PKI (EC P-256 keys, valid for one day).
TestPki MakeTestPki(const std::string& server_name, const std::string& client_name);

}  // namespace ctg::gateway::testing
