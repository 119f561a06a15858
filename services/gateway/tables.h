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

// Parses the routing file (deploy/gateway.routes):
//   # comment
//   ctg.partners.v1.PartnerService = 127.0.0.1:50051, 127.0.0.1:50061
// Throws ConfigError naming the line on the first malformed one, a duplicate service or an
// address that is not host:port.
std::vector<ServiceRoute> ParseRoutes(std::string_view text);

// Who may call a method, as read from one line of the authorization file.
struct AuthzRule {
  std::string pattern;    // "pkg.Service/Method", or a prefix ending with '*'
  bool open = false;      // "open": no token needed (health, reflection)
  bool any_role = false;  // "*": any authenticated principal
  std::set<Role> roles;   // otherwise: principals carrying at least one of these roles
};

// The declarative authorization table (deploy/gateway.authz). Lines are
//   <pattern> = <role>[, <role>...]
// where <pattern> is a full method "pkg.Service/Method" or a prefix ending with '*'
// ("pkg.Service/*", "pkg.Service/Get*", "grpc.reflection.*") and the roles are wire role names,
// "*" (any authenticated caller) or "open" (no token at all). The most specific pattern wins: an
// exact method, then the longest prefix. A method no pattern matches is denied.
class AuthzTable {
 public:
  // Parses the file's text; throws ConfigError naming the line on the first bad one.
  static AuthzTable Parse(std::string_view text);

  // The rule governing `service`/`method`, or nullptr when none does (deny).
  const AuthzRule* Find(std::string_view service, std::string_view method) const;

  // Whether `principal` may call the method governed by `rule` (false for a null rule).
  static bool Allows(const AuthzRule* rule, const Principal& principal);

  const std::vector<AuthzRule>& rules() const { return rules_; }

 private:
  std::vector<AuthzRule> rules_;
};

}  // namespace ctg::gateway
