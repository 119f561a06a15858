#include "gateway/method_catalog.h"

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include <condition_variable>
#include <map>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include "common/metrics.h"
#include "ctg/gateway/internal/reflection_wire.pb.h"

namespace ctg::gateway {

namespace {
constexpr char kTypeUrlPrefix[] = "type.googleapis.com";
}  // namespace

using google::protobuf::DescriptorProto;
using google::protobuf::FileDescriptorProto;

struct MethodCatalog::Snapshot {
  std::map<std::string, std::string> files;              // name -> serialized file
  std::map<std::string, std::vector<std::string>> deps;  // name -> dependency names
  std::unordered_map<std::string, std::string> symbols;  // symbol -> file name
  std::unordered_map<std::string, CallShape> shapes;     // "/pkg.Service/Method" -> shape
  // "/pkg.Service/Method" -> declared access (absent: undeclared, refused)
  std::unordered_map<std::string, std::shared_ptr<const MethodPolicy>> policies;
  std::set<std::string> services;
  // "/pkg.Service/Method" -> its input and output message types (fully qualified).
  std::unordered_map<std::string, std::pair<std::string, std::string>> io_types;
  // Every file, resolved lazily by the pool; the JSON mapping's resolver over it.
  std::unique_ptr<google::protobuf::SimpleDescriptorDatabase> database;
  std::unique_ptr<google::protobuf::DescriptorPool> pool;
  std::unique_ptr<google::protobuf::util::TypeResolver> resolver;

  void Index(const FileDescriptorProto& file);
  void IndexMessage(const std::string& scope, const DescriptorProto& message,
                    const std::string& file);
  // Appends `name` then its dependencies (each file once) to `out`.
  void Closure(const std::string& name, std::set<std::string>* seen,
               std::vector<std::string>* out) const;
};

namespace {

std::string Qualify(const std::string& scope, const std::string& name) {
  return scope.empty() ? name : scope + "." + name;
}

CallShape ShapeOf(bool client_streaming, bool server_streaming) {
  if (client_streaming && server_streaming) return CallShape::kBidiStreaming;
  if (client_streaming) return CallShape::kClientStreaming;
  if (server_streaming) return CallShape::kServerStreaming;
  return CallShape::kUnary;
}

}  // namespace

void MethodCatalog::Snapshot::IndexMessage(const std::string& scope, const DescriptorProto& message,
                                           const std::string& file) {
  const std::string name = Qualify(scope, message.name());
  symbols[name] = file;
  for (const auto& nested : message.nested_type()) IndexMessage(name, nested, file);
  for (const auto& e : message.enum_type()) symbols[Qualify(name, e.name())] = file;
}

void MethodCatalog::Snapshot::Index(const FileDescriptorProto& file) {
  const std::string& package = file.package();
  std::vector<std::string>& file_deps = deps[file.name()];
  file_deps.assign(file.dependency().begin(), file.dependency().end());
  for (const auto& m : file.message_type()) IndexMessage(package, m, file.name());
  for (const auto& e : file.enum_type()) symbols[Qualify(package, e.name())] = file.name();
  for (const auto& s : file.service()) {
    const std::string service = Qualify(package, s.name());
    symbols[service] = file.name();
    services.insert(service);
    for (const auto& m : s.method()) {
      symbols[service + "." + m.name()] = file.name();
      const std::string path = "/" + service + "/" + m.name();
      shapes[path] = ShapeOf(m.client_streaming(), m.server_streaming());
      // Types are written ".pkg.Message" in descriptors.
      auto bare = [](const std::string& type) {
        return type.rfind('.', 0) == 0 ? type.substr(1) : type;
      };
      io_types[path] = {bare(m.input_type()), bare(m.output_type())};
      try {
        policies[path] =
            std::make_shared<const MethodPolicy>(PolicyFromOptions(m.options(), service, m.name()));
      } catch (const std::exception&) {
        // No usable declaration: the method stays refused (the backend would not start).
      }
    }
  }
}

void MethodCatalog::Snapshot::Closure(const std::string& name, std::set<std::string>* seen,
                                      std::vector<std::string>* out) const {
  if (!seen->insert(name).second) return;
  auto file = files.find(name);
  if (file == files.end()) return;  // a dependency the backend did not send: skipped
  out->push_back(file->second);
  auto d = deps.find(name);
  if (d == deps.end()) return;
  for (const auto& dep : d->second) Closure(dep, seen, out);
}

MethodCatalog::MethodCatalog() : snapshot_(std::make_shared<Snapshot>()) {}

std::shared_ptr<const MethodCatalog::Snapshot> MethodCatalog::Current() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

bool MethodCatalog::AddFiles(const std::vector<std::string>& serialized_files) {
  std::vector<FileDescriptorProto> parsed(serialized_files.size());
  for (size_t i = 0; i < serialized_files.size(); ++i) {
    if (!parsed[i].ParseFromString(serialized_files[i]) || parsed[i].name().empty()) return false;
  }
  std::lock_guard lock(mu_);
  auto next = std::make_shared<Snapshot>();
  next->files = snapshot_->files;
  for (size_t i = 0; i < parsed.size(); ++i) {
    next->files[parsed[i].name()] = serialized_files[i];
  }
  // Re-indexed from scratch so that a replaced file leaves no stale symbol behind.
  next->database = std::make_unique<google::protobuf::SimpleDescriptorDatabase>();
  for (const auto& [name, bytes] : next->files) {
    FileDescriptorProto file;
    file.ParseFromString(bytes);
    next->Index(file);
    next->database->Add(file);
  }
  next->pool = std::make_unique<google::protobuf::DescriptorPool>(next->database.get());
  next->resolver.reset(
      google::protobuf::util::NewTypeResolverForDescriptorPool(kTypeUrlPrefix, next->pool.get()));
  snapshot_ = std::move(next);
  return true;
}

bool MethodCatalog::Translate(std::string_view method_path, bool request, bool to_binary,
                              const std::string& in, std::string* out, std::string* error) const {
  auto s = Current();
  auto it = s->io_types.find(std::string(method_path));
  if (it == s->io_types.end()) {
    *error = "unknown method";
    return false;
  }
  const std::string type_url =
      std::string(kTypeUrlPrefix) + "/" + (request ? it->second.first : it->second.second);
  google::protobuf::util::JsonParseOptions options;  // unknown fields are refused
  const auto status =
      to_binary ? google::protobuf::util::JsonToBinaryString(s->resolver.get(), type_url, in, out,
                                                             options)
                : google::protobuf::util::BinaryToJsonString(s->resolver.get(), type_url, in, out);
  if (!status.ok()) *error = std::string(status.message());
  return status.ok();
}

bool MethodCatalog::RequestFromJson(std::string_view method_path, const std::string& json,
                                    std::string* binary, std::string* error) const {
  return Translate(method_path, /*request=*/true, /*to_binary=*/true, json, binary, error);
}

bool MethodCatalog::ResponseToJson(std::string_view method_path, const std::string& binary,
                                   std::string* json, std::string* error) const {
  return Translate(method_path, /*request=*/false, /*to_binary=*/false, binary, json, error);
}

bool MethodCatalog::ResponseBytesField(std::string_view method_path, const std::string& binary,
                                       const std::string& field, std::string* out) const {
  auto s = Current();
  auto it = s->io_types.find(std::string(method_path));
  if (it == s->io_types.end()) return false;
  const auto* type = s->pool->FindMessageTypeByName(it->second.second);
  const auto* f = type == nullptr ? nullptr : type->FindFieldByName(field);
  if (f == nullptr || f->type() != google::protobuf::FieldDescriptor::TYPE_BYTES ||
      f->is_repeated()) {
    return false;
  }
  google::protobuf::DynamicMessageFactory factory(s->pool.get());
  std::unique_ptr<google::protobuf::Message> message(factory.GetPrototype(type)->New());
  if (!message->ParseFromString(binary)) return false;
  *out = message->GetReflection()->GetString(*message, f);
  return true;
}

CallShape MethodCatalog::Shape(std::string_view method_path) const {
  std::lock_guard lock(mu_);
  auto it = snapshot_->shapes.find(std::string(method_path));
  return it == snapshot_->shapes.end() ? CallShape::kUnknown : it->second;
}

std::shared_ptr<const MethodPolicy> MethodCatalog::Policy(std::string_view method_path) const {
  auto s = Current();
  auto it = s->policies.find(std::string(method_path));
  return it == s->policies.end() ? nullptr : it->second;
}

bool MethodCatalog::Knows(std::string_view service) const {
  auto s = Current();
  return s->services.count(std::string(service)) != 0;
}

std::vector<std::string> MethodCatalog::Services() const {
  auto s = Current();
  return {s->services.begin(), s->services.end()};
}

bool MethodCatalog::FileContainingSymbol(const std::string& symbol,
                                         std::vector<std::string>* files) const {
  auto s = Current();
  auto it = s->symbols.find(symbol);
  if (it == s->symbols.end()) return false;
  std::set<std::string> seen;
  s->Closure(it->second, &seen, files);
  return true;
}

bool MethodCatalog::FileByName(const std::string& name, std::vector<std::string>* files) const {
  auto s = Current();
  if (s->files.count(name) == 0) return false;
  std::set<std::string> seen;
  s->Closure(name, &seen, files);
  return true;
}

namespace {

using internal::ServerReflectionRequest;
using internal::ServerReflectionResponse;

// One reflection stream: sends every request, half-closes, collects every response.
class ReflectionExchange
    : public grpc::ClientBidiReactor<ServerReflectionRequest, ServerReflectionResponse> {
 public:
  explicit ReflectionExchange(std::vector<ServerReflectionRequest> requests)
      : requests_(std::move(requests)) {}

  void Start() {
    StartRead(&response_);
    WriteNext();
    StartCall();
  }

  void OnWriteDone(bool ok) override {
    if (ok) WriteNext();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    responses_.push_back(response_);
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    std::lock_guard lock(mu_);
    status_ = status;
    done_ = true;
    cv_.notify_all();
  }

  // Waits for the end of the stream; returns its status.
  grpc::Status Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return done_; });
    return status_;
  }

  const std::vector<ServerReflectionResponse>& responses() const { return responses_; }
  grpc::ClientContext& context() { return context_; }

 private:
  void WriteNext() {
    if (next_ < requests_.size()) {
      StartWrite(&requests_[next_++]);
    } else {
      StartWritesDone();
    }
  }

  grpc::ClientContext context_;
  std::vector<ServerReflectionRequest> requests_;
  size_t next_ = 0;
  ServerReflectionResponse response_;
  std::vector<ServerReflectionResponse> responses_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  grpc::Status status_;
};

}  // namespace

bool AnswerReflection(const MethodCatalog& catalog, const std::string& request_bytes,
                      std::string* response_bytes) {
  ServerReflectionRequest request;
  if (!request.ParseFromString(request_bytes)) return false;
  ServerReflectionResponse response;
  response.set_valid_host(request.host());
  *response.mutable_original_request() = request;
  std::vector<std::string> files;
  bool found = true;
  switch (request.message_request_case()) {
    case ServerReflectionRequest::kListServices: {
      auto* list = response.mutable_list_services_response();
      for (const auto& service : catalog.Services()) list->add_service()->set_name(service);
      list->add_service()->set_name("grpc.reflection.v1alpha.ServerReflection");
      break;
    }
    case ServerReflectionRequest::kFileByFilename:
      found = catalog.FileByName(request.file_by_filename(), &files);
      break;
    case ServerReflectionRequest::kFileContainingSymbol:
      found = catalog.FileContainingSymbol(request.file_containing_symbol(), &files);
      break;
    default:  // extensions: the CTG APIs declare none
      found = false;
      break;
  }
  if (!found) {
    auto* error = response.mutable_error_response();
    error->set_error_code(grpc::StatusCode::NOT_FOUND);
    error->set_error_message("not found");
  } else if (!files.empty()) {
    auto* out = response.mutable_file_descriptor_response();
    for (auto& f : files) out->add_file_descriptor_proto(std::move(f));
  }
  return response.SerializeToString(response_bytes);
}

std::vector<ServerReflectionResponse> ExchangeReflection(
    const std::shared_ptr<grpc::Channel>& channel, std::vector<ServerReflectionRequest> requests,
    std::chrono::milliseconds timeout) {
  ReflectionExchange exchange(std::move(requests));
  exchange.context().set_deadline(std::chrono::system_clock::now() + timeout);
  grpc::TemplatedGenericStub<ServerReflectionRequest, ServerReflectionResponse> stub(channel);
  stub.PrepareBidiStreamingCall(&exchange.context(),
                                "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                grpc::StubOptions(), &exchange);
  exchange.Start();
  const grpc::Status status = exchange.Wait();
  if (!status.ok()) {
    throw std::runtime_error(std::string("server reflection failed: ") +
                             StatusCodeName(status.error_code()) + " " + status.error_message());
  }
  return exchange.responses();
}

std::vector<std::string> FetchServiceDescriptors(const std::shared_ptr<grpc::Channel>& channel,
                                                 const std::vector<std::string>& services,
                                                 std::chrono::milliseconds timeout) {
  std::vector<ServerReflectionRequest> requests;
  for (const auto& service : services) {
    requests.emplace_back().set_file_containing_symbol(service);
  }
  std::vector<std::string> files;
  for (const auto& response : ExchangeReflection(channel, std::move(requests), timeout)) {
    if (response.has_error_response()) {
      throw std::runtime_error("server reflection: " + response.error_response().error_message());
    }
    for (const auto& f : response.file_descriptor_response().file_descriptor_proto()) {
      files.push_back(f);
    }
  }
  return files;
}

}  // namespace ctg::gateway
