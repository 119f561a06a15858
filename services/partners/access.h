#pragma once

#include <initializer_list>
#include <string>

#include "common/auth.h"

namespace ctg::partners {

// Who may change what in the partners registry. Every authenticated role may read it (it holds
// public institutional data: organisations, elected representatives, conventions).

// Administrators of the registry and of conventions: caf_agent, copil_secretariat, service.
bool IsAdministrator(const Principal& principal);

// Throws PermissionDeniedError unless the caller is an administrator. `action` completes the
// sentence "not allowed to ...".
void RequireAdministrator(const Principal& principal, const std::string& action);

// Throws PermissionDeniedError unless the caller is an administrator, or a caf_agent /
// collectivity_agent acting for one of `organisations` ("organisations/{uuid}").
void RequireAdministratorOrAgentOf(const Principal& principal,
                                   std::initializer_list<std::string> organisations,
                                   const std::string& action);

}  // namespace ctg::partners
