#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/auth.h"

namespace ctg::gateway {

// Splits a full gRPC method path "/pkg.Service/Method" into "pkg.Service" and "Method".
// Returns false when the path is not of that form.
bool SplitMethodPath(std::string_view path, std::string* service, std::string* method);

// One line of the routing file: a fully qualified service name and its backend instances.
struct ServiceRoute {
  std::string service;                // "ctg.partners.v1.PartnerService"
  std::vector<std::string> backends;  // "host:port", in file order (round-robin order)
};

// Parses a routing file listing instances (--routes-file; deploy/services.json is the usual
// source of routes, see manifest.h):
//   # comment
//   ctg.partners.v1.PartnerService = 127.0.0.1:50051, 127.0.0.1:50061
// Throws ConfigError naming the line on the first malformed one, a duplicate service or an
// address that is not host:port.
std::vector<ServiceRoute> ParseRoutes(std::string_view text);

}  // namespace ctg::gateway
