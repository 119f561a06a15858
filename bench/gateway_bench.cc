// gateway_bench: what the gateway costs, measured in one run on this machine with the real
// binaries on a real PostgreSQL (CTG_TEST_ADMIN_URL, set by `./ctg bench`):
//   1. a bare gRPC echo server, in process (the ceiling of this machine);
//   2. a read RPC (PartnerService/GetOrganisation) sent straight to a ctg-partners process;
//   3. the same read through a ctg-gateway process (TLS off on loopback, access log on);
//   4. the echo call through the same gateway (the gateway's cost on a backend that does nothing);
//   5. the echo call through a bare TCP byte relay (the floor under any proxy on this machine).
// Each at one call in flight (latency) and at 16 (throughput), then the ratios against the
// issue's targets: throughput through the gateway >= 60% of direct, added p50 < 150 us, no error.
// The added latency is split, from the gateway's own metrics, into its processing and the extra
// network hop that any out-of-process proxy costs (about one bare round trip).
// CTG_BENCH_SECONDS sets the length of each run (default 3).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "ctg/partners/v1/partners.grpc.pb.h"
#include "e2e_support.h"
#include "gateway/loadgen.h"
#include "gateway/tests/echo_backend.h"

using namespace ctg;
using namespace ctg::e2e;
using namespace ctg::gateway;
using Serving = grpc::health::v1::HealthCheckResponse;
namespace pv1 = ::ctg::partners::v1;

namespace {

LoadResult Run(const std::string& target, const std::string& method, const std::string& request,
               const std::string& token, int concurrency, int seconds) {
  LoadSpec spec;
  grpc::ChannelArguments args;
  args.SetInt("bench.channel", concurrency);  // a fresh connection per run
  spec.channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  spec.method = method;
  spec.request = request;
  spec.token = token;
  spec.concurrency = concurrency;
  spec.duration = std::chrono::seconds(seconds);
  return RunLoad(spec);
}

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

void Print(const char* label, const LoadResult& r) {
  std::printf("%-40s %s\n", label, FormatLoadResult(r).c_str());
  if (!r.first_error.empty()) std::printf("  first error: %s\n", r.first_error.c_str());
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
  GatewayProcess gateway(PartnersRoutes({partners.address()}) +
                             "ctg.testing.v1.EchoService = " + echo.address() + "\n",
                         partners.key_file(), {"--rate-limit-rps=0"});
  if (!gateway.WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) {
    std::fprintf(stderr, "ctg-gateway did not become healthy: %s\n", gateway.log().c_str());
    return 1;
  }

  // The organisation the read RPC fetches.
  const std::string token = Token({"copil_secretariat"});
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

  const auto echo1 = Run(echo.address(), echo_method, "", token, 1, seconds);
  const auto echo16 = Run(echo.address(), echo_method, "", token, 16, seconds);
  LoadResult echo_relay1;
  {
    TcpRelay relay(echo.port());
    echo_relay1 = Run(relay.address(), echo_method, "", token, 1, seconds);
  }
  const auto direct1 = Run(partners.address(), read, read_request, token, 1, seconds);
  const auto direct16 = Run(partners.address(), read, read_request, token, 16, seconds);
  const std::string metrics_before = HttpGet(gateway.metrics_port(), "/metrics");
  const auto via1 = Run(gateway.address(), read, read_request, token, 1, seconds);
  const std::string metrics_after = HttpGet(gateway.metrics_port(), "/metrics");
  const auto via16 = Run(gateway.address(), read, read_request, token, 16, seconds);
  const auto echo_via1 = Run(gateway.address(), echo_method, "", token, 1, seconds);
  const auto echo_via16 = Run(gateway.address(), echo_method, "", token, 16, seconds);

  Print("bare echo (ceiling),        1 in flight", echo1);
  Print("bare echo (ceiling),       16 in flight", echo16);
  Print("GetOrganisation direct,     1 in flight", direct1);
  Print("GetOrganisation direct,    16 in flight", direct16);
  Print("GetOrganisation via gateway, 1 in flight", via1);
  Print("GetOrganisation via gateway,16 in flight", via16);
  Print("echo via gateway,           1 in flight", echo_via1);
  Print("echo via a bare TCP relay,  1 in flight", echo_relay1);
  Print("echo via gateway,          16 in flight", echo_via16);

  const double added_p50 = via1.p50_us - direct1.p50_us;
  const double ratio = direct16.qps > 0 ? via16.qps / direct16.qps : 0;
  const int64_t errors = echo_relay1.errors + echo1.errors + echo16.errors + direct1.errors +
                         direct16.errors + via1.errors + via16.errors + echo_via1.errors +
                         echo_via16.errors;
  std::printf(
      "read RPC: added p50 latency through the gateway at 1 in flight: %.0f us "
      "(target < 150 us)\n",
      added_p50);
  std::printf(
      "read RPC: of which the gateway's own processing per call: %.0f us; the rest is the "
      "extra loopback hop each way (one bare gRPC round trip here: %.0f us p50)\n",
      GatewayOwnMicros(metrics_before, metrics_after, "GetOrganisation"), echo1.p50_us);
  std::printf(
      "floor: a bare TCP byte relay (no parsing) adds %.0f us p50 to the echo call; the gateway "
      "adds %.0f us\n",
      echo_relay1.p50_us - echo1.p50_us, echo_via1.p50_us - echo1.p50_us);
  std::printf(
      "read RPC: throughput through the gateway / direct at 16 in flight: %.2f "
      "(target >= 0.60)\n",
      ratio);
  std::printf(
      "echo: added p50 %.0f us, throughput ratio %.2f (a backend that does nothing: the "
      "gateway's whole cost shows)\n",
      echo_via1.p50_us - echo1.p50_us, echo16.qps > 0 ? echo_via16.qps / echo16.qps : 0);
  std::printf("errors: %lld (target 0)\n", static_cast<long long>(errors));
  return 0;
}
