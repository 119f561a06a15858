#pragma once

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "grpc/health/v1/health.pb.h"

// Support for the end-to-end tests: they start the real binaries as child processes, each on
// its own throwaway PostgreSQL database, and talk to them over loopback sockets.
namespace ctg::e2e {

// The HS256 key, issuer and audience the tests give the binaries.
extern const char kJwtKey[];
extern const char kIssuer[];
extern const char kAudience[];

// A fresh directory under $TMPDIR (or /tmp), removed with its content on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // `path()/name`.
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// An empty database (no migrations: the binaries apply their own) created on the server named
// by CTG_TEST_ADMIN_URL (a libpq keyword string; default "dbname=postgres"), dropped on
// destruction.
class EmptyDatabase {
 public:
  EmptyDatabase();
  ~EmptyDatabase();
  EmptyDatabase(const EmptyDatabase&) = delete;
  EmptyDatabase& operator=(const EmptyDatabase&) = delete;

  // Connection string of the database.
  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  // Connection string of the server's administrative database.
  const std::string& admin_url() const { return admin_url_; }

 private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

// This process's environment without any CTG_* variable, so that a child sees exactly the
// settings a test gives it.
std::vector<std::string> CleanEnvironment();

// Reads a whole file; empty when it cannot be read.
std::string ReadFile(const std::string& path);
// Writes `content` to `path` with mode 0600; throws on failure.
void WriteFile(const std::string& path, const std::string& content);

// What a finished command printed and how it ended.
struct CommandResult {
  // The exit status, or 128 + signal number when killed by a signal.
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] is a path) with `env`, feeding it `input` on stdin, and waits for it;
// kills it after `timeout`.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         const std::string& input = "",
                         std::chrono::seconds timeout = std::chrono::seconds(60));

// What one pgbench run measured (0 when it could not run).
struct PgbenchResult {
  int exit_code = -1;
  double tps = 0;
  double latency_ms = 0;  // average
  std::string error;      // its stderr when it failed
};
// Runs pgbench (from the Debian PostgreSQL installation) with `args` against database `url`
// (a libpq keyword string): the benchmarks' floor for database work.
PgbenchResult RunPgbench(const std::string& url, const std::vector<std::string>& args,
                         int seconds_budget);

// Runs the ctgctl binary (CTGCTL_BINARY) with `args`, a clean environment plus `env`
// ("NAME=value"), and `input` on stdin; kills it after two minutes.
CommandResult RunCtgctl(const std::vector<std::string>& args,
                        const std::vector<std::string>& env = {}, const std::string& input = "");

// The Val de Garonne convention (deploy/seed/vga and the shared communes file), its action
// plan, its demonstration exchange requests and its indicator catalogue, loaded with ctgctl
// into the given processes as `./ctg up` loads them. Throws with ctgctl's error.
struct LoadedVga {
  std::string convention;   // "conventions/{uuid}"
  std::string secretariat;  // "organisations/{uuid}" of the COPIL secretariat (the EPCI)
  std::string caf;          // "organisations/{uuid}" of the Caf party
  std::string cdsf;         // "organisations/{uuid}" of the CDSF of Lot-et-Garonne (no party)
};
class ServiceProcess;
LoadedVga LoadVga(const ServiceProcess& partners, const ServiceProcess& plan,
                  const ServiceProcess& indicators, const ServiceProcess& consents);

// Polls until at least `count` sessions of `db` wait on a lock (a statement of the binary under
// test blocked on a row the test holds), or `timeout` passes; returns whether they do.
bool WaitForLockWaiters(const EmptyDatabase& db, int count, std::chrono::milliseconds timeout);

// A child process whose stdout and stderr go to a log file. Killed (SIGKILL) on destruction when
// still running.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Sends `sig` to the child, unless it has already been reaped.
  void Signal(int sig);
  // Waits up to `timeout` for the child to end; returns its exit status (128 + signal when
  // killed), or nullopt when it is still running.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  // True until the child has ended.
  bool running();

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// Waits for a binary's port file ("<grpc port> <metrics port>\n", see WritePortFile); throws
// with the binary's log (`log_file`) when it ends first or 30 s pass.
std::pair<int, int> WaitForPortFile(ChildProcess& process, const std::string& port_file,
                                    const std::string& log_file, const std::string& name);

// The health status of `service` ("" = the whole server) behind `channel`, or nullopt when the
// call fails.
std::optional<grpc::health::v1::HealthCheckResponse::ServingStatus> CheckHealth(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& service);
// Polls the whole server's health until it reports `wanted` or `timeout` passes; returns whether
// it did.
bool WaitForHealth(const std::shared_ptr<grpc::Channel>& channel,
                   grpc::health::v1::HealthCheckResponse::ServingStatus wanted,
                   std::chrono::milliseconds timeout);

// A real service binary, started with --listen=127.0.0.1:0, --metrics-listen=127.0.0.1:0, the
// test JWT settings, a port file and a key file in its own temporary directory.
class ServiceProcess {
 public:
  // Starts `binary` (named `name` in errors) against `database_url`, adding `extra_flags`, and
  // waits for its port file (throws when it does not appear within 30 seconds or the process
  // ends).
  // Without `hs256_key` the binary gets no --jwt-key-file (production: asymmetric keys only).
  ServiceProcess(const std::string& binary, const std::string& name,
                 const std::string& database_url, const std::vector<std::string>& extra_flags,
                 bool hs256_key = true);

  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }
  // "127.0.0.1:<grpc port>".
  std::string address() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  ChildProcess& process() { return *process_; }
  // Path of the HS256 key file the binary reads.
  std::string key_file() const { return dir_.File("jwt.key"); }
  // What the binary has logged so far.
  std::string log() const { return ReadFile(dir_.File("service.log")); }
  // Polls the log until it contains `text` or `timeout` passes; returns whether it does. A call's
  // log line is written just after its answer leaves, so a test that reads it right after the
  // answer waits for it here.
  bool WaitForLog(const std::string& text,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

  // The health status of `service` ("" = the whole server), or nullopt when the call fails.
  std::optional<grpc::health::v1::HealthCheckResponse::ServingStatus> Health(
      const std::string& service = "") {
    return CheckHealth(channel_, service);
  }
  // Polls the server's health until it reports `wanted` or `timeout` passes.
  bool WaitForHealth(grpc::health::v1::HealthCheckResponse::ServingStatus wanted,
                     std::chrono::milliseconds timeout) {
    return ctg::e2e::WaitForHealth(channel_, wanted, timeout);
  }

 private:
  TempDir dir_;
  std::unique_ptr<ChildProcess> process_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

// The real ctg-partners binary (CTG_PARTNERS_BINARY).
class PartnersProcess : public ServiceProcess {
 public:
  explicit PartnersProcess(const std::string& database_url,
                           const std::vector<std::string>& extra_flags = {}, bool hs256_key = true)
      : ServiceProcess(CTG_PARTNERS_BINARY, "ctg-partners", database_url, extra_flags, hs256_key) {}
};

// The real ctg-action-plan binary (CTG_ACTION_PLAN_BINARY), calling the partners service at
// `partners_address`.
class ActionPlanProcess : public ServiceProcess {
 public:
  ActionPlanProcess(const std::string& database_url, const std::string& partners_address,
                    const std::vector<std::string>& extra_flags = {}, bool hs256_key = true);
};

// The real ctg-indicators binary (CTG_INDICATORS_BINARY), calling the partners service at
// `partners_address`.
class IndicatorsProcess : public ServiceProcess {
 public:
  IndicatorsProcess(const std::string& database_url, const std::string& partners_address,
                    const std::vector<std::string>& extra_flags = {}, bool hs256_key = true);
};

// The real ctg-consents binary (CTG_CONSENTS_BINARY), calling the partners service at
// `partners_address`.
class ConsentsProcess : public ServiceProcess {
 public:
  ConsentsProcess(const std::string& database_url, const std::string& partners_address,
                  const std::vector<std::string>& extra_flags = {}, bool hs256_key = true);
};

// The real ctg-reporting binary (CTG_REPORTING_BINARY), with its report workers, calling the
// services of `backends` (name -> host:port: partners, action-plan, indicators, consents).
class ReportingProcess : public ServiceProcess {
 public:
  ReportingProcess(const std::string& database_url,
                   const std::map<std::string, std::string>& backends,
                   const std::vector<std::string>& extra_flags = {}, bool hs256_key = true);
};

// The real ctg-gateway binary (CTG_GATEWAY_BINARY) on 127.0.0.1:0 in plaintext, with the routing
// table `routes`, the test issuer and audience, and health checks every 100 ms; `extra_flags`
// come last (a flag given twice: the last one wins).
class GatewayProcess {
 public:
  // Starts the binary and waits for its port file (throws when it does not come).
  GatewayProcess(const std::string& routes, const std::string& key_file,
                 const std::vector<std::string>& extra_flags = {});

  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }
  // The browser listener (Connect protocol, plain HTTP on loopback).
  int http_port() const { return http_port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  ChildProcess& process() { return *process_; }
  std::string log() const { return ReadFile(dir_.File("gateway.log")); }

  // Polls the gateway's own health (no token) until it reports `wanted`.
  bool WaitForHealth(grpc::health::v1::HealthCheckResponse::ServingStatus wanted,
                     std::chrono::milliseconds timeout) {
    return ctg::e2e::WaitForHealth(channel_, wanted, timeout);
  }

 private:
  TempDir dir_;
  std::unique_ptr<ChildProcess> process_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  int http_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

// A routing table sending ctg.partners.v1.PartnerService to `backends`.
std::string PartnersRoutes(const std::vector<std::string>& backends);

// The value after `label` on its line of `text` ("" when absent): what a ctgctl summary prints.
std::string LineValue(const std::string& text, const std::string& label);

// A token for the test key with `roles` (wire names, e.g. "copil_secretariat").
std::string Token(const std::vector<std::string>& roles, const std::string& organisation = "",
                  const std::string& subject = "e2e-test");

// A client context with a bearer token (when not empty) and a deadline.
std::unique_ptr<grpc::ClientContext> Context(
    const std::string& token, std::chrono::seconds deadline = std::chrono::seconds(10));

// Sends "GET `path` HTTP/1.0" with `headers` ("Name: value") to 127.0.0.1:`port` and returns
// the whole answer (status line, headers and body); empty when the connection fails.
std::string HttpGet(int port, const std::string& path,
                    const std::vector<std::string>& headers = {});

// The value of the unlabelled sample `name` in a Prometheus text page ("name 42" on a line of
// its own); NaN when the page has none.
double SampleValue(const std::string& page, const std::string& name);

}  // namespace ctg::e2e
