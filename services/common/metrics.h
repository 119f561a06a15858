#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

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

// Serves GET /metrics for a registry on its own port.
class MetricsEndpoint {
 public:
  // `address` is "host:port"; port 0 picks a free port.
  MetricsEndpoint(const std::string& address,
                  const std::shared_ptr<prometheus::Registry>& registry);
  ~MetricsEndpoint();
  int port() const;

 private:
  std::unique_ptr<prometheus::Exposer> exposer_;
};

// Name of a gRPC status code as used in metric labels and logs ("OK", "INVALID_ARGUMENT", ...).
const char* StatusCodeName(int code);

}  // namespace ctg
