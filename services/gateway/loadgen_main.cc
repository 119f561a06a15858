// ctg-loadgen: closed-loop gRPC load against any unary method (through the gateway or direct).
//   ctg-loadgen --target=127.0.0.1:8443 --method=/ctg.partners.v1.PartnerService/ListOrganisations
//               [--token=$CTG_TOKEN] [--concurrency=8] [--duration-seconds=10]
//               [--tls-ca-file=ca.pem --tls-server-name=gateway.ctg.test] [--request-hex=...]
// The request is sent as raw bytes (default: the empty message, valid for any request type).
#include <cstdio>
#include <map>
#include <string>

#include "common/config.h"
#include "gateway/loadgen.h"

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    const auto eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) {
      std::fprintf(stderr, "usage: unexpected argument '%s' (use --name=value)\n", arg.c_str());
      return 2;
    }
    flags[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
  }
  if (!flags.count("target") || !flags.count("method")) {
    std::fprintf(stderr, "usage: ctg-loadgen --target=host:port --method=/pkg.Service/Method\n");
    return 2;
  }
  try {
    ctg::gateway::LoadSpec spec;
    std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
    grpc::ChannelArguments args;
    if (flags.count("tls-ca-file")) {
      grpc::SslCredentialsOptions options;
      options.pem_root_certs = ctg::ReadSecretFile(flags["tls-ca-file"], "--tls-ca-file");
      credentials = grpc::SslCredentials(options);
      if (flags.count("tls-server-name")) args.SetSslTargetNameOverride(flags["tls-server-name"]);
    }
    spec.channel = grpc::CreateCustomChannel(flags["target"], credentials, args);
    spec.method = flags["method"];
    spec.token = flags.count("token") ? flags["token"] : "";
    if (spec.token.empty()) {
      if (const char* t = std::getenv("CTG_TOKEN")) spec.token = t;
    }
    if (flags.count("concurrency")) spec.concurrency = std::stoi(flags["concurrency"]);
    if (flags.count("duration-seconds")) {
      spec.duration = std::chrono::seconds(std::stoi(flags["duration-seconds"]));
    }
    if (flags.count("request-hex")) {
      const std::string& hex = flags["request-hex"];
      for (size_t i = 0; i + 1 < hex.size(); i += 2) {
        spec.request += char(std::stoi(hex.substr(i, 2), nullptr, 16));
      }
    }
    const auto result = ctg::gateway::RunLoad(spec);
    std::printf("%s concurrency=%d %s\n", spec.method.c_str(), spec.concurrency,
                ctg::gateway::FormatLoadResult(result).c_str());
    return result.errors == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}
