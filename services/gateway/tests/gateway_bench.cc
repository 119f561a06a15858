// gateway_bench: the same unary Echo call against a bare gRPC echo server (the ceiling) and
// through the gateway, at one call in flight (added latency) and at 16 (throughput), and the
// ratios against the targets. Run by `./ctg bench` (or directly; CTG_BENCH_SECONDS).
#include <cstdio>
#include <cstdlib>

#include "common/auth.h"
#include "gateway/gateway.h"
#include "gateway/loadgen.h"
#include "gateway/tests/echo_backend.h"

using namespace ctg;
using namespace ctg::gateway;
using namespace std::chrono_literals;

int main() {
  const int seconds =
      std::getenv("CTG_BENCH_SECONDS") ? std::atoi(std::getenv("CTG_BENCH_SECONDS")) : 3;
  const std::string key(40, 'k');
  ctg::gateway::testing::EchoBackend backend("bench");
  GatewayConfig c;
  c.listen_address = "127.0.0.1:0";
  c.metrics_address = "off";
  c.routes_text = "ctg.testing.v1.EchoService = " + backend.address() + "\n";
  c.authz_text = "ctg.testing.v1.EchoService/* = *\n";
  c.jwt_key = key;
  c.plaintext = true;
  c.rate_limit_rps = 0;
  c.access_log = false;
  c.health_interval = 1000ms;
  Gateway gateway(c);
  gateway.Start();

  TokenClaims claims;
  claims.subject = "bench";
  claims.roles = {Role::kService};
  claims.issuer = c.jwt_issuer;
  claims.audience = c.jwt_audience;
  const std::string token = MintHs256Token(claims, key);

  auto run = [&](const std::string& target, int concurrency) {
    LoadSpec spec;
    grpc::ChannelArguments args;
    args.SetInt("bench.channel", concurrency);  // a fresh connection per run
    spec.channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    spec.method = "/ctg.testing.v1.EchoService/Echo";
    spec.token = token;
    spec.concurrency = concurrency;
    spec.duration = std::chrono::seconds(seconds);
    return RunLoad(spec);
  };
  const std::string direct = backend.address();
  const std::string through = "127.0.0.1:" + std::to_string(gateway.port());

  const auto d1 = run(direct, 1);
  const auto g1 = run(through, 1);
  const auto d16 = run(direct, 16);
  const auto g16 = run(through, 16);
  std::printf("bare echo,   1 in flight:  %s\n", FormatLoadResult(d1).c_str());
  std::printf("via gateway, 1 in flight:  %s\n", FormatLoadResult(g1).c_str());
  std::printf("bare echo,  16 in flight:  %s\n", FormatLoadResult(d16).c_str());
  std::printf("via gateway,16 in flight:  %s\n", FormatLoadResult(g16).c_str());
  const double added_p50 = g1.p50_us - d1.p50_us;
  const double ratio = d16.qps > 0 ? g16.qps / d16.qps : 0;
  std::printf("added p50 latency at 1 in flight: %.0f us (target < 150 us)\n", added_p50);
  std::printf("throughput via gateway / bare at 16 in flight: %.2f (target >= 0.60)\n", ratio);
  std::printf("errors: %lld (target 0)\n",
              static_cast<long long>(d1.errors + g1.errors + d16.errors + g16.errors));
  std::printf("note: the read-RPC-to-a-real-service leg (PostgreSQL) is not measured yet\n");
  gateway.Shutdown();
  return 0;
}
