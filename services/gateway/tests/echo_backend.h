#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "ctg/testing/v1/echo.grpc.pb.h"

namespace ctg::gateway::testing {

// What the backend saw of the last call it received.
struct SeenCall {
  std::string method;
  std::multimap<std::string, std::string> metadata;
  std::chrono::system_clock::time_point deadline;
};

// A real gRPC Echo backend (ctg.testing.v1.EchoService) on 127.0.0.1, with the standard health
// service reporting SERVING and (unless disabled) server reflection. Unary echoes "x-echo" metadata
// back as initial metadata "x-echo-initial" and trailing metadata "x-echo-trailer" (and
// "x-echo-bin" as a binary trailer).
class EchoBackend {
 public:
  // Starts serving; `port` 0 picks a free port (a fixed one restarts a stopped backend). Without
  // `reflection` the gateway cannot learn its methods and forwards every call as a stream.
  explicit EchoBackend(std::string name, int port = 0, bool reflection = true);
  // Stops the server.
  ~EchoBackend();

  // Stops the server at once (in-flight calls are cancelled).
  void Stop();

  const std::string& name() const { return name_; }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Number of calls that reached a handler.
  int calls();
  // The last call that reached a handler.
  SeenCall last_call();
  // Blocks until `n` calls have reached a handler in total; false after `timeout`.
  bool WaitForCalls(int n, std::chrono::milliseconds timeout);
  // Blocks until `n` hanging calls were cancelled; false after `timeout`.
  bool WaitForCancellations(int n, std::chrono::milliseconds timeout);

  class Service;

 private:
  friend class Service;
  void Record(grpc::CallbackServerContext* ctx, const std::string& method);
  void RecordCancel();

  const std::string name_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;
  int cancellations_ = 0;
  SeenCall last_;
};

}  // namespace ctg::gateway::testing
