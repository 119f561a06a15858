#include "gateway/gateway_metrics.h"

#include "common/metrics.h"

namespace ctg::gateway {
namespace {

const prometheus::Histogram::BucketBoundaries& Buckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return kBuckets;
}

}  // namespace

GatewayMetrics::GatewayMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto counter = [this](const char* name, const char* help) {
    return &prometheus::BuildCounter().Name(name).Help(help).Register(*registry_);
  };
  auto histogram = [this](const char* name, const char* help) {
    return &prometheus::BuildHistogram().Name(name).Help(help).Register(*registry_);
  };
  server_started_ = counter("grpc_server_started_total",
                            "Total number of RPCs started on the server (the gateway).");
  server_handled_ = counter("grpc_server_handled_total",
                            "Total number of RPCs completed on the server, regardless of success.");
  server_seconds_ = histogram("grpc_server_handling_seconds",
                              "Histogram of response latency of RPCs handled by the gateway.");
  server_msg_received_ = counter("grpc_server_msg_received_total",
                                 "Total number of stream messages received from callers.");
  server_msg_sent_ =
      counter("grpc_server_msg_sent_total", "Total number of stream messages sent to callers.");
  client_started_ =
      counter("grpc_client_started_total", "Total number of RPCs started toward backends.");
  client_handled_ = counter("grpc_client_handled_total",
                            "Total number of RPCs completed by backends, regardless of success.");
  client_seconds_ = histogram("grpc_client_handling_seconds",
                              "Histogram of response latency of RPCs forwarded to backends.");
  retries_ = counter("ctg_gateway_retries_total", "Forwarded calls retried on another backend.");
  rate_limited_ =
      counter("ctg_gateway_rate_limited_total",
              "Calls refused by a per-caller limit (label limit: rate or concurrency).");
  backend_healthy_ = &prometheus::BuildGauge()
                          .Name("ctg_gateway_backend_healthy")
                          .Help("1 when the backend instance passes its health check, else 0.")
                          .Register(*registry_);
}

GatewayMetrics::MethodMetrics& GatewayMetrics::ForMethod(const std::string& service,
                                                         const std::string& method) {
  std::string key;
  key.reserve(service.size() + method.size() + 1);
  key.append(service).append(1, '\0').append(method);
  std::lock_guard lock(cache_mu_);
  auto& slot = methods_[std::move(key)];
  if (!slot) {
    auto m = std::make_unique<MethodMetrics>();
    m->service = service;
    m->method = method;
    const prometheus::Labels labels{{"grpc_service", service}, {"grpc_method", method}};
    m->started = &server_started_->Add(labels);
    m->seconds = &server_seconds_->Add(labels, Buckets());
    m->handled.Bind(server_handled_, labels);
    m->msg_received.Bind(server_msg_received_, labels);
    m->msg_sent.Bind(server_msg_sent_, labels);
    slot = std::move(m);
  }
  return *slot;
}

GatewayMetrics::BackendCallMetrics& GatewayMetrics::ForBackend(const std::string& service,
                                                               const std::string& method,
                                                               const std::string& backend) {
  std::string key;
  key.reserve(service.size() + method.size() + backend.size() + 2);
  key.append(service).append(1, '\0').append(method).append(1, '\0').append(backend);
  std::lock_guard lock(cache_mu_);
  auto& slot = backends_[std::move(key)];
  if (!slot) {
    auto m = std::make_unique<BackendCallMetrics>();
    m->service = service;
    m->method = method;
    m->backend = backend;
    const prometheus::Labels labels{
        {"grpc_service", service}, {"grpc_method", method}, {"backend", backend}};
    m->started = &client_started_->Add(labels);
    m->seconds = &client_seconds_->Add(labels, Buckets());
    m->handled.Bind(client_handled_, labels);
    slot = std::move(m);
  }
  return *slot;
}

void GatewayMetrics::ServerHandled(MethodMetrics& m, int code, double seconds,
                                   int64_t msgs_received, int64_t msgs_sent) {
  m.handled.Increment(code);
  m.seconds->Observe(seconds);
  if (msgs_received > 0) m.msg_received.Increment(double(msgs_received));
  if (msgs_sent > 0) m.msg_sent.Increment(double(msgs_sent));
}

void GatewayMetrics::ClientHandled(BackendCallMetrics& m, int code, double seconds) {
  m.handled.Increment(code);
  m.seconds->Observe(seconds);
}

void GatewayMetrics::Retried(const std::string& service, const std::string& method) {
  retries_->Add({{"grpc_service", service}, {"grpc_method", method}}).Increment();
}

void GatewayMetrics::Limited(const std::string& limit) {
  rate_limited_->Add({{"limit", limit}}).Increment();
}

prometheus::Gauge& GatewayMetrics::BackendHealthy(const std::string& service,
                                                  const std::string& backend) {
  return backend_healthy_->Add({{"grpc_service", service}, {"backend", backend}});
}

}  // namespace ctg::gateway
