// console_bench: the COPIL dashboard in Debian's Chromium against the real binaries with the
// Val de Garonne data (ConsoleStack): the time until the tracking table is rendered next to the
// span of its API calls, measured in the browser (services/gateway/console/bench/dashboard.mjs).
#include <cstdio>

#include "console_stack.h"

int main() {
  using namespace ctg::e2e;
  try {
    const ConsoleStack stack;
    const CommandResult run =
        RunCommand({"/usr/bin/env", "node",
                    std::string(CTG_SOURCE_DIR) + "/services/gateway/console/bench/dashboard.mjs"},
                   stack.BrowserEnvironment(), "", std::chrono::seconds(300));
    std::printf("%s", run.out.c_str());
    if (run.exit_code != 0) {
      std::fprintf(stderr, "%s\n", run.err.c_str());
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
