#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/metrics.h"

namespace ctg::gateway {

// The gateway's Prometheus metrics: the go-grpc-prometheus families every service exports
// (grpc_server_*) for calls received, grpc_client_* for calls forwarded to a backend (labelled
// with the backend address), and backend health gauges.
class GatewayMetrics {
 public:
  // The children of the grpc_server_* families for one (service, method), resolved once.
  struct MethodMetrics {
    std::string service, method;
    prometheus::Counter* started = nullptr;
    prometheus::Histogram* seconds = nullptr;
    LazyCounter msg_received, msg_sent;
    CodeCounters handled;
  };
  // The children of the grpc_client_* families for one (service, method, backend).
  struct BackendCallMetrics {
    std::string service, method, backend;
    prometheus::Counter* started = nullptr;
    prometheus::Histogram* seconds = nullptr;
    CodeCounters handled;
  };

  GatewayMetrics();

  // The resolved children for a method (created on first use; the reference stays valid for
  // the lifetime of this object). One hash lookup per call instead of a Family::Add per metric.
  MethodMetrics& ForMethod(const std::string& service, const std::string& method);
  BackendCallMetrics& ForBackend(const std::string& service, const std::string& method,
                                 const std::string& backend);
  // Counts a call received by the gateway.
  void ServerStarted(MethodMetrics& m) { m.started->Increment(); }
  // Counts a finished call with its status code, duration and message counts.
  void ServerHandled(MethodMetrics& m, int code, double seconds, int64_t msgs_received,
                     int64_t msgs_sent);
  // Counts a call forwarded to a backend.
  void ClientStarted(BackendCallMetrics& m) { m.started->Increment(); }
  // Counts a forwarded call's outcome as seen from the gateway.
  void ClientHandled(BackendCallMetrics& m, int code, double seconds);
  // Counts a retry of a forwarded call.
  void Retried(const std::string& service, const std::string& method);
  // Counts a call refused by a per-caller limit: "rate" (token bucket) or "concurrency" (calls
  // in flight).
  void Limited(const std::string& limit);
  // The health gauge of one backend instance (1 healthy, 0 not).
  prometheus::Gauge& BackendHealthy(const std::string& service, const std::string& backend);

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* server_started_;
  prometheus::Family<prometheus::Counter>* server_handled_;
  prometheus::Family<prometheus::Histogram>* server_seconds_;
  prometheus::Family<prometheus::Counter>* server_msg_received_;
  prometheus::Family<prometheus::Counter>* server_msg_sent_;
  prometheus::Family<prometheus::Counter>* client_started_;
  prometheus::Family<prometheus::Counter>* client_handled_;
  prometheus::Family<prometheus::Histogram>* client_seconds_;
  prometheus::Family<prometheus::Counter>* retries_;
  prometheus::Family<prometheus::Counter>* rate_limited_;
  prometheus::Family<prometheus::Gauge>* backend_healthy_;

  std::mutex cache_mu_;
  std::unordered_map<std::string, std::unique_ptr<MethodMetrics>> methods_;
  std::unordered_map<std::string, std::unique_ptr<BackendCallMetrics>> backends_;
};

}  // namespace ctg::gateway
