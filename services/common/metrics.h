#pragma once

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "common/db.h"

namespace prometheus {
class Exposer;
}

namespace ctg {

// The Prometheus metrics every service exports, named as go-grpc-prometheus does so that
// dashboards written for other gRPC services work unchanged.
class RpcMetrics {
 public:
  RpcMetrics();
  ~RpcMetrics();

  // Counts an RPC that reached a handler.
  void Started(const std::string& service, const std::string& method);
  // Counts a finished RPC with its status code name ("OK", "NOT_FOUND", ...) and duration.
  void Handled(const std::string& service, const std::string& method, const std::string& code,
               double seconds);
  // Gauges for a connection pool (ctg_db_pool_connections{state=...}).
  PoolGauges PoolGaugesFor(const std::string& schema);

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* started_;
  prometheus::Family<prometheus::Counter>* handled_;
  prometheus::Family<prometheus::Histogram>* handling_seconds_;
  prometheus::Family<prometheus::Gauge>* pool_connections_;
  prometheus::Family<prometheus::Gauge>* pool_waiting_;
};

// What the standard process metrics are read from (see ProcessMetricsCollector): /proc of the
// running process on Linux.
struct ProcessStats {
  double cpu_seconds = 0;         // user + system time
  double resident_bytes = 0;      // resident set
  double virtual_bytes = 0;       // virtual memory size
  double open_fds = 0;            // open file descriptors
  double max_fds = 0;             // soft limit on file descriptors
  double start_time_seconds = 0;  // start time since the Unix epoch
};

// Reads the current process's figures from /proc/self (zeros where unreadable).
ProcessStats ReadProcessStats();

// The process metrics every Prometheus client library exports and prometheus-cpp does not:
// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds and process_start_time_seconds, read at each scrape.
// Registered by every MetricsEndpoint, so each service and the gateway export them.
class ProcessMetricsCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

// Serves GET /metrics for a registry, plus the process metrics, on its own port.
class MetricsEndpoint {
 public:
  // `address` is "host:port"; port 0 picks a free port.
  MetricsEndpoint(const std::string& address,
                  const std::shared_ptr<prometheus::Registry>& registry);
  ~MetricsEndpoint();
  int port() const;

 private:
  std::shared_ptr<ProcessMetricsCollector> process_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

// Name of a gRPC status code as used in metric labels and logs ("OK", "INVALID_ARGUMENT", ...).
const char* StatusCodeName(int code);

}  // namespace ctg
