// ctg-bare-grpc-proxy: the floor under the gateway, for gateway_bench. A proxy written the way
// ctg-gateway's unary fast path is (gRPC's callback generic service, a generic stub, one batch
// each way) with nothing else: no token, no access rule, no limits, no log, no metrics. What it
// adds to a call is what gRPC itself costs for an out-of-process hop on this machine.
//   ctg-bare-grpc-proxy --target=HOST:PORT --port-file=FILE
// Listens on a free loopback port, written to FILE as "<port> 0\n" (see WritePortFile).
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <string>

#include "common/process.h"
#include "common/rpc.h"
#include "floor_flags.h"

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
  const auto flags = ctg::bench::RequiredFlagsOrExit(
      argc, argv, {{"target", "CTG_BARE_PROXY_TARGET"}, {"port-file", "CTG_BARE_PROXY_PORT_FILE"}},
      "ctg-bare-grpc-proxy --target=HOST:PORT --port-file=FILE");
  const std::string& target = flags[0];
  const std::string& port_file = flags[1];
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
