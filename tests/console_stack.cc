#include "console_stack.h"

#include <filesystem>
#include <stdexcept>

#include "ctg/consents/v1/consents.grpc.pb.h"
#include "ctg/partners/v1/partners.grpc.pb.h"

namespace ctg::e2e {
namespace {

using grpc::health::v1::HealthCheckResponse;

template <class P>
void MustServe(P& process, const char* name) {
  if (!process.WaitForHealth(HealthCheckResponse::SERVING, std::chrono::seconds(30))) {
    throw std::runtime_error(std::string(name) + " did not start:\n" + process.log());
  }
}

}  // namespace

ConsoleStack::ConsoleStack(const std::string& console_dir) {
  if (!std::filesystem::exists(console_dir + "/index.html")) {
    throw std::runtime_error("the console is not built (./ctg build_console)");
  }
  // The identity provider first: every service trusts its public key, as in production.
  identity_provider_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{
          "/usr/bin/env", "node",
          std::string(CTG_SOURCE_DIR) + "/services/gateway/console/tests/fake_idp.mjs",
          idp_dir_.path()},
      [] {
        std::vector<std::string> env = CleanEnvironment();
        env.push_back(std::string("CTG_IDP_ISSUER=") + kIssuer);
        env.push_back(std::string("CTG_IDP_AUDIENCE=") + kAudience);
        return env;
      }(),
      idp_dir_.File("idp.log"));
  const int idp_port = WaitForPortFile(*identity_provider_, idp_dir_.File("idp.port"),
                                       idp_dir_.File("idp.log"), "fake_idp.mjs")
                           .first;
  const std::string idp = "http://127.0.0.1:" + std::to_string(idp_port);
  const std::vector<std::string> keys = {"--jwt-public-keys-file=" + idp_dir_.File("idp.pem")};
  partners_ = std::make_unique<PartnersProcess>(db_.url(), keys);
  MustServe(*partners_, "ctg-partners");
  plan_ = std::make_unique<ActionPlanProcess>(db_.url(), partners_->address(), keys);
  indicators_ = std::make_unique<IndicatorsProcess>(db_.url(), partners_->address(), keys);
  consents_ = std::make_unique<ConsentsProcess>(db_.url(), partners_->address(), keys);
  MustServe(*plan_, "ctg-action-plan");
  MustServe(*indicators_, "ctg-indicators");
  MustServe(*consents_, "ctg-consents");
  vga_ = LoadVga(*partners_, *plan_, *indicators_, *consents_);
  reporting_ = std::make_unique<ReportingProcess>(
      db_.url(),
      std::map<std::string, std::string>{{"partners", partners_->address()},
                                         {"action-plan", plan_->address()},
                                         {"indicators", indicators_->address()},
                                         {"consents", consents_->address()}},
      std::vector<std::string>{"--report-outbox-dir=" + outbox_.path(), keys[0]});
  MustServe(*reporting_, "ctg-reporting");
  // The Caf studies one demonstration request, so that it waits on its DPO's opinion.
  {
    namespace cv1 = ::ctg::consents::v1;
    auto stub = cv1::ConsentService::NewStub(consents_->channel());
    const std::string caf_agent = Token({"caf_agent"}, vga_.caf);
    cv1::ListExchangeRequestsRequest list;
    list.set_page_size(100);
    cv1::ListExchangeRequestsResponse requests;
    if (!stub->ListExchangeRequests(Context(caf_agent).get(), list, &requests).ok()) {
      throw std::runtime_error("cannot list the exchange requests");
    }
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
      if (!status.ok()) throw std::runtime_error("study: " + status.error_message());
      studied = true;
      break;
    }
    if (!studied) throw std::runtime_error("no submitted demonstration request to study");
  }
  // A commune of the convention that pilots none of its actions: the stranger of the tests.
  {
    auto stub = ::ctg::partners::v1::PartnerService::NewStub(partners_->channel());
    ::ctg::partners::v1::ListOrganisationsRequest req;
    req.set_kind(::ctg::partners::v1::COMMUNE);
    req.set_page_size(100);
    ::ctg::partners::v1::ListOrganisationsResponse resp;
    if (!stub->ListOrganisations(Context(Token({"registry_admin"})).get(), req, &resp).ok()) {
      throw std::runtime_error("cannot list the communes");
    }
    for (const auto& o : resp.organisations()) {
      if (o.display_name() == "Marmande") marmande_ = o.name();
    }
    if (marmande_.empty()) throw std::runtime_error("no Marmande in the registry");
  }
  gateway_ = std::make_unique<GatewayProcess>(
      PartnersRoutes({partners_->address()}) +
          "ctg.action_plan.v1.ActionPlanService = " + plan_->address() + "\n" +
          "ctg.indicators.v1.IndicatorService = " + indicators_->address() + "\n" +
          "ctg.reporting.v1.ReportingService = " + reporting_->address() + "\n" +
          "ctg.consents.v1.ConsentService = " + consents_->address() + "\n",
      partners_->key_file(),
      std::vector<std::string>{"--console-dir=" + console_dir, "--dev-sign-in=true", keys[0],
                               "--oidc-authorization-endpoint=" + idp + "/authorize",
                               "--oidc-token-endpoint=" + idp + "/token",
                               "--oidc-client-id=ctg-console", "--rate-limit-rps=0",
                               // Health checks given 1 s, so a loaded test machine does not
                               // take a backend out of rotation in the middle of a page.
                               "--health-interval-ms=1000"});
  MustServe(*gateway_, "ctg-gateway");
  // Who signs in at the provider: the secretariat.
  WriteFile(idp_dir_.File("person.json"),
            R"({"role": "copil_secretariat", "organisation": ")" + vga_.secretariat + "\"}\n");
}

std::vector<std::string> ConsoleStack::BrowserEnvironment() const {
  std::vector<std::string> env = CleanEnvironment();
  env.push_back("CTG_CONSOLE_URL=http://127.0.0.1:" + std::to_string(gateway_->http_port()) + "/");
  env.push_back("CTG_CONSOLE_ORG=" + vga_.secretariat);
  env.push_back("CTG_CONSOLE_STRANGER_ORG=" + marmande_);
  env.push_back("CTG_CONSOLE_CAF=" + vga_.caf);
  env.push_back("CTG_CONSOLE_CDSF=" + vga_.cdsf);
  if (const char* dir = std::getenv("CTG_TEST_ARTEFACTS_DIR")) {
    env.push_back(std::string("CTG_TEST_ARTEFACTS_DIR=") + dir);
  }
  return env;
}

}  // namespace ctg::e2e
