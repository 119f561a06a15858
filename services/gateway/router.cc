#include "gateway/router.h"

#include "common/rpc.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace ctg::gateway {

Backend::Backend(std::string service, std::string address, std::shared_ptr<grpc::Channel> channel,
                 prometheus::Gauge* gauge)
    : service_(std::move(service)),
      address_(std::move(address)),
      channel_(channel),
      stub_(channel),
      gauge_(gauge) {
  if (gauge_ != nullptr) gauge_->Set(0);
}

Router::Router(const std::vector<ServiceRoute>& routes, RouterOptions options,
               GatewayMetrics* metrics)
    : options_(options) {
  // One channel per address, shared by every service routed there.
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels;
  grpc::ChannelArguments args;
  ApplyChannelLimits(args);
  args.SetMaxReceiveMessageSize(options_.max_message_bytes);
  args.SetMaxSendMessageSize(options_.max_message_bytes);
  // Reconnect quickly after a backend restarts.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  for (const auto& route : routes) {
    auto entry = std::make_unique<ServiceEntry>();
    for (const auto& address : route.backends) {
      auto& channel = channels[address];
      if (!channel) {
        channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
      }
      prometheus::Gauge* gauge =
          metrics != nullptr ? &metrics->BackendHealthy(route.service, address) : nullptr;
      entry->instances.push_back(std::make_unique<Backend>(route.service, address, channel, gauge));
      all_.push_back(entry->instances.back().get());
    }
    services_.emplace(route.service, std::move(entry));
  }
}

Router::~Router() { Stop(); }

void Router::Start() {
  CheckNow();
  thread_ = std::thread([this] { Loop(); });
}

void Router::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Router::Knows(const std::string& service) const { return services_.count(service) != 0; }

void Router::ReportUnavailable(Backend* backend) {
  backend->healthy_.store(false, std::memory_order_relaxed);
}

bool InRotationAfterCheck(bool was_healthy, bool passed, bool timed_out, int* slow_checks,
                          int slow_checks_before_unhealthy) {
  if (!timed_out) {
    *slow_checks = 0;
    return passed;
  }
  return was_healthy && ++*slow_checks < slow_checks_before_unhealthy;
}

Backend* Router::Pick(const std::string& service, const Backend* avoid) {
  auto it = services_.find(service);
  if (it == services_.end()) return nullptr;
  ServiceEntry& entry = *it->second;
  const size_t n = entry.instances.size();
  const uint64_t start = entry.next.fetch_add(1, std::memory_order_relaxed);
  Backend* fallback = nullptr;
  for (size_t i = 0; i < n; ++i) {
    Backend* b = entry.instances[(start + i) % n].get();
    if (!b->healthy()) continue;
    if (b == avoid) {
      fallback = b;
      continue;
    }
    return b;
  }
  return fallback;
}

void Router::CheckNow() {
  struct Probe {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    std::unique_ptr<grpc::health::v1::Health::Stub> stub;
    bool healthy = false;
    bool timed_out = false;
  };
  std::vector<std::unique_ptr<Probe>> probes;
  std::mutex done_mu;
  std::condition_variable done_cv;
  size_t pending = all_.size();
  for (Backend* b : all_) {
    auto probe = std::make_unique<Probe>();
    probe->context.set_deadline(std::chrono::system_clock::now() + options_.health_timeout);
    // Protocol services (reflection, ...) have no health entry of their own on a backend: their
    // instance is as healthy as the server as a whole ("").
    const bool protocol_service = b->service().rfind("grpc.", 0) == 0;
    probe->request.set_service(protocol_service ? "" : b->service());
    probe->stub = grpc::health::v1::Health::NewStub(b->channel());
    Probe* p = probe.get();
    probes.push_back(std::move(probe));
    p->stub->async()->Check(
        &p->context, &p->request, &p->response,
        [p, &done_mu, &done_cv, &pending](grpc::Status status) {
          p->healthy =
              status.ok() && p->response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
          p->timed_out = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
          std::lock_guard lock(done_mu);
          if (--pending == 0) done_cv.notify_all();
        });
  }
  {
    std::unique_lock lock(done_mu);
    done_cv.wait(lock, [&] { return pending == 0; });
  }
  for (size_t i = 0; i < all_.size(); ++i) {
    probes[i]->healthy =
        InRotationAfterCheck(all_[i]->healthy(), probes[i]->healthy, probes[i]->timed_out,
                             &all_[i]->slow_checks_, options_.slow_checks_before_unhealthy);
  }
  std::vector<Backend*> recovered;
  const bool relearn = options_.relearn_rounds > 0 && ++rounds_ % options_.relearn_rounds == 0;
  for (size_t i = 0; i < all_.size(); ++i) {
    if (probes[i]->healthy && (relearn || !all_[i]->healthy())) recovered.push_back(all_[i]);
  }
  if (!recovered.empty()) {
    std::function<void(Backend*)> recovery;
    {
      std::lock_guard lock(mu_);
      recovery = recovery_listener_;
    }
    if (recovery) {
      for (Backend* b : recovered) recovery(b);
    }
  }
  bool changed = false;
  {
    // Compared with what was last published, not with healthy_: a passive ejection
    // (ReportUnavailable) changes healthy_ between checks and must still reach the listener.
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < all_.size(); ++i) {
      Backend* b = all_[i];
      b->healthy_.store(probes[i]->healthy);
      if (b->published_healthy_ != probes[i]->healthy) changed = true;
      if (b->gauge_ != nullptr) b->gauge_->Set(probes[i]->healthy ? 1 : 0);
    }
  }
  if (changed) {
    std::function<void()> listener;
    {
      std::lock_guard lock(mu_);
      listener = listener_;
    }
    if (listener) listener();
  }
  // Waiters see a state only once the listener (the gateway's own health) has seen it.
  {
    std::lock_guard lock(mu_);
    for (Backend* b : all_) b->published_healthy_ = b->healthy();
  }
  cv_.notify_all();
}

void Router::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, options_.health_interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    CheckNow();
    lock.lock();
  }
}

bool Router::AllServicesHealthy() const {
  for (const auto& [name, entry] : services_) {
    bool any = false;
    for (const auto& b : entry->instances) any = any || b->healthy();
    if (!any) return false;
  }
  return true;
}

std::map<std::string, bool> Router::ServiceHealth() const {
  std::map<std::string, bool> out;
  for (const auto& [name, entry] : services_) {
    bool any = false;
    for (const auto& b : entry->instances) any = any || b->healthy();
    out[name] = any;
  }
  return out;
}

void Router::SetHealthListener(std::function<void()> listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

void Router::SetRecoveryListener(std::function<void(Backend*)> listener) {
  std::lock_guard lock(mu_);
  recovery_listener_ = std::move(listener);
}

bool Router::WaitForHealth(const std::string& service, const std::string& address, bool healthy,
                           std::chrono::milliseconds timeout) {
  auto it = services_.find(service);
  if (it == services_.end()) return false;
  Backend* target = nullptr;
  for (const auto& b : it->second->instances) {
    if (b->address() == address) target = b.get();
  }
  if (target == nullptr) return false;
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return target->published_healthy_ == healthy; });
}

}  // namespace ctg::gateway
