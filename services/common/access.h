#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/auth.h"

namespace google::protobuf {
class MethodOptions;
}

namespace ctg {

// A request field reserved to some roles (from a FieldAccess declaration).
struct FieldRule {
  std::string path;  // "organisation.insee_code"
  std::set<Role> roles;
  std::string reason;
};

// Who may call one method, as declared with its (ctg.api.v1.access) option. The only source of
// the rule: the services' runtime enforces it, the gateway derives its table from it, and the
// README's table is printed from it (`ctgctl access-table`).
struct MethodPolicy {
  std::string service;  // "ctg.partners.v1.PartnerService"
  std::string method;   // "GetOrganisation"
  std::set<Role> roles;
  bool every_role = false;
  bool read_only = false;
  std::string object_rule;
  std::vector<FieldRule> fields;

  // "pkg.Service/Method".
  std::string FullName() const { return service + "/" + method; }
  // Whether the caller's roles allow the call (the object-level rule is the service's).
  bool Allows(const Principal& principal) const;
};

// Reads the declaration of `method` of `service` from its options. Throws ConfigError naming the
// method when it has none, names no role, or names ROLE_UNSPECIFIED.
MethodPolicy PolicyFromOptions(const google::protobuf::MethodOptions& options,
                               const std::string& service, const std::string& method);

// The policies of every method of `service`, in declaration order; throws ConfigError (see
// PolicyFromOptions) for the first method without a usable declaration.
std::vector<MethodPolicy> ServicePolicies(const google::protobuf::ServiceDescriptor& service);

// The policies of the service named `full_name` in the generated descriptor pool (linked into
// this binary). Throws ConfigError when the service is unknown or a method has no declaration.
std::vector<MethodPolicy> ServicePolicies(std::string_view full_name);

// Throws PermissionDeniedError naming the first field of `request` that `policy` reserves to
// roles the caller does not hold. A field counts as set as FieldAccess.path describes.
void CheckFieldAccess(const MethodPolicy& policy, const Principal& principal,
                      const google::protobuf::Message& request);

// The roles of `policy` as wire names, comma-separated ("every authenticated caller" for
// every_role), for messages and documents.
std::string DescribeRoles(const MethodPolicy& policy);

}  // namespace ctg
