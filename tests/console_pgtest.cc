// The web console in Chromium against the real binaries (ConsoleStack: every service with the
// Val de Garonne data, behind ctg-gateway serving the console); the browser tests themselves are
// services/gateway/console/tests (node --test, playwright-core, Debian's chromium, axe-core).
#include <gtest/gtest.h>

#include "console_stack.h"

namespace ctg::e2e {
namespace {

TEST(Console, EveryScreenWorksInChromiumAgainstTheRealServices) {
  const ConsoleStack stack;
  const std::string tests = std::string(CTG_SOURCE_DIR) + "/services/gateway/console/tests/";
  const CommandResult run =
      RunCommand({"/usr/bin/env", "node", "--test", "--test-reporter=spec", tests},
                 stack.BrowserEnvironment(), "", std::chrono::seconds(300));
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err << "\n" << stack.gateway_log();
}

}  // namespace
}  // namespace ctg::e2e
