// ctg-bare-pg-service: the floor under a service's read and write RPC, in a process of its own
// the way ctg-partners runs, for gateway_bench (PgFloorService: bare gRPC + libpq, the partners
// service's own statements, nothing else).
//   ctg-bare-pg-service --database-url=URL --port-file=FILE
// Listens on a free loopback port, written to FILE as "<port> 0\n" (see WritePortFile); serves
// until killed.
#include <cstdio>
#include <string>
#include <thread>

#include "common/process.h"
#include "pg_floor_service.h"

int main(int argc, char** argv) {
  std::string url, port_file;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--database-url=", 0) == 0) url = arg.substr(15);
    if (arg.rfind("--port-file=", 0) == 0) port_file = arg.substr(12);
  }
  if (url.empty() || port_file.empty()) {
    std::fprintf(stderr, "usage: ctg-bare-pg-service --database-url=URL --port-file=FILE\n");
    return 2;
  }
  ctg::bench::PgFloorService service(url);
  ctg::WritePortFile(port_file, service.port(), 0);
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}
