#pragma once

#include <string>

#include "common/auth.h"
#include "partners/client/partners_client.h"

namespace ctg::reporting {

// The object-level rules of the reporting service, in one place. Which roles may call each RPC
// is declared in reporting.proto and checked by the runtime first; these rules say which
// conventions' reports a caller who passed that check may see and ask for.
//
// - See (jobs, reports): the agents (caf_agent, collectivity_agent, copil_secretariat) of a
//   party to the convention or of the organisation holding its secretariat; the cdsf and
//   auditors of an organisation in the convention's département (the CDSF receives the
//   bilans); the service identity.
// - Ask for a report, cancel one: the same agents and the service identity, not the cdsf or
//   auditors.
//
// A convention the caller may not see answers NOT_FOUND, exactly like one that does not exist
// (AIP-211); one it may see but not ask reports for answers PERMISSION_DENIED.
struct ReportScope {
  bool see = false;
  bool request = false;
};

// The scope of `principal` on the reports of `convention`. `caller_departement` is the
// département of the caller's organisation, needed for cdsf and auditors only ("" when
// unknown: no access).
ReportScope ScopeOf(const Principal& principal, const partners::ConventionFacts& convention,
                    const std::string& caller_departement);

// Whether the roles of `principal` see within a département rather than as a party.
bool SeesByDepartement(const Principal& principal);

}  // namespace ctg::reporting
