#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/auth.h"
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
  std::string request_id;  // from x-request-id, or generated
  std::chrono::system_clock::time_point deadline;
};

// Runs unary RPC bodies with everything every RPC needs, in one place: authentication of the
// bearer token, the request id, execution on the executor, mapping of exceptions to statuses,
// metrics and one JSON log line per call.
class UnaryRunner {
 public:
  UnaryRunner(std::string service_name, const TokenVerifier& verifier, RpcMetrics& metrics,
              Executor& executor);

  // Authenticates the call and schedules `body`; the reactor finishes with OK when `body`
  // returns, or with the status mapped from what it throws. `method` is the bare method name.
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context, const char* method,
                                std::function<void(const CallContext&)> body);

 private:
  const std::string service_name_;
  const TokenVerifier& verifier_;
  RpcMetrics& metrics_;
  Executor& executor_;
};

// Returns a fresh random UUID (version 4) in its canonical text form.
std::string NewUuid();

}  // namespace ctg
