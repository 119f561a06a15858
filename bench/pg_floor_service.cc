#include "pg_floor_service.h"

#include <stdexcept>

#include "common/rpc.h"
#include "partners/statements.h"

namespace ctg::bench {
namespace {

void Prepare(PGconn* c, const char* name, const char* sql) {
  PGresult* r = PQprepare(c, name, sql, 0, nullptr);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) throw std::runtime_error(PQerrorMessage(c));
  PQclear(r);
}

// Runs statement `name` with `params`; the value of `column` in its first row ("" when no row,
// nullopt on error).
std::optional<std::string> Exec(PGconn* c, const char* name, std::vector<const char*> params,
                                int column = 0) {
  PGresult* r = PQexecPrepared(c, name, int(params.size()), params.data(), nullptr, nullptr, 0);
  std::optional<std::string> out;
  if (PQresultStatus(r) == PGRES_TUPLES_OK) {
    out = PQntuples(r) > 0 ? PQgetvalue(r, 0, column) : "";
  }
  PQclear(r);
  return out;
}

}  // namespace

class PgFloorService::Call : public grpc::ServerGenericBidiReactor {
 public:
  Call(PgFloorService* service, bool write) : service_(service), write_(write) {
    StartRead(&request_);
  }
  void OnReadDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::INTERNAL, "no request"));
    const std::string id = ctg::ByteBufferToString(request_);
    PGconn* c = service_->AcquireConnection();
    std::optional<std::string> answer;
    if (write_) {
      const auto version = Exec(c, "org_find", {id.c_str()}, /*column=*/8);
      if (version) {
        answer = Exec(c, "org_update",
                      {id.c_str(), "Agglomération", "", "", "", "f", "", version->c_str()});
      }
    } else {
      answer = Exec(c, "org_find", {id.c_str()});
    }
    service_->ReleaseConnection(c);
    if (!answer) return Finish(grpc::Status(grpc::StatusCode::INTERNAL, "statement failed"));
    grpc::Slice slice(*answer);
    response_ = grpc::ByteBuffer(&slice, 1);
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  }
  void OnDone() override { delete this; }

 private:
  PgFloorService* const service_;
  const bool write_;
  grpc::ByteBuffer request_, response_;
};

PgFloorService::PgFloorService(const std::string& url) {
  for (int i = 0; i < 16; ++i) {
    PGconn* c = PQconnectdb(url.c_str());
    if (PQstatus(c) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(c));
    PQclear(PQexec(c, "SET search_path TO partners, public"));
    for (const auto& statement : ctg::partners::OrganisationStatements()) {
      const std::string_view name = statement.name;
      if (name == "org_find" || name == "org_update") Prepare(c, statement.name, statement.sql);
    }
    idle_.push_back(c);
  }
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
  builder.RegisterCallbackGenericService(this);
  server_ = builder.BuildAndStart();
}

PgFloorService::~PgFloorService() {
  server_->Shutdown();
  for (auto* c : idle_) PQfinish(c);
}

grpc::ServerGenericBidiReactor* PgFloorService::CreateReactor(
    grpc::GenericCallbackServerContext* ctx) {
  return new Call(this, ctx->method() == "/bench.Floor/Write");
}

PGconn* PgFloorService::AcquireConnection() {
  std::unique_lock lock(mu_);
  freed_.wait(lock, [this] { return !idle_.empty(); });
  PGconn* c = idle_.back();
  idle_.pop_back();
  return c;
}

void PgFloorService::ReleaseConnection(PGconn* c) {
  {
    std::lock_guard lock(mu_);
    idle_.push_back(c);
  }
  freed_.notify_one();
}

}  // namespace ctg::bench
