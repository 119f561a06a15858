#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/access.h"
#include "ctg/gateway/internal/reflection_wire.pb.h"

namespace ctg::gateway {

// How many messages each side of a method sends.
enum class CallShape { kUnknown, kUnary, kClientStreaming, kServerStreaming, kBidiStreaming };

// What the gateway knows of the methods behind it: the descriptor files of every backend
// service, learnt from the backends' own server reflection when they become healthy. It tells
// the proxy which calls are unary (they take a fast path with one batch each way) and answers
// server reflection for all services at once. Nothing here is configured by hand: a new RPC or
// a new service is learnt from its backend. Thread-safe; readers never wait for a fetch.
class MethodCatalog {
 public:
  MethodCatalog();

  // Adds descriptor files (serialized google.protobuf.FileDescriptorProto); a file replaces an
  // earlier one of the same name. Returns false, adding nothing, when one does not parse.
  bool AddFiles(const std::vector<std::string>& serialized_files);

  // The shape of "/pkg.Service/Method"; kUnknown when no backend described it.
  CallShape Shape(std::string_view method_path) const;
  // The declared access of "/pkg.Service/Method" (its (ctg.api.v1.access) option, as the
  // backend described it), or nullptr when no backend described the method or it carries no
  // usable declaration: the gateway then refuses the call, as the backend itself would refuse
  // to start.
  std::shared_ptr<const MethodPolicy> Policy(std::string_view method_path) const;
  // The request of "/pkg.Service/Method" from its proto3 JSON mapping to binary, with the
  // descriptors the backends described; false with `error` set when the method is unknown or
  // the JSON does not map onto the message (unknown fields included).
  bool RequestFromJson(std::string_view method_path, const std::string& json, std::string* binary,
                       std::string* error) const;
  // The response of "/pkg.Service/Method" from binary to its proto3 JSON mapping.
  bool ResponseToJson(std::string_view method_path, const std::string& binary, std::string* json,
                      std::string* error) const;
  // The bytes field `field` of a response of "/pkg.Service/Method" given in binary (e.g. the
  // data of a downloaded chunk); false when the method, the field or the message is unknown.
  bool ResponseBytesField(std::string_view method_path, const std::string& binary,
                          const std::string& field, std::string* out) const;
  // Whether some backend described the service `service` (fully qualified).
  bool Knows(std::string_view service) const;
  // Fully qualified names of the services described, sorted.
  std::vector<std::string> Services() const;
  // The serialized file defining `symbol` (a message, enum, service or method, fully qualified),
  // then every file it depends on, transitively; false when no file defines it.
  bool FileContainingSymbol(const std::string& symbol, std::vector<std::string>* files) const;
  // The serialized file named `name`, then its transitive dependencies; false when unknown.
  bool FileByName(const std::string& name, std::vector<std::string>* files) const;

 private:
  // The JSON mapping of the request (or response) of a method, one way or the other.
  bool Translate(std::string_view method_path, bool request, bool to_binary, const std::string& in,
                 std::string* out, std::string* error) const;
  struct Snapshot;
  std::shared_ptr<const Snapshot> Current() const;

  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;  // replaced whole by AddFiles
};

// Answers one server reflection request (a serialized grpc.reflection.v1alpha
// ServerReflectionRequest) from `catalog`, as a serialized ServerReflectionResponse: the services
// of every backend, and the files defining their symbols. Unknown symbols and files get a
// NOT_FOUND error response, like gRPC's own reflection. False when the request does not parse.
bool AnswerReflection(const MethodCatalog& catalog, const std::string& request,
                      std::string* response);

// Sends `requests` on one grpc.reflection.v1alpha stream to the server behind `channel`, then
// half-closes, and returns every response. Throws std::runtime_error when the stream fails.
std::vector<internal::ServerReflectionResponse> ExchangeReflection(
    const std::shared_ptr<grpc::Channel>& channel,
    std::vector<internal::ServerReflectionRequest> requests, std::chrono::milliseconds timeout);

// Asks the server behind `channel`, by grpc.reflection.v1alpha server reflection, for the files
// defining `services` and their dependencies. Throws std::runtime_error naming the failure.
std::vector<std::string> FetchServiceDescriptors(const std::shared_ptr<grpc::Channel>& channel,
                                                 const std::vector<std::string>& services,
                                                 std::chrono::milliseconds timeout);

}  // namespace ctg::gateway
