#include "gateway/tests/echo_backend.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "gateway/gateway.h"

namespace ctg::gateway::testing {

namespace v1 = ::ctg::testing::v1;

namespace {

std::string Str(grpc::string_ref s) { return std::string(s.data(), s.size()); }

// Echoes the x-echo headers of `ctx` as initial and trailing metadata.
void EchoHeaders(grpc::CallbackServerContext* ctx) {
  for (const auto& [k, v] : ctx->client_metadata()) {
    if (Str(k) == "x-echo") {
      ctx->AddInitialMetadata("x-echo-initial", Str(v));
      ctx->AddTrailingMetadata("x-echo-trailer", Str(v));
    } else if (Str(k) == "x-echo-bin") {
      ctx->AddTrailingMetadata("x-echo-bin", Str(v));
    }
  }
}

grpc::Status Failure(const v1::EchoRequest& req) {
  return grpc::Status(static_cast<grpc::StatusCode>(req.fail_code()), req.fail_message(),
                      "details:" + req.message());
}

}  // namespace

class EchoBackend::Service final : public v1::EchoService::CallbackService {
 public:
  explicit Service(EchoBackend* owner) : owner_(owner) {}

  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx, const v1::EchoRequest* req,
                                 v1::EchoResponse* resp) override {
    owner_->Record(ctx, "Echo");
    EchoHeaders(ctx);
    if (req->hang()) {
      // Answers only when the call is cancelled (by the caller, or by its deadline).
      class Hang : public grpc::ServerUnaryReactor {
       public:
        explicit Hang(EchoBackend* owner) : owner_(owner) {}
        void OnCancel() override {
          owner_->RecordCancel();
          Finish(grpc::Status::CANCELLED);
        }
        void OnDone() override { delete this; }

       private:
        EchoBackend* owner_;
      };
      return new Hang(owner_);
    }
    auto* reactor = ctx->DefaultReactor();
    if (req->fail_code() != 0) {
      reactor->Finish(Failure(*req));
      return reactor;
    }
    resp->set_message(req->message());
    resp->set_backend(owner_->name());
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerReadReactor<v1::EchoRequest>* Collect(grpc::CallbackServerContext* ctx,
                                                    v1::EchoResponse* resp) override {
    owner_->Record(ctx, "Collect");
    class Reader : public grpc::ServerReadReactor<v1::EchoRequest> {
     public:
      Reader(EchoBackend* owner, v1::EchoResponse* resp) : owner_(owner), resp_(resp) {
        StartRead(&req_);
      }
      void OnReadDone(bool ok) override {
        if (!ok) {
          resp_->set_backend(owner_->name());
          resp_->set_index(count_);
          Finish(grpc::Status::OK);
          return;
        }
        if (count_++ > 0) resp_->mutable_message()->append(",");
        resp_->mutable_message()->append(req_.message());
        StartRead(&req_);
      }
      void OnDone() override { delete this; }

     private:
      EchoBackend* owner_;
      v1::EchoResponse* resp_;
      v1::EchoRequest req_;
      int count_ = 0;
    };
    return new Reader(owner_, resp);
  }

  grpc::ServerWriteReactor<v1::EchoResponse>* Expand(grpc::CallbackServerContext* ctx,
                                                     const v1::EchoRequest* req) override {
    owner_->Record(ctx, "Expand");
    class Writer : public grpc::ServerWriteReactor<v1::EchoResponse> {
     public:
      Writer(EchoBackend* owner, grpc::CallbackServerContext* ctx, const v1::EchoRequest* req)
          : owner_(owner), ctx_(ctx), req_(*req) {
        EchoHeaders(ctx_);
        Next();
      }
      void OnWriteDone(bool ok) override {
        if (!ok) return Finish(grpc::Status::CANCELLED);
        Next();
      }
      void OnDone() override { delete this; }

     private:
      void Next() {
        if (index_ >= req_.repeat()) {
          return Finish(req_.fail_code() != 0 ? Failure(req_) : grpc::Status::OK);
        }
        resp_.set_message(req_.message());
        resp_.set_backend(owner_->name());
        resp_.set_index(index_++);
        StartWrite(&resp_);
      }
      EchoBackend* owner_;
      grpc::CallbackServerContext* ctx_;
      v1::EchoRequest req_;
      v1::EchoResponse resp_;
      int index_ = 0;
    };
    return new Writer(owner_, ctx, req);
  }

  grpc::ServerBidiReactor<v1::EchoRequest, v1::EchoResponse>* Chat(
      grpc::CallbackServerContext* ctx) override {
    owner_->Record(ctx, "Chat");
    class Bidi : public grpc::ServerBidiReactor<v1::EchoRequest, v1::EchoResponse> {
     public:
      Bidi(EchoBackend* owner, grpc::CallbackServerContext* ctx) : owner_(owner) {
        EchoHeaders(ctx);
        StartRead(&req_);
      }
      void OnReadDone(bool ok) override {
        if (!ok) return Finish(grpc::Status::OK);
        resp_.set_message(req_.message());
        resp_.set_backend(owner_->name());
        resp_.set_index(index_++);
        StartWrite(&resp_);
      }
      void OnWriteDone(bool ok) override {
        if (!ok) return Finish(grpc::Status::CANCELLED);
        StartRead(&req_);
      }
      void OnDone() override { delete this; }

     private:
      EchoBackend* owner_;
      v1::EchoRequest req_;
      v1::EchoResponse resp_;
      int index_ = 0;
    };
    return new Bidi(owner_, ctx);
  }

 private:
  EchoBackend* owner_;
};

EchoBackend::EchoBackend(std::string name, int port, bool reflection)
    : name_(std::move(name)), service_(std::make_unique<Service>(this)) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  if (!reflection) builder.SetOption(WithoutReflectionPlugin());
  builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(),
                           &port_);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  if (server_ != nullptr) {
    server_->GetHealthCheckService()->SetServingStatus("ctg.testing.v1.EchoService", true);
  }
}

EchoBackend::~EchoBackend() { Stop(); }

void EchoBackend::Stop() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
    server_.reset();
  }
}

void EchoBackend::Record(grpc::CallbackServerContext* ctx, const std::string& method) {
  std::lock_guard lock(mu_);
  ++calls_;
  last_.method = method;
  last_.metadata.clear();
  for (const auto& [k, v] : ctx->client_metadata()) last_.metadata.emplace(Str(k), Str(v));
  last_.deadline = ctx->deadline();
  cv_.notify_all();
}

void EchoBackend::RecordCancel() {
  std::lock_guard lock(mu_);
  ++cancellations_;
  cv_.notify_all();
}

int EchoBackend::calls() {
  std::lock_guard lock(mu_);
  return calls_;
}

SeenCall EchoBackend::last_call() {
  std::lock_guard lock(mu_);
  return last_;
}

bool EchoBackend::WaitForCalls(int n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return calls_ >= n; });
}

bool EchoBackend::WaitForCancellations(int n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return cancellations_ >= n; });
}

}  // namespace ctg::gateway::testing
