// ctg-bare-grpc-proxy: the floor under the gateway, for gateway_bench. A proxy written the way
// ctg-gateway's unary fast path is (gRPC's callback generic service, a generic stub, one batch
// each way) with nothing else: no token, no access rule, no limits, no log, no metrics. What it
// adds to a call is what gRPC itself costs for an out-of-process hop on this machine.
//   ctg-bare-grpc-proxy --target=HOST:PORT --port-file=FILE
// Listens on a free loopback port, written to FILE as "<port> 0\n" (see WritePortFile).
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <string>

#include "common/process.h"
#include "common/rpc.h"

namespace {

// One call: read the request, forward it, write the response and status back.
class ForwardedCall : public grpc::ServerGenericBidiReactor {
 public:
  ForwardedCall(grpc::GenericCallbackServerContext* server, grpc::GenericStub* stub)
      : server_(server), stub_(stub) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::INTERNAL, "unary call without a request"));
      return;
    }
    for (const auto& [key, value] : server_->client_metadata()) {
      const std::string k(key.data(), key.size());
      if (k.empty() || k[0] == ':' || k.rfind("grpc-", 0) == 0 || k == "user-agent" || k == "te" ||
          k == "content-type" || k == "host") {
        continue;
      }
      client_.AddMetadata(k, std::string(value.data(), value.size()));
    }
    client_.set_deadline(server_->deadline());
    stub_->UnaryCall(&client_, server_->method(), grpc::StubOptions(), &request_, &response_,
                     [this](grpc::Status status) {
                       if (!status.ok()) {
                         Finish(status);
                         return;
                       }
                       StartWriteAndFinish(&response_, grpc::WriteOptions(), status);
                     });
  }
  void OnDone() override { delete this; }

 private:
  grpc::GenericCallbackServerContext* const server_;
  grpc::GenericStub* const stub_;
  grpc::ClientContext client_;
  grpc::ByteBuffer request_, response_;
};

class BareProxy : public grpc::CallbackGenericService {
 public:
  explicit BareProxy(grpc::GenericStub* stub) : stub_(stub) {}
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    return new ForwardedCall(ctx, stub_);
  }

 private:
  grpc::GenericStub* const stub_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string target, port_file;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--target=", 0) == 0) target = arg.substr(9);
    if (arg.rfind("--port-file=", 0) == 0) port_file = arg.substr(12);
  }
  if (target.empty() || port_file.empty()) {
    std::fprintf(stderr, "usage: ctg-bare-grpc-proxy --target=HOST:PORT --port-file=FILE\n");
    return 2;
  }
  grpc::ChannelArguments args;
  ctg::ApplyChannelLimits(args);
  grpc::GenericStub stub(
      grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
  BareProxy proxy(&stub);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(&proxy);
  ctg::ApplyServerLimits(builder);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) return 1;
  ctg::WritePortFile(port_file, port, 0);
  server->Wait();
  return 0;
}
