#include "common/access.h"

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/field_mask.pb.h>

#include "common/config.h"
#include "common/errors.h"
#include "ctg/api/v1/access.pb.h"

namespace ctg {
namespace {

namespace pb = google::protobuf;

std::set<Role> RolesOf(const pb::RepeatedField<int>& roles, const std::string& where) {
  std::set<Role> out;
  for (int r : roles) {
    if (r == api::v1::ROLE_UNSPECIFIED || !api::v1::Role_IsValid(r)) {
      throw ConfigError(where + ": access declaration names ROLE_UNSPECIFIED or an unknown role");
    }
    out.insert(static_cast<Role>(r));
  }
  return out;
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

// Whether the field at `parts` is set in `message` (a message field present, a repeated field
// non-empty, a proto3 scalar non-default).
bool IsSet(const pb::Message& message, const std::vector<std::string>& parts, size_t i) {
  const auto* field = message.GetDescriptor()->FindFieldByName(parts[i]);
  if (field == nullptr) return false;
  const auto* reflection = message.GetReflection();
  if (field->is_repeated())
    return i + 1 == parts.size() && reflection->FieldSize(message, field) > 0;
  if (!reflection->HasField(message, field)) return false;
  if (i + 1 == parts.size()) return true;
  if (field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) return false;
  return IsSet(reflection->GetMessage(message, field), parts, i + 1);
}

// The update mask of an Update request, or nullptr.
const pb::FieldMask* UpdateMaskOf(const pb::Message& request) {
  const auto* field = request.GetDescriptor()->FindFieldByName("update_mask");
  if (field == nullptr || field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE ||
      field->message_type()->full_name() != pb::FieldMask::descriptor()->full_name()) {
    return nullptr;
  }
  const auto& reflection = *request.GetReflection();
  if (!reflection.HasField(request, field)) return nullptr;
  return dynamic_cast<const pb::FieldMask*>(&reflection.GetMessage(request, field));
}

// Whether the request sets the field at `path`: on an Update with a non-empty mask, when the
// mask names it (or a field containing it); otherwise when it is set in the request.
bool RequestSets(const pb::Message& request, const std::string& path) {
  const auto parts = SplitPath(path);
  const auto* mask = UpdateMaskOf(request);
  if (mask != nullptr && mask->paths_size() > 0 && parts.size() >= 2) {
    // Mask paths are relative to the resource field (the first part of `path`).
    const std::string relative = path.substr(parts[0].size() + 1);
    for (const auto& p : mask->paths()) {
      if (p == relative || relative.rfind(p + ".", 0) == 0 || p.rfind(relative + ".", 0) == 0) {
        return true;
      }
    }
    return false;
  }
  return IsSet(request, parts, 0);
}

}  // namespace

bool MethodPolicy::Allows(const Principal& principal) const {
  if (every_role) return !principal.roles.empty();
  for (Role r : principal.roles) {
    if (roles.count(r)) return true;
  }
  return false;
}

MethodPolicy PolicyFromOptions(const pb::MethodOptions& options, const std::string& service,
                               const std::string& method) {
  const std::string where = service + "/" + method;
  if (!options.HasExtension(api::v1::access)) {
    throw ConfigError(where + " has no (ctg.api.v1.access) declaration: say who may call it");
  }
  const auto& access = options.GetExtension(api::v1::access);
  MethodPolicy policy;
  policy.service = service;
  policy.method = method;
  policy.every_role = access.every_role();
  policy.roles = RolesOf(access.roles(), where);
  if (policy.every_role == !policy.roles.empty()) {
    throw ConfigError(where + ": access declaration needs either roles or every_role, not both");
  }
  policy.read_only = access.read_only();
  policy.object_rule = access.object_rule();
  for (const auto& f : access.fields()) {
    FieldRule rule{f.path(), RolesOf(f.roles(), where + " field " + f.path()), f.reason()};
    if (rule.path.empty() || rule.roles.empty()) {
      throw ConfigError(where + ": a field access declaration needs a path and roles");
    }
    policy.fields.push_back(std::move(rule));
  }
  return policy;
}

std::vector<MethodPolicy> ServicePolicies(const pb::ServiceDescriptor& service) {
  std::vector<MethodPolicy> out;
  for (int i = 0; i < service.method_count(); ++i) {
    const auto* m = service.method(i);
    auto policy = PolicyFromOptions(m->options(), service.full_name(), m->name());
    for (const auto& f : policy.fields) {
      const auto parts = SplitPath(f.path);
      const pb::Descriptor* d = m->input_type();
      for (size_t k = 0; k < parts.size(); ++k) {
        const auto* field = d == nullptr ? nullptr : d->FindFieldByName(parts[k]);
        if (field == nullptr) {
          throw ConfigError(policy.FullName() + ": field access path " + f.path +
                            " is not a field of " + m->input_type()->full_name());
        }
        d = field->message_type();
      }
    }
    out.push_back(std::move(policy));
  }
  return out;
}

std::vector<MethodPolicy> ServicePolicies(std::string_view full_name) {
  const auto* service =
      pb::DescriptorPool::generated_pool()->FindServiceByName(std::string(full_name));
  if (service == nullptr) throw ConfigError("unknown service " + std::string(full_name));
  return ServicePolicies(*service);
}

void CheckFieldAccess(const MethodPolicy& policy, const Principal& principal,
                      const pb::Message& request) {
  for (const auto& rule : policy.fields) {
    bool allowed = false;
    for (Role r : principal.roles) allowed = allowed || rule.roles.count(r) != 0;
    if (allowed || !RequestSets(request, rule.path)) continue;
    throw PermissionDeniedError("not allowed to set " + rule.path + ": " + rule.reason);
  }
}

std::string DescribeRoles(const MethodPolicy& policy) {
  if (policy.every_role) return "every authenticated caller";
  std::string out;
  for (Role r : policy.roles) {
    if (!out.empty()) out += ", ";
    out += RoleName(r);
  }
  return out;
}

}  // namespace ctg
