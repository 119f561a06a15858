#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/api.h"
#include "common/auth.h"
#include "common/errors.h"
#include "ctg/consents/v1/consents.pb.h"

namespace ctg::consents {

namespace v1 = ::ctg::consents::v1;

// The rules of data exchanges between the parties of a CTG (convention art. 9), in one place:
// what a request must say, who takes each step of its workflow from which state, when it is
// active, and what waits on whom.

// Checks a request's own fields (not the organisations' existence): requester and holder
// (names, different), title, purpose, legal basis with its justification, data subjects and
// categories (OFFENCES refused; a special category needs its art. 9(2) condition, the NIR its
// authorising text), recipients, transfers with their safeguard, retention (duration, unit, end),
// security measures, frequency, volume, start and end dates (end not before start), convention
// and actions (names). `prefix` is "exchange_request.".
void ValidateExchangeRequest(const v1::ExchangeRequest& request, const std::string& prefix,
                             Violations& violations);

// Whether `category` is a special category of GDPR art. 9.
bool IsSpecialCategory(v1::DataCategory category);

// The caller's relation to one request.
struct Parties {
  std::string subject;           // the caller (separation of duties within the holder)
  bool requester_agent = false;  // an agent (caf/collectivity/secretariat) of the requester
  bool holder_agent = false;     // an agent of the holder (its controller's staff)
  bool holder_dpo = false;       // the DPO of the holder
  bool requester_dpo = false;    // the DPO of the requester (reads only)
  bool service = false;          // a backend service (reads only)
  bool Reads() const {
    return requester_agent || holder_agent || holder_dpo || requester_dpo || service;
  }
};
// The relation of `principal` to `request`.
Parties PartiesOf(const Principal& principal, const v1::ExchangeRequest& request);

// The request's state on civil date `today` (Europe/Paris): an approved request is ACTIVE from
// its start date once every recommendation is implemented and acknowledged, EXPIRED after its
// end date (as is an active one); other stored states are as stored.
v1::ExchangeState EffectiveState(const v1::ExchangeRequest& request, const CivilDate& today);

// Throws PermissionDeniedError unless `parties` is the actor of `step` on `request` (the first
// check of CheckStep, which a caller makes before comparing etags so that a wrong actor's
// attempt is refused, and audited, whatever etag it sent).
void CheckStepActor(const v1::TakeStepRequest& step, const Parties& parties,
                    const v1::ExchangeRequest& request);

// Checks that `parties` may take `step` on `request` now: throws PermissionDeniedError when the
// caller's organisation or role is not the step's actor, FailedPreconditionError when the
// request is not in a state the step starts from, ValidationError for the step's own fields
// (study texts, opinion verdict and recommendations, decision justification, evidence, reason,
// recommendation number).
void CheckStep(const v1::TakeStepRequest& step, const Parties& parties,
               const v1::ExchangeRequest& request, const CivilDate& today);

// Applies a checked step to `request` (stored state and the step's record), as `actor` at
// `now`.
void ApplyStep(const v1::TakeStepRequest& step, const std::string& actor,
               const google::protobuf::Timestamp& now, v1::ExchangeRequest& request);

// Whether a change of the request's own fields is allowed in its stored state (before the
// decision), and what it does: a change after the DPO's opinion sends it back to the DPO
// (STUDIED, opinion cleared). Throws FailedPreconditionError once decided.
void ApplyChange(v1::ExchangeRequest& request);

// The steps waiting on `parties` for `request` (with the recommendation for MARK_IMPLEMENTED
// and ACKNOWLEDGE), in workflow order.
std::vector<std::pair<v1::Step, int>> PendingSteps(const v1::ExchangeRequest& request,
                                                   const Parties& parties, const CivilDate& today);

// Whether `consent` allows `categories` for `purpose` on `date`; "" when it does, else why (in
// French).
std::string WhyNotAllowed(const v1::ExchangeRequest& consent,
                          const std::vector<v1::DataCategory>& categories,
                          const std::string& purpose, const CivilDate& date);

}  // namespace ctg::consents
