// End-to-end test of the ctgctl binary against the real ctg-partners binary.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "common/auth.h"
#include "common/jwt_keys.h"
#include "ctg/partners/v1/partners.pb.h"
#include "e2e_support.h"
#include "gateway/tests/test_pki.h"

namespace ctg::e2e {
namespace {

namespace v1 = ::ctg::partners::v1;
using grpc::health::v1::HealthCheckResponse;
using std::chrono::seconds;

class CtgctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new EmptyDatabase();
    partners_ = new PartnersProcess(db_->url());
    ASSERT_TRUE(partners_->WaitForHealth(HealthCheckResponse::SERVING, seconds(30)))
        << partners_->log();
  }
  static void TearDownTestSuite() {
    delete partners_;
    partners_ = nullptr;
    delete db_;
    db_ = nullptr;
  }

  // Runs ctgctl with `args`, no CTG_* variable but `env`, and `input` on stdin.
  static CommandResult Ctgctl(const std::vector<std::string>& args,
                              const std::vector<std::string>& env = {},
                              const std::string& input = "") {
    return RunCtgctl(args, env, input);
  }

  // `ctgctl call` against the suite's binary with a registry_admin token.
  static CommandResult Call(const std::string& method, const std::string& json,
                            const std::string& token = Token({"registry_admin"})) {
    std::vector<std::string> args = {"call", "--addr", partners_->address()};
    if (!token.empty()) args.insert(args.end(), {"--token", token});
    args.insert(args.end(), {method, json});
    return Ctgctl(args);
  }

  static std::string TokenEnvKeyFile() { return "CTG_JWT_KEY_FILE=" + partners_->key_file(); }

  static EmptyDatabase* db_;
  static PartnersProcess* partners_;
};

EmptyDatabase* CtgctlTest::db_ = nullptr;
PartnersProcess* CtgctlTest::partners_ = nullptr;

TEST_F(CtgctlTest, TokenVerifiesWithTheServiceSettings) {
  const CommandResult r = Ctgctl({"token", "--role", "copil_secretariat", "--role=dpo", "--org",
                                  "organisations/6f1d2a44-0000-4000-8000-000000000001", "--sub",
                                  "alice", "--ttl-hours", "2", "--key-file", partners_->key_file(),
                                  "--issuer", kIssuer, "--audience", kAudience});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string token = r.out;
  ASSERT_FALSE(token.empty());
  ASSERT_EQ(token.back(), '\n');
  token.pop_back();
  JwtVerifier verifier(JwtSettings{kJwtKey, kIssuer, kAudience});
  const Principal p = verifier.Verify(token);
  EXPECT_EQ(p.subject, "alice");
  EXPECT_EQ(p.organisation, "organisations/6f1d2a44-0000-4000-8000-000000000001");
  EXPECT_TRUE(p.Has(Role::kCopilSecretariat));
  EXPECT_TRUE(p.Has(Role::kDpo));
  EXPECT_FALSE(p.Has(Role::kService));
  // Expires after the requested two hours, not the default twelve.
  EXPECT_THROW(verifier.Verify(token, std::chrono::system_clock::now() + std::chrono::hours(3)),
               std::exception);
}

TEST_F(CtgctlTest, TokenTakesKeyIssuerAndAudienceFromTheEnvironment) {
  const CommandResult r = Ctgctl(
      {"token", "--role", "auditor"},
      {std::string("CTG_JWT_KEY=") + kJwtKey, "CTG_JWT_ISSUER=other", "CTG_JWT_AUDIENCE=aud"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  JwtVerifier verifier(JwtSettings{kJwtKey, "other", "aud"});
  EXPECT_TRUE(verifier.Verify(r.out.substr(0, r.out.size() - 1)).Has(Role::kAuditor));

  const CommandResult defaults = Ctgctl({"token", "--role", "auditor"}, {TokenEnvKeyFile()});
  ASSERT_EQ(defaults.exit_code, 0) << defaults.err;
  JwtVerifier dev(JwtSettings{kJwtKey, "ctg-dev", "ctg"});
  EXPECT_TRUE(dev.Verify(defaults.out.substr(0, defaults.out.size() - 1)).Has(Role::kAuditor));
}

TEST_F(CtgctlTest, TokenRefusesUnknownRolesAndMissingOrShortKeys) {
  const CommandResult unknown = Ctgctl({"token", "--role", "mayor"}, {TokenEnvKeyFile()});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("unknown role 'mayor'"), std::string::npos) << unknown.err;

  const CommandResult no_key = Ctgctl({"token", "--role", "auditor"});
  EXPECT_EQ(no_key.exit_code, 1);
  EXPECT_NE(no_key.err.find("CTG_JWT_KEY"), std::string::npos) << no_key.err;

  const CommandResult short_key =
      Ctgctl({"token", "--role", "auditor"}, {"CTG_JWT_KEY=short-secret-value"});
  EXPECT_EQ(short_key.exit_code, 1);
  EXPECT_EQ(short_key.err.find("short-secret-value"), std::string::npos) << short_key.err;
}

TEST_F(CtgctlTest, CallPrintsTheResponseAsJson) {
  const CommandResult created =
      Call("ctg.partners.v1.PartnerService/CreateOrganisation",
           R"({"organisation": {"kind": "EPCI", "displayName": "Agglomération ctgctl"}})");
  ASSERT_EQ(created.exit_code, 0) << created.err;
  v1::Organisation org;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(created.out, &org).ok()) << created.out;
  EXPECT_EQ(org.display_name(), "Agglomération ctgctl");
  EXPECT_EQ(org.kind(), v1::EPCI);
  // camelCase names, enum names, and pretty printing.
  EXPECT_NE(created.out.find("\"displayName\": \"Agglomération ctgctl\""), std::string::npos)
      << created.out;
  EXPECT_NE(created.out.find("\n"), std::string::npos);

  const CommandResult listed =
      Call("ctg.partners.v1.PartnerService/ListOrganisations", R"({"pageSize": 50})");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  v1::ListOrganisationsResponse list;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(listed.out, &list).ok()) << listed.out;
  bool found = false;
  for (const auto& o : list.organisations()) found |= o.name() == org.name();
  EXPECT_TRUE(found) << listed.out;
}

TEST_F(CtgctlTest, CallReadsTheRequestFromAFileOrStdinAndTheSettingsFromTheEnvironment) {
  TempDir dir;
  WriteFile(dir.File("request.json"), R"({"pageSize": 5})");
  const std::string token = Token({"auditor"});
  const CommandResult from_file = Ctgctl(
      {"call", "ctg.partners.v1.PartnerService/ListOrganisations", "@" + dir.File("request.json")},
      {"CTG_ADDR=" + partners_->address(), "CTG_TOKEN=" + token});
  EXPECT_EQ(from_file.exit_code, 0) << from_file.err;

  const CommandResult from_stdin = Ctgctl({"call", "--addr", partners_->address(), "--token", token,
                                           "ctg.partners.v1.PartnerService/ListOrganisations", "-"},
                                          {}, R"({"pageSize": 5})");
  EXPECT_EQ(from_stdin.exit_code, 0) << from_stdin.err;

  const CommandResult health =
      Ctgctl({"call", "--addr", partners_->address(), "grpc.health.v1.Health/Check", "{}"});
  ASSERT_EQ(health.exit_code, 0) << health.err;
  EXPECT_NE(health.out.find("\"SERVING\""), std::string::npos) << health.out;
}

TEST_F(CtgctlTest, BadInputExitsOneWithAClearMessage) {
  const CommandResult invalid_json =
      Call("ctg.partners.v1.PartnerService/ListOrganisations", R"({"pageSize": )");
  EXPECT_EQ(invalid_json.exit_code, 1);
  EXPECT_NE(invalid_json.err.find("invalid JSON for ctg.partners.v1.ListOrganisationsRequest"),
            std::string::npos)
      << invalid_json.err;

  const CommandResult unknown_field =
      Call("ctg.partners.v1.PartnerService/ListOrganisations", R"({"pageSise": 5})");
  EXPECT_EQ(unknown_field.exit_code, 1);
  EXPECT_NE(unknown_field.err.find("pageSise"), std::string::npos) << unknown_field.err;

  const CommandResult unknown_method = Call("ctg.partners.v1.PartnerService/ListPlanets", "{}");
  EXPECT_EQ(unknown_method.exit_code, 1);
  EXPECT_NE(unknown_method.err.find("unknown method"), std::string::npos) << unknown_method.err;

  const CommandResult unknown_service = Call("ctg.nothing.v1.Nope/Get", "{}");
  EXPECT_EQ(unknown_service.exit_code, 1);
  EXPECT_NE(unknown_service.err.find("unknown method"), std::string::npos);

  const CommandResult usage = Ctgctl({"call"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_EQ(Ctgctl({"frobnicate"}).exit_code, 2);
}

TEST_F(CtgctlTest, FailedCallsPrintTheCodeAndFieldViolationsButNeverTheToken) {
  const std::string token = Token({"registry_admin"});
  const CommandResult invalid =
      Call("ctg.partners.v1.PartnerService/CreateOrganisation",
           R"({"organisation": {"kind": "COMMUNE", "displayName": "", "siren": "123"}})", token);
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_TRUE(invalid.out.empty()) << invalid.out;
  EXPECT_EQ(invalid.err.rfind("ERROR INVALID_ARGUMENT: ", 0), 0u) << invalid.err;
  EXPECT_NE(invalid.err.find("  organisation.siren: "), std::string::npos) << invalid.err;
  EXPECT_NE(invalid.err.find("  organisation.display_name: "), std::string::npos) << invalid.err;
  EXPECT_NE(invalid.err.find("  organisation.insee_code: "), std::string::npos) << invalid.err;
  EXPECT_EQ(invalid.err.find(token), std::string::npos);

  const CommandResult anonymous =
      Call("ctg.partners.v1.PartnerService/ListOrganisations", "{}", "");
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_EQ(anonymous.err.rfind("ERROR UNAUTHENTICATED: ", 0), 0u) << anonymous.err;

  const std::string wrong = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl";
  const CommandResult forged =
      Call("ctg.partners.v1.PartnerService/ListOrganisations", "{}", wrong);
  EXPECT_EQ(forged.exit_code, 1);
  EXPECT_EQ(forged.err.rfind("ERROR UNAUTHENTICATED: ", 0), 0u) << forged.err;
  EXPECT_EQ(forged.err.find(wrong), std::string::npos) << forged.err;

  // A token that cannot be a header value (a pasted error message, a line break) is a usage
  // error, said without echoing it; gRPC used to abort the process on it.
  const std::string pasted = "ctgctl: unknown role 'admin'\nusage: ctgctl token --role ROLE";
  const CommandResult garbled =
      Call("ctg.partners.v1.PartnerService/ListOrganisations", "{}", pasted);
  EXPECT_EQ(garbled.exit_code, 2) << garbled.err;
  EXPECT_NE(garbled.err.find("cannot be a bearer token"), std::string::npos) << garbled.err;
  EXPECT_EQ(garbled.err.find("unknown role"), std::string::npos) << garbled.err;

  const CommandResult unreachable =
      Ctgctl({"call", "--addr", "127.0.0.1:1", "--token", token,
              "ctg.partners.v1.PartnerService/ListOrganisations", "{}"});
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_EQ(unreachable.err.rfind("ERROR UNAVAILABLE: ", 0), 0u) << unreachable.err;
  EXPECT_EQ(unreachable.err.find(token), std::string::npos);
}

TEST_F(CtgctlTest, MethodsListsEveryLinkedRpc) {
  const CommandResult r = Ctgctl({"methods"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* m :
       {"ctg.partners.v1.PartnerService/CreateOrganisation",
        "ctg.partners.v1.PartnerService/ImportConvention",
        "ctg.partners.v1.PartnerService/UpdateFacility", "grpc.health.v1.Health/Check"}) {
    EXPECT_NE(r.out.find(m), std::string::npos) << m << "\n" << r.out;
  }
}

TEST_F(CtgctlTest, ImportConventionLoadsTheSeedOnceAndReportsTheTextsInconsistencies) {
  const std::string document = std::string(CTG_SOURCE_DIR) + "/deploy/seed/vga/convention.json";
  const std::string communes = std::string(CTG_SHARED_DIR) + "/data/vga_communes.csv";
  if (!std::filesystem::exists(document) || !std::filesystem::exists(communes)) {
    GTEST_SKIP() << "seed files not found";
  }
  const std::vector<std::string> args = {
      "import-convention", "--addr", partners_->address(), "--token", Token({"registry_admin"}),
      "--document",        document, "--communes",         communes};
  const CommandResult first = Ctgctl(args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("Convention importée : conventions/"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("Communes membres chargées : 43"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("Communes citées comme parties : 42"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("Blocs de signature de communes : 41"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("MEMBER_NOT_LISTED_AS_PARTY"), std::string::npos) << first.out;

  const CommandResult second = Ctgctl(args);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const CommandResult conventions =
      Call("ctg.partners.v1.PartnerService/ListConventions", R"({"pageSize": 100})");
  ASSERT_EQ(conventions.exit_code, 0) << conventions.err;
  v1::ListConventionsResponse list;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(conventions.out, &list).ok());
  EXPECT_EQ(list.conventions_size(), 1) << conventions.out;
  const CommandResult communes_list = Call("ctg.partners.v1.PartnerService/ListOrganisations",
                                           R"({"pageSize": 100, "kind": "COMMUNE"})");
  ASSERT_EQ(communes_list.exit_code, 0) << communes_list.err;
  v1::ListOrganisationsResponse orgs;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(communes_list.out, &orgs).ok());
  EXPECT_EQ(orgs.organisations_size(), 43);

  const CommandResult missing = Ctgctl({"import-convention", "--addr", partners_->address(),
                                        "--document", "/nonexistent/convention.json"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("/nonexistent/convention.json"), std::string::npos) << missing.err;
}

TEST_F(CtgctlTest, TokenSignedWithAPrivateKeyVerifiesWithItsPublicKey) {
  TempDir dir;
  for (const auto& key : {gateway::testing::GenerateEcKey(), gateway::testing::GenerateRsaKey()}) {
    WriteFile(dir.File("idp.key"), key.private_pem);
    const CommandResult r = Ctgctl({"token", "--role", "service", "--sub", "si-caf47",
                                    "--private-key-file", dir.File("idp.key"), "--kid", "idp-1",
                                    "--issuer", kIssuer, "--audience", kAudience});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string token = r.out.substr(0, r.out.find('\n'));
    MultiAlgTokenVerifier verifier(JwtSettings{"", kIssuer, kAudience},
                                   ParseJwtPublicKeys("# kid: idp-1\n" + key.public_pem));
    const Principal p = verifier.Verify(token);
    EXPECT_EQ(p.subject, "si-caf47");
    EXPECT_TRUE(p.Has(Role::kService));
    // Another key's public half does not verify it.
    MultiAlgTokenVerifier other(JwtSettings{"", kIssuer, kAudience},
                                ParseJwtPublicKeys(gateway::testing::GenerateEcKey().public_pem));
    EXPECT_THROW(other.Verify(token), std::exception);
  }
  const CommandResult missing =
      Ctgctl({"token", "--role", "service", "--private-key-file", "/nonexistent/idp.key"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("--private-key-file"), std::string::npos) << missing.err;
}

// The gateway's public port speaks TLS, with client certificates required (mTLS): ctgctl
// trusts the CA it is given and presents its certificate; without them it cannot connect.
TEST_F(CtgctlTest, CallsGoThroughAGatewayOverTlsAndMutualTls) {
  TempDir dir;
  const auto pki = gateway::testing::MakeTestPki("localhost", "si-caf47");
  WriteFile(dir.File("ca.pem"), pki.ca_cert);
  WriteFile(dir.File("server.pem"), pki.server_cert);
  WriteFile(dir.File("server.key"), pki.server_key);
  WriteFile(dir.File("client.pem"), pki.client_cert);
  WriteFile(dir.File("client.key"), pki.client_key);
  GatewayProcess gateway(
      PartnersRoutes({partners_->address()}), partners_->key_file(),
      {"--plaintext=false", "--tls-cert-file=" + dir.File("server.pem"),
       "--tls-key-file=" + dir.File("server.key"), "--tls-client-ca-file=" + dir.File("ca.pem")});
  const std::string address = "localhost:" + std::to_string(gateway.grpc_port());
  const std::string token = Token({"registry_admin"});
  const std::string method = "ctg.partners.v1.PartnerService/ListOrganisations";
  // Not before the gateway reports its backend healthy.
  CommandResult ok;
  for (int i = 0; i < 100; ++i) {
    ok = Ctgctl({"call", "--addr", address, "--token", token, "--ca-file", dir.File("ca.pem"),
                 "--client-cert-file", dir.File("client.pem"), "--client-key-file",
                 dir.File("client.key"), "--timeout-seconds", "5", method, "{}"});
    if (ok.exit_code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(ok.exit_code, 0) << ok.err << gateway.log();
  // The same from the environment.
  EXPECT_EQ(Ctgctl({"call", "--addr", address, "--timeout-seconds", "5", method, "{}"},
                   {"CTG_TOKEN=" + token, "CTG_CA_FILE=" + dir.File("ca.pem"),
                    "CTG_CLIENT_CERT_FILE=" + dir.File("client.pem"),
                    "CTG_CLIENT_KEY_FILE=" + dir.File("client.key")})
                .exit_code,
            0);
  // No client certificate, or plaintext: the handshake fails.
  const CommandResult no_cert =
      Ctgctl({"call", "--addr", address, "--token", token, "--ca-file", dir.File("ca.pem"),
              "--timeout-seconds", "5", method, "{}"});
  EXPECT_EQ(no_cert.exit_code, 1);
  EXPECT_NE(no_cert.err.find("UNAVAILABLE"), std::string::npos) << no_cert.err;
  EXPECT_EQ(
      Ctgctl({"call", "--addr", address, "--token", token, "--timeout-seconds", "5", method, "{}"})
          .exit_code,
      1);
  // A certificate without its key is a usage error; the token never shows in messages.
  const CommandResult half =
      Ctgctl({"call", "--addr", address, "--token", token, "--ca-file", dir.File("ca.pem"),
              "--client-cert-file", dir.File("client.pem"), method, "{}"});
  EXPECT_EQ(half.exit_code, 2);
  EXPECT_EQ(half.err.find(token), std::string::npos);
}

}  // namespace
}  // namespace ctg::e2e

namespace ctg::e2e {
namespace {

// The README's table of who may call what is the output of `ctgctl access-table`, printed from
// the declarations the services enforce: the two cannot drift apart.
TEST(CtgctlAccessTable, TheReadmeShowsExactlyTheDeclaredAccess) {
  const CommandResult table = RunCommand({CTGCTL_BINARY, "access-table"}, CleanEnvironment());
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("| CreateOrganisation | caf_agent, registry_admin |"), std::string::npos)
      << table.out;
  const std::string readme = ReadFile(std::string(CTG_SOURCE_DIR) + "/README.md");
  const std::string begin = "<!-- ctgctl access-table: begin -->\n";
  const std::string end = "<!-- ctgctl access-table: end -->";
  const auto from = readme.find(begin);
  const auto to = readme.find(end);
  ASSERT_NE(from, std::string::npos);
  ASSERT_NE(to, std::string::npos);
  EXPECT_EQ(readme.substr(from + begin.size(), to - from - begin.size()), table.out)
      << "README.md is out of date: paste the output of `ctgctl access-table` between the "
         "markers";
}

}  // namespace
}  // namespace ctg::e2e
