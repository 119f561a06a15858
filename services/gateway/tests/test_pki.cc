#include "gateway/tests/test_pki.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

namespace ctg::gateway::testing {
namespace {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, size_t(len));
  BIO_free(bio);
  return out;
}

std::string PrivatePem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  return BioString(bio);
}

std::string PublicPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  return BioString(bio);
}

std::string CertPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  return BioString(bio);
}

Key NewEcKey() {
  Key key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!key) throw std::runtime_error("EC key generation failed");
  return key;
}

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) throw std::runtime_error("bad certificate extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

Cert MakeCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, long serial,
              bool ca, const std::string& san) {
  Cert cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  AddExtension(cert.get(), signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (ca) AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  if (!san.empty()) AddExtension(cert.get(), signer, NID_subject_alt_name, san.c_str());
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) {
    throw std::runtime_error("certificate signing failed");
  }
  return cert;
}

}  // namespace

KeyPair GenerateEcKey() {
  Key key = NewEcKey();
  return {PrivatePem(key.get()), PublicPem(key.get())};
}

KeyPair GenerateRsaKey() {
  Key key(EVP_RSA_gen(2048), EVP_PKEY_free);
  if (!key) throw std::runtime_error("RSA key generation failed");
  return {PrivatePem(key.get()), PublicPem(key.get())};
}

TestPki MakeTestPki(const std::string& server_name, const std::string& client_name) {
  Key ca_key = NewEcKey(), server_key = NewEcKey(), client_key = NewEcKey();
  Cert ca = MakeCert(ca_key.get(), "CTG test CA", nullptr, ca_key.get(), 1, true, "");
  Cert server = MakeCert(server_key.get(), server_name, ca.get(), ca_key.get(), 2, false,
                         "DNS:" + server_name);
  Cert client = MakeCert(client_key.get(), client_name, ca.get(), ca_key.get(), 3, false, "");
  TestPki pki;
  pki.ca_cert = CertPem(ca.get());
  pki.server_cert = CertPem(server.get());
  pki.server_key = PrivatePem(server_key.get());
  pki.client_cert = CertPem(client.get());
  pki.client_key = PrivatePem(client_key.get());
  return pki;
}

}  // namespace ctg::gateway::testing
