#include "common/process.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "common/config.h"
#include "common/log.h"

namespace ctg {

int RunDaemonMain(const std::string& name, const std::function<std::unique_ptr<Daemon>()>& build) {
  // Blocked before any thread starts, so that only sigwait below ever takes them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::unique_ptr<Daemon> daemon;
  try {
    daemon = build();
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "configuration error: %s\n", e.what());
    return 2;
  }
  // A fatal start-up error ends the process like a signal would.
  daemon->SetFatalErrorListener([] { kill(getpid(), SIGTERM); });
  try {
    daemon->Start();
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "configuration error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "start-up error: %s\n", e.what());
    return 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  if (const auto fatal = daemon->fatal_error()) {
    std::fprintf(stderr, "start-up error: %s\n", fatal->c_str());
    daemon->Shutdown();
    return 1;
  }
  LogLine("info")
      .Add("msg", "shutting down")
      .Add("service", name)
      .Add("signal", int64_t(sig))
      .Emit();
  daemon->Shutdown();
  LogLine("info").Add("msg", "stopped").Add("service", name).Emit();
  return 0;
}

void WritePortFile(const std::string& path, int grpc_port, int metrics_port, int http_port) {
  const std::string partial = path + ".partial";
  {
    std::ofstream out(partial);
    out << grpc_port << " " << metrics_port;
    if (http_port > 0) out << " " << http_port;
    out << "\n";
  }
  std::rename(partial.c_str(), path.c_str());
}

}  // namespace ctg
