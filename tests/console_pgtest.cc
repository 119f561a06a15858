// The web console in Chromium against the real binaries: ctg-partners with the Val de Garonne
// convention, ctg-action-plan with its plan, ctg-indicators with its starter catalogue, ctg-consents
// with its demonstration exchanges and ctg-reporting, behind ctg-gateway serving the console's files (build/console, made by
// ./ctg) and the development sign-in on its browser listener; the browser tests themselves are
// services/gateway/console/tests (node --test, playwright-core, Debian's chromium, axe-core).
#include <gtest/gtest.h>

#include <filesystem>

#include "ctg/consents/v1/consents.grpc.pb.h"
#include "ctg/partners/v1/partners.grpc.pb.h"
#include "e2e_support.h"

namespace ctg::e2e {
namespace {

using grpc::health::v1::HealthCheckResponse;

TEST(Console, EveryScreenWorksInChromiumAgainstTheRealServices) {
  ASSERT_TRUE(std::filesystem::exists(std::string(CTG_CONSOLE_DIR) + "/index.html"))
      << "the console is built by ./ctg (build_console)";
  EmptyDatabase db;
  PartnersProcess partners(db.url());
  ASSERT_TRUE(partners.WaitForHealth(HealthCheckResponse::SERVING, std::chrono::seconds(30)))
      << partners.log();
  // The plan (38 actions, piloted by the agglomeration), the starter indicator catalogue, the
  // demonstration exchanges: loaded as ./ctg up loads them.
  ActionPlanProcess plan(db.url(), partners.address());
  IndicatorsProcess indicators(db.url(), partners.address());
  ConsentsProcess consents(db.url(), partners.address());
  for (auto* p : std::vector<ServiceProcess*>{&plan, &indicators, &consents}) {
    ASSERT_TRUE(p->WaitForHealth(HealthCheckResponse::SERVING, std::chrono::seconds(30)))
        << p->log();
  }
  const LoadedVga vga = LoadVga(partners, plan, indicators, consents);
  const std::string& secretariat = vga.secretariat;
  ReportingProcess reporting(db.url(), {{"partners", partners.address()},
                                        {"action-plan", plan.address()},
                                        {"indicators", indicators.address()},
                                        {"consents", consents.address()}});
  ASSERT_TRUE(reporting.WaitForHealth(HealthCheckResponse::SERVING, std::chrono::seconds(30)))
      << reporting.log();
  // The Caf studies one demonstration request, so that it waits on its DPO's opinion.
  {
    namespace cv1 = ::ctg::consents::v1;
    auto stub = cv1::ConsentService::NewStub(consents.channel());
    const std::string caf_agent = Token({"caf_agent"}, vga.caf);
    cv1::ListExchangeRequestsRequest list;
    list.set_page_size(100);
    cv1::ListExchangeRequestsResponse requests;
    ASSERT_TRUE(stub->ListExchangeRequests(Context(caf_agent).get(), list, &requests).ok());
    bool studied = false;
    for (const auto& r : requests.exchange_requests()) {
      if (r.state() != cv1::SUBMITTED) continue;
      cv1::TakeStepRequest step;
      step.set_name(r.name());
      step.set_etag(r.etag());
      step.set_step(cv1::RECORD_STUDY);
      step.mutable_study()->set_opportunity("Besoin établi par le diagnostic partagé");
      step.mutable_study()->set_feasibility("Extraction trimestrielle possible");
      step.mutable_study()->set_compliance("Données minimisées");
      cv1::ExchangeRequest out;
      const auto status = stub->TakeStep(Context(caf_agent).get(), step, &out);
      ASSERT_TRUE(status.ok()) << status.error_message();
      studied = true;
      break;
    }
    ASSERT_TRUE(studied);
  }
  // A commune of the convention that pilots none of its actions: the stranger of the tests.
  std::string marmande;
  {
    auto stub = ::ctg::partners::v1::PartnerService::NewStub(partners.channel());
    ::ctg::partners::v1::ListOrganisationsRequest req;
    req.set_kind(::ctg::partners::v1::COMMUNE);
    req.set_page_size(100);
    ::ctg::partners::v1::ListOrganisationsResponse resp;
    ASSERT_TRUE(stub->ListOrganisations(Context(Token({"registry_admin"})).get(), req, &resp).ok());
    for (const auto& o : resp.organisations()) {
      if (o.display_name() == "Marmande") marmande = o.name();
    }
  }
  ASSERT_FALSE(marmande.empty());
  GatewayProcess gateway(PartnersRoutes({partners.address()}) +
                             "ctg.action_plan.v1.ActionPlanService = " + plan.address() + "\n" +
                             "ctg.indicators.v1.IndicatorService = " + indicators.address() + "\n" +
                             "ctg.reporting.v1.ReportingService = " + reporting.address() + "\n" +
                             "ctg.consents.v1.ConsentService = " + consents.address() + "\n",
                         partners.key_file(),
                         {"--console-dir=" + std::string(CTG_CONSOLE_DIR), "--dev-sign-in=true",
                          "--rate-limit-rps=0"});
  ASSERT_TRUE(gateway.WaitForHealth(HealthCheckResponse::SERVING, std::chrono::seconds(30)))
      << gateway.log();
  std::vector<std::string> env = CleanEnvironment();
  env.push_back("CTG_CONSOLE_URL=http://127.0.0.1:" + std::to_string(gateway.http_port()) + "/");
  env.push_back("CTG_CONSOLE_ORG=" + secretariat);
  env.push_back("CTG_CONSOLE_STRANGER_ORG=" + marmande);
  env.push_back("CTG_CONSOLE_CAF=" + vga.caf);
  if (const char* dir = std::getenv("CTG_TEST_ARTEFACTS_DIR")) {
    env.push_back(std::string("CTG_TEST_ARTEFACTS_DIR=") + dir);
  }
  const std::string tests = std::string(CTG_SOURCE_DIR) + "/services/gateway/console/tests/";
  const CommandResult run =
      RunCommand({"/usr/bin/env", "node", "--test", "--test-reporter=spec", tests}, env, "",
                 std::chrono::seconds(240));
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err << "\n" << gateway.log();
}

}  // namespace
}  // namespace ctg::e2e
