#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace ctg {

// A long-running process of the backend: a service host or the gateway. One bootstrap
// (RunDaemonMain) runs them all the same way.
class Daemon {
 public:
  virtual ~Daemon() = default;
  // Starts serving; throws ConfigError for a bad setting found only now (a port in use...).
  virtual void Start() = 0;
  // Stops accepting calls and lets those in flight finish within the configured grace.
  virtual void Shutdown() = 0;
  // The error that ended its set-up for good after Start (an edited migration), if any.
  virtual std::optional<std::string> fatal_error() const { return std::nullopt; }
  // Called once when such an error happens (set before Start).
  virtual void SetFatalErrorListener(std::function<void()> listener) {}
};

// The whole `main` of every ctg binary. `build` reads the configuration and builds the daemon:
// a ConfigError prints "configuration error: <one line naming the setting>" and exits 2. Then
// Start (a ConfigError exits 2, any other error 1), serve until SIGTERM or SIGINT (taken by this
// thread with sigwait; every other thread keeps them blocked), drain and exit 0 — or exit 1 when
// a fatal error stopped the set-up. `name` goes into the log lines.
int RunDaemonMain(const std::string& name, const std::function<std::unique_ptr<Daemon>()>& build);

// Writes "<grpc port> <metrics port>\n" to `path` ("<grpc port> <metrics port> <http port>\n"
// when `http_port` is set: the gateway's browser listener), through a temporary file renamed
// over it, so a reader never sees half a file.
void WritePortFile(const std::string& path, int grpc_port, int metrics_port, int http_port = 0);

}  // namespace ctg
