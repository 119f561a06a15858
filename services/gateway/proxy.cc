#include "gateway/proxy.h"

#include <deque>
#include <memory>
#include <vector>

#include "common/errors.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/rpc.h"
#include "gateway/method_catalog.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace ctg::gateway {
namespace {

using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

std::string ToString(grpc::string_ref s) { return std::string(s.data(), s.size()); }

bool StartsWith(grpc::string_ref s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::string_view(s.data(), prefix.size()) == prefix;
}

bool Equals(grpc::string_ref s, std::string_view v) {
  return std::string_view(s.data(), s.size()) == v;
}

// Headers the transport owns (or that the gateway sets itself): never copied across.
bool IsHopHeader(grpc::string_ref key) {
  return StartsWith(key, ":") || StartsWith(key, "grpc-") || Equals(key, "user-agent") ||
         Equals(key, "te") || Equals(key, "content-type") || Equals(key, "host") ||
         Equals(key, "x-request-id") || Equals(key, kRelayPeerHeader);
}

const grpc::string_ref* FindHeader(const Metadata& md, std::string_view key) {
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  return it == md.end() ? nullptr : &it->second;
}

}  // namespace

class ProxyCall;

// One forwarding of a call to one backend instance (a call has several when it is retried).
// All its state is guarded by the owning ProxyCall's mutex.
class Attempt : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  Attempt(ProxyCall* call, Backend* backend) : call_(call), backend_(backend) {}

  void OnReadInitialMetadataDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

  ProxyCall* const call_;
  Backend* const backend_;
  GatewayMetrics::BackendCallMetrics* metrics_ = nullptr;
  grpc::ClientContext context_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::deque<grpc::ByteBuffer> to_write_;  // front() is being written when write_pending_
  grpc::ByteBuffer read_buffer_;
  bool write_pending_ = false;
  bool request_closed_ = false;  // WritesDone sent, or a write failed
  bool read_closed_ = false;     // no more responses will come
  bool hold_ = false;            // operations may still be started from the server side
  bool done_ = false;
};

// One forwarding of a unary call (a method the catalog knows as unary): the request goes in one
// batch and the response, metadata and status come back in one completion.
struct UnaryAttempt {
  Backend* backend = nullptr;
  GatewayMetrics::BackendCallMetrics* metrics = nullptr;
  grpc::ClientContext context;
  grpc::ByteBuffer response;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};

// One call received by the gateway: the server-side reactor, plus the attempts that forward it.
// Every reaction takes `mu_`; operations are started with it held. gRPC defers the reactions
// they trigger until the current one returns; the mutex is recursive should one run inline.
class ProxyCall : public grpc::ServerGenericBidiReactor {
 public:
  ProxyCall(GatewayProxy* proxy, grpc::GenericCallbackServerContext* ctx)
      : proxy_(proxy), ctx_(ctx) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    Admit();
  }

  void OnReadDone(bool ok) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    server_read_pending_ = false;
    if (mode_ == Mode::kUnary) return UnaryRequestRead(ok);
    if (mode_ == Mode::kReflection) return ReflectionRequestRead(ok);
    if (ok) {
      ++msgs_received_;
      const size_t n = request_buffer_.Length();
      bytes_received_ += n;
      if (replayable_) {
        replay_bytes_ += n;
        if (replay_bytes_ > proxy_->options_.max_replay_bytes) {
          replayable_ = false;
          replay_.clear();
        } else {
          replay_.push_back(request_buffer_);
        }
      }
      if (current_ != nullptr && !current_->request_closed_ && !current_->read_closed_) {
        current_->to_write_.push_back(request_buffer_);
      }
    } else {
      half_closed_ = true;
    }
    request_buffer_.Clear();
    if (current_ != nullptr) Pump(current_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    server_write_pending_ = false;
    if (finish_wanted_) {
      DoFinish(std::move(final_status_));
      return;
    }
    if (!ok) {
      ServerGone();
      return;
    }
    if (mode_ == Mode::kReflection) {
      server_read_pending_ = true;
      StartRead(&request_buffer_);
      return;
    }
    Attempt* a = current_;
    if (a != nullptr && !a->read_closed_ && !server_gone_) a->StartRead(&a->read_buffer_);
  }

  void OnCancel() override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    ServerGone();
  }

  void OnDone() override {
    ReleaseAdmission(proxy_->checks_, admission_);
    Unref();
  }

  // Reactions of an attempt, forwarded here.
  void AttemptInitialMetadata(Attempt* a, bool ok) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (!ok) {
      CloseRead(a);
      return;
    }
    if (a != current_ || server_gone_ || server_finished_) {
      CloseRead(a);
      return;
    }
    const auto& md = a->context_.GetServerInitialMetadata();
    bool any = false;
    for (const auto& [k, v] : md) {
      if (IsHopHeader(k)) continue;
      ctx_->AddInitialMetadata(ToString(k), ToString(v));
      any = true;
    }
    if (any) {
      // Headers go to the caller now (a server stream may wait before its first message).
      response_started_ = true;
      StartSendInitialMetadata();
    }
    a->StartRead(&a->read_buffer_);
  }

  void AttemptRead(Attempt* a, bool ok) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (!ok || a != current_ || server_gone_ || server_finished_) {
      CloseRead(a);
      return;
    }
    ++msgs_sent_;
    bytes_sent_ += a->read_buffer_.Length();
    response_started_ = true;
    response_buffer_.Swap(&a->read_buffer_);
    a->read_buffer_.Clear();
    server_write_pending_ = true;
    StartWrite(&response_buffer_);
  }

  void AttemptWrote(Attempt* a, bool ok) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    a->write_pending_ = false;
    if (!a->to_write_.empty()) a->to_write_.pop_front();
    if (!ok) {
      a->request_closed_ = true;  // the backend ended the call; its status will follow
      a->to_write_.clear();
      return;
    }
    Pump(a);
  }

  void AttemptDone(Attempt* a, const grpc::Status& status) {
    bool last;
    {
      std::lock_guard<std::recursive_mutex> lock(mu_);
      a->done_ = true;
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - a->start_).count();
      proxy_->checks_.metrics.ClientHandled(*a->metrics_, status.error_code(), seconds);
      if (a == current_) {
        current_ = nullptr;
        if (!TryRetry(a->backend_, status)) {
          for (const auto& [k, v] : a->context_.GetServerTrailingMetadata()) {
            if (!IsHopHeader(k)) ctx_->AddTrailingMetadata(ToString(k), ToString(v));
          }
          Complete(status);
        }
      }
      last = --refs_ == 0;
    }
    if (last) delete this;
  }

  // The end of a unary attempt: retried, or its response, metadata and status sent to the
  // caller in one batch.
  void UnaryDone(UnaryAttempt* a, const grpc::Status& status) {
    bool last;
    {
      std::lock_guard<std::recursive_mutex> lock(mu_);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - a->start).count();
      proxy_->checks_.metrics.ClientHandled(*a->metrics, status.error_code(), seconds);
      if (a == unary_current_) {
        unary_current_ = nullptr;
        if (!TryRetry(a->backend, status)) FinishUnary(a, status);
      }
      last = --refs_ == 0;
    }
    if (last) delete this;
  }

 private:
  // How the call is served: forwarded as a stream (any shape), forwarded on the unary fast
  // path, or answered by the gateway itself (server reflection merged across the backends).
  enum class Mode { kStream, kUnary, kReflection };

  // Checks the caller and starts forwarding, or finishes the call with the reason it may not.
  void Admit() {
    const Metadata& md = ctx_->client_metadata();
    const auto* id = FindHeader(md, "x-request-id");
    request_id_ = RequestIdFromHeader(id == nullptr ? std::string_view()
                                                    : std::string_view(id->data(), id->size()));
    ctx_->AddInitialMetadata("x-request-id", request_id_);
    CallHeaders headers;
    headers.path = std::string_view(ctx_->method());
    if (const auto* h = FindHeader(md, "authorization")) {
      headers.authorization = std::string_view(h->data(), h->size());
    }
    headers.has_idempotency_key = FindHeader(md, "idempotency-key") != nullptr ||
                                  FindHeader(md, "x-idempotency-key") != nullptr;
    headers.peer_address = PeerOf(md, /*with_port=*/false);
    admission_ = AdmitCall(proxy_->checks_, headers);
    service_ = admission_.service;
    method_ = admission_.method;
    if (!admission_.refusal.ok()) {
      for (const auto& [k, v] : admission_.trailers) ctx_->AddTrailingMetadata(k, v);
      return Complete(admission_.refusal);
    }
    if (admission_.local_reflection) {
      // Answered here from every backend's descriptors (a route would send it to one backend).
      mode_ = Mode::kReflection;
      server_read_pending_ = true;
      StartRead(&request_buffer_);
      return;
    }
    Backend* backend = admission_.backend;
    replayable_ = admission_.safe_to_retry;
    deadline_ = ctx_->deadline();
    if (deadline_ == std::chrono::system_clock::time_point::max()) {
      deadline_ = std::chrono::system_clock::now() + proxy_->options_.default_deadline;
    }
    if (proxy_->options_.unary_fast_path &&
        proxy_->checks_.catalog.Shape(ctx_->method()) == CallShape::kUnary) {
      mode_ = Mode::kUnary;
      first_backend_ = backend;
      server_read_pending_ = true;
      StartRead(&request_buffer_);
      return;
    }
    StartAttempt(backend);
  }

  // The caller's address, without its port: the relay's header when the call came through the
  // gateway's own relay (its private socket), the connection's peer otherwise.
  std::string PeerOf(const Metadata& md, bool with_port) const {
    if (proxy_->options_.trust_relay_peer_header) {
      if (const auto* h = FindHeader(md, kRelayPeerHeader)) {
        return with_port ? ToString(*h) : PeerAddress(ToString(*h));
      }
    }
    return with_port ? ctx_->peer() : PeerAddress(ctx_->peer());
  }

  // Unary fast path: the request message arrived (or the caller closed without one).
  void UnaryRequestRead(bool ok) {
    if (!ok) {
      if (!server_gone_) {
        Complete(grpc::Status(grpc::StatusCode::INTERNAL, "unary call without a request message"));
      }
      return;
    }
    ++msgs_received_;
    bytes_received_ += request_buffer_.Length();
    unary_request_.Swap(&request_buffer_);
    StartUnaryAttempt(first_backend_);
  }

  void StartUnaryAttempt(Backend* backend) {
    auto& a = *unary_attempts_.emplace_back(std::make_unique<UnaryAttempt>());
    a.backend = backend;
    unary_current_ = &a;
    backend_address_ = backend->address();
    ++refs_;
    a.context.set_deadline(deadline_);
    for (const auto& [k, v] : ctx_->client_metadata()) {
      if (!IsHopHeader(k)) a.context.AddMetadata(ToString(k), ToString(v));
    }
    a.context.AddMetadata("x-request-id", request_id_);
    a.metrics = &proxy_->checks_.metrics.ForBackend(service_, method_, backend->address());
    proxy_->checks_.metrics.ClientStarted(*a.metrics);
    UnaryAttempt* p = &a;
    backend->stub().UnaryCall(&a.context, ctx_->method(), grpc::StubOptions(), &unary_request_,
                              &a.response, [this, p](grpc::Status s) { UnaryDone(p, s); });
  }

  void FinishUnary(UnaryAttempt* a, const grpc::Status& status) {
    for (const auto& [k, v] : a->context.GetServerInitialMetadata()) {
      if (!IsHopHeader(k)) ctx_->AddInitialMetadata(ToString(k), ToString(v));
    }
    for (const auto& [k, v] : a->context.GetServerTrailingMetadata()) {
      if (!IsHopHeader(k)) ctx_->AddTrailingMetadata(ToString(k), ToString(v));
    }
    if (!status.ok() || server_gone_) return Complete(status);
    ++msgs_sent_;
    bytes_sent_ += a->response.Length();
    response_buffer_.Swap(&a->response);
    final_code_ = 0;
    server_finished_ = true;
    Record();
    StartWriteAndFinish(&response_buffer_, grpc::WriteOptions(), status);
  }

  // Server reflection answered by the gateway: one response per request, until the caller
  // half-closes.
  void ReflectionRequestRead(bool ok) {
    if (!ok) {
      if (!server_gone_) Complete(grpc::Status::OK);
      return;
    }
    ++msgs_received_;
    bytes_received_ += request_buffer_.Length();
    std::string answer;
    if (!AnswerReflection(proxy_->checks_.catalog, ByteBufferToString(request_buffer_), &answer)) {
      return Complete(
          grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "malformed reflection request"));
    }
    request_buffer_.Clear();
    ++msgs_sent_;
    bytes_sent_ += answer.size();
    grpc::Slice slice(answer);
    response_buffer_ = grpc::ByteBuffer(&slice, 1);
    server_write_pending_ = true;
    StartWrite(&response_buffer_);
  }

  // Starts forwarding to `backend`, replaying the request messages already received.
  void StartAttempt(Backend* backend) {
    attempts_.push_back(std::make_unique<Attempt>(this, backend));
    Attempt* a = attempts_.back().get();
    current_ = a;
    backend_address_ = backend->address();
    ++refs_;
    a->context_.set_deadline(deadline_);
    for (const auto& [k, v] : ctx_->client_metadata()) {
      if (!IsHopHeader(k)) a->context_.AddMetadata(ToString(k), ToString(v));
    }
    a->context_.AddMetadata("x-request-id", request_id_);
    for (const auto& m : replay_) a->to_write_.push_back(m);
    a->metrics_ = &proxy_->checks_.metrics.ForBackend(service_, method_, backend->address());
    proxy_->checks_.metrics.ClientStarted(*a->metrics_);
    backend->stub().PrepareBidiStreamingCall(&a->context_, ctx_->method(), grpc::StubOptions(), a);
    a->hold_ = true;
    a->AddHold();
    a->StartCall();
    Pump(a);
  }

  // Moves the request stream forward on `a`: the next queued write, then WritesDone once the
  // caller half-closed, else the next read from the caller.
  void Pump(Attempt* a) {
    if (a->request_closed_ || a->read_closed_ || server_gone_ || a->write_pending_) return;
    if (!a->to_write_.empty()) {
      a->write_pending_ = true;
      a->StartWrite(&a->to_write_.front());
      return;
    }
    if (half_closed_) {
      a->request_closed_ = true;
      a->StartWritesDone();
      return;
    }
    if (!server_read_pending_ && !server_finished_) {
      server_read_pending_ = true;
      StartRead(&request_buffer_);
    }
  }

  // No more responses from `a`: nothing else is started on it from outside its reactions.
  void CloseRead(Attempt* a) {
    a->read_closed_ = true;
    ReleaseHold(a);
  }

  void ReleaseHold(Attempt* a) {
    if (a->hold_) {
      a->hold_ = false;
      a->RemoveHold();
    }
  }

  // The caller cancelled or went away: cancel the backend call; its end finishes ours.
  void ServerGone() {
    if (server_gone_) return;
    server_gone_ = true;
    if (current_ != nullptr) {
      current_->context_.TryCancel();
      ReleaseHold(current_);
    }
    if (unary_current_ != nullptr) unary_current_->context.TryCancel();
  }

  // Whether the failed attempt `a` is retried on another instance (and starts the retry).
  bool TryRetry(Backend* failed, const grpc::Status& status) {
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE && !response_started_) {
      proxy_->checks_.router.ReportUnavailable(failed);
    }
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE || !replayable_ || response_started_ ||
        server_gone_ || server_finished_ || AttemptCount() >= proxy_->options_.max_attempts ||
        std::chrono::system_clock::now() >= deadline_) {
      return false;
    }
    Backend* next = proxy_->checks_.router.Pick(service_, failed);
    if (next == nullptr || next == failed || !proxy_->checks_.retry_budget.Withdraw()) return false;
    proxy_->checks_.metrics.Retried(service_, method_);
    if (mode_ == Mode::kUnary) {
      StartUnaryAttempt(next);
    } else {
      StartAttempt(next);
    }
    return true;
  }

  int AttemptCount() const { return int(attempts_.size() + unary_attempts_.size()); }

  // Finishes the call with `status` once no write to the caller is in flight.
  void Complete(grpc::Status status) {
    final_code_ = status.error_code();
    final_message_ = status.error_message();
    if (server_write_pending_) {
      finish_wanted_ = true;
      final_status_ = std::move(status);
      return;
    }
    DoFinish(std::move(status));
  }

  void DoFinish(grpc::Status status) {
    finish_wanted_ = false;
    server_finished_ = true;
    Record();
    Finish(std::move(status));
  }

  // Metrics and the access-log line, written before the caller can see the status.
  void Record() {
    CallOutcome outcome;
    outcome.request_id = request_id_;
    outcome.path = std::string_view(ctx_->method());
    outcome.backend = backend_address_;
    outcome.code = final_code_;
    outcome.message = final_message_;
    outcome.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    outcome.messages_in = msgs_received_;
    outcome.messages_out = msgs_sent_;
    outcome.bytes_in = bytes_received_;
    outcome.bytes_out = bytes_sent_;
    outcome.attempts = AttemptCount();
    outcome.peer = PeerOf(ctx_->client_metadata(), /*with_port=*/true);
    RecordCall(proxy_->checks_, admission_, outcome, proxy_->options_.access_log);
  }

  void Unref() {
    bool last;
    {
      std::lock_guard<std::recursive_mutex> lock(mu_);
      last = --refs_ == 0;
    }
    if (last) delete this;
  }

  GatewayProxy* const proxy_;
  grpc::GenericCallbackServerContext* const ctx_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::recursive_mutex mu_;
  int refs_ = 1;  // the server side, plus one per attempt not yet done
  std::string service_, method_, request_id_, backend_address_;
  Admission admission_;  // what admission decided; its concurrency slot is released when done
  std::chrono::system_clock::time_point deadline_;
  Mode mode_ = Mode::kStream;
  std::vector<std::unique_ptr<Attempt>> attempts_;
  Attempt* current_ = nullptr;
  Backend* first_backend_ = nullptr;  // unary: picked at admission, called once the request is in
  std::vector<std::unique_ptr<UnaryAttempt>> unary_attempts_;
  UnaryAttempt* unary_current_ = nullptr;
  grpc::ByteBuffer unary_request_;
  grpc::ByteBuffer request_buffer_;
  grpc::ByteBuffer response_buffer_;
  std::vector<grpc::ByteBuffer> replay_;
  size_t replay_bytes_ = 0;
  bool replayable_ = false;
  bool response_started_ = false;
  bool server_read_pending_ = false;
  bool server_write_pending_ = false;
  bool half_closed_ = false;
  bool server_gone_ = false;
  bool server_finished_ = false;
  bool finish_wanted_ = false;
  grpc::Status final_status_;
  int final_code_ = 0;
  std::string final_message_;
  int64_t msgs_received_ = 0, msgs_sent_ = 0;
  size_t bytes_received_ = 0, bytes_sent_ = 0;
};

void Attempt::OnReadInitialMetadataDone(bool ok) { call_->AttemptInitialMetadata(this, ok); }
void Attempt::OnReadDone(bool ok) { call_->AttemptRead(this, ok); }
void Attempt::OnWriteDone(bool ok) { call_->AttemptWrote(this, ok); }
void Attempt::OnDone(const grpc::Status& status) { call_->AttemptDone(this, status); }

GatewayProxy::GatewayProxy(GatewayChecks checks, ProxyOptions options)
    : checks_(checks), options_(options) {}

grpc::ServerGenericBidiReactor* GatewayProxy::CreateReactor(
    grpc::GenericCallbackServerContext* ctx) {
  return new ProxyCall(this, ctx);
}

}  // namespace ctg::gateway
