#include "gateway/manifest.h"

#include <google/protobuf/util/json_util.h>

#include <set>

#include "common/config.h"

namespace ctg::gateway {

namespace dv1 = ::ctg::deploy::v1;

dv1::ServiceManifest ParseManifest(std::string_view json) {
  dv1::ServiceManifest manifest;
  const auto status = google::protobuf::util::JsonStringToMessage(std::string(json), &manifest);
  if (!status.ok()) {
    throw ConfigError("service manifest: not a manifest (" + std::string(status.message()) + ")");
  }
  std::set<std::string> names, binaries, services;
  std::set<int> ports;
  auto port = [&](int p, const std::string& where) {
    if (p < 1 || p > 65535) throw ConfigError("service manifest: " + where + " out of 1..65535");
    if (!ports.insert(p).second) throw ConfigError("service manifest: " + where + " used twice");
  };
  for (const auto& s : manifest.services()) {
    const std::string where = "service \"" + s.name() + "\"";
    if (s.name().empty()) throw ConfigError("service manifest: a service without a name");
    if (!names.insert(s.name()).second) throw ConfigError("service manifest: " + where + " twice");
    if (s.binary().empty() || !binaries.insert(s.binary()).second) {
      throw ConfigError("service manifest: " + where + " needs a binary of its own");
    }
    if (s.grpc_service().find('.') == std::string::npos ||
        !services.insert(s.grpc_service()).second) {
      throw ConfigError("service manifest: " + where +
                        " needs a fully qualified grpc_service of its own");
    }
    port(s.port(), where + " port");
    port(s.metrics_port(), where + " metrics_port");
    for (const auto& b : s.backends()) {
      if (!names.count(b) || b == s.name()) {
        throw ConfigError("service manifest: " + where + " calls \"" + b +
                          "\", which is not a service listed before it");
      }
    }
    for (const auto& a : s.addresses()) {
      SettingsReader::CheckAddress(a, Setting{"manifest-file", "CTG_GATEWAY_MANIFEST_FILE"});
    }
  }
  if (manifest.has_gateway()) {
    port(manifest.gateway().port(), "gateway port");
    port(manifest.gateway().metrics_port(), "gateway metrics_port");
  }
  return manifest;
}

std::vector<ServiceRoute> RoutesFromManifest(const dv1::ServiceManifest& manifest) {
  std::vector<ServiceRoute> routes;
  for (const auto& s : manifest.services()) {
    ServiceRoute route{s.grpc_service(), {s.addresses().begin(), s.addresses().end()}};
    if (route.backends.empty()) route.backends.push_back("127.0.0.1:" + std::to_string(s.port()));
    routes.push_back(std::move(route));
  }
  return routes;
}

}  // namespace ctg::gateway
