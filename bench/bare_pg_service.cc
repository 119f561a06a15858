// ctg-bare-pg-service: the floor under a service's read and write RPC, in a process of its own
// the way ctg-partners runs, for gateway_bench (PgFloorService: bare gRPC + libpq, the partners
// service's own statements, nothing else).
//   ctg-bare-pg-service --database-url=URL --port-file=FILE
// Listens on a free loopback port, written to FILE as "<port> 0\n" (see WritePortFile); serves
// until killed.
#include <chrono>
#include <thread>

#include "common/process.h"
#include "floor_flags.h"
#include "pg_floor_service.h"

int main(int argc, char** argv) {
  const auto flags = ctg::bench::RequiredFlagsOrExit(
      argc, argv,
      {{"database-url", "CTG_BARE_PG_DATABASE_URL"}, {"port-file", "CTG_BARE_PG_PORT_FILE"}},
      "ctg-bare-pg-service --database-url=URL --port-file=FILE");
  ctg::bench::PgFloorService service(flags[0]);
  ctg::WritePortFile(flags[1], service.port(), 0);
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}
