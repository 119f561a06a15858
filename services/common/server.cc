#include "common/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "common/api.h"
#include "common/log.h"
#include "common/token_cache.h"

namespace ctg {

ServiceHost::ServiceHost(ServiceSpec spec, ServiceConfig config, Clock clock)
    : spec_(std::move(spec)),
      config_(std::move(config)),
      clock_(std::move(clock)),
      // Callers send the same token on every call: verified once, until it expires.
      verifier_(std::make_unique<CachingTokenVerifier>(MakeTokenVerifier(config_.jwt))) {}

ServiceHost::~ServiceHost() { Shutdown(); }

void ServiceHost::Start() {
  for (const auto& name : spec_.required_backends) {
    if (!config_.backends.count(name)) {
      throw ConfigError("setting --backends (CTG_BACKENDS) needs an entry " + name + "=host:port");
    }
  }
  if (!spec_.required_backends.empty()) {
    // Throws ConfigError when no key can sign its calls.
    identity_ = std::make_unique<ServiceIdentity>(config_.jwt, spec_.identity);
  }
  if (config_.metrics_address != "off") {
    metrics_endpoint_ =
        std::make_unique<MetricsEndpoint>(config_.metrics_address, metrics_.registry());
  }
  PoolOptions pool_options;
  pool_options.url = config_.database_url;
  pool_options.schema = spec_.migrations->schema;
  pool_options.size = config_.db_pool_size;
  std::vector<PreparedStatement> statements = spec_.statements;
  statements.insert(statements.end(), RuntimeStatements().begin(), RuntimeStatements().end());
  pool_ = std::make_unique<ConnectionPool>(pool_options, std::move(statements),
                                           metrics_.PoolGaugesFor(pool_options.schema));
  executor_ = std::make_unique<Executor>(std::max(config_.workers, spec_.min_workers));
  runner_ = std::make_unique<UnaryRunner>(*verifier_, metrics_, *executor_, clock_);
  if (spec_.inline_bodies) runner_->EnableInlineBodies(pool_.get());
  // Throws ConfigError when a method has no access declaration: such a service never starts.
  service_ = spec_.make_service(ServiceEnv{*pool_, *runner_, config_, identity_.get()});

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config_.listen_address, grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(service_.get());
  ApplyServerLimits(builder);
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    throw ConfigError("setting --listen (CTG_LISTEN): cannot listen on " + config_.listen_address);
  }
  SetServing(false);
  monitor_ = std::thread([this] { MonitorDatabase(); });
  if (!config_.port_file.empty()) WritePortFile(config_.port_file, port_, metrics_port());
  LogLine("info")
      .Add("msg", "listening")
      .Add("service", spec_.grpc_service_name)
      .Add("grpc_port", int64_t(port_))
      .Add("metrics_port", int64_t(metrics_port()))
      .Emit();
}

int ServiceHost::metrics_port() const { return metrics_endpoint_ ? metrics_endpoint_->port() : 0; }

void ServiceHost::SetServing(bool serving) {
  if (!server_) return;
  auto* health = server_->GetHealthCheckService();
  health->SetServingStatus("", serving);
  health->SetServingStatus(spec_.grpc_service_name, serving);
}

namespace {

// The role a connection runs as, and whether it is a superuser.
std::pair<std::string, bool> RoleOf(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  const auto row =
      tx.exec1("SELECT current_user::text, rolsuper FROM pg_roles WHERE rolname = current_user");
  return {row[0].as<std::string>(), row[1].as<bool>()};
}

}  // namespace

void ServiceHost::MonitorDatabase() {
  bool migrated = false;
  bool logged_failure = false;
  while (!stopping_) {
    bool ok = false;
    try {
      if (!migrated) {
        const std::string schema = spec_.migrations->schema;
        auto conn = OpenConnection(config_.database_url, schema);
        const auto [runtime_name, runtime_superuser] = RoleOf(*conn);
        std::string owner_name = runtime_name;
        int applied = 0;
        if (config_.owner_database_url.empty()) {
          applied = ApplyMigrations(*conn, *spec_.migrations);
        } else {
          auto owner = OpenConnection(config_.owner_database_url, schema);
          owner_name = RoleOf(*owner).first;
          const RuntimeRole runtime{runtime_name, spec_.runtime_privileges};
          applied = ApplyMigrations(*owner, *spec_.migrations,
                                    owner_name == runtime_name ? nullptr : &runtime);
        }
        {
          pqxx::read_transaction tx(*conn);
          runner_->SetPageTokenKey(
              tx.exec1("SELECT value FROM runtime_secrets WHERE name = 'page_token'")[0]
                  .as<std::string>());
        }
        migrated = true;
        if (spec_.make_background) {
          auto background =
              spec_.make_background(ServiceEnv{*pool_, *runner_, config_, identity_.get()});
          std::lock_guard lock(mu_);
          background_ = std::move(background);
        }
        LogLine("info")
            .Add("msg", "migrations applied")
            .Add("schema", schema)
            .Add("applied", int64_t(applied))
            .Add("owner_role", owner_name)
            .Add("runtime_role", runtime_name)
            .Emit();
        if (runtime_superuser || owner_name == runtime_name) {
          // Allowed (development), but said: the database then cannot hold the service's own
          // credentials to the privileges its schema declares.
          LogLine("warn")
              .Add("msg", runtime_superuser
                              ? "calls run as a superuser: no database privilege binds them"
                              : "calls run as the schema's owner: set --owner-database-url to "
                                "a separate role")
              .Add("runtime_role", runtime_name)
              .Emit();
        }
      }
      auto lease = pool_->Acquire();
      pqxx::nontransaction tx(*lease);
      tx.exec("SELECT 1");
      ok = true;
      logged_failure = false;
    } catch (const MigrationEditedError& e) {
      // Not transient: retrying cannot help. The service stays NOT_SERVING and its main stops.
      LogLine("error").Add("msg", "cannot start").Add("error", e.what()).Emit();
      {
        std::lock_guard lock(mu_);
        fatal_error_ = e.what();
      }
      cv_.notify_all();
      if (on_fatal_) on_fatal_();
      return;
    } catch (const std::exception& e) {
      if (!logged_failure) {
        // libpq messages name host and port, never the password.
        LogLine("error").Add("msg", "database not ready").Add("error", e.what()).Emit();
        logged_failure = true;
      }
    }
    if (ok != ready_.load()) {
      ready_ = ok;
      SetServing(ok);
      cv_.notify_all();
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(ok ? 2000 : 250),
                 [this] { return stopping_.load(); });
  }
}

std::optional<std::string> ServiceHost::fatal_error() const {
  std::lock_guard lock(mu_);
  return fatal_error_;
}

bool ServiceHost::WaitUntilReady(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] {
    return ready_.load() || stopping_.load() || fatal_error_.has_value();
  }) && ready_.load();
}

void ServiceHost::Shutdown() {
  if (stopping_.exchange(true)) return;
  cv_.notify_all();
  if (monitor_.joinable()) monitor_.join();
  if (background_) {
    background_->Stop();
    background_.reset();
  }
  if (server_) {
    SetServing(false);
    server_->Shutdown(std::chrono::system_clock::now() + config_.shutdown_grace);
    server_->Wait();
  }
  executor_.reset();  // runs what is still queued before the objects it uses go away
}

int RunServiceMain(int argc, char** argv, ServiceSpec spec) {
  const std::string name = spec.identity.empty() ? spec.grpc_service_name : spec.identity;
  return RunDaemonMain(name, [&]() -> std::unique_ptr<Daemon> {
    const std::vector<Setting> extra = spec.extra_settings;
    return std::make_unique<ServiceHost>(std::move(spec), LoadServiceConfig(argc, argv, extra));
  });
}

}  // namespace ctg
