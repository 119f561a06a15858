#include "gateway/loadgen.h"

#include <grpcpp/generic/generic_stub.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <vector>

namespace ctg::gateway {
namespace {

using Clock = std::chrono::steady_clock;

struct Shared {
  const LoadSpec* spec;
  grpc::GenericStub* stub;
  grpc::ByteBuffer request;
  Clock::time_point measure_from, stop_at;
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;
  std::atomic<int64_t> started{0};
};

// One closed-loop caller.
class Caller {
 public:
  Caller(Shared* shared, int index) : shared_(shared), index_(index) {}

  void Start() { Next(); }

  std::vector<uint32_t> latencies_us;
  int64_t errors = 0;
  std::string first_error;

 private:
  void Next() {
    context_ = std::make_unique<grpc::ClientContext>();
    if (!shared_->spec->token.empty()) {
      context_->AddMetadata("authorization", "Bearer " + shared_->spec->token);
    }
    context_->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    const grpc::ByteBuffer* request = &shared_->request;
    if (shared_->spec->make_request) {
      grpc::Slice slice(shared_->spec->make_request(index_));
      own_request_ = grpc::ByteBuffer(&slice, 1);
      request = &own_request_;
    }
    start_ = Clock::now();
    shared_->stub->UnaryCall(context_.get(), shared_->spec->method, grpc::StubOptions(), request,
                             &response_, [this](grpc::Status status) { Done(status); });
  }

  void Done(const grpc::Status& status) {
    const auto now = Clock::now();
    if (status.ok() && shared_->spec->take_response) {
      std::vector<grpc::Slice> slices;
      std::string bytes;
      if (response_.Dump(&slices).ok()) {
        for (const auto& sl : slices)
          bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
      }
      shared_->spec->take_response(index_, bytes);
    }
    if (start_ >= shared_->measure_from) {
      if (status.ok()) {
        latencies_us.push_back(
            uint32_t(std::chrono::duration_cast<std::chrono::microseconds>(now - start_).count()));
      } else {
        if (errors++ == 0) first_error = status.error_message();
      }
    }
    const bool more_calls =
        shared_->spec->max_calls == 0 || ++shared_->started < shared_->spec->max_calls;
    if (now < shared_->stop_at && more_calls) {
      Next();
      return;
    }
    std::lock_guard lock(shared_->mu);
    if (--shared_->running == 0) shared_->cv.notify_all();
  }

  Shared* shared_;
  const int index_;
  grpc::ByteBuffer own_request_;
  std::unique_ptr<grpc::ClientContext> context_;
  grpc::ByteBuffer response_;
  Clock::time_point start_;
};

double Percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = size_t(p * double(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

LoadResult RunLoad(const LoadSpec& spec) {
  grpc::GenericStub stub(spec.channel);
  Shared shared;
  shared.spec = &spec;
  shared.stub = &stub;
  grpc::Slice slice(spec.request);
  shared.request = grpc::ByteBuffer(&slice, 1);
  const auto begin = Clock::now();
  shared.measure_from = begin + spec.warmup;
  shared.stop_at = shared.measure_from + spec.duration;
  std::vector<std::unique_ptr<Caller>> callers;
  for (int i = 0; i < spec.concurrency; ++i) {
    callers.push_back(std::make_unique<Caller>(&shared, i));
  }
  shared.running = spec.concurrency;
  for (auto& c : callers) c->Start();
  {
    std::unique_lock lock(shared.mu);
    shared.cv.wait(lock, [&] { return shared.running == 0; });
  }
  LoadResult r;
  std::vector<uint32_t> all;
  for (auto& c : callers) {
    all.insert(all.end(), c->latencies_us.begin(), c->latencies_us.end());
    r.errors += c->errors;
    if (r.first_error.empty()) r.first_error = c->first_error;
  }
  std::sort(all.begin(), all.end());
  r.calls = int64_t(all.size());
  r.seconds = std::chrono::duration<double>(Clock::now() - shared.measure_from).count();
  r.qps = r.seconds > 0 ? double(r.calls) / r.seconds : 0;
  r.p50_us = Percentile(all, 0.50);
  r.p90_us = Percentile(all, 0.90);
  r.p99_us = Percentile(all, 0.99);
  r.max_us = all.empty() ? 0 : all.back();
  return r;
}

std::string FormatLoadResult(const LoadResult& r) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "qps=%.0f p50=%.0fus p90=%.0fus p99=%.0fus max=%.0fus calls=%lld errors=%lld",
                r.qps, r.p50_us, r.p90_us, r.p99_us, r.max_us, static_cast<long long>(r.calls),
                static_cast<long long>(r.errors));
  std::string out = buf;
  if (r.errors > 0) out += " first_error=\"" + r.first_error + "\"";
  return out;
}

LoadResult RunFor(const std::string& target, const std::string& method, const std::string& request,
                  const std::string& token, int concurrency, int seconds) {
  static std::atomic<int> runs{0};
  LoadSpec spec;
  grpc::ChannelArguments args;
  args.SetInt("ctg.loadgen.run", ++runs);  // a channel argument of its own: a fresh connection
  spec.channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  spec.method = method;
  spec.request = request;
  spec.token = token;
  spec.concurrency = concurrency;
  spec.duration = std::chrono::seconds(seconds);
  return RunLoad(spec);
}

}  // namespace ctg::gateway
