#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/access.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/db.h"
#include "common/metrics.h"
#include "common/token_verifier.h"

namespace ctg {

// The bytes of a raw message buffer, joined (empty when the buffer cannot be read).
std::string ByteBufferToString(const grpc::ByteBuffer& buffer);

// A fixed set of worker threads running queued tasks. RPC bodies run here, not on gRPC's own
// callback threads, because they block on PostgreSQL. The queue is bounded so that an overload
// is refused at once (RESOURCE_EXHAUSTED) instead of piling up calls that will time out.
class Executor {
 public:
  explicit Executor(int threads, size_t max_queued = 4096);
  // Runs every task already queued, then joins the threads.
  ~Executor();
  // Queues `task`; false (and nothing queued) when the queue is full.
  bool TryPost(std::function<void()> task);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  const size_t max_queued_;
  std::vector<std::thread> threads_;
};

// What a handler knows about the call it serves.
struct CallContext {
  Principal principal;
  std::string request_id;  // from x-request-id (see RequestIdFromHeader), or generated
  std::chrono::system_clock::time_point deadline;
  // The injected clock read once when the call started: every rule about "today" uses it.
  std::chrono::system_clock::time_point now;
  // The declared access of the method being served.
  const MethodPolicy* policy = nullptr;
  // The service's secret for page tokens (see ParsePage); null until the database is ready.
  std::shared_ptr<const std::string> page_token_key;
};

// The request id a call carries on: the caller's x-request-id when usable (1 to 128 printable
// ASCII characters without quotes or backslashes, so it can be logged and echoed safely), a new
// UUID otherwise. The one rule of the gateway and every service, so one call keeps one id.
std::string RequestIdFromHeader(std::string_view header);

// The request messages of a client-streaming call, read by its body on the executor.
class RequestStream {
 public:
  virtual ~RequestStream() = default;
  // Waits for the next request message and stores it in `message` (the method's request type):
  // true when one arrived, false at the end of the stream (the client half-closed: it sent
  // everything). Throws CancelledError when the call broke before that end: the client
  // cancelled or disconnected, the deadline passed, or gRPC refused a message (oversized,
  // malformed) - a body then keeps nothing of what it read. Each message passes the method's
  // declared field checks (PermissionDeniedError otherwise).
  virtual bool Next(google::protobuf::Message* message) = 0;
};

// The runtime half of a client-streaming call's reactor: hands the messages gRPC reads over to
// the body waiting in RequestStream::Next on an executor thread. The typed reactor
// (ClientStreamReactor<Request>) only forwards gRPC's callbacks here.
class ClientStreamCore : public RequestStream {
 public:
  explicit ClientStreamCore(grpc::CallbackServerContext* context) : context_(context) {}
  bool Next(google::protobuf::Message* message) override;

  grpc::CallbackServerContext* context() const { return context_; }
  // Sets the call whose policy checks every message (before the body reads any).
  void Bind(const CallContext* call) { call_ = call; }
  // gRPC's callbacks, forwarded by the typed reactor.
  void ReadDone(bool ok);
  void Cancelled();
  // Finishes the call with `status` (once, from the body's thread or at once when refused).
  virtual void FinishWith(const grpc::Status& status) = 0;

 protected:
  // Starts gRPC's read of the next message into `message`.
  virtual void StartReadInto(google::protobuf::Message* message) = 0;

 private:
  grpc::CallbackServerContext* const context_;
  const CallContext* call_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  bool reading_ = false;
  bool read_ok_ = false;
  bool cancelled_ = false;
};

// The reactor of one client-streaming call of request type `Request`; deletes itself when gRPC
// is done with the call.
template <typename Request>
class ClientStreamReactor final : public grpc::ServerReadReactor<Request>, public ClientStreamCore {
 public:
  explicit ClientStreamReactor(grpc::CallbackServerContext* context) : ClientStreamCore(context) {}
  void OnReadDone(bool ok) override { ReadDone(ok); }
  void OnCancel() override { Cancelled(); }
  void OnDone() override { delete this; }
  void FinishWith(const grpc::Status& status) override { this->Finish(status); }

 private:
  void StartReadInto(google::protobuf::Message* message) override {
    this->StartRead(static_cast<Request*>(message));
  }
};

// The responses of a server-streaming call, written by its body on the executor.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Sends `message` (the method's response type) and waits until gRPC has taken it, so a slow
  // reader slows the body down instead of filling the server's memory. Throws CancelledError
  // when the call broke (the client cancelled or left, the deadline passed): the body stops.
  virtual void Write(const google::protobuf::Message& message) = 0;
  // Whether the call broke already (a body waiting for something to send polls it).
  virtual bool cancelled() const = 0;
};

// The runtime half of a server-streaming call's reactor (ServerStreamReactor<Response> only
// forwards gRPC's callbacks here).
class ServerStreamCore : public ResponseStream {
 public:
  explicit ServerStreamCore(grpc::CallbackServerContext* context) : context_(context) {}
  void Write(const google::protobuf::Message& message) override;
  bool cancelled() const override;

  grpc::CallbackServerContext* context() const { return context_; }
  // gRPC's callbacks, forwarded by the typed reactor.
  void WriteDone(bool ok);
  void Cancelled();
  // Finishes the call with `status` (once, after the body's last write completed).
  virtual void FinishWith(const grpc::Status& status) = 0;

 protected:
  // Copies `message` into the reactor's own buffer and starts gRPC's write of it.
  virtual void StartWriteOf(const google::protobuf::Message& message) = 0;

 private:
  grpc::CallbackServerContext* const context_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool writing_ = false;
  bool write_ok_ = true;
  bool cancelled_ = false;
};

// The reactor of one server-streaming call of response type `Response`; deletes itself when
// gRPC is done with the call.
template <typename Response>
class ServerStreamReactor final : public grpc::ServerWriteReactor<Response>,
                                  public ServerStreamCore {
 public:
  explicit ServerStreamReactor(grpc::CallbackServerContext* context) : ServerStreamCore(context) {}
  void OnWriteDone(bool ok) override { WriteDone(ok); }
  void OnCancel() override { Cancelled(); }
  void OnDone() override { delete this; }
  void FinishWith(const grpc::Status& status) override { this->Finish(status); }

 private:
  void StartWriteOf(const google::protobuf::Message& message) override {
    buffer_.CopyFrom(message);
    this->StartWrite(&buffer_);
  }
  Response buffer_;
};

// Runs unary RPC bodies with everything every RPC needs, in one place: authentication of the
// bearer token, the role and field checks of the method's declared access (before the body, so
// before the request is validated or any object is read), the request id, execution on the
// executor, mapping of exceptions to statuses, metrics and one JSON log line per call. Services
// never call it directly: their generated base class (protoc-gen-ctg) routes every RPC here.
class UnaryRunner {
 public:
  UnaryRunner(const TokenVerifier& verifier, RpcMetrics& metrics, Executor& executor,
              Clock clock = SystemClock());

  // Authenticates and authorizes the call and schedules `body`; the reactor finishes with OK
  // when `body` returns, or with the status mapped from what it throws.
  // `series` are the method's metrics (RpcMetrics::ForMethod of this runner's metrics()).
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context, const MethodPolicy& policy,
                                MethodSeries& series, const google::protobuf::Message& request,
                                std::function<void(const CallContext&)> body);

  // The same for a client-streaming call: authenticates and authorizes it from its headers,
  // then runs `body` on the executor (never inline: it holds its thread for the whole stream),
  // which reads the messages from the stream. `stream` finishes with OK when `body` returns.
  void RunClientStream(ClientStreamCore* stream, const MethodPolicy& policy, MethodSeries& series,
                       std::function<void(const CallContext&, RequestStream&)> body);

  // The same for a server-streaming call: authenticates and authorizes it, checks the request's
  // fields, then runs `body` on the executor (never inline: it holds its thread for the whole
  // stream), which writes the responses to the stream. `stream` finishes with OK when `body`
  // returns, or with the status of what it throws.
  void RunServerStream(ServerStreamCore* stream, const MethodPolicy& policy, MethodSeries& series,
                       const google::protobuf::Message& request,
                       std::function<void(const CallContext&, ResponseStream&)> body);

  const Clock& clock() const { return clock_; }
  RpcMetrics& metrics() { return metrics_; }
  // Runs bodies on gRPC's own thread, without the hand-off to the executor, when `pool` has a
  // free connection and no other body is running on one of gRPC's threads at that moment (one
  // always stays free to poll and move every other call's bytes). For services whose bodies use
  // the database and call no other service (see ServiceSpec::inline_bodies).
  void EnableInlineBodies(const ConnectionPool* pool);
  // Sets the secret page tokens are signed with (read from the service's schema once it is
  // ready); thread-safe.
  void SetPageTokenKey(std::string key);

  // What a service does with a unary call its method's declared access refused to an
  // authenticated caller (a role or field right it lacks), before PERMISSION_DENIED goes back:
  // the consents service audits such attempts. Runs on the executor with no connection held;
  // what it throws is logged and the call is refused all the same.
  using RefusalListener = std::function<void(
      const CallContext&, const google::protobuf::Message& request, const std::string& reason)>;
  // Set once, before the server takes calls (a service's constructor).
  void SetRefusalListener(RefusalListener listener) { refusal_listener_ = std::move(listener); }

 private:
  // What every call starts with: its context (request id, deadline, clock, policy, page key)
  // with the request id echoed in the initial metadata.
  std::shared_ptr<CallContext> StartCall(grpc::CallbackServerContext* context,
                                         const MethodPolicy& policy);
  // Authenticates the caller into `call` and applies the method's declared roles (throws).
  void Authorize(grpc::CallbackServerContext* context, CallContext& call) const;

  const TokenVerifier& verifier_;
  RpcMetrics& metrics_;
  Executor& executor_;
  const Clock clock_;
  const ConnectionPool* inline_pool_ = nullptr;
  RefusalListener refusal_listener_;
  std::atomic<int> inline_running_{0};  // bodies running on gRPC's threads now
  mutable std::mutex key_mu_;
  std::shared_ptr<const std::string> page_token_key_;
};

// The runtime side of one service's generated base class: the declared access of each of its
// methods (read from the descriptors at construction) and the runner that serves them.
class ServiceRuntime {
 public:
  // Throws ConfigError when a method of `service_full_name` has no access declaration: such a
  // service never starts.
  ServiceRuntime(UnaryRunner& runner, std::string_view service_full_name);

  // Serves the method at `method_index` (declaration order) with `body`.
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context, int method_index,
                                const google::protobuf::Message& request,
                                std::function<void(const CallContext&)> body);

  // Serves the client-streaming method at `method_index` with `body`.
  void RunClientStream(ClientStreamCore* stream, int method_index,
                       std::function<void(const CallContext&, RequestStream&)> body);

  // Serves the server-streaming method at `method_index` with `body`.
  void RunServerStream(ServerStreamCore* stream, int method_index,
                       const google::protobuf::Message& request,
                       std::function<void(const CallContext&, ResponseStream&)> body);

  const std::vector<MethodPolicy>& policies() const { return policies_; }

 private:
  UnaryRunner& runner_;
  const std::vector<MethodPolicy> policies_;
  std::vector<MethodSeries*> series_;  // one per policy, same order
};

// Limits every ctg endpoint applies the same way: the services' servers, the gateway (both
// sides), service-to-service channels and ctgctl. One request carries at most kMaxMessageBytes
// (a tracking-table file of up to 10 MiB with room for the rest of the request); headers and
// trailers at most kMaxMetadataBytes.
inline constexpr int kMaxMessageBytes = 12 * 1024 * 1024;
inline constexpr int kMaxMetadataBytes = 64 * 1024;

// Applies the limits above to a channel this process opens.
void ApplyChannelLimits(grpc::ChannelArguments& args);
// Applies them to a server this process builds, with a fixed 1 MiB receive window per stream
// (no BDP probing), so a stream is never buffered far ahead of the code reading it.
void ApplyServerLimits(grpc::ServerBuilder& builder);

// Returns a fresh random UUID (version 4) in its canonical text form.
std::string NewUuid();

}  // namespace ctg
