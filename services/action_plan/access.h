#pragma once

#include <string>
#include <vector>

#include "action_plan/partners_client.h"
#include "common/auth.h"

namespace ctg::action_plan {

// Throws PermissionDeniedError unless the caller may read the plan of `convention`.
void RequireReader(const Principal& principal, const ConventionFacts& convention);

// Throws PermissionDeniedError unless the caller may change the plan (axes, actions).
void RequirePlanEditor(const Principal& principal);

// Throws PermissionDeniedError unless the caller may report progress on an action piloted by
// `pilots` ("organisations/{uuid}").
void RequireReporter(const Principal& principal,
                     const google::protobuf::RepeatedPtrField<std::string>& pilots);

}  // namespace ctg::action_plan
