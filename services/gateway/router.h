#pragma once

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <prometheus/gauge.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/rpc.h"
#include "gateway/gateway_metrics.h"
#include "gateway/tables.h"

namespace ctg::gateway {

// How the router talks to backends.
struct RouterOptions {
  std::chrono::milliseconds health_interval{1000};  // between two rounds of health checks
  std::chrono::milliseconds health_timeout{1000};   // deadline of one health check
  int max_message_bytes = kMaxMessageBytes;         // both directions, on backend channels
  int relearn_rounds = 60;  // rounds between two calls of the recovery listener for all
  // Consecutive health checks that must time out before a healthy instance is taken out of
  // rotation: one slow answer on a loaded machine is not a dead backend. A check answered
  // NOT_SERVING, or failing otherwise (connection refused), takes it out at once.
  int slow_checks_before_unhealthy = 2;
};

// The outcome of one health check of an instance: whether it is in rotation after it. A passed
// check puts it in; a check answered NOT_SERVING or failing otherwise (connection refused) takes
// it out at once; a check that timed out takes a healthy instance out only at the
// `slow_checks_before_unhealthy`-th in a row (`slow_checks` counts them; reset by any answer).
bool InRotationAfterCheck(bool was_healthy, bool passed, bool timed_out, int* slow_checks,
                          int slow_checks_before_unhealthy);

// One instance of a backend service. Owned by the Router; lives as long as it.
class Backend {
 public:
  Backend(std::string service, std::string address, std::shared_ptr<grpc::Channel> channel,
          prometheus::Gauge* gauge);

  const std::string& service() const { return service_; }
  const std::string& address() const { return address_; }
  // The stub that forwards raw messages to this instance.
  grpc::GenericStub& stub() { return stub_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  // Whether the instance is in rotation: its last health check passed (or only timed out, fewer
  // times in a row than RouterOptions::slow_checks_before_unhealthy).
  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }

 private:
  friend class Router;
  const std::string service_;
  const std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub stub_;
  prometheus::Gauge* gauge_;
  std::atomic<bool> healthy_{false};
  bool published_healthy_ = false;  // guarded by the router's mutex
  int slow_checks_ = 0;             // consecutive timed-out checks (the health checker's only)
};

// Routes calls by service name to healthy backend instances, round robin, and keeps checking
// every instance with grpc.health.v1.Health/Check (for the routed service's name). The service
// table is fixed at construction, so lookups take no lock.
class Router {
 public:
  Router(const std::vector<ServiceRoute>& routes, RouterOptions options, GatewayMetrics* metrics);
  // Stops the health checker.
  ~Router();

  // Runs one round of health checks synchronously, then keeps checking in the background.
  void Start();
  // Stops background health checking (idempotent).
  void Stop();

  // Whether `service` has a route at all.
  bool Knows(const std::string& service) const;
  // The next healthy instance of `service` (round robin), other than `avoid` when another is
  // healthy; nullptr when the service is unknown or no instance is healthy.
  Backend* Pick(const std::string& service, const Backend* avoid = nullptr);
  // Passive health: a call to `backend` failed with UNAVAILABLE before any response (refused
  // connection, dead process). The instance gets no traffic until its next health check passes,
  // instead of drawing calls for up to a whole check interval.
  void ReportUnavailable(Backend* backend);

  // Runs one round of health checks on every instance and waits for it.
  void CheckNow();
  // True when every routed service has at least one healthy instance.
  bool AllServicesHealthy() const;
  // Healthy state of each routed service, keyed by service name.
  std::map<std::string, bool> ServiceHealth() const;
  // Called (from the checker thread) after a round in which some instance changed state.
  void SetHealthListener(std::function<void()> listener);
  // Called (from the checker thread, or from Start) for each instance that passes a check after
  // failing one or never having been checked, before it is published as healthy — a restarted
  // backend may serve new methods — and for every healthy instance every `relearn_rounds`
  // rounds, since a restart quicker than a check interval goes unseen.
  void SetRecoveryListener(std::function<void(Backend*)> listener);

  // Blocks until the instance `address` of `service` reports `healthy`, or `timeout` passes;
  // returns whether it did. For tests and start-up.
  bool WaitForHealth(const std::string& service, const std::string& address, bool healthy,
                     std::chrono::milliseconds timeout);

 private:
  struct ServiceEntry {
    std::vector<std::unique_ptr<Backend>> instances;
    std::atomic<uint64_t> next{0};
  };
  void Loop();

  const RouterOptions options_;
  std::unordered_map<std::string, std::unique_ptr<ServiceEntry>> services_;
  std::vector<Backend*> all_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::function<void()> listener_;
  std::function<void(Backend*)> recovery_listener_;
  std::atomic<uint64_t> rounds_{0};  // health-check rounds run
  std::thread thread_;
};

}  // namespace ctg::gateway
