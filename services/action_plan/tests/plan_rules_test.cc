#include "action_plan/plan_rules.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace ctg::action_plan {
namespace {

TEST(QuarterTest, ParsesPrintsAndBounds) {
  auto q = Quarter::Parse("2025-Q3");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->ToString(), "2025-Q3");
  EXPECT_EQ(q->FirstDay(), (CivilDate{2025, 7, 1}));
  EXPECT_EQ(q->LastDay(), (CivilDate{2025, 9, 30}));
  EXPECT_EQ(Quarter::Parse("2029-Q4")->LastDay(), (CivilDate{2029, 12, 31}));
  EXPECT_EQ(Quarter::Of(CivilDate{2026, 3, 31}).ToString(), "2026-Q1");
  EXPECT_EQ(Quarter::Of(CivilDate{2026, 4, 1}).ToString(), "2026-Q2");
  for (const char* bad : {"2025-Q0", "2025-Q5", "2025Q1", "25-Q1", "2025-q1", "", "2025-Q12"}) {
    EXPECT_FALSE(Quarter::Parse(bad)) << bad;
  }
  EXPECT_LT(*Quarter::Parse("2025-Q4"), *Quarter::Parse("2026-Q1"));
}

TEST(QuarterTest, RefusesQuartersOutsideThePeriodOrInTheFuture) {
  const CivilDate start{2025, 1, 1}, end{2029, 12, 31}, today{2026, 11, 28};
  EXPECT_FALSE(QuarterRefusal(*Quarter::Parse("2025-Q1"), start, end, today));
  EXPECT_FALSE(QuarterRefusal(*Quarter::Parse("2026-Q4"), start, end, today));  // begun
  EXPECT_TRUE(QuarterRefusal(*Quarter::Parse("2027-Q1"), start, end, today));   // future
  EXPECT_TRUE(QuarterRefusal(*Quarter::Parse("2024-Q4"), start, end, today));   // before
  EXPECT_TRUE(QuarterRefusal(*Quarter::Parse("2030-Q1"), start, end, CivilDate{2031, 1, 1}));
}

TEST(StatusMoveTest, LeavingAbandonedNeedsAReason) {
  EXPECT_TRUE(StatusMoveRefusal(v1::ABANDONED, v1::IN_PROGRESS, ""));
  EXPECT_FALSE(StatusMoveRefusal(v1::ABANDONED, v1::IN_PROGRESS, "relancée par le COPIL"));
  EXPECT_FALSE(StatusMoveRefusal(v1::ABANDONED, v1::ABANDONED, ""));
  EXPECT_FALSE(StatusMoveRefusal(v1::IN_PROGRESS, v1::ABANDONED, ""));
}

TEST(LateTest, PlannedEndBeforeQuarterEndAndNotAchieved) {
  v1::Action a;
  *a.mutable_planned_end() = CivilDate{2025, 6, 30}.ToProto();
  EXPECT_FALSE(IsLate(a, v1::IN_PROGRESS, *Quarter::Parse("2025-Q2")));  // ends with the quarter
  EXPECT_TRUE(IsLate(a, v1::IN_PROGRESS, *Quarter::Parse("2025-Q3")));
  EXPECT_FALSE(IsLate(a, v1::ACHIEVED, *Quarter::Parse("2025-Q3")));
  EXPECT_FALSE(IsLate(a, v1::ABANDONED, *Quarter::Parse("2025-Q3")));
  v1::Action continuous;
  continuous.set_continuous(true);
  EXPECT_FALSE(IsLate(continuous, v1::IN_PROGRESS, *Quarter::Parse("2029-Q4")));
}

TEST(RollupTest, WeightedAverageExcludesAbandonedAndCountsAchievedAsFull) {
  std::vector<RollupInput> children = {
      {"axes/a", 1, 50, v1::IN_PROGRESS, false, false},
      {"axes/a", 3, 10, v1::ACHIEVED, false, false},  // achieved counts as 100
      {"axes/a", 2, 80, v1::ABANDONED, false, true},  // excluded from the average
      {"axes/a", 1, 0, v1::DELAYED, true, true},
  };
  auto r = ComputeRollup("axes/a", children);
  EXPECT_DOUBLE_EQ(r.completion_percent(), (50.0 * 1 + 100.0 * 3 + 0.0 * 1) / 5);
  EXPECT_EQ(r.actions(), 4);
  EXPECT_EQ(r.achieved(), 1);
  EXPECT_EQ(r.late(), 1);
  EXPECT_EQ(r.missing_update(), 2);
  EXPECT_DOUBLE_EQ(ComputeRollup("axes/empty", {}).completion_percent(), 0);
}

TEST(RollupTest, PlanWeighsAxesAndSkipsEmptyOnes) {
  v1::Rollup a, b, empty;
  a.set_actions(2);
  a.set_completion_percent(100);
  b.set_actions(1);
  b.set_completion_percent(40);
  auto plan = ComputePlanRollup({{a, 1}, {b, 3}, {empty, 5}});
  EXPECT_DOUBLE_EQ(plan.completion_percent(), (100.0 + 3 * 40.0) / 4);
  EXPECT_EQ(plan.actions(), 3);
}

std::vector<std::string> Fields(const v1::Action& a) {
  Violations v;
  ValidateAction(a, "action.", v);
  return v.fields();
}

v1::Action GoodAction() {
  v1::Action a;
  a.set_convention("conventions/00000000-0000-4000-8000-000000000001");
  a.set_axis("axes/00000000-0000-4000-8000-000000000002");
  a.set_number(1);
  a.set_title("Élaborer un Schéma Pluriannuel Enfance et Petite Enfance");
  a.add_pilots("organisations/00000000-0000-4000-8000-000000000003");
  a.add_fields(v1::PETITE_ENFANCE);
  auto* f = a.add_fundings();
  f->set_organisation("organisations/00000000-0000-4000-8000-000000000004");
  f->set_year(2025);
  f->set_planned_cents(1000000);
  return a;
}

TEST(ValidateActionTest, AcceptsAGoodActionAndNamesEveryBadField) {
  EXPECT_TRUE(Fields(GoodAction()).empty());
  auto a = GoodAction();
  a.set_number(0);
  a.set_title("");
  a.clear_pilots();
  a.mutable_fundings(0)->set_planned_cents(-1);
  a.set_continuous(true);
  *a.mutable_planned_end() = CivilDate{2026, 1, 1}.ToProto();
  a.set_weight(std::numeric_limits<double>::infinity());
  EXPECT_EQ(Fields(a), (std::vector<std::string>{"action.number", "action.title", "action.pilots",
                                                 "action.fundings[0].planned_cents",
                                                 "action.planned_end", "action.weight"}));
}

TEST(ValidateActionTest, RefusesNaNWeightsAndDuplicateFundingLines) {
  auto a = GoodAction();
  a.set_weight(std::nan(""));
  *a.add_fundings() = a.fundings(0);
  EXPECT_EQ(Fields(a), (std::vector<std::string>{"action.fundings[1].year", "action.weight"}));
}

TEST(ValidateReportTest, CompletionStatusAndQuarter) {
  v1::ProgressReport r;
  r.set_action("actions/00000000-0000-4000-8000-000000000001");
  r.set_quarter("2025-Q5");
  r.set_completion_percent(101);
  Violations v;
  EXPECT_FALSE(ValidateReport(r, "report.", v));
  EXPECT_EQ(v.fields(), (std::vector<std::string>{"report.quarter", "report.status",
                                                  "report.completion_percent"}));
}

}  // namespace
}  // namespace ctg::action_plan
