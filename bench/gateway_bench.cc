// gateway_bench: the request path next to the floors it compares with, measured in one run on
// this machine with the real binaries on a real PostgreSQL (CTG_TEST_ADMIN_URL, set by
// `./ctg bench`), each leg at 1 call in flight (latency) and 16 (throughput):
//   floors:   a bare gRPC echo server in process (the ceiling of a call); a libpq point read and a
//             libpq BEGIN/UPDATE/COMMIT; bare gRPC + libpq handlers running the service's own
//             statements for the read and the write (PgFloorService), in this process and as a
//             process (ctg-bare-pg-service); pgbench TPC-B-like; a bare TCP byte relay, a byte
//             relay process and a bare gRPC proxy process (ctg-bare-grpc-proxy) for the hop;
//   the path: PartnerService/GetOrganisation and UpdateOrganisation (etag chained) straight to
//             a ctg-partners process; the read and the echo through a ctg-gateway process (TLS
//             off on loopback, access log on);
//   memory:   ctg-partners' resident set after 10 k and 110 k calls.
// Then one line per target of issue 10 with its verdict, the floor of the same run and the ratio.
// CTG_BENCH_SECONDS sets the length of each run (default 3). CTG_BENCH_LEGS=hop or =service run
// one comparison in alternating rounds instead (CTG_BENCH_ROUNDS, default 5) and print medians.
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "common/rpc.h"
#include "ctg/partners/v1/partners.grpc.pb.h"
#include "e2e_support.h"
#include "gateway/loadgen.h"
#include "gateway/tests/echo_backend.h"
#include "pg_floor_service.h"

using namespace ctg;
using namespace ctg::e2e;
using namespace ctg::gateway;
using ctg::bench::PgFloorService;
using Serving = grpc::health::v1::HealthCheckResponse;
namespace pv1 = ::ctg::partners::v1;

namespace {

// Sum of the values of the Prometheus samples named `sample` whose labels contain `label`, read
// from a /metrics page.
double SumSamples(const std::string& page, const std::string& sample, const std::string& label) {
  double total = 0;
  size_t pos = 0;
  while ((pos = page.find("\n" + sample + "{", pos)) != std::string::npos) {
    const size_t end = page.find('\n', pos + 1);
    const std::string line = page.substr(pos + 1, end - pos - 1);
    if (line.find(label) != std::string::npos) {
      total += std::atof(line.substr(line.rfind(' ') + 1).c_str());
    }
    pos = end;
  }
  return total;
}

// Mean time per call the gateway spends on its own (admission, token, routing, copying headers,
// logging), from its metrics between two pages: time its server side held the call minus the
// time the backend took as the gateway saw it.
double GatewayOwnMicros(const std::string& before, const std::string& after,
                        const std::string& method) {
  const std::string label = "grpc_method=\"" + method + "\"";
  auto delta = [&](const char* sample) {
    return SumSamples(after, sample, label) - SumSamples(before, sample, label);
  };
  const double calls = delta("grpc_server_handling_seconds_count");
  if (calls <= 0) return 0;
  return (delta("grpc_server_handling_seconds_sum") - delta("grpc_client_handling_seconds_sum")) /
         calls * 1e6;
}

// The cheapest possible out-of-process hop: a TCP relay that copies bytes between each client
// connection and its own connection to `target_port`, one thread per connection, no parsing.
// Its added latency is the floor under any proxy on this machine.
class TcpRelay {
 public:
  explicit TcpRelay(int target_port) : target_port_(target_port) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = Loopback(0);
    socklen_t len = sizeof(addr);
    bind(listener_, reinterpret_cast<sockaddr*>(&addr), len);
    listen(listener_, 64);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~TcpRelay() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : pipes_) t.join();
    close(listener_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  static sockaddr_in Loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    return addr;
  }
  void Accept() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int client = accept(listener_, nullptr, nullptr);
      if (client < 0) continue;
      const int server = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in target = Loopback(target_port_);
      if (connect(server, reinterpret_cast<sockaddr*>(&target), sizeof(target)) != 0) {
        close(client);
        close(server);
        continue;
      }
      const int one = 1;
      setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      pipes_.emplace_back([this, client, server] { Pipe(client, server); });
    }
  }
  void Pipe(int a, int b) {
    char buffer[65536];
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    while (!stop_) {
      if (poll(fds, 2, 50) <= 0) continue;
      bool closed = false;
      for (int i = 0; i < 2 && !closed; ++i) {
        if (fds[i].revents == 0) continue;
        const ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
        if (n <= 0) {
          closed = true;
          break;
        }
        for (ssize_t sent = 0; sent < n;) {
          const ssize_t w = write(fds[1 - i].fd, buffer + sent, n - sent);
          if (w <= 0) {
            closed = true;
            break;
          }
          sent += w;
        }
      }
      if (closed) break;
    }
    close(a);
    close(b);
  }

  const int target_port_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> pipes_;  // only the acceptor thread adds to it
};

// One keep-alive HTTP/1.1 connection per caller to the gateway's browser listener, each call a
// Connect unary call in JSON (what the console sends).
class ConnectCaller {
 public:
  ConnectCaller(int port, std::string path, std::string body, std::string token)
      : stream_(ioc_), path_(std::move(path)), body_(std::move(body)), token_(std::move(token)) {
    stream_.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                                   static_cast<unsigned short>(port)));
    stream_.socket().set_option(boost::asio::ip::tcp::no_delay(true));
  }
  bool Call() {
    namespace http = boost::beast::http;
    http::request<http::string_body> req{http::verb::post, path_, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    req.set("Connect-Protocol-Version", "1");
    req.set(http::field::authorization, "Bearer " + token_);
    req.body() = body_;
    req.prepare_payload();
    boost::beast::error_code ec;
    http::write(stream_, req, ec);
    if (ec) return false;
    http::response<http::string_body> res;
    http::read(stream_, buffer_, res, ec);
    return !ec && res.result_int() == 200;
  }

 private:
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  const std::string path_, body_, token_;
};

void Print(const char* label, const LoadResult& r) {
  std::printf("%-40s %s\n", label, FormatLoadResult(r).c_str());
  if (!r.first_error.empty()) std::printf("  first error: %s\n", r.first_error.c_str());
}

// Latencies of a closed loop of `threads` callers each running `call(thread)` for `seconds`
// (after a 0.3 s warm-up), as a LoadResult.
LoadResult ClosedLoop(int threads, int seconds, const std::function<bool(int)>& call) {
  std::atomic<bool> measuring{false}, stop{false};
  std::vector<std::vector<double>> latencies(threads);
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      while (!stop) {
        const auto start = std::chrono::steady_clock::now();
        const bool ok = call(t);
        const double us =
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                .count();
        if (!measuring) continue;
        if (ok) {
          latencies[t].push_back(us);
        } else {
          ++errors;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  measuring = true;
  const auto begin = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  measuring = false;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  stop = true;
  for (auto& w : workers) w.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  LoadResult r;
  r.calls = static_cast<int64_t>(all.size());
  r.errors = errors;
  r.seconds = elapsed;
  r.qps = all.size() / elapsed;
  auto at = [&all](double q) { return all.empty() ? 0 : all[size_t(q * (all.size() - 1))]; };
  r.p50_us = at(0.5);
  r.p90_us = at(0.9);
  r.p99_us = at(0.99);
  r.max_us = all.empty() ? 0 : all.back();
  return r;
}

// One libpq connection to `url` per caller, with `sql` prepared as "s".
struct PgClients {
  std::vector<PGconn*> conns;
  PgClients(const std::string& url, int n, const char* sql) {
    for (int i = 0; i < n; ++i) {
      PGconn* c = PQconnectdb(url.c_str());
      if (PQstatus(c) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(c));
      PGresult* r = PQprepare(c, "s", sql, 0, nullptr);
      if (PQresultStatus(r) != PGRES_COMMAND_OK) throw std::runtime_error(PQerrorMessage(c));
      PQclear(r);
      conns.push_back(c);
    }
  }
  ~PgClients() {
    for (auto* c : conns) PQfinish(c);
  }
  // Runs "s" with `params` on caller `i`; true when it succeeded.
  bool Exec(int i, const std::vector<std::string>& params) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    PGresult* r =
        PQexecPrepared(conns[i], "s", int(values.size()), values.data(), nullptr, nullptr, 0);
    const auto status = PQresultStatus(r);
    PQclear(r);
    return status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK;
  }
  bool Exec(int i, const char* sql) {
    PGresult* r = PQexec(conns[i], sql);
    const auto status = PQresultStatus(r);
    PQclear(r);
    return status == PGRES_COMMAND_OK;
  }
};

// A floor binary of the benchmark (bench/bare_grpc_proxy.cc, bench/bare_byte_relay.cc,
// bench/bare_pg_service.cc) as a child process, listening on the port it writes to its port file.
class FloorProcess {
 public:
  FloorProcess(const std::string& binary, const std::string& target_flag) {
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{binary, target_flag, "--port-file=" + dir_.File("ports")},
        CleanEnvironment(), dir_.File("floor.log"));
    port_ = WaitForPortFile(*process_, dir_.File("ports"), dir_.File("floor.log"), binary).first;
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return process_->pid(); }

 private:
  TempDir dir_;
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

// The bare gRPC proxy in front of `target`: the gateway's unary path with nothing else.
FloorProcess BareProxyProcess(const std::string& target) {
  return FloorProcess(CTG_BARE_GRPC_PROXY_BINARY, "--target=" + target);
}

// The service floor in a process of its own (bench/bare_pg_service.cc) on `database_url`.
FloorProcess PgServiceProcess(const std::string& database_url) {
  return FloorProcess(CTG_BARE_PG_SERVICE_BINARY, "--database-url=" + database_url);
}

// Rounds of the alternating modes (CTG_BENCH_ROUNDS, default 5).
int Rounds() {
  const char* rounds = std::getenv("CTG_BENCH_ROUNDS");
  return rounds ? std::max(1, std::atoi(rounds)) : 5;
}

// The median of `v` (0 when empty).
double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t mid = v.size() / 2;
  return v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// The byte relay in front of `target_port`: the relay's I/O with nothing else.
FloorProcess ByteRelayProcess(int target_port) {
  return FloorProcess(CTG_BARE_BYTE_RELAY_BINARY, "--target-port=" + std::to_string(target_port));
}

// CPU time (user + system) `pid` has used so far, in microseconds.
double CpuMicros(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  const char* which = std::getenv("CTG_BENCH_CPU");  // "user" or "system" alone, to see the split
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    const bool user = i == 14, system = i == 15;
    if ((user && (!which || std::string(which) == "user")) ||
        (system && (!which || std::string(which) == "system"))) {
      ticks += std::atof(field.c_str());
    }
  }
  return ticks * 1e6 / double(sysconf(_SC_CLK_TCK));
}

// The resident set of process `pid`, in KiB (VmRSS of /proc/<pid>/status).
long RssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

// pgbench's TPC-B-like run (16 clients, prepared) on a database of its own; its tps, or 0 when
// pgbench cannot run. The server is the one of CTG_TEST_ADMIN_URL.
double PgbenchTpcb(const EmptyDatabase& db, int seconds) {
  if (RunPgbench(db.url(), {"-i", "-q", "-s", "1"}, 120).exit_code != 0) return 0;
  return RunPgbench(db.url(),
                    {"-n", "-M", "prepared", "-c", "16", "-j", "2", "-T", std::to_string(seconds)},
                    seconds + 60)
      .tps;
}

}  // namespace

int main() {
  const int seconds =
      std::getenv("CTG_BENCH_SECONDS") ? std::atoi(std::getenv("CTG_BENCH_SECONDS")) : 3;
  EmptyDatabase db;
  PartnersProcess partners(db.url(), {"--workers=8", "--db-pool-size=8"});
  if (!partners.WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) {
    std::fprintf(stderr, "ctg-partners did not become healthy: %s\n", partners.log().c_str());
    return 1;
  }
  gateway::testing::EchoBackend echo("bench");
  const std::string routes = PartnersRoutes({partners.address()}) +
                             "ctg.testing.v1.EchoService = " + echo.address() + "\n";
  // CTG_BENCH_GATEWAY_FLAGS: more flags for the gateway under test (one word each, e.g.
  // "--access-log=false"), to see what a setting costs; said in the output when set.
  std::vector<std::string> gateway_flags = {"--rate-limit-rps=0"};
  if (const char* extra = std::getenv("CTG_BENCH_GATEWAY_FLAGS")) {
    std::istringstream words(extra);
    for (std::string w; words >> w;) gateway_flags.push_back(w);
    std::printf("ctg-gateway runs with CTG_BENCH_GATEWAY_FLAGS: %s\n", extra);
  }
  GatewayProcess gateway(routes, partners.key_file(), gateway_flags);
  if (!gateway.WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) {
    std::fprintf(stderr, "ctg-gateway did not become healthy: %s\n", gateway.log().c_str());
    return 1;
  }

  // The organisation the read RPC fetches.
  const std::string token = Token({"registry_admin"});
  pv1::CreateOrganisationRequest create;
  create.mutable_organisation()->set_kind(pv1::CAF);
  create.mutable_organisation()->set_display_name("Caf de Lot-et-Garonne");
  pv1::Organisation organisation;
  auto stub = pv1::PartnerService::NewStub(partners.channel());
  if (auto s = stub->CreateOrganisation(Context(token).get(), create, &organisation); !s.ok()) {
    std::fprintf(stderr, "cannot create the organisation: %s\n", s.error_message().c_str());
    return 1;
  }
  pv1::GetOrganisationRequest get;
  get.set_name(organisation.name());
  const std::string read_request = get.SerializeAsString();
  const std::string read = "/ctg.partners.v1.PartnerService/GetOrganisation";
  const std::string echo_method = "/ctg.testing.v1.EchoService/Echo";

  // CTG_BENCH_LEGS=hop: only the gateway's hop at one call in flight, next to its floors, in
  // rounds alternating bare echo, the out-of-process byte relay and the gateway (the figure the
  // full run measures once), then the medians: to see what a change of the relay does, on a
  // noisy machine, in a minute.
  if (const char* legs = std::getenv("CTG_BENCH_LEGS"); legs && std::string(legs) == "hop") {
    const FloorProcess relay = ByteRelayProcess(echo.port());
    std::vector<double> bare, relayed, gatewayed;
    const int rounds = Rounds();
    for (int round = 0; round < rounds; ++round) {
      const auto e = RunFor(echo.address(), echo_method, "", token, 1, seconds);
      const double relay_cpu = CpuMicros(relay.pid());
      const auto r = RunFor(relay.address(), echo_method, "", token, 1, seconds);
      const double gateway_cpu = CpuMicros(gateway.process().pid());
      const auto g = RunFor(gateway.address(), echo_method, "", token, 1, seconds);
      // CPU per call, warm-up calls included in the numerator (a few percent more calls).
      std::printf(
          "round %d: echo p50 %.0f us; byte relay process adds %.0f us (%.0f us of CPU a call), "
          "gateway adds %.0f us (%.0f us of CPU a call)\n",
          round + 1, e.p50_us, r.p50_us - e.p50_us,
          (CpuMicros(relay.pid()) - relay_cpu) / std::max<int64_t>(1, r.calls), g.p50_us - e.p50_us,
          (CpuMicros(gateway.process().pid()) - gateway_cpu) / std::max<int64_t>(1, g.calls));
      if (e.errors + r.errors + g.errors > 0) {
        std::fprintf(stderr, "calls failed: %s%s%s\n", e.first_error.c_str(), r.first_error.c_str(),
                     g.first_error.c_str());
        return 1;
      }
      bare.push_back(e.p50_us);
      relayed.push_back(r.p50_us - e.p50_us);
      gatewayed.push_back(g.p50_us - e.p50_us);
    }
    std::printf(
        "hop, 1 in flight, medians of %d rounds: echo p50 %.0f us; the byte relay process adds "
        "%.0f us, the gateway %.0f us (%.2f x)\n",
        rounds, Median(bare), Median(relayed), Median(gatewayed),
        Median(gatewayed) / std::max(1.0, Median(relayed)));
    return 0;
  }

  const auto echo1 = RunFor(echo.address(), echo_method, "", token, 1, seconds);
  const auto echo16 = RunFor(echo.address(), echo_method, "", token, 16, seconds);
  LoadResult echo_relay1, echo_process_relay1, echo_process_relay16;
  {
    TcpRelay relay(echo.port());
    echo_relay1 = RunFor(relay.address(), echo_method, "", token, 1, seconds);
  }
  {
    const FloorProcess relay = ByteRelayProcess(echo.port());
    echo_process_relay1 = RunFor(relay.address(), echo_method, "", token, 1, seconds);
    echo_process_relay16 = RunFor(relay.address(), echo_method, "", token, 16, seconds);
  }
  const auto direct1 = RunFor(partners.address(), read, read_request, token, 1, seconds);
  const auto direct16 = RunFor(partners.address(), read, read_request, token, 16, seconds);
  const std::string metrics_before = HttpGet(gateway.metrics_port(), "/metrics");
  const auto via1 = RunFor(gateway.address(), read, read_request, token, 1, seconds);
  const std::string metrics_after = HttpGet(gateway.metrics_port(), "/metrics");
  const auto via16 = RunFor(gateway.address(), read, read_request, token, 16, seconds);
  // The same read through the gateway's browser listener: Connect, JSON, HTTP/1.1 keep-alive.
  auto connect_load = [&](int callers) {
    std::vector<std::unique_ptr<ConnectCaller>> conns;
    for (int i = 0; i < callers; ++i) {
      conns.push_back(std::make_unique<ConnectCaller>(
          gateway.http_port(), read, "{\"name\": \"" + organisation.name() + "\"}", token));
    }
    return ClosedLoop(callers, seconds, [&](int t) { return conns[t]->Call(); });
  };
  const auto connect1 = connect_load(1);
  const auto connect16 = connect_load(16);
  const auto echo_via1 = RunFor(gateway.address(), echo_method, "", token, 1, seconds);
  const auto echo_via16 = RunFor(gateway.address(), echo_method, "", token, 16, seconds);
  // The gateway's floor: the same hops through a bare gRPC proxy process (same API, nothing else).
  LoadResult echo_bare1, echo_bare16, read_bare1, read_bare16;
  {
    const FloorProcess to_echo = BareProxyProcess(echo.address());
    const FloorProcess to_partners = BareProxyProcess(partners.address());
    WaitForHealth(grpc::CreateChannel(to_partners.address(), grpc::InsecureChannelCredentials()),
                  Serving::SERVING, std::chrono::seconds(10));
    echo_bare1 = RunFor(to_echo.address(), echo_method, "", token, 1, seconds);
    echo_bare16 = RunFor(to_echo.address(), echo_method, "", token, 16, seconds);
    read_bare1 = RunFor(to_partners.address(), read, read_request, token, 1, seconds);
    read_bare16 = RunFor(to_partners.address(), read, read_request, token, 16, seconds);
  }

  // The same gateway with the terminating proxy on its public port (--h2-relay=false), as it
  // was before the relay: what the relay is compared with.
  LoadResult echo_proxy1, echo_proxy16, read_proxy1, read_proxy16;
  {
    GatewayProcess proxy_only(routes, partners.key_file(),
                              {"--rate-limit-rps=0", "--h2-relay=false"});
    if (!proxy_only.WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) {
      std::fprintf(stderr, "ctg-gateway --h2-relay=false did not become healthy: %s\n",
                   proxy_only.log().c_str());
      return 1;
    }
    echo_proxy1 = RunFor(proxy_only.address(), echo_method, "", token, 1, seconds);
    echo_proxy16 = RunFor(proxy_only.address(), echo_method, "", token, 16, seconds);
    read_proxy1 = RunFor(proxy_only.address(), read, read_request, token, 1, seconds);
    read_proxy16 = RunFor(proxy_only.address(), read, read_request, token, 16, seconds);
  }

  // ---- floors on the same database: a point read and a one-row UPDATE transaction, libpq
  const std::string id = organisation.name().substr(organisation.name().find('/') + 1);
  LoadResult point1, point16, update1, update16;
  {
    PgClients reads(db.url(), 16, "SELECT * FROM partners.organisations WHERE id = $1::uuid");
    point1 = ClosedLoop(1, seconds, [&](int t) { return reads.Exec(t, {id}); });
    point16 = ClosedLoop(16, seconds, [&](int t) { return reads.Exec(t, {id}); });
  }
  // The write leg: UpdateOrganisation with the etag of the previous answer, one organisation
  // per caller (so callers never wait on each other's row).
  std::vector<pv1::Organisation> targets(16);
  for (int t = 0; t < 16; ++t) {
    pv1::CreateOrganisationRequest c;
    c.mutable_organisation()->set_kind(pv1::EPCI);
    c.mutable_organisation()->set_display_name("Agglomération " + std::to_string(t));
    if (!stub->CreateOrganisation(Context(token).get(), c, &targets[t]).ok()) return 1;
  }
  {
    PgClients writes(db.url(), 16,
                     "UPDATE partners.organisations SET display_name = $2 WHERE id = $1::uuid");
    auto txn = [&](int t) {
      const auto& name = targets[t].name();
      return writes.Exec(t, "BEGIN") &&
             writes.Exec(t, {name.substr(name.find('/') + 1), "x" + std::to_string(t)}) &&
             writes.Exec(t, "COMMIT");
    };
    update1 = ClosedLoop(1, seconds, txn);
    update16 = ClosedLoop(16, seconds, txn);
  }
  // Each caller updates its own organisation with the etag of its previous answer, through the
  // same load generator as the other legs.
  std::vector<std::string> etags(16);
  for (int t = 0; t < 16; ++t) etags[t] = targets[t].etag();
  std::vector<int64_t> counters(16, 0);
  auto write_run = [&](int concurrency) {
    LoadSpec spec;
    grpc::ChannelArguments args;
    args.SetInt("bench.channel", 100 + concurrency);
    spec.channel =
        grpc::CreateCustomChannel(partners.address(), grpc::InsecureChannelCredentials(), args);
    spec.method = "/ctg.partners.v1.PartnerService/UpdateOrganisation";
    spec.token = token;
    spec.concurrency = concurrency;
    spec.duration = std::chrono::seconds(seconds);
    spec.make_request = [&](int t) {
      pv1::UpdateOrganisationRequest req;
      req.mutable_organisation()->set_name(targets[t].name());
      req.mutable_organisation()->set_etag(etags[t]);
      req.mutable_organisation()->set_display_name("Agglomération " + std::to_string(t) + "." +
                                                   std::to_string(++counters[t] % 1000));
      req.mutable_update_mask()->add_paths("display_name");
      return req.SerializeAsString();
    };
    spec.take_response = [&](int t, const std::string& bytes) {
      pv1::Organisation out;
      if (out.ParseFromString(bytes)) etags[t] = out.etag();
    };
    return RunLoad(spec);
  };
  // The floors' legs (PgFloorService at `address`): the same organisations as the real legs.
  auto floor_read = [&](const std::string& address, int concurrency) {
    return RunFor(address, "/bench.Floor/Read", id, token, concurrency, seconds);
  };
  auto floor_write = [&](const std::string& address, int concurrency) {
    LoadSpec spec;
    spec.channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    spec.method = "/bench.Floor/Write";
    spec.token = token;
    spec.concurrency = concurrency;
    spec.duration = std::chrono::seconds(seconds);
    spec.make_request = [&](int t) {
      const auto& name = targets[t].name();
      return name.substr(name.find('/') + 1);
    };
    return RunLoad(spec);
  };
  // CTG_BENCH_LEGS=service: only the read and the write at one call in flight, in rounds
  // alternating ctg-partners and the out-of-process floor, then the medians.
  if (const char* legs = std::getenv("CTG_BENCH_LEGS"); legs && std::string(legs) == "service") {
    const FloorProcess floor = PgServiceProcess(db.url());
    std::vector<double> read_ratio, write_ratio, reads, writes, floor_reads, floor_writes;
    const int rounds = Rounds();
    for (int round = 0; round < rounds; ++round) {
      const auto r = RunFor(partners.address(), read, read_request, token, 1, seconds);
      const auto fr = floor_read(floor.address(), 1);
      // The floor's writes moved the versions on: the etags are read again.
      for (int t = 0; t < 16; ++t) {
        pv1::GetOrganisationRequest get_target;
        get_target.set_name(targets[t].name());
        pv1::Organisation current;
        if (stub->GetOrganisation(Context(token).get(), get_target, &current).ok()) {
          etags[t] = current.etag();
        }
      }
      const auto w = write_run(1);
      const auto fw = floor_write(floor.address(), 1);
      if (r.errors + fr.errors + w.errors + fw.errors > 0) {
        std::fprintf(stderr, "calls failed: %s%s%s%s\n", r.first_error.c_str(),
                     fr.first_error.c_str(), w.first_error.c_str(), fw.first_error.c_str());
        return 1;
      }
      std::printf(
          "round %d: GetOrganisation p50 %.0f us, floor process %.0f us (%.2f x); "
          "UpdateOrganisation p50 %.0f us, floor process %.0f us (%.2f x)\n",
          round + 1, r.p50_us, fr.p50_us, r.p50_us / fr.p50_us, w.p50_us, fw.p50_us,
          w.p50_us / fw.p50_us);
      reads.push_back(r.p50_us);
      floor_reads.push_back(fr.p50_us);
      writes.push_back(w.p50_us);
      floor_writes.push_back(fw.p50_us);
      read_ratio.push_back(r.p50_us / fr.p50_us);
      write_ratio.push_back(w.p50_us / fw.p50_us);
    }
    std::printf(
        "service, 1 in flight, medians of %d rounds: GetOrganisation %.0f us vs floor process "
        "%.0f us (%.2f x); UpdateOrganisation %.0f us vs floor process %.0f us (%.2f x)\n",
        rounds, Median(reads), Median(floor_reads), Median(read_ratio), Median(writes),
        Median(floor_writes), Median(write_ratio));
    return 0;
  }
  const auto write1 = write_run(1);
  const auto write16 = write_run(16);
  // The service floor: bare gRPC handlers running the same statements with libpq, in this
  // process (like the echo ceiling) and in a process of their own (like ctg-partners).
  LoadResult floor_read1, floor_read16, floor_write1, floor_write16;
  {
    PgFloorService floor(db.url());
    floor_read1 = floor_read(floor.address(), 1);
    floor_read16 = floor_read(floor.address(), 16);
    floor_write1 = floor_write(floor.address(), 1);
    floor_write16 = floor_write(floor.address(), 16);
  }
  LoadResult process_read1, process_read16, process_write1, process_write16;
  {
    const FloorProcess floor = PgServiceProcess(db.url());
    process_read1 = floor_read(floor.address(), 1);
    process_read16 = floor_read(floor.address(), 16);
    process_write1 = floor_write(floor.address(), 1);
    process_write16 = floor_write(floor.address(), 16);
  }
  const double pgbench_tps = PgbenchTpcb(db, seconds);

  // ---- memory: the service's resident set after 10 k and after 100 k more calls
  const pid_t pid = partners.process().pid();
  auto calls = [&](int64_t n) {
    LoadSpec spec;
    spec.channel = partners.channel();
    spec.method = read;
    spec.request = read_request;
    spec.token = token;
    spec.concurrency = 16;
    spec.duration = std::chrono::hours(1);
    spec.max_calls = n;
    spec.warmup = std::chrono::milliseconds(0);
    return RunLoad(spec);
  };
  calls(10000);
  const long rss_10k = RssKib(pid);
  calls(100000);
  const long rss_110k = RssKib(pid);

  Print("bare echo (ceiling),        1 in flight", echo1);
  Print("bare echo (ceiling),       16 in flight", echo16);
  Print("libpq point read (floor),   1 in flight", point1);
  Print("libpq point read (floor),  16 in flight", point16);
  Print("libpq UPDATE txn (floor),   1 in flight", update1);
  Print("libpq UPDATE txn (floor),  16 in flight", update16);
  Print("bare gRPC + libpq read (floor),  1", floor_read1);
  Print("bare gRPC + libpq read (floor), 16", floor_read16);
  Print("bare gRPC + libpq write (floor), 1", floor_write1);
  Print("bare gRPC + libpq write (floor),16", floor_write16);
  Print("same floor as a process: read,  1", process_read1);
  Print("same floor as a process: read, 16", process_read16);
  Print("same floor as a process: write, 1", process_write1);
  Print("same floor as a process: write,16", process_write16);
  Print("GetOrganisation direct,     1 in flight", direct1);
  Print("GetOrganisation direct,    16 in flight", direct16);
  Print("UpdateOrganisation direct,  1 in flight", write1);
  Print("UpdateOrganisation direct, 16 in flight", write16);
  Print("GetOrganisation via gateway, 1 in flight", via1);
  Print("GetOrganisation via gateway,16 in flight", via16);
  Print("GetOrganisation via Connect JSON, 1", connect1);
  Print("GetOrganisation via Connect JSON,16", connect16);
  Print("echo via gateway,           1 in flight", echo_via1);
  Print("echo via a bare TCP relay,  1 in flight", echo_relay1);
  Print("echo via gateway,          16 in flight", echo_via16);
  Print("echo via a byte relay process,    1", echo_process_relay1);
  Print("echo via a byte relay process,   16", echo_process_relay16);
  Print("echo via bare gRPC proxy,    1 in flight", echo_bare1);
  Print("echo via bare gRPC proxy,   16 in flight", echo_bare16);
  Print("GetOrganisation via bare proxy,   1", read_bare1);
  Print("GetOrganisation via bare proxy,  16", read_bare16);
  Print("echo via gateway, proxy alone,    1", echo_proxy1);
  Print("echo via gateway, proxy alone,   16", echo_proxy16);
  Print("GetOrganisation, proxy alone,     1", read_proxy1);
  Print("GetOrganisation, proxy alone,    16", read_proxy16);
  std::printf("pgbench TPC-B-like (16 clients, prepared): %.0f tps\n\n", pgbench_tps);

  auto verdict = [](bool met) { return met ? "met" : "NOT met"; };
  // Each target as the issue states it, then the same figure for the bare floor measured in this
  // run (what gRPC and libpq alone cost here), and how far the real binary is from that floor.
  const double read_target = echo1.p50_us + 2 * point1.p50_us;
  std::printf(
      "read, 1 in flight: GetOrganisation p50 %.0f us; target <= echo %.0f + 2 x point "
      "read %.0f = %.0f us: %s; bare gRPC + libpq floor %.0f us (%.2f x floor), as a process "
      "%.0f us (%.2f x)\n",
      direct1.p50_us, echo1.p50_us, point1.p50_us, read_target,
      verdict(direct1.p50_us <= read_target), floor_read1.p50_us,
      direct1.p50_us / floor_read1.p50_us, process_read1.p50_us,
      direct1.p50_us / process_read1.p50_us);
  std::printf(
      "read, 16 in flight: %.0f calls/s = %.2f x bare echo (target >= 0.30): %s; floor %.0f "
      "calls/s = %.2f x echo\n",
      direct16.qps, direct16.qps / echo16.qps, verdict(direct16.qps >= 0.3 * echo16.qps),
      floor_read16.qps, floor_read16.qps / echo16.qps);
  const double write_target = echo1.p50_us + 1.5 * update1.p50_us;
  std::printf(
      "write, 1 in flight: UpdateOrganisation p50 %.0f us; target <= echo %.0f + 1.5 x "
      "UPDATE txn %.0f = %.0f us: %s; bare gRPC + libpq floor %.0f us (%.2f x floor), as a "
      "process %.0f us (%.2f x)\n",
      write1.p50_us, echo1.p50_us, update1.p50_us, write_target,
      verdict(write1.p50_us <= write_target), floor_write1.p50_us,
      write1.p50_us / floor_write1.p50_us, process_write1.p50_us,
      write1.p50_us / process_write1.p50_us);
  std::printf(
      "write, 16 in flight: %.0f calls/s (floor %.0f/s, as a process %.0f/s, libpq UPDATE txn "
      "%.0f/s, pgbench TPC-B %.0f tps)\n",
      write16.qps, floor_write16.qps, process_write16.qps, update16.qps, pgbench_tps);
  const double relay_added = echo_relay1.p50_us - echo1.p50_us;
  const double gateway_added = echo_via1.p50_us - echo1.p50_us;
  const double bare_added = echo_bare1.p50_us - echo1.p50_us;
  std::printf(
      "gateway, 1 in flight: adds %.0f us p50 to echo; a bare TCP relay adds %.0f us; "
      "target <= 2 x relay = %.0f us: %s; a bare gRPC proxy adds %.0f us (gateway %.2f x "
      "that; its own processing: %.0f us per call)\n",
      gateway_added, relay_added, 2 * relay_added, verdict(gateway_added <= 2 * relay_added),
      bare_added, gateway_added / std::max(1.0, bare_added),
      GatewayOwnMicros(metrics_before, metrics_after, "GetOrganisation"));
  const double process_relay_added = echo_process_relay1.p50_us - echo1.p50_us;
  std::printf(
      "gateway, 1 in flight, against an out-of-process byte relay on one Asio loop (the relay's "
      "I/O without HTTP/2 or the gateway's work): it adds %.0f us, the gateway %.2f x that; at "
      "16 in flight it keeps %.2f x bare echo, the gateway %.2f x its throughput\n",
      process_relay_added, gateway_added / std::max(1.0, process_relay_added),
      echo_process_relay16.qps / echo16.qps, echo_via16.qps / echo_process_relay16.qps);
  std::printf(
      "gateway, 16 in flight: echo %.2f x bare (target >= 0.60): %s, bare gRPC proxy %.2f x; "
      "GetOrganisation %.2f x direct (target >= 0.85): %s, bare gRPC proxy %.2f x\n",
      echo_via16.qps / echo16.qps, verdict(echo_via16.qps >= 0.6 * echo16.qps),
      echo_bare16.qps / echo16.qps, via16.qps / direct16.qps,
      verdict(via16.qps >= 0.85 * direct16.qps), read_bare16.qps / direct16.qps);
  std::printf(
      "gateway's relay against its terminating proxy alone (--h2-relay=false): echo adds %.0f "
      "vs %.0f us at 1 in flight, %.0f vs %.0f calls/s at 16; GetOrganisation %.0f vs %.0f us, "
      "%.0f vs %.0f calls/s\n",
      gateway_added, echo_proxy1.p50_us - echo1.p50_us, echo_via16.qps, echo_proxy16.qps,
      via1.p50_us, read_proxy1.p50_us, via16.qps, read_proxy16.qps);
  std::printf(
      "Connect listener: GetOrganisation in JSON p50 %.0f us = %.2f x over gRPC through the "
      "gateway (target <= 1.5): %s; %.0f calls/s at 16 = %.2f x gRPC (target >= 0.6): %s\n",
      connect1.p50_us, connect1.p50_us / via1.p50_us, verdict(connect1.p50_us <= 1.5 * via1.p50_us),
      connect16.qps, connect16.qps / via16.qps, verdict(connect16.qps >= 0.6 * via16.qps));
  std::printf(
      "memory: ctg-partners resident set %ld KiB after 10 k calls, %ld KiB after 110 k "
      "(%+.1f %%, target within 10 %%): %s\n",
      rss_10k, rss_110k, 100.0 * (rss_110k - rss_10k) / std::max(1L, rss_10k),
      verdict(std::abs(rss_110k - rss_10k) <= rss_10k / 10));
  const int64_t errors =
      echo_relay1.errors + echo1.errors + echo16.errors + direct1.errors + direct16.errors +
      via1.errors + via16.errors + echo_via1.errors + echo_via16.errors + write1.errors +
      write16.errors + echo_bare1.errors + echo_bare16.errors + read_bare1.errors +
      read_bare16.errors + floor_read1.errors + floor_read16.errors + floor_write1.errors +
      floor_write16.errors + process_read1.errors + process_read16.errors + process_write1.errors +
      process_write16.errors + connect1.errors + connect16.errors + echo_proxy1.errors +
      echo_proxy16.errors + read_proxy1.errors + read_proxy16.errors + echo_process_relay1.errors +
      echo_process_relay16.errors;
  std::printf(
      "errors: %lld (target 0); authentication, authorization, access log, metrics and "
      "request ids on in every leg\n",
      static_cast<long long>(errors));
  return 0;
}
