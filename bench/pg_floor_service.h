#pragma once
// The floor under a service's RPC on this machine, for gateway_bench: a bare gRPC callback
// service whose handlers run, with libpq on gRPC's thread, the very statements ctg-partners runs
// (its prepared SQL, taken from the partners library), with nothing else: no token, no access
// rule, no log, no metrics, no protobuf. Hosted in the benchmark's process and, the way the real
// service runs, in a process of its own (ctg-bare-pg-service).
//   /bench.Floor/Read  : the request is an organisation id; org_find, as GetOrganisation.
//   /bench.Floor/Write : the request is an organisation id; org_find then org_update with the
//                        version read, as UpdateOrganisation (autocommit).
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <libpq-fe.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace ctg::bench {

class PgFloorService : public grpc::CallbackGenericService {
 public:
  // Opens 16 connections to `url` with the statements prepared, and serves on 127.0.0.1:0.
  explicit PgFloorService(const std::string& url);
  ~PgFloorService() override;
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override;

 private:
  class Call;
  PGconn* AcquireConnection();
  void ReleaseConnection(PGconn* c);

  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<PGconn*> idle_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace ctg::bench
