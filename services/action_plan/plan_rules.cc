#include "action_plan/plan_rules.h"

#include <cmath>
#include <cstdio>
#include <set>

namespace ctg::action_plan {

std::optional<Quarter> Quarter::Parse(std::string_view text) {
  if (text.size() != 7 || text[4] != '-' || text[5] != 'Q') return std::nullopt;
  for (int i : {0, 1, 2, 3}) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  if (text[6] < '1' || text[6] > '4') return std::nullopt;
  Quarter q;
  q.year = (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 + (text[3] - '0');
  q.number = text[6] - '0';
  return q;
}

Quarter Quarter::Of(const CivilDate& date) { return Quarter{date.year, (date.month - 1) / 3 + 1}; }

std::string Quarter::ToString() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-Q%d", year, number);
  return buf;
}

CivilDate Quarter::FirstDay() const { return CivilDate{year, (number - 1) * 3 + 1, 1}; }

CivilDate Quarter::LastDay() const {
  return CivilDate::FromDays(FirstDay().AddMonths(3).ToDays() - 1);
}

std::optional<std::string> QuarterRefusal(const Quarter& quarter, const CivilDate& start,
                                          const CivilDate& end, const CivilDate& today) {
  if (quarter.LastDay() < start || end < quarter.FirstDay()) {
    return "quarter " + quarter.ToString() + " is outside the convention period " +
           start.ToString() + " – " + end.ToString();
  }
  if (today < quarter.FirstDay()) {
    return "quarter " + quarter.ToString() + " has not started yet";
  }
  return std::nullopt;
}

std::optional<std::string> StatusMoveRefusal(v1::ActionStatus from, v1::ActionStatus to,
                                             const std::string& reason) {
  if (from == v1::ABANDONED && to != v1::ABANDONED && reason.empty()) {
    return "an abandoned action is resumed only with a reason";
  }
  return std::nullopt;
}

bool IsLate(const v1::Action& action, v1::ActionStatus status, const Quarter& quarter) {
  if (action.continuous() || IsUnset(action.planned_end())) return false;
  if (status == v1::ACHIEVED || status == v1::ABANDONED) return false;
  const CivilDate end{action.planned_end().year(), action.planned_end().month(),
                      action.planned_end().day()};
  return end < quarter.LastDay();
}

v1::Rollup ComputeRollup(const std::string& axis, const std::vector<RollupInput>& children) {
  v1::Rollup r;
  r.set_axis(axis);
  double weighted = 0, weights = 0;
  for (const auto& c : children) {
    r.set_actions(r.actions() + 1);
    if (c.status == v1::ACHIEVED) r.set_achieved(r.achieved() + 1);
    if (c.late) r.set_late(r.late() + 1);
    if (c.missing_update) r.set_missing_update(r.missing_update() + 1);
    if (c.status == v1::ABANDONED) continue;
    const double completion = c.status == v1::ACHIEVED ? 100.0 : c.completion_percent;
    weighted += c.weight * completion;
    weights += c.weight;
  }
  r.set_completion_percent(weights > 0 ? weighted / weights : 0);
  return r;
}

v1::Rollup ComputePlanRollup(const std::vector<std::pair<v1::Rollup, double>>& axes) {
  v1::Rollup plan;
  double weighted = 0, weights = 0;
  for (const auto& [axis, weight] : axes) {
    plan.set_actions(plan.actions() + axis.actions());
    plan.set_achieved(plan.achieved() + axis.achieved());
    plan.set_late(plan.late() + axis.late());
    plan.set_missing_update(plan.missing_update() + axis.missing_update());
    if (axis.actions() == 0) continue;
    weighted += weight * axis.completion_percent();
    weights += weight;
  }
  plan.set_completion_percent(weights > 0 ? weighted / weights : 0);
  return plan;
}

void ValidateAxis(const v1::Axis& axis, const std::string& prefix, Violations& violations) {
  ParseResourceName(axis.convention(), "conventions", prefix + "convention", violations);
  if (axis.number() < 1 || axis.number() > 99) {
    violations.Add(prefix + "number", "must be between 1 and 99");
  }
  CheckText(axis.title(), prefix + "title", 1, 300, violations);
  if (!(axis.weight() >= 0) || !std::isfinite(axis.weight())) {
    violations.Add(prefix + "weight", "must be a finite positive number (0 means the default 1)");
  }
}

void ValidateAction(const v1::Action& a, const std::string& p, Violations& violations) {
  ParseResourceName(a.convention(), "conventions", p + "convention", violations);
  ParseResourceName(a.axis(), "axes", p + "axis", violations);
  if (a.number() < 1 || a.number() > 999) violations.Add(p + "number", "must be between 1 and 999");
  CheckText(a.title(), p + "title", 1, 500, violations);
  CheckText(a.description(), p + "description", 0, 10000, violations);
  for (int i = 0; i < a.objectives_size(); ++i) {
    CheckText(a.objectives(i), p + "objectives[" + std::to_string(i) + "]", 1, 1000, violations);
  }
  std::set<int> fields;
  for (int i = 0; i < a.fields_size(); ++i) {
    if (a.fields(i) == v1::INTERVENTION_FIELD_UNSPECIFIED ||
        !v1::InterventionField_IsValid(a.fields(i)) || !fields.insert(a.fields(i)).second) {
      violations.Add(p + "fields[" + std::to_string(i) + "]", "unknown or repeated field");
    }
  }
  if (a.pilots_size() == 0) violations.Add(p + "pilots", "at least one pilot organisation");
  std::set<std::string> pilots;
  for (int i = 0; i < a.pilots_size(); ++i) {
    const auto field = p + "pilots[" + std::to_string(i) + "]";
    if (ParseResourceName(a.pilots(i), "organisations", field, violations) &&
        !pilots.insert(a.pilots(i)).second) {
      violations.Add(field, "pilot given twice");
    }
  }
  for (int i = 0; i < a.partners_size(); ++i) {
    ParseResourceName(a.partners(i), "organisations", p + "partners[" + std::to_string(i) + "]",
                      violations);
  }
  std::set<std::pair<std::string, int>> funding_keys;
  for (int i = 0; i < a.fundings_size(); ++i) {
    const auto& f = a.fundings(i);
    const auto field = p + "fundings[" + std::to_string(i) + "]";
    ParseResourceName(f.organisation(), "organisations", field + ".organisation", violations);
    if (f.year() < 2000 || f.year() > 2100) {
      violations.Add(field + ".year", "must be a year between 2000 and 2100");
    } else if (!funding_keys.insert({f.organisation(), f.year()}).second) {
      violations.Add(field + ".year", "one funding line per organisation and year");
    }
    if (f.planned_cents() < 0) violations.Add(field + ".planned_cents", "must not be negative");
    if (f.actual_cents() < 0) violations.Add(field + ".actual_cents", "must not be negative");
  }
  auto start = ParseDate(a.planned_start(), p + "planned_start", violations, false);
  auto end = ParseDate(a.planned_end(), p + "planned_end", violations, false);
  if (start && end && *end < *start) {
    violations.Add(p + "planned_end", "must not be before planned_start");
  }
  if (a.continuous() && end) {
    violations.Add(p + "planned_end", "a continuous action has no planned end");
  }
  if (!v1::Priority_IsValid(a.priority())) violations.Add(p + "priority", "unknown priority");
  for (int i = 0; i < a.indicators_size(); ++i) {
    CheckText(a.indicators(i), p + "indicators[" + std::to_string(i) + "]", 1, 200, violations);
  }
  for (int i = 0; i < a.milestones_size(); ++i) {
    const auto field = p + "milestones[" + std::to_string(i) + "]";
    CheckText(a.milestones(i).title(), field + ".title", 1, 300, violations);
    ParseDate(a.milestones(i).due_date(), field + ".due_date", violations, false);
  }
  if (!(a.weight() >= 0) || !std::isfinite(a.weight())) {
    violations.Add(p + "weight", "must be a finite positive number (0 means the default 1)");
  }
}

std::optional<Quarter> ValidateReport(const v1::ProgressReport& r, const std::string& p,
                                      Violations& violations) {
  ParseResourceName(r.action(), "actions", p + "action", violations);
  auto quarter = Quarter::Parse(r.quarter());
  if (!quarter) violations.Add(p + "quarter", "must be written YYYY-Qn, e.g. 2025-Q3");
  if (r.status() == v1::ACTION_STATUS_UNSPECIFIED || !v1::ActionStatus_IsValid(r.status())) {
    violations.Add(p + "status", "required");
  }
  if (r.completion_percent() < 0 || r.completion_percent() > 100) {
    violations.Add(p + "completion_percent", "must be between 0 and 100");
  }
  CheckText(r.implementation(), p + "implementation", 0, 5000, violations);
  CheckText(r.progress(), p + "progress", 0, 5000, violations);
  CheckText(r.difficulties(), p + "difficulties", 0, 5000, violations);
  CheckText(r.next_steps(), p + "next_steps", 0, 5000, violations);
  CheckText(r.reason(), p + "reason", 0, 2000, violations);
  return quarter;
}

}  // namespace ctg::action_plan
