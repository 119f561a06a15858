// The default calendar of a convention's reports and its changes (no database).
#include "reporting/schedule.h"

#include <gtest/gtest.h>

namespace ctg::reporting {
namespace {

TEST(CalendarTest, AReviewEachYearEndTheIntermediateAtMidTermTheFinalAtTheEnd) {
  const auto c = Calendar({2025, 1, 1}, {2029, 12, 31}, ScheduleSettings());
  ASSERT_EQ(c.size(), 6u);
  EXPECT_EQ(c[0].kind, ReportKind::kAnnualReview);
  EXPECT_EQ(c[0].year, 2025);
  EXPECT_EQ(c[0].due, (CivilDate{2025, 12, 31}));
  EXPECT_EQ(c[1].due, (CivilDate{2026, 12, 31}));
  EXPECT_EQ(c[2].kind, ReportKind::kIntermediateReview);
  EXPECT_EQ(c[2].due, (CivilDate{2027, 7, 2}));  // halfway through the five years
  EXPECT_EQ(c[3].year, 2027);
  EXPECT_EQ(c[4].year, 2028);
  EXPECT_EQ(c[5].kind, ReportKind::kFinalReview);
  EXPECT_EQ(c[5].due, (CivilDate{2029, 12, 31}));  // the last year ends with the bilan final
}

TEST(CalendarTest, TheConventionsOwnDatesAndNoAnnualReviews) {
  ScheduleSettings s;
  s.annual_reviews = false;
  s.intermediate_date = CivilDate{2027, 3, 15};
  s.final_date = CivilDate{2029, 10, 1};
  const auto c = Calendar({2025, 1, 1}, {2029, 12, 31}, s);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].due, (CivilDate{2027, 3, 15}));
  EXPECT_EQ(c[1].due, (CivilDate{2029, 10, 1}));
  EXPECT_TRUE(Calendar({2029, 1, 1}, {2025, 1, 1}, s).empty());  // an impossible period
}

}  // namespace
}  // namespace ctg::reporting
