// console_bench: the COPIL dashboard in Debian's Chromium against the real binaries with the
// Val de Garonne data (ConsoleStack): the time until the tracking table is rendered next to the
// span of its API calls, and the same for the floor page making the same calls with bare fetch,
// measured in the browser (services/gateway/console/bench/dashboard.mjs).
#include <cstdio>
#include <filesystem>

#include "console_stack.h"

int main() {
  using namespace ctg::e2e;
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("ctg-console-bench-" + std::to_string(getpid()));
  int code = 0;
  try {
    // The built console with the floor page beside it (never part of the console itself).
    fs::create_directories(dir);
    fs::copy(CTG_CONSOLE_DIR, dir, fs::copy_options::recursive);
    const fs::path floor = fs::path(CTG_SOURCE_DIR) / "services/gateway/console/bench/floor";
    fs::copy(floor, dir, fs::copy_options::recursive);
    const ConsoleStack stack(dir.string());
    const CommandResult run =
        RunCommand({"/usr/bin/env", "node",
                    std::string(CTG_SOURCE_DIR) + "/services/gateway/console/bench/dashboard.mjs"},
                   stack.BrowserEnvironment(), "", std::chrono::seconds(300));
    std::printf("%s", run.out.c_str());
    if (run.exit_code != 0) {
      std::fprintf(stderr, "%s\n", run.err.c_str());
      code = 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    code = 1;
  }
  fs::remove_all(dir);
  return code;
}
