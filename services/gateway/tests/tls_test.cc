// TLS and mTLS handshakes on the gateway's public port.
#include <gtest/gtest.h>

#include "common/auth.h"
#include "common/config.h"
#include "gateway/gateway.h"
#include "gateway/tests/echo_backend.h"
#include "gateway/tests/test_pki.h"

namespace ctg::gateway {
namespace {

namespace v1 = ::ctg::testing::v1;
using namespace std::chrono_literals;

constexpr char kKey[] = "gateway-test-key-0123456789abcdef0123456789";
constexpr char kServerName[] = "gateway.ctg.test";

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = testing::MakeTestPki(kServerName, "caf47-sys");
    backend_ = std::make_unique<testing::EchoBackend>("a");
  }

  void StartGateway(bool mtls) {
    GatewayConfig c;
    c.listen_address = "127.0.0.1:0";
    c.metrics_address = "off";
    c.routes_text = "ctg.testing.v1.EchoService = " + backend_->address() + "\n";
    c.jwt.hs256_key = kKey;
    c.tls_cert = pki_.server_cert;
    c.tls_key = pki_.server_key;
    if (mtls) c.tls_client_ca = pki_.ca_cert;
    c.access_log = false;
    c.shutdown_grace = 1s;
    gateway_ = std::make_unique<Gateway>(std::move(c));
    gateway_->Start();
  }

  grpc::Status Call(std::shared_ptr<grpc::ChannelCredentials> credentials) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride(kServerName);
    auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(gateway_->port()),
                                             credentials, args);
    auto stub = v1::EchoService::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    TokenClaims claims;
    claims.subject = "alice";
    claims.roles = {Role::kAuditor};
    claims.issuer = "ctg-dev";
    claims.audience = "ctg";
    ctx.AddMetadata("authorization", "Bearer " + MintHs256Token(claims, kKey));
    v1::EchoRequest req;
    req.set_message("tls");
    v1::EchoResponse resp;
    return stub->Echo(&ctx, req, &resp);
  }

  std::shared_ptr<grpc::ChannelCredentials> Tls(bool with_client_cert) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = pki_.ca_cert;
    if (with_client_cert) {
      options.pem_private_key = pki_.client_key;
      options.pem_cert_chain = pki_.client_cert;
    }
    return grpc::SslCredentials(options);
  }

  testing::TestPki pki_;
  std::unique_ptr<testing::EchoBackend> backend_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(TlsTest, TlsHandshakeAndPlaintextRefused) {
  StartGateway(/*mtls=*/false);
  grpc::Status status = Call(Tls(false));
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Call(grpc::InsecureChannelCredentials()).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(backend_->calls(), 1);
}

TEST_F(TlsTest, MutualTlsRequiresAClientCertificate) {
  StartGateway(/*mtls=*/true);
  grpc::Status status = Call(Tls(true));
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Call(Tls(false)).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(backend_->calls(), 1);
}

TEST(GatewayConfigTls, PlaintextIsRefusedOffLoopback) {
  GatewayConfig c;
  setenv("CTG_JWT_KEY", kKey, 1);
  const char* argv[] = {"ctg-gateway", "--listen=0.0.0.0:8443", "--plaintext=true",
                        "--routes-file=/dev/null"};
  try {
    LoadGatewayConfig(4, argv);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("loopback"), std::string::npos) << e.what();
  }
  const char* no_tls[] = {"ctg-gateway", "--listen=127.0.0.1:0", "--routes-file=/dev/null"};
  EXPECT_THROW(LoadGatewayConfig(3, no_tls), ConfigError);
  const char* loopback[] = {"ctg-gateway", "--listen=127.0.0.1:0", "--plaintext=true",
                            "--routes-file=/dev/null"};
  EXPECT_NO_THROW(LoadGatewayConfig(4, loopback));
}

}  // namespace
}  // namespace ctg::gateway
