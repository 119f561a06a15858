#pragma once

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/db.h"

namespace prometheus {
class Exposer;
}

namespace ctg {

// The children of a counter family by gRPC status code (label grpc_code) for fixed other
// labels, each created on its code's first use, then found without any lookup. Thread-safe once
// bound.
class CodeCounters {
 public:
  // Binds to `family` with `labels` (grpc_code is added); before any Increment.
  void Bind(prometheus::Family<prometheus::Counter>* family, prometheus::Labels labels);
  // Counts one call ended with `code` (out-of-range codes count as UNKNOWN).
  void Increment(int code);

 private:
  prometheus::Family<prometheus::Counter>* family_ = nullptr;
  prometheus::Labels labels_;
  std::array<std::atomic<prometheus::Counter*>, 17> by_code_{};
};

// One child of a counter family, created on its first use (a series appears once counted, as
// with Family::Add on demand). Thread-safe once bound.
class LazyCounter {
 public:
  // Binds to `family` with `labels`; before any Increment.
  void Bind(prometheus::Family<prometheus::Counter>* family, prometheus::Labels labels);
  void Increment(double by);

 private:
  prometheus::Family<prometheus::Counter>* family_ = nullptr;
  prometheus::Labels labels_;
  std::atomic<prometheus::Counter*> counter_{nullptr};
};

// The series of one method, resolved once when its service starts: finding a series by its
// labels builds a label map and hashes it, which cost more than the rest of the bookkeeping of a
// call. Thread-safe.
class MethodSeries {
 public:
  // Counts an RPC that reached a handler.
  void Started() { started_->Increment(); }
  // Counts a finished RPC with its gRPC status code and duration.
  void Handled(int code, double seconds) {
    handled_.Increment(code);
    handling_seconds_->Observe(seconds);
  }

 private:
  friend class RpcMetrics;
  prometheus::Counter* started_ = nullptr;
  prometheus::Histogram* handling_seconds_ = nullptr;
  CodeCounters handled_;
};

// The Prometheus metrics every service exports, named as go-grpc-prometheus does so that
// dashboards written for other gRPC services work unchanged.
class RpcMetrics {
 public:
  RpcMetrics();
  ~RpcMetrics();

  // The series of `service`/`method` (the same object for the same names).
  MethodSeries& ForMethod(const std::string& service, const std::string& method);
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
  std::mutex methods_mu_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<MethodSeries>> methods_;
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
