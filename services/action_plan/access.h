#pragma once

#include <string>

#include "common/auth.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "partners/client/partners_client.h"

namespace ctg::action_plan {

using ::ctg::partners::ConventionFacts;
using ::ctg::partners::PartnersClient;

// The object-level rules of the action plan service, in one place. Which roles may call each
// RPC is declared in action_plan.proto and checked by the runtime before any handler runs; these
// rules then say which conventions' plans a caller who passed that check may see and change.
//
// - Read: the agents (caf_agent, collectivity_agent, copil_secretariat) of an organisation that
//   is a party to the convention; cdsf and auditor whose organisation is in the convention's
//   département; the service identity (reporting).
// - Edit the plan (axes, actions): a caf_agent of a Caf party to the convention, and the
//   copil_secretariat agents of the organisation holding its secretariat.
// - Report progress on an action: the agents of one of its pilots, and the secretariat.
//
// A plan the caller may not read answers NOT_FOUND, exactly like one that does not exist
// (AIP-211); a plan it may read but not change answers PERMISSION_DENIED.
struct PlanScope {
  bool read = false;
  bool edit = false;
  // The caller's organisation holds the convention's secretariat (and acts as such).
  bool secretariat = false;
};

// The scope of `principal` on the plan of `convention`. `caller_departement` is the département
// of the caller's organisation, needed for cdsf and auditor only ("" when unknown: no access).
PlanScope ScopeOf(const Principal& principal, const ConventionFacts& convention,
                  const std::string& caller_departement);

// Whether the roles of `principal` read within a département rather than by party.
bool ReadsByDepartement(const Principal& principal);

// Whether the caller may report progress on an action piloted by `pilots`
// ("organisations/{uuid}") of a convention it has `scope` on.
bool MayReport(const Principal& principal, const PlanScope& scope,
               const google::protobuf::RepeatedPtrField<std::string>& pilots);

}  // namespace ctg::action_plan
