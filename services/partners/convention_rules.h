#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/api.h"
#include "common/errors.h"
#include "ctg/partners/v1/partners.pb.h"

// Pure rules of the life of a convention (art. 12-14): its computed state, who may sign, the
// termination grounds and their notice periods, amendments. No database access here: the
// service loads the convention and hands it over.
namespace ctg::partners {

// Checks the caller-settable fields of a convention (title, territory, period, parties and their
// designated signers), recording violations under `prefix` ("convention."). Output-only fields
// (signatures, amendments, termination, state) are ignored. References to organisations and
// representatives are checked against the database by the service.
void ValidateConvention(const ::ctg::partners::v1::Convention& convention,
                        const std::string& prefix, Violations& violations);

// True when every party has signed: each designated signer of a party that has some, otherwise
// at least one representative of the party's organisation.
bool IsFullySigned(const ::ctg::partners::v1::Convention& convention);

// The state of a convention on `today`, computed from its signatures, period and termination:
// TERMINATED once a recorded termination is effective (effective_date <= today); otherwise DRAFT
// until fully signed, then SIGNED before start_date, IN_FORCE from start_date to end_date and
// EXPIRED after end_date. Before its effective date a termination is shown but the state stays
// the signed one.
::ctg::partners::v1::ConventionState ComputeConventionState(
    const ::ctg::partners::v1::Convention& convention, const CivilDate& today);

// True when a termination has been recorded on the convention (effective or not yet).
bool HasTermination(const ::ctg::partners::v1::Convention& convention);

// Checks that `representative` (of organisation `organisation`) may sign the convention now:
// the convention must be DRAFT, the organisation a party, the representative one of the party's
// designated signers when it has some, and not have signed already. Throws
// FailedPreconditionError otherwise.
void CheckCanSign(const ::ctg::partners::v1::Convention& convention,
                  const std::string& organisation, const std::string& representative,
                  const CivilDate& today);

// Checks the fields of an AddAmendment request (signed_on required and not after `today`; at
// least one change, each 1 to 2000 characters), under the request's top-level field names.
void ValidateAmendment(const google::type::Date& signed_on,
                       const google::protobuf::RepeatedPtrField<std::string>& changes,
                       const CivilDate& today, Violations& violations);

// Throws FailedPreconditionError unless the convention may receive an amendment on `today`:
// only a SIGNED or IN_FORCE convention is amended (art. 13).
void CheckCanAmend(const ::ctg::partners::v1::Convention& convention, const CivilDate& today);

// The number of the next amendment: one more than the highest recorded (1 for the first).
int NextAmendmentNumber(const ::ctg::partners::v1::Convention& convention);

// Throws FailedPreconditionError unless the convention may be terminated on `today`: it must be
// SIGNED or IN_FORCE and carry no termination yet.
void CheckCanTerminate(const ::ctg::partners::v1::Convention& convention, const CivilDate& today);

// Checks a termination against art. 14, recording violations under `prefix` ("termination."):
// a known ground; initiated_by a party of the convention (and, for
// MODIFICATION_WITHOUT_AMENDMENT, an organisation of kind CAF); a notice date for FORMAL_NOTICE
// and MUTUAL_CONSENT, with an effective date no earlier than notice + 1 month (FORMAL_NOTICE) or
// notice + 6 months (MUTUAL_CONSENT); an effective date within the convention's period; a reason
// of at most 2000 characters. `party_kinds` maps each party ("organisations/{uuid}") to its
// OrganisationKind.
void ValidateTermination(const ::ctg::partners::v1::Convention& convention,
                         const ::ctg::partners::v1::Termination& termination,
                         const std::map<std::string, int>& party_kinds, const std::string& prefix,
                         Violations& violations);

// The earliest effective date art. 14 allows for `ground` after a notice sent on `notice`
// (notice + 1 month, notice + 6 months, or the notice date itself without notice).
CivilDate EarliestTerminationDate(::ctg::partners::v1::TerminationGround ground,
                                  const CivilDate& notice);

}  // namespace ctg::partners
