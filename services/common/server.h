#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/auth.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/db.h"
#include "common/jwt_keys.h"
#include "common/metrics.h"
#include "common/migrations.h"
#include "common/process.h"
#include "common/rpc.h"
#include "common/service_client.h"

namespace ctg {

// What a service implementation receives from the runtime.
struct ServiceEnv {
  ConnectionPool& pool;
  UnaryRunner& runner;
  const ServiceConfig& config;
  // The identity signing its calls to other services; null when it calls none.
  ServiceIdentity* identity;
};

// Work a service does beside its calls while it is ready (the reporting worker): started once the
// database is ready and the migrations applied, stopped before the service goes away.
class BackgroundTask {
 public:
  virtual ~BackgroundTask() = default;
  // Returns once the work in hand is finished and nothing more will start.
  virtual void Stop() = 0;
};

// Describes one service binary to the runtime.
struct ServiceSpec {
  // Full gRPC service name, e.g. "ctg.partners.v1.PartnerService" (health and metrics).
  std::string grpc_service_name;
  // The name it calls other services under ("ctg-action-plan"): the subject of its tokens and
  // the default kid of its service key.
  std::string identity;
  const MigrationSet* migrations = nullptr;
  // Tables of its schema on which its calls may do less than SELECT/INSERT/UPDATE/DELETE, e.g.
  // an append-only audit trail. Enforced when the schema has a separate owner
  // (ServiceConfig::owner_database_url): GrantRuntimeRole.
  std::vector<TablePrivileges> runtime_privileges;
  // Every named statement of the service's repositories.
  std::vector<PreparedStatement> statements;
  // Its bodies use the database and call no other service: each may run on gRPC's thread when a
  // connection is free and no other body is running there (UnaryRunner::EnableInlineBodies),
  // which saves the hand-off to the worker pool (measured with gateway_bench; see the README).
  // Never for a service whose bodies call another service: a remote call would hold gRPC's
  // thread.
  bool inline_bodies = false;
  // The fewest worker threads it runs with, whatever --workers says: for a service whose bodies
  // wait on something other than the database most of their time (consents: a check waits for
  // the group commit of its audit event, holding its worker but no CPU), so that more of them
  // can share one commit.
  int min_workers = 0;
  // Names of the --backends entries the service cannot run without (checked at start-up).
  std::vector<std::string> required_backends;
  // Settings of its own, read like the shared ones (flag, then environment) into
  // ServiceConfig::extra; a flag of no service is still refused.
  std::vector<Setting> extra_settings;
  // Builds its background work, if any (see BackgroundTask); may throw ConfigError.
  std::function<std::unique_ptr<BackgroundTask>(ServiceEnv)> make_background;
  // Builds the service implementation (a plain class implementing the generated
  // CallbackService), so tests can host the very same object in-process.
  std::function<std::unique_ptr<grpc::Service>(ServiceEnv)> make_service;
};

// Hosts one service: gRPC server (callback API) with health and reflection, connection pool,
// migrations, metrics endpoint. Used by every `main` and by the in-process tests.
class ServiceHost : public Daemon {
 public:
  // `clock` is the wall clock of every call (CallContext::now); tests pass a fixed one.
  ServiceHost(ServiceSpec spec, ServiceConfig config, Clock clock = SystemClock());
  ~ServiceHost() override;

  // Starts listening. Health reports NOT_SERVING until the database is reachable and the
  // migrations are applied, which a background thread keeps trying; then it keeps checking the
  // database and flips health back to NOT_SERVING while it is unreachable.
  void Start() override;
  // Blocks until the database is ready or `timeout` passes; returns readiness.
  bool WaitUntilReady(std::chrono::milliseconds timeout);
  // Stops accepting calls, lets in-flight calls finish within the configured grace, then stops.
  void Shutdown() override;

  int port() const { return port_; }
  int metrics_port() const;
  bool ready() const { return ready_.load(); }
  // The error that stopped the database set-up for good (an edited migration), if any.
  std::optional<std::string> fatal_error() const override;
  // Called once, from the monitor thread, when such an error happens (RunServiceMain stops the
  // process). Set before Start.
  void SetFatalErrorListener(std::function<void()> listener) override {
    on_fatal_ = std::move(listener);
  }

 private:
  void MonitorDatabase();
  void SetServing(bool serving);

  ServiceSpec spec_;
  ServiceConfig config_;
  Clock clock_;
  RpcMetrics metrics_;
  std::unique_ptr<MetricsEndpoint> metrics_endpoint_;
  // HS256 and/or RS256/ES256, as configured: the services check the same tokens as the gateway.
  std::unique_ptr<TokenVerifier> verifier_;
  std::unique_ptr<ServiceIdentity> identity_;
  std::unique_ptr<ConnectionPool> pool_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<UnaryRunner> runner_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<BackgroundTask> background_;  // started by MonitorDatabase once ready
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::optional<std::string> fatal_error_;
  std::function<void()> on_fatal_;
  std::condition_variable cv_;
  std::thread monitor_;
};

// The whole `main` of a service binary: RunDaemonMain with the service's configuration.
int RunServiceMain(int argc, char** argv, ServiceSpec spec);

}  // namespace ctg
