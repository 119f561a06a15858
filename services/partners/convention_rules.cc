#include "partners/convention_rules.h"

#include <algorithm>
#include <set>

namespace ctg::partners {

namespace v1 = ::ctg::partners::v1;

namespace {

CivilDate FromProto(const google::type::Date& d) { return CivilDate{d.year(), d.month(), d.day()}; }

std::string StateName(v1::ConventionState state) { return v1::ConventionState_Name(state); }

}  // namespace

void ValidateConvention(const v1::Convention& c, const std::string& prefix,
                        Violations& violations) {
  CheckText(c.title(), prefix + "title", 1, 300, violations);
  auto territory =
      ParseResourceName(c.territory(), "organisations", prefix + "territory", violations);
  auto start = ParseDate(c.start_date(), prefix + "start_date", violations, true);
  auto end = ParseDate(c.end_date(), prefix + "end_date", violations, true);
  if (start && end && *end < *start) {
    violations.Add(prefix + "end_date", "must not be before start_date");
  }
  if (c.parties_size() == 0) {
    violations.Add(prefix + "parties", "at least one party is required");
  }
  std::set<std::string> parties;
  std::set<std::string> signers;
  for (int i = 0; i < c.parties_size(); ++i) {
    const auto& p = c.parties(i);
    const std::string field = prefix + "parties[" + std::to_string(i) + "]";
    if (ParseResourceName(p.organisation(), "organisations", field + ".organisation", violations) &&
        !parties.insert(p.organisation()).second) {
      violations.Add(field + ".organisation", "this organisation is already a party");
    }
    for (int j = 0; j < p.signers_size(); ++j) {
      const std::string signer_field = field + ".signers[" + std::to_string(j) + "]";
      if (ParseResourceName(p.signers(j), "representatives", signer_field, violations) &&
          !signers.insert(p.signers(j)).second) {
        violations.Add(signer_field, "this representative is already a designated signer");
      }
    }
  }
  if (territory && c.parties_size() > 0 && !parties.count(c.territory())) {
    violations.Add(prefix + "territory", "the territory's organisation must be among the parties");
  }
  if (!c.secretariat().empty() &&
      ParseResourceName(c.secretariat(), "organisations", prefix + "secretariat", violations) &&
      c.parties_size() > 0 && !parties.count(c.secretariat())) {
    violations.Add(prefix + "secretariat",
                   "the organisation holding the secretariat must be among the parties");
  }
}

bool IsFullySigned(const v1::Convention& c) {
  if (c.parties_size() == 0) return false;
  std::set<std::string> signed_reps;
  std::set<std::string> signed_orgs;
  for (const auto& s : c.signatures()) {
    signed_reps.insert(s.representative());
    signed_orgs.insert(s.organisation());
  }
  for (const auto& p : c.parties()) {
    if (p.signers_size() == 0) {
      if (!signed_orgs.count(p.organisation())) return false;
      continue;
    }
    for (const auto& signer : p.signers()) {
      if (!signed_reps.count(signer)) return false;
    }
  }
  return true;
}

bool HasTermination(const v1::Convention& c) {
  return c.has_termination() && c.termination().ground() != v1::TERMINATION_GROUND_UNSPECIFIED;
}

v1::ConventionState ComputeConventionState(const v1::Convention& c, const CivilDate& today) {
  if (HasTermination(c) && !IsUnset(c.termination().effective_date()) &&
      FromProto(c.termination().effective_date()) <= today) {
    return v1::TERMINATED;
  }
  if (!IsFullySigned(c)) return v1::DRAFT;
  if (today < FromProto(c.start_date())) return v1::SIGNED;
  if (today <= FromProto(c.end_date())) return v1::IN_FORCE;
  return v1::EXPIRED;
}

void CheckCanSign(const v1::Convention& c, const std::string& organisation,
                  const std::string& representative, const CivilDate& today) {
  const auto state = ComputeConventionState(c, today);
  if (state != v1::DRAFT) {
    throw FailedPreconditionError("only a DRAFT convention is signed; this one is " +
                                  StateName(state));
  }
  const v1::ConventionParty* party = nullptr;
  for (const auto& p : c.parties()) {
    if (p.organisation() == organisation) party = &p;
  }
  if (party == nullptr) {
    throw FailedPreconditionError("the representative's organisation " + organisation +
                                  " is not a party to the convention");
  }
  if (party->signers_size() > 0 && std::find(party->signers().begin(), party->signers().end(),
                                             representative) == party->signers().end()) {
    throw FailedPreconditionError(representative + " is not a designated signer for " +
                                  organisation);
  }
  for (const auto& s : c.signatures()) {
    if (s.representative() == representative) {
      throw FailedPreconditionError(representative + " has already signed the convention");
    }
  }
}

void ValidateAmendment(const google::type::Date& signed_on,
                       const google::protobuf::RepeatedPtrField<std::string>& changes,
                       const CivilDate& today, Violations& violations) {
  auto date = ParseDate(signed_on, "signed_on", violations, true);
  if (date && today < *date) violations.Add("signed_on", "must not be in the future");
  if (changes.empty()) {
    violations.Add("changes", "an amendment lists at least one change (art. 13)");
  }
  for (int i = 0; i < changes.size(); ++i) {
    CheckText(changes[i], "changes[" + std::to_string(i) + "]", 1, 2000, violations);
  }
}

void CheckCanAmend(const v1::Convention& c, const CivilDate& today) {
  const auto state = ComputeConventionState(c, today);
  if (state != v1::SIGNED && state != v1::IN_FORCE) {
    throw FailedPreconditionError("only a SIGNED or IN_FORCE convention is amended; this one is " +
                                  StateName(state));
  }
}

int NextAmendmentNumber(const v1::Convention& c) {
  int highest = 0;
  for (const auto& a : c.amendments()) highest = std::max(highest, a.number());
  return highest + 1;
}

void CheckCanTerminate(const v1::Convention& c, const CivilDate& today) {
  const auto state = ComputeConventionState(c, today);
  if (state != v1::SIGNED && state != v1::IN_FORCE) {
    throw FailedPreconditionError(
        "only a SIGNED or IN_FORCE convention is terminated; this one is " + StateName(state));
  }
  if (HasTermination(c)) {
    throw FailedPreconditionError("a termination is already recorded, effective on " +
                                  FromProto(c.termination().effective_date()).ToString());
  }
}

CivilDate EarliestTerminationDate(v1::TerminationGround ground, const CivilDate& notice) {
  switch (ground) {
    case v1::FORMAL_NOTICE:
      return notice.AddMonths(1);
    case v1::MUTUAL_CONSENT:
      return notice.AddMonths(6);
    default:
      return notice;
  }
}

void ValidateTermination(const v1::Convention& c, const v1::Termination& t,
                         const std::map<std::string, int>& party_kinds, const std::string& prefix,
                         Violations& violations) {
  const auto ground = t.ground();
  const bool known_ground =
      v1::TerminationGround_IsValid(ground) && ground != v1::TERMINATION_GROUND_UNSPECIFIED;
  if (!known_ground) {
    violations.Add(prefix + "ground",
                   "required: FORMAL_NOTICE, MODIFICATION_WITHOUT_AMENDMENT or MUTUAL_CONSENT");
  }
  if (ParseResourceName(t.initiated_by(), "organisations", prefix + "initiated_by", violations)) {
    auto kind = party_kinds.find(t.initiated_by());
    if (kind == party_kinds.end()) {
      violations.Add(prefix + "initiated_by", "must be a party to the convention");
    } else if (ground == v1::MODIFICATION_WITHOUT_AMENDMENT && kind->second != v1::CAF) {
      violations.Add(prefix + "initiated_by",
                     "only the Caf terminates without notice a convention modified without an "
                     "amendment (art. 14)");
    }
  }
  const bool needs_notice = ground == v1::FORMAL_NOTICE || ground == v1::MUTUAL_CONSENT;
  auto notice = ParseDate(t.notice_date(), prefix + "notice_date", violations, needs_notice);
  auto effective = ParseDate(t.effective_date(), prefix + "effective_date", violations, true);
  if (effective) {
    const CivilDate start = FromProto(c.start_date());
    const CivilDate end = FromProto(c.end_date());
    if (needs_notice && notice && *effective < EarliestTerminationDate(ground, *notice)) {
      violations.Add(
          prefix + "effective_date",
          std::string("must be no earlier than ") +
              EarliestTerminationDate(ground, *notice).ToString() +
              (ground == v1::FORMAL_NOTICE ? ": one month after the formal notice (art. 14)"
                                           : ": six months after the denunciation (art. 14)"));
    } else if (*effective < start) {
      violations.Add(prefix + "effective_date", "must not be before the convention's start_date");
    } else if (end < *effective) {
      violations.Add(prefix + "effective_date",
                     "must not be after the convention's end_date (it expires then)");
    }
  }
  if (!t.reason().empty()) CheckText(t.reason(), prefix + "reason", 0, 2000, violations);
}

}  // namespace ctg::partners
