#pragma once

#include <string>
#include <vector>

#include "e2e_support.h"

namespace ctg::e2e {

// Everything the web console talks to, as real binaries on a throwaway database: ctg-partners
// with the Val de Garonne convention, ctg-action-plan with its plan, ctg-indicators with its
// starter catalogue, ctg-consents with its demonstration exchanges (one studied by the Caf, so
// that it waits on its DPO), ctg-reporting with an outbox for the CDSF, and ctg-gateway serving the
// console's files
// (`console_dir`, by default CTG_CONSOLE_DIR built by ./ctg) and the development sign-in on its
// browser listener.
// Throws std::runtime_error, with the failing binary's log, when a piece does not start.
class ConsoleStack {
 public:
  explicit ConsoleStack(const std::string& console_dir = CTG_CONSOLE_DIR);

  // The environment of a browser script: CTG_CONSOLE_URL, CTG_CONSOLE_ORG (the secretariat,
  // pilot of every action), CTG_CONSOLE_STRANGER_ORG (Marmande, a party that pilots none),
  // CTG_CONSOLE_CAF, CTG_CONSOLE_CDSF (the CDSF of Lot-et-Garonne), and CTG_TEST_ARTEFACTS_DIR
  // when set.
  std::vector<std::string> BrowserEnvironment() const;
  std::string gateway_log() const { return gateway_->log(); }

 private:
  EmptyDatabase db_;
  // A test OpenID Connect provider (services/gateway/console/tests/fake_idp.mjs) for the
  // production sign-in, signing the secretariat in; its key is trusted by every process.
  TempDir idp_dir_;
  std::unique_ptr<ChildProcess> identity_provider_;
  TempDir outbox_;  // the CDSF packages the Caf sends
  std::unique_ptr<PartnersProcess> partners_;
  std::unique_ptr<ActionPlanProcess> plan_;
  std::unique_ptr<IndicatorsProcess> indicators_;
  std::unique_ptr<ConsentsProcess> consents_;
  std::unique_ptr<ReportingProcess> reporting_;
  std::unique_ptr<GatewayProcess> gateway_;
  LoadedVga vga_;
  std::string marmande_;
};

}  // namespace ctg::e2e
