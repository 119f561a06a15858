#include "common/metrics.h"

#include <dirent.h>
#include <prometheus/exposer.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

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

MethodSeries& RpcMetrics::ForMethod(const std::string& service, const std::string& method) {
  std::lock_guard lock(methods_mu_);
  auto& slot = methods_[{service, method}];
  if (slot) return *slot;
  slot = std::make_unique<MethodSeries>();
  const std::map<std::string, std::string> labels = {
      {"grpc_type", "unary"}, {"grpc_service", service}, {"grpc_method", method}};
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  slot->started_ = &started_->Add(labels);
  slot->handling_seconds_ = &handling_seconds_->Add(labels, kBuckets);
  slot->handled_.Bind(handled_, labels);
  return *slot;
}

void CodeCounters::Bind(prometheus::Family<prometheus::Counter>* family,
                        prometheus::Labels labels) {
  family_ = family;
  labels_ = std::move(labels);
}

void CodeCounters::Increment(int code) {
  const size_t index = code >= 0 && code < int(by_code_.size()) ? size_t(code) : 2;  // UNKNOWN
  prometheus::Counter* counter = by_code_[index].load(std::memory_order_acquire);
  if (counter == nullptr) {
    // Family::Add returns the one child of these labels, so a race only repeats the lookup.
    auto labels = labels_;
    labels["grpc_code"] = StatusCodeName(int(index));
    counter = &family_->Add(labels);
    by_code_[index].store(counter, std::memory_order_release);
  }
  counter->Increment();
}

void LazyCounter::Bind(prometheus::Family<prometheus::Counter>* family, prometheus::Labels labels) {
  family_ = family;
  labels_ = std::move(labels);
}

void LazyCounter::Increment(double by) {
  prometheus::Counter* counter = counter_.load(std::memory_order_acquire);
  if (counter == nullptr) {
    counter = &family_->Add(labels_);
    counter_.store(counter, std::memory_order_release);
  }
  counter->Increment(by);
}

PoolGauges RpcMetrics::PoolGaugesFor(const std::string& schema) {
  PoolGauges g;
  g.open = &pool_connections_->Add({{"schema", schema}, {"state", "open"}});
  g.in_use = &pool_connections_->Add({{"schema", schema}, {"state", "in_use"}});
  g.waiting = &pool_waiting_->Add({{"schema", schema}});
  return g;
}

namespace {

// Seconds since the Unix epoch at which the machine booted (btime of /proc/stat).
double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("btime ", 0) == 0) return std::atof(line.c_str() + 6);
  }
  return 0;
}

double CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double n = 0;
  while (const dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n - 1;  // the descriptor of the directory being read
}

prometheus::MetricFamily Family(const char* name, const char* help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(m);
  return f;
}

}  // namespace

ProcessStats ReadProcessStats() {
  ProcessStats s;
  const double ticks = double(sysconf(_SC_CLK_TCK));
  const double page = double(sysconf(_SC_PAGESIZE));
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // The command name (field 2) is in parentheses and may hold spaces: fields count from after it.
  const auto close = stat.rfind(')');
  if (close != std::string::npos && ticks > 0) {
    std::istringstream fields(stat.substr(close + 2));
    std::vector<std::string> f;
    for (std::string x; fields >> x;) f.push_back(x);
    // f[0] is field 3 (state): utime 14, stime 15, starttime 22, vsize 23, rss 24.
    if (f.size() > 21) {
      s.cpu_seconds = (std::atof(f[11].c_str()) + std::atof(f[12].c_str())) / ticks;
      s.start_time_seconds = BootTimeSeconds() + std::atof(f[19].c_str()) / ticks;
      s.virtual_bytes = std::atof(f[20].c_str());
      s.resident_bytes = std::atof(f[21].c_str()) * page;
    }
  }
  s.open_fds = CountOpenFds();
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) s.max_fds = double(limit.rlim_cur);
  return s;
}

std::vector<prometheus::MetricFamily> ProcessMetricsCollector::Collect() const {
  using prometheus::MetricType;
  const ProcessStats s = ReadProcessStats();
  return {
      Family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
             MetricType::Counter, s.cpu_seconds),
      Family("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
             s.resident_bytes),
      Family("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
             s.virtual_bytes),
      Family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, s.open_fds),
      Family("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
             s.max_fds),
      Family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
             MetricType::Gauge, s.start_time_seconds),
  };
}

MetricsEndpoint::MetricsEndpoint(const std::string& address,
                                 const std::shared_ptr<prometheus::Registry>& registry)
    : process_(std::make_shared<ProcessMetricsCollector>()),
      exposer_(std::make_unique<prometheus::Exposer>(address)) {
  exposer_->RegisterCollectable(registry);
  exposer_->RegisterCollectable(process_);
}

MetricsEndpoint::~MetricsEndpoint() = default;

int MetricsEndpoint::port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace ctg
