#include "common/metrics.h"

#include <prometheus/exposer.h>

namespace ctg {

const char* StatusCodeName(int code) {
  static const char* kNames[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? kNames[code] : "UNKNOWN";
}

RpcMetrics::RpcMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  started_ = &prometheus::BuildCounter()
                  .Name("grpc_server_started_total")
                  .Help("Total number of RPCs started on the server.")
                  .Register(*registry_);
  handled_ = &prometheus::BuildCounter()
                  .Name("grpc_server_handled_total")
                  .Help("Total number of RPCs completed on the server, regardless of success.")
                  .Register(*registry_);
  handling_seconds_ = &prometheus::BuildHistogram()
                           .Name("grpc_server_handling_seconds")
                           .Help("Histogram of response latency of RPCs handled by the server.")
                           .Register(*registry_);
  pool_connections_ = &prometheus::BuildGauge()
                           .Name("ctg_db_pool_connections")
                           .Help("Database pool connections by state (open, in_use).")
                           .Register(*registry_);
  pool_waiting_ = &prometheus::BuildGauge()
                       .Name("ctg_db_pool_waiting_requests")
                       .Help("Requests waiting for a database connection.")
                       .Register(*registry_);
}

RpcMetrics::~RpcMetrics() = default;

void RpcMetrics::Started(const std::string& service, const std::string& method) {
  started_->Add({{"grpc_type", "unary"}, {"grpc_service", service}, {"grpc_method", method}})
      .Increment();
}

void RpcMetrics::Handled(const std::string& service, const std::string& method,
                         const std::string& code, double seconds) {
  handled_
      ->Add({{"grpc_type", "unary"},
             {"grpc_service", service},
             {"grpc_method", method},
             {"grpc_code", code}})
      .Increment();
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  handling_seconds_
      ->Add({{"grpc_type", "unary"}, {"grpc_service", service}, {"grpc_method", method}}, kBuckets)
      .Observe(seconds);
}

PoolGauges RpcMetrics::PoolGaugesFor(const std::string& schema) {
  PoolGauges g;
  g.open = &pool_connections_->Add({{"schema", schema}, {"state", "open"}});
  g.in_use = &pool_connections_->Add({{"schema", schema}, {"state", "in_use"}});
  g.waiting = &pool_waiting_->Add({{"schema", schema}});
  return g;
}

MetricsEndpoint::MetricsEndpoint(const std::string& address,
                                 const std::shared_ptr<prometheus::Registry>& registry)
    : exposer_(std::make_unique<prometheus::Exposer>(address)) {
  exposer_->RegisterCollectable(registry);
}

MetricsEndpoint::~MetricsEndpoint() = default;

int MetricsEndpoint::port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace ctg
