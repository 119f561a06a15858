#include "common/rpc.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>

#include "common/errors.h"
#include "common/log.h"

namespace ctg {

std::string ByteBufferToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

Executor::Executor(int threads, size_t max_queued) : max_queued_(max_queued) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      for (;;) {
        std::function<void()> task;
        {
          std::unique_lock lock(mu_);
          cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
          if (tasks_.empty()) return;
          task = std::move(tasks_.front());
          tasks_.pop_front();
        }
        task();
      }
    });
  }
}

Executor::~Executor() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

bool Executor::TryPost(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (tasks_.size() >= max_queued_) return false;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void ApplyChannelLimits(grpc::ChannelArguments& args) {
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  args.SetInt(GRPC_ARG_MAX_METADATA_SIZE, kMaxMetadataBytes);
}

void ApplyServerLimits(grpc::ServerBuilder& builder) {
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, kMaxMetadataBytes);
  // A fixed receive window per stream instead of the one gRPC's BDP probing grows: with probing,
  // a fast client of a client-streaming RPC made the transport buffer its whole stream ahead of
  // the body reading it (ctg-indicators: +33 MB resident for a 39 MB stream; with this window,
  // +2 MB and the same throughput, see indicators_bench). 1 MiB keeps a stream fast over a WAN
  // link to the gateway (1 MiB per round trip).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1 << 20);
}

std::string NewUuid() {
  // Random bytes are drawn from OpenSSL's generator 4 KiB at a time per thread: one RAND_bytes
  // call per UUID cost ~5% of a read RPC's CPU (its locks and provider lookups), and every call
  // that arrives without an x-request-id needs one.
  thread_local unsigned char pool[4096];
  thread_local size_t used = sizeof pool;
  if (used + 16 > sizeof pool) {
    if (RAND_bytes(pool, sizeof pool) != 1) throw std::runtime_error("no randomness available");
    used = 0;
  }
  unsigned char b[16];
  std::memcpy(b, pool + used, sizeof b);
  OPENSSL_cleanse(pool + used, sizeof b);  // a byte handed out once is never handed out again
  used += sizeof b;
  b[6] = (b[6] & 0x0F) | 0x40;
  b[8] = (b[8] & 0x3F) | 0x80;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  for (int i = 0, at = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++at;  // the dashes stay
    out[at++] = kHex[b[i] >> 4];
    out[at++] = kHex[b[i] & 15];
  }
  return out;
}

namespace {

std::string_view Metadata(const grpc::CallbackServerContext* context, const char* key) {
  const auto& md = context->client_metadata();
  auto it = md.find(key);
  return it == md.end() ? std::string_view()
                        : std::string_view(it->second.data(), it->second.size());
}

}  // namespace

std::string RequestIdFromHeader(std::string_view id) {
  bool usable = !id.empty() && id.size() <= 128;
  for (char c : id) usable = usable && c >= 0x21 && c <= 0x7E && c != '"' && c != '\\';
  return usable ? std::string(id) : NewUuid();
}

UnaryRunner::UnaryRunner(const TokenVerifier& verifier, RpcMetrics& metrics, Executor& executor,
                         Clock clock)
    : verifier_(verifier), metrics_(metrics), executor_(executor), clock_(std::move(clock)) {}

std::shared_ptr<CallContext> UnaryRunner::StartCall(grpc::CallbackServerContext* context,
                                                    const MethodPolicy& policy) {
  auto call = std::make_shared<CallContext>();
  call->request_id = RequestIdFromHeader(Metadata(context, "x-request-id"));
  call->deadline = context->deadline();
  call->now = clock_();
  call->policy = &policy;
  {
    std::lock_guard lock(key_mu_);
    call->page_token_key = page_token_key_;
  }
  context->AddInitialMetadata("x-request-id", call->request_id);
  return call;
}

void UnaryRunner::Authorize(grpc::CallbackServerContext* context, CallContext& call) const {
  call.principal = verifier_.VerifyAuthorizationHeader(Metadata(context, "authorization"));
  // The declared access comes first: a caller who may not make this call learns nothing about
  // its request or the objects it names.
  if (!call.policy->Allows(call.principal)) {
    throw PermissionDeniedError("no role of the caller may call " + call.policy->FullName() +
                                " (allowed: " + DescribeRoles(*call.policy) + ")");
  }
}

namespace {

// Counts and logs a finished call (one JSON line), then hands its status to `finish`.
template <typename FinishFn>
void EndCall(const CallContext& call, MethodSeries& series,
             std::chrono::steady_clock::time_point started, const grpc::Status& status,
             const std::string& detail, FinishFn&& finish) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  series.Handled(status.error_code(), seconds);
  LogLine line(status.ok() ? "info" : "warn");
  line.Add("msg", "rpc")
      .Add("method", "/" + call.policy->FullName())
      .Add("code", StatusCodeName(status.error_code()))
      .Add("duration_ms", seconds * 1000)
      .Add("request_id", call.request_id)
      .Add("principal", call.principal.subject);
  if (!status.ok()) line.Add("error", detail);
  // Before Finish, not after: a body run inline on gRPC's thread has its answer sent when the
  // handler returns anyway, and a write after Finish would keep the one inline slot (see
  // EnableInlineBodies) taken after the answer left, sending a caller's next call to the
  // executor. Tried: no difference measurable at one call in flight on the noisy 2-core machine.
  line.Emit();
  finish(status);
}

// The status of a call that cannot start now (cancelled or out of time while queued), if any.
std::optional<std::pair<grpc::Status, std::string>> RefusedAtStart(
    grpc::CallbackServerContext* context, const CallContext& call) {
  if (context->IsCancelled()) {
    return std::make_pair(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"),
                          std::string("cancelled"));
  }
  if (std::chrono::system_clock::now() > call.deadline) {
    return std::make_pair(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline exceeded"),
                          std::string("deadline exceeded before the call started"));
  }
  return std::nullopt;
}

}  // namespace

grpc::ServerUnaryReactor* UnaryRunner::Run(grpc::CallbackServerContext* context,
                                           const MethodPolicy& policy, MethodSeries& series,
                                           const google::protobuf::Message& request,
                                           std::function<void(const CallContext&)> body) {
  const auto started = std::chrono::steady_clock::now();
  auto* reactor = context->DefaultReactor();
  series.Started();
  auto call = StartCall(context, policy);
  auto finish = [reactor, started, call, &series](const grpc::Status& status,
                                                  const std::string& detail) {
    EndCall(*call, series, started, status, detail,
            [reactor](const grpc::Status& s) { reactor->Finish(s); });
  };

  try {
    Authorize(context, *call);
    CheckFieldAccess(policy, call->principal, request);
  } catch (...) {
    std::string detail;
    grpc::Status status = ToGrpcStatus(std::current_exception(), &detail);
    if (status.error_code() == grpc::StatusCode::PERMISSION_DENIED && refusal_listener_ &&
        !call->principal.subject.empty()) {
      // The service hears of the attempt (it may write to its database) before the refusal is
      // sent, on the executor: never on gRPC's thread.
      auto tell = [this, call, &request, status, detail, finish]() {
        try {
          refusal_listener_(*call, request, status.error_message());
        } catch (const std::exception& e) {
          LogLine("error")
              .Add("msg", "refusal listener failed")
              .Add("method", "/" + call->policy->FullName())
              .Add("error", e.what())
              .Emit();
        }
        finish(status, detail);
      };
      if (executor_.TryPost(std::move(tell))) return reactor;
    }
    finish(status, detail);
    return reactor;
  }

  auto task = [context, call, body = std::move(body), finish]() {
    if (auto refused = RefusedAtStart(context, *call)) {
      finish(refused->first, refused->second);
      return;
    }
    try {
      body(*call);
      finish(grpc::Status::OK, "");
    } catch (...) {
      std::string detail;
      grpc::Status status = ToGrpcStatus(std::current_exception(), &detail);
      finish(status, detail);
    }
  };
  // The body runs where the call arrived when it can: waking a worker thread and handing the
  // call over costs ~100 us on a small virtual machine, more than a point read. Only when a
  // connection is free (so it never waits for one here) and while no other body holds one of
  // gRPC's threads (so one always stays free to move bytes for every other call).
  if (inline_pool_ != nullptr && inline_pool_->HasFreeConnection()) {
    if (inline_running_.fetch_add(1) == 0) {
      task();
      inline_running_.fetch_sub(1);
      return reactor;
    }
    inline_running_.fetch_sub(1);
  }
  const bool queued = executor_.TryPost(std::move(task));
  if (!queued) {
    finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "server overloaded; retry later"),
           "executor queue full");
  }
  return reactor;
}

void UnaryRunner::RunClientStream(ClientStreamCore* stream, const MethodPolicy& policy,
                                  MethodSeries& series,
                                  std::function<void(const CallContext&, RequestStream&)> body) {
  const auto started = std::chrono::steady_clock::now();
  series.Started();
  grpc::CallbackServerContext* context = stream->context();
  auto call = StartCall(context, policy);
  stream->Bind(call.get());
  auto finish = [stream, started, call, &series](const grpc::Status& status,
                                                 const std::string& detail) {
    EndCall(*call, series, started, status, detail,
            [stream](const grpc::Status& s) { stream->FinishWith(s); });
  };
  try {
    Authorize(context, *call);
  } catch (...) {
    std::string detail;
    grpc::Status status = ToGrpcStatus(std::current_exception(), &detail);
    finish(status, detail);
    return;
  }
  auto task = [stream, context, call, body = std::move(body), finish]() {
    if (auto refused = RefusedAtStart(context, *call)) {
      finish(refused->first, refused->second);
      return;
    }
    try {
      body(*call, *stream);
      finish(grpc::Status::OK, "");
    } catch (...) {
      std::string detail;
      grpc::Status status = ToGrpcStatus(std::current_exception(), &detail);
      finish(status, detail);
    }
  };
  if (!executor_.TryPost(std::move(task))) {
    finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "server overloaded; retry later"),
           "executor queue full");
  }
}

void UnaryRunner::RunServerStream(ServerStreamCore* stream, const MethodPolicy& policy,
                                  MethodSeries& series, const google::protobuf::Message& request,
                                  std::function<void(const CallContext&, ResponseStream&)> body) {
  const auto started = std::chrono::steady_clock::now();
  series.Started();
  grpc::CallbackServerContext* context = stream->context();
  auto call = StartCall(context, policy);
  auto finish = [stream, started, call, &series](const grpc::Status& status,
                                                 const std::string& detail) {
    EndCall(*call, series, started, status, detail,
            [stream](const grpc::Status& s) { stream->FinishWith(s); });
  };
  try {
    Authorize(context, *call);
    CheckFieldAccess(policy, call->principal, request);
  } catch (...) {
    std::string detail;
    grpc::Status status = ToGrpcStatus(std::current_exception(), &detail);
    finish(status, detail);
    return;
  }
  auto task = [stream, context, call, body = std::move(body), finish]() {
    if (auto refused = RefusedAtStart(context, *call)) {
      finish(refused->first, refused->second);
      return;
    }
    try {
      body(*call, *stream);
      finish(grpc::Status::OK, "");
    } catch (...) {
      std::string detail;
      grpc::Status status = ToGrpcStatus(std::current_exception(), &detail);
      finish(status, detail);
    }
  };
  if (!executor_.TryPost(std::move(task))) {
    finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "server overloaded; retry later"),
           "executor queue full");
  }
}

void ServerStreamCore::Write(const google::protobuf::Message& message) {
  {
    std::unique_lock lock(mu_);
    if (cancelled_) throw CancelledError("the call was cancelled");
    writing_ = true;
  }
  StartWriteOf(message);
  std::unique_lock lock(mu_);
  // Always waits for gRPC's answer to this write (it comes, not ok, on a broken call too), so
  // the call is never finished with a write outstanding.
  cv_.wait(lock, [this] { return !writing_; });
  if (cancelled_ || !write_ok_) {
    cancelled_ = true;
    throw CancelledError("the call was cancelled");
  }
}

bool ServerStreamCore::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_ || context_->IsCancelled();
}

void ServerStreamCore::WriteDone(bool ok) {
  std::lock_guard lock(mu_);
  write_ok_ = ok;
  writing_ = false;
  cv_.notify_all();
}

void ServerStreamCore::Cancelled() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  cv_.notify_all();
}

bool ClientStreamCore::Next(google::protobuf::Message* message) {
  {
    std::unique_lock lock(mu_);
    if (cancelled_) throw CancelledError("the call was cancelled before the stream ended");
    reading_ = true;
  }
  StartReadInto(message);
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return !reading_ || cancelled_; });
  // A read that fails because the call broke (a disconnect, an oversized or malformed message,
  // the deadline) is not the client's end of stream: gRPC marks such a call cancelled.
  if (cancelled_ || (!read_ok_ && context_->IsCancelled())) {
    cancelled_ = true;
    throw CancelledError("the call was cancelled before the stream ended");
  }
  if (!read_ok_) return false;
  lock.unlock();
  if (call_ != nullptr) CheckFieldAccess(*call_->policy, call_->principal, *message);
  return true;
}

void ClientStreamCore::ReadDone(bool ok) {
  std::lock_guard lock(mu_);
  read_ok_ = ok;
  reading_ = false;
  cv_.notify_all();
}

void ClientStreamCore::Cancelled() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  cv_.notify_all();
}

void UnaryRunner::EnableInlineBodies(const ConnectionPool* pool) { inline_pool_ = pool; }

void UnaryRunner::SetPageTokenKey(std::string key) {
  auto shared = std::make_shared<const std::string>(std::move(key));
  std::lock_guard lock(key_mu_);
  page_token_key_ = std::move(shared);
}

ServiceRuntime::ServiceRuntime(UnaryRunner& runner, std::string_view service_full_name)
    : runner_(runner), policies_(ServicePolicies(service_full_name)) {
  for (const auto& p : policies_)
    series_.push_back(&runner_.metrics().ForMethod(p.service, p.method));
}

grpc::ServerUnaryReactor* ServiceRuntime::Run(grpc::CallbackServerContext* context,
                                              int method_index,
                                              const google::protobuf::Message& request,
                                              std::function<void(const CallContext&)> body) {
  return runner_.Run(context, policies_.at(method_index), *series_.at(method_index), request,
                     std::move(body));
}

void ServiceRuntime::RunClientStream(ClientStreamCore* stream, int method_index,
                                     std::function<void(const CallContext&, RequestStream&)> body) {
  runner_.RunClientStream(stream, policies_.at(method_index), *series_.at(method_index),
                          std::move(body));
}

void ServiceRuntime::RunServerStream(
    ServerStreamCore* stream, int method_index, const google::protobuf::Message& request,
    std::function<void(const CallContext&, ResponseStream&)> body) {
  runner_.RunServerStream(stream, policies_.at(method_index), *series_.at(method_index), request,
                          std::move(body));
}

}  // namespace ctg
