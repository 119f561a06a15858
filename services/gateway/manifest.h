#pragma once

#include <string_view>
#include <vector>

#include "ctg/deploy/v1/manifest.pb.h"
#include "gateway/tables.h"

namespace ctg::gateway {

// Parses and checks the service manifest (deploy/services.json): names, binaries and gRPC
// services present and unique, ports in 1..65535 and unique, every backend a service listed
// before it (so that a start in file order always finds its dependencies), addresses host:port.
// Throws ConfigError naming the entry and the problem.
::ctg::deploy::v1::ServiceManifest ParseManifest(std::string_view json);

// The gateway's routes from a manifest: each service to its `addresses`, or to
// 127.0.0.1:<port> when it lists none.
std::vector<ServiceRoute> RoutesFromManifest(const ::ctg::deploy::v1::ServiceManifest& manifest);

}  // namespace ctg::gateway
