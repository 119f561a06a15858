#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/api.h"
#include "ctg/action_plan/v1/action_plan.pb.h"

namespace ctg::action_plan {

namespace v1 = ::ctg::action_plan::v1;

// A calendar quarter, written "2025-Q1".
struct Quarter {
  int year = 0;
  int number = 0;  // 1..4

  // Parses "YYYY-Qn"; nullopt for anything else.
  static std::optional<Quarter> Parse(std::string_view text);
  // The quarter containing `date`.
  static Quarter Of(const CivilDate& date);
  std::string ToString() const;
  CivilDate FirstDay() const;
  CivilDate LastDay() const;
  // A sortable index (year * 4 + number - 1).
  int Index() const { return year * 4 + number - 1; }

  friend bool operator==(const Quarter& a, const Quarter& b) { return a.Index() == b.Index(); }
  friend bool operator<(const Quarter& a, const Quarter& b) { return a.Index() < b.Index(); }
};

// Why a quarter cannot be reported on, or nullopt when it can: it must overlap the convention
// period [start, end] and must have begun by `today`.
std::optional<std::string> QuarterRefusal(const Quarter& quarter, const CivilDate& start,
                                          const CivilDate& end, const CivilDate& today);

// Why a status change is refused, or nullopt when allowed: leaving ABANDONED needs a reason.
std::optional<std::string> StatusMoveRefusal(v1::ActionStatus from, v1::ActionStatus to,
                                             const std::string& reason);

// Whether an action is late at the end of `quarter`: a planned end before the quarter's last
// day, not continuous, and not achieved or abandoned.
bool IsLate(const v1::Action& action, v1::ActionStatus status, const Quarter& quarter);

// One action's contribution to a roll-up.
struct RollupInput {
  std::string axis;
  double weight = 1;
  double completion_percent = 0;
  v1::ActionStatus status = v1::NOT_STARTED;
  bool late = false;
  bool missing_update = false;
};

// Weighted average completion of the non-abandoned children (Decidim's accountability
// roll-up, with weights), with counts. `axis` names the roll-up ("" for the whole plan).
v1::Rollup ComputeRollup(const std::string& axis, const std::vector<RollupInput>& children);

// The whole-plan roll-up from axis roll-ups: the average of the axes' completions weighted by
// the axis weights (axes without live actions are left out).
v1::Rollup ComputePlanRollup(const std::vector<std::pair<v1::Rollup, double>>& axes);

// Checks an axis's own fields under `prefix` ("axis.").
void ValidateAxis(const v1::Axis& axis, const std::string& prefix, Violations& violations);

// Checks an action's own fields under `prefix` ("action."): number, title, lists, enums,
// organisation names, amounts (>= 0, cents), dates and the continuous/planned_end rule.
void ValidateAction(const v1::Action& action, const std::string& prefix, Violations& violations);

// Checks a progress report's own fields under `prefix` ("report."): quarter syntax, status,
// completion 0..100, text lengths. Returns the parsed quarter when valid.
std::optional<Quarter> ValidateReport(const v1::ProgressReport& report, const std::string& prefix,
                                      Violations& violations);

}  // namespace ctg::action_plan
