#include "consents/consent_rules.h"

#include <algorithm>
#include <set>

namespace ctg::consents {
namespace {

bool IsAgent(const Principal& p) {
  return p.HasAny({Role::kCafAgent, Role::kCollectivityAgent, Role::kCopilSecretariat});
}

std::optional<CivilDate> DateOf(const google::type::Date& d) {
  if (IsUnset(d)) return std::nullopt;
  return CivilDate{d.year(), d.month(), d.day()};
}

bool AllRecommendationsDone(const v1::ExchangeRequest& r) {
  for (const auto& rec : r.opinion().recommendations()) {
    if (!rec.implemented() || !rec.acknowledged()) return false;
  }
  return true;
}

void CheckName(const std::string& name, const char* collection, const std::string& field,
               bool required, Violations& v) {
  if (name.empty()) {
    if (required) v.Add(field, "required");
    return;
  }
  ParseResourceName(name, collection, field, v);
}

void RequireText(const std::string& text, const std::string& field, size_t max, Violations& v) {
  CheckText(text, field, 1, max, v);
}

[[noreturn]] void WrongActor(const std::string& who) {
  throw PermissionDeniedError("this step is taken by " + who);
}

}  // namespace

bool IsSpecialCategory(v1::DataCategory c) { return c >= v1::HEALTH && c <= v1::BIOMETRIC; }

void ValidateExchangeRequest(const v1::ExchangeRequest& r, const std::string& prefix,
                             Violations& v) {
  CheckName(r.requester(), "organisations", prefix + "requester", true, v);
  CheckName(r.holder(), "organisations", prefix + "holder", true, v);
  if (!r.requester().empty() && r.requester() == r.holder()) {
    v.Add(prefix + "holder", "must not be the requester");
  }
  RequireText(r.title(), prefix + "title", 200, v);
  RequireText(r.purpose(), prefix + "purpose", 4000, v);
  if (r.legal_basis() == v1::LEGAL_BASIS_UNSPECIFIED || !v1::LegalBasis_IsValid(r.legal_basis())) {
    v.Add(prefix + "legal_basis", "required (GDPR art. 6)");
  }
  RequireText(r.legal_basis_justification(), prefix + "legal_basis_justification", 2000, v);
  // Lists stay short: a request is read by people, and its audit events copy it.
  for (const auto& [size, field] :
       std::vector<std::pair<int, std::string>>{{r.data_subjects_size(), "data_subjects"},
                                                {r.data_categories_size(), "data_categories"},
                                                {r.recipients_size(), "recipients"},
                                                {r.processors_size(), "processors"},
                                                {r.transfers_size(), "transfers"},
                                                {r.security_measures_size(), "security_measures"},
                                                {r.actions_size(), "actions"}}) {
    if (size > 50) {
      v.Add(prefix + field, "at most 50");
      return;
    }
  }
  if (r.data_subjects_size() == 0) v.Add(prefix + "data_subjects", "at least one");
  for (int i = 0; i < r.data_subjects_size(); ++i) {
    if (r.data_subjects(i) == v1::DATA_SUBJECT_UNSPECIFIED ||
        !v1::DataSubject_IsValid(r.data_subjects(i))) {
      v.Add(prefix + "data_subjects[" + std::to_string(i) + "]", "unknown category");
    }
  }
  if (r.data_categories_size() == 0) v.Add(prefix + "data_categories", "at least one");
  bool special = false, nir = false;
  for (int i = 0; i < r.data_categories_size(); ++i) {
    const auto c = r.data_categories(i);
    const std::string field = prefix + "data_categories[" + std::to_string(i) + "]";
    if (c == v1::DATA_CATEGORY_UNSPECIFIED || !v1::DataCategory_IsValid(c)) {
      v.Add(field, "unknown category");
    } else if (c == v1::OFFENCES) {
      v.Add(field, "offences and convictions (GDPR art. 10) are not exchanged under a CTG");
    }
    special = special || IsSpecialCategory(c);
    nir = nir || c == v1::NIR;
  }
  if (!v1::SpecialCategoryCondition_IsValid(r.special_category_condition())) {
    v.Add(prefix + "special_category_condition", "unknown condition");
  } else if (special &&
             r.special_category_condition() == v1::SPECIAL_CATEGORY_CONDITION_UNSPECIFIED) {
    v.Add(prefix + "special_category_condition",
          "required: special categories of data (GDPR art. 9) need the condition of art. 9(2) "
          "that allows them");
  }
  if (!special && r.special_category_condition() != v1::SPECIAL_CATEGORY_CONDITION_UNSPECIFIED) {
    v.Add(prefix + "special_category_condition", "only for special categories of data");
  }
  if (nir) {
    RequireText(r.nir_authorisation(), prefix + "nir_authorisation", 2000, v);
  }
  if (r.recipients_size() == 0) v.Add(prefix + "recipients", "at least one");
  for (int i = 0; i < r.recipients_size(); ++i) {
    RequireText(r.recipients(i), prefix + "recipients[" + std::to_string(i) + "]", 200, v);
  }
  for (int i = 0; i < r.processors_size(); ++i) {
    RequireText(r.processors(i), prefix + "processors[" + std::to_string(i) + "]", 200, v);
  }
  for (int i = 0; i < r.transfers_size(); ++i) {
    const auto& t = r.transfers(i);
    const std::string field = prefix + "transfers[" + std::to_string(i) + "]";
    const std::string& country = t.country();
    if (country.size() != 2 || country[0] < 'A' || country[0] > 'Z' || country[1] < 'A' ||
        country[1] > 'Z') {
      v.Add(field + ".country", "ISO 3166 alpha-2 code (two capital letters)");
    }
    RequireText(t.recipient(), field + ".recipient", 200, v);
    if (t.safeguard() == v1::TRANSFER_SAFEGUARD_UNSPECIFIED ||
        !v1::TransferSafeguard_IsValid(t.safeguard())) {
      v.Add(field + ".safeguard", "required: a transfer outside the EU needs its safeguard");
    }
  }
  if (!r.has_retention()) {
    v.Add(prefix + "retention", "required");
  } else {
    if (r.retention().duration() < 1) v.Add(prefix + "retention.duration", "at least 1");
    if (r.retention().unit() == v1::RETENTION_UNIT_UNSPECIFIED ||
        !v1::RetentionUnit_IsValid(r.retention().unit())) {
      v.Add(prefix + "retention.unit", "required");
    }
    if (r.retention().end() == v1::END_OF_RETENTION_UNSPECIFIED ||
        !v1::EndOfRetention_IsValid(r.retention().end())) {
      v.Add(prefix + "retention.end", "required: what happens at the end of the retention");
    }
  }
  if (r.security_measures_size() == 0) v.Add(prefix + "security_measures", "at least one");
  for (int i = 0; i < r.security_measures_size(); ++i) {
    RequireText(r.security_measures(i), prefix + "security_measures[" + std::to_string(i) + "]",
                500, v);
  }
  if (r.frequency() == v1::FREQUENCY_UNSPECIFIED || !v1::Frequency_IsValid(r.frequency())) {
    v.Add(prefix + "frequency", "required");
  }
  if (r.volume() < 1) v.Add(prefix + "volume", "at least 1 record");
  auto start = ParseDate(r.start_date(), prefix + "start_date", v, true);
  auto end = ParseDate(r.end_date(), prefix + "end_date", v, true);
  if (start && end && *end < *start) v.Add(prefix + "end_date", "must not be before start_date");
  CheckName(r.convention(), "conventions", prefix + "convention", false, v);
  for (int i = 0; i < r.actions_size(); ++i) {
    CheckName(r.actions(i), "actions", prefix + "actions[" + std::to_string(i) + "]", true, v);
  }
}

Parties PartiesOf(const Principal& principal, const v1::ExchangeRequest& r) {
  Parties p;
  p.subject = principal.subject;
  p.service = principal.Has(Role::kService);
  const std::string& org = principal.organisation;
  if (org.empty()) return p;
  p.requester_agent = IsAgent(principal) && org == r.requester();
  p.holder_agent = IsAgent(principal) && org == r.holder();
  p.holder_dpo = principal.Has(Role::kDpo) && org == r.holder();
  p.requester_dpo = principal.Has(Role::kDpo) && org == r.requester();
  return p;
}

v1::ExchangeState EffectiveState(const v1::ExchangeRequest& r, const CivilDate& today) {
  const auto stored = r.state();
  if (stored != v1::APPROVED && stored != v1::SUSPENDED) return stored;
  const auto end = DateOf(r.end_date());
  if (end && *end < today) return v1::EXPIRED;
  if (stored == v1::SUSPENDED) return stored;
  const auto start = DateOf(r.start_date());
  if (start && start->ToDays() <= today.ToDays() && AllRecommendationsDone(r)) {
    return v1::ACTIVE;
  }
  return v1::APPROVED;
}

void CheckStepActor(const v1::TakeStepRequest& s, const Parties& parties,
                    const v1::ExchangeRequest& r) {
  switch (s.step()) {
    case v1::SUBMIT:
    case v1::MARK_IMPLEMENTED:
      if (!parties.requester_agent) WrongActor("the requesting organisation");
      break;
    case v1::RECORD_STUDY:
      if (!parties.holder_agent) WrongActor("the holding organisation, as controller");
      break;
    case v1::GIVE_OPINION:
      if (!parties.holder_dpo) {
        WrongActor("the data protection officer of the holding organisation");
      }
      // The DPO's opinion is independent of the study: not by the person who made it.
      if (!parties.subject.empty() && parties.subject == r.study().author()) {
        WrongActor("a DPO other than the author of the study");
      }
      break;
    case v1::DECIDE:
      // The requester never decides its own request, even when it also holds a role there.
      if (!parties.holder_agent || parties.requester_agent) {
        WrongActor("the holding organisation, as controller (never the requester)");
      }
      // Nobody decides on their own opinion, even holding both roles.
      if (!parties.subject.empty() && parties.subject == r.opinion().dpo()) {
        WrongActor("the controller, not the DPO who gave the opinion");
      }
      break;
    case v1::ACKNOWLEDGE:
      if (!parties.holder_dpo) {
        WrongActor("the data protection officer of the holding organisation");
      }
      break;
    case v1::SUSPEND:
    case v1::RESUME:
    case v1::REVOKE:
      if (!parties.holder_agent) WrongActor("the holding organisation");
      break;
    default:
      break;
  }
}

void CheckStep(const v1::TakeStepRequest& s, const Parties& parties, const v1::ExchangeRequest& r,
               const CivilDate& today) {
  CheckStepActor(s, parties, r);
  const auto state = EffectiveState(r, today);
  auto require_state = [&](std::initializer_list<v1::ExchangeState> from) {
    if (std::find(from.begin(), from.end(), state) == from.end()) {
      throw FailedPreconditionError("the request is " + v1::ExchangeState_Name(state) +
                                    ": this step is not possible now");
    }
  };
  Violations v;
  switch (s.step()) {
    case v1::SUBMIT:
      require_state({v1::DRAFT});
      break;
    case v1::RECORD_STUDY:
      require_state({v1::SUBMITTED});
      RequireText(s.study().opportunity(), "study.opportunity", 4000, v);
      RequireText(s.study().feasibility(), "study.feasibility", 4000, v);
      RequireText(s.study().compliance(), "study.compliance", 4000, v);
      break;
    case v1::GIVE_OPINION:
      require_state({v1::STUDIED});
      if (s.opinion().verdict() == v1::OPINION_VERDICT_UNSPECIFIED ||
          !v1::OpinionVerdict_IsValid(s.opinion().verdict())) {
        v.Add("opinion.verdict", "required");
      }
      RequireText(s.opinion().text(), "opinion.text", 8000, v);
      if (s.opinion().verdict() == v1::FAVOURABLE_WITH_RECOMMENDATIONS &&
          s.opinion().recommendations_size() == 0) {
        v.Add("opinion.recommendations", "at least one with this verdict");
      }
      if (s.opinion().recommendations_size() > 50) {
        v.Add("opinion.recommendations", "at most 50");
        break;
      }
      if (s.opinion().verdict() == v1::FAVOURABLE && s.opinion().recommendations_size() > 0) {
        v.Add("opinion.verdict", "FAVOURABLE_WITH_RECOMMENDATIONS when there are recommendations");
      }
      for (int i = 0; i < s.opinion().recommendations_size(); ++i) {
        RequireText(s.opinion().recommendations(i).text(),
                    "opinion.recommendations[" + std::to_string(i) + "].text", 2000, v);
      }
      break;
    case v1::DECIDE: {
      require_state({v1::OPINION_GIVEN});
      const bool against = r.opinion().verdict() == v1::UNFAVOURABLE;
      if ((!s.decision().approved() || against) && s.decision().justification().empty()) {
        v.Add("decision.justification",
              s.decision().approved()
                  ? "required: the approval goes against the DPO's unfavourable opinion"
                  : "required: why the request is rejected");
      } else if (!s.decision().justification().empty()) {
        RequireText(s.decision().justification(), "decision.justification", 4000, v);
      }
      break;
    }
    case v1::MARK_IMPLEMENTED:
    case v1::ACKNOWLEDGE: {
      const bool mark = s.step() == v1::MARK_IMPLEMENTED;
      require_state({v1::APPROVED, v1::ACTIVE, v1::SUSPENDED});
      const auto& recs = r.opinion().recommendations();
      if (s.recommendation() < 1 || s.recommendation() > recs.size()) {
        v.Add("recommendation", "no recommendation with this number");
        break;
      }
      const auto& rec = recs.Get(s.recommendation() - 1);
      if (mark) {
        RequireText(s.evidence(), "evidence", 2000, v);
        if (rec.implemented()) throw FailedPreconditionError("already marked implemented");
      } else {
        if (!rec.implemented()) throw FailedPreconditionError("not marked implemented yet");
        if (rec.acknowledged()) throw FailedPreconditionError("already acknowledged");
      }
      break;
    }
    case v1::SUSPEND:
      require_state({v1::APPROVED, v1::ACTIVE});
      RequireText(s.reason(), "reason", 2000, v);
      break;
    case v1::RESUME:
      require_state({v1::SUSPENDED});
      break;
    case v1::REVOKE:
      require_state({v1::APPROVED, v1::ACTIVE, v1::SUSPENDED});
      RequireText(s.reason(), "reason", 2000, v);
      break;
    default:
      v.Add("step", "required");
  }
  v.ThrowIfAny();
}

void ApplyStep(const v1::TakeStepRequest& s, const std::string& actor,
               const google::protobuf::Timestamp& now, v1::ExchangeRequest& r) {
  switch (s.step()) {
    case v1::SUBMIT:
      r.set_state(v1::SUBMITTED);
      break;
    case v1::RECORD_STUDY:
      *r.mutable_study() = s.study();
      r.mutable_study()->set_author(actor);
      *r.mutable_study()->mutable_time() = now;
      r.set_state(v1::STUDIED);
      break;
    case v1::GIVE_OPINION: {
      auto* o = r.mutable_opinion();
      *o = s.opinion();
      for (int i = 0; i < o->recommendations_size(); ++i) {
        auto* rec = o->mutable_recommendations(i);
        const std::string text = rec->text();
        rec->Clear();
        rec->set_number(i + 1);
        rec->set_text(text);
      }
      o->set_dpo(actor);
      *o->mutable_time() = now;
      o->set_request_version(r.version());
      r.set_state(v1::OPINION_GIVEN);
      break;
    }
    case v1::DECIDE:
      *r.mutable_decision() = s.decision();
      r.mutable_decision()->set_decided_by(actor);
      *r.mutable_decision()->mutable_time() = now;
      r.set_state(s.decision().approved() ? v1::APPROVED : v1::REJECTED);
      break;
    case v1::MARK_IMPLEMENTED: {
      auto* rec = r.mutable_opinion()->mutable_recommendations(s.recommendation() - 1);
      rec->set_implemented(true);
      rec->set_evidence(s.evidence());
      rec->set_implemented_by(actor);
      break;
    }
    case v1::ACKNOWLEDGE: {
      auto* rec = r.mutable_opinion()->mutable_recommendations(s.recommendation() - 1);
      rec->set_acknowledged(true);
      rec->set_acknowledged_by(actor);
      break;
    }
    case v1::SUSPEND:
      r.set_state(v1::SUSPENDED);
      r.set_state_reason(s.reason());
      break;
    case v1::RESUME:
      r.set_state(v1::APPROVED);
      r.clear_state_reason();
      break;
    case v1::REVOKE:
      r.set_state(v1::REVOKED);
      r.set_state_reason(s.reason());
      break;
    default:
      break;
  }
}

void ApplyChange(v1::ExchangeRequest& r) {
  switch (r.state()) {
    case v1::DRAFT:
    case v1::SUBMITTED:
      break;
    case v1::STUDIED:
      // The study was of another text: the holder studies the request again.
      r.clear_study();
      r.set_state(v1::SUBMITTED);
      break;
    case v1::OPINION_GIVEN:
      // The opinion was given on another text: the DPO sees the request again.
      r.clear_opinion();
      r.set_state(v1::STUDIED);
      break;
    default:
      throw FailedPreconditionError("a decided request does not change: make a new request");
  }
  r.set_version(r.version() + 1);
}

std::vector<std::pair<v1::Step, int>> PendingSteps(const v1::ExchangeRequest& r, const Parties& p,
                                                   const CivilDate& today) {
  std::vector<std::pair<v1::Step, int>> out;
  const auto state = EffectiveState(r, today);
  if (state == v1::DRAFT && p.requester_agent) out.push_back({v1::SUBMIT, 0});
  if (state == v1::SUBMITTED && p.holder_agent) out.push_back({v1::RECORD_STUDY, 0});
  if (state == v1::STUDIED && p.holder_dpo) out.push_back({v1::GIVE_OPINION, 0});
  if (state == v1::OPINION_GIVEN && p.holder_agent && !p.requester_agent) {
    out.push_back({v1::DECIDE, 0});
  }
  if (state == v1::APPROVED || state == v1::ACTIVE || state == v1::SUSPENDED) {
    for (const auto& rec : r.opinion().recommendations()) {
      if (!rec.implemented() && p.requester_agent) {
        out.push_back({v1::MARK_IMPLEMENTED, rec.number()});
      }
      if (rec.implemented() && !rec.acknowledged() && p.holder_dpo) {
        out.push_back({v1::ACKNOWLEDGE, rec.number()});
      }
    }
  }
  return out;
}

std::string WhyNotAllowed(const v1::ExchangeRequest& consent,
                          const std::vector<v1::DataCategory>& categories,
                          const std::string& purpose, const CivilDate& date) {
  const auto state = EffectiveState(consent, date);
  if (state != v1::ACTIVE) {
    return "le consentement " + consent.name() + " n'est pas actif à cette date (" +
           v1::ExchangeState_Name(state) + ")";
  }
  if (consent.purpose() != purpose) return "la finalité diffère de celle du consentement";
  std::set<int> allowed(consent.data_categories().begin(), consent.data_categories().end());
  for (auto c : categories) {
    if (allowed.count(c) == 0) {
      return "la catégorie " + v1::DataCategory_Name(c) + " n'est pas couverte par le consentement";
    }
  }
  return "";
}

}  // namespace ctg::consents
