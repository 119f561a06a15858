#include "indicators/indicator_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace ctg::indicators {
namespace {

// Four communes of which two reported.
std::vector<CommuneValue> SomeMissing() {
  return {{"01001", 10, 1000},
          {"01002", std::nullopt, 500},
          {"01003", 40, 3000},
          {"01004", std::nullopt, 0}};
}

TEST(AggregateCommunesTest, SumMinMaxOverReportingCommunes) {
  const AggregateResult sum = AggregateCommunes(Aggregation::kSum, SomeMissing());
  ASSERT_TRUE(sum.value);
  EXPECT_DOUBLE_EQ(*sum.value, 50);
  EXPECT_EQ(sum.reporting, 2);
  EXPECT_EQ(sum.total, 4);
  EXPECT_EQ(sum.missing_reason, "");

  const AggregateResult lo = AggregateCommunes(Aggregation::kMin, SomeMissing());
  ASSERT_TRUE(lo.value);
  EXPECT_DOUBLE_EQ(*lo.value, 10);
  EXPECT_EQ(lo.reporting, 2);
  EXPECT_EQ(lo.total, 4);

  const AggregateResult hi = AggregateCommunes(Aggregation::kMax, SomeMissing());
  ASSERT_TRUE(hi.value);
  EXPECT_DOUBLE_EQ(*hi.value, 40);

  const std::vector<CommuneValue> negative = {{"A", -3, 1}, {"B", -7, 1}, {"C", 2, 1}};
  EXPECT_DOUBLE_EQ(*AggregateCommunes(Aggregation::kMin, negative).value, -7);
  EXPECT_DOUBLE_EQ(*AggregateCommunes(Aggregation::kMax, negative).value, 2);
  EXPECT_DOUBLE_EQ(*AggregateCommunes(Aggregation::kSum, negative).value, -8);
}

TEST(AggregateCommunesTest, PopulationWeightedMean) {
  // (10 * 1000 + 40 * 3000) / (1000 + 3000) = 130000 / 4000 = 32.5; the missing communes and
  // their populations do not count.
  const AggregateResult r = AggregateCommunes(Aggregation::kPopulationWeightedMean, SomeMissing());
  ASSERT_TRUE(r.value) << r.missing_reason;
  EXPECT_DOUBLE_EQ(*r.value, 32.5);
  EXPECT_EQ(r.reporting, 2);
  EXPECT_EQ(r.total, 4);

  // A reporting commune without population reports but weighs nothing.
  const std::vector<CommuneValue> unpopulated = {{"A", 10, 100}, {"B", 1000, 0}, {"C", 20, 300}};
  const AggregateResult u = AggregateCommunes(Aggregation::kPopulationWeightedMean, unpopulated);
  ASSERT_TRUE(u.value);
  EXPECT_DOUBLE_EQ(*u.value, 17.5);  // (1000 + 6000) / 400
  EXPECT_EQ(u.reporting, 3);

  const AggregateResult none =
      AggregateCommunes(Aggregation::kPopulationWeightedMean, {{"A", 10, 0}, {"B", 20, -5}});
  EXPECT_FALSE(none.value);
  EXPECT_EQ(none.reporting, 2);
  EXPECT_EQ(none.missing_reason, "no reporting commune has a population");
}

TEST(AggregateCommunesTest, NotAggregated) {
  const AggregateResult r = AggregateCommunes(Aggregation::kNone, SomeMissing());
  EXPECT_FALSE(r.value);
  EXPECT_EQ(r.missing_reason, "this indicator is not aggregated");
  EXPECT_EQ(r.reporting, 2);
  EXPECT_EQ(r.total, 4);
}

TEST(AggregateCommunesTest, ZeroReporting) {
  const std::vector<CommuneValue> silent = {{"A", std::nullopt, 10}, {"B", std::nullopt, 20}};
  for (Aggregation how : {Aggregation::kSum, Aggregation::kMin, Aggregation::kMax,
                          Aggregation::kPopulationWeightedMean}) {
    const AggregateResult r = AggregateCommunes(how, silent);
    EXPECT_FALSE(r.value);
    EXPECT_EQ(r.reporting, 0);
    EXPECT_EQ(r.total, 2);
    EXPECT_EQ(r.missing_reason, "none of the 2 communes has a value");
  }
  const AggregateResult empty = AggregateCommunes(Aggregation::kSum, {});
  EXPECT_FALSE(empty.value);
  EXPECT_EQ(empty.total, 0);
  EXPECT_EQ(empty.missing_reason, "no member commune");
}

TEST(AggregateCommunesTest, NonFiniteValuesDoNotReportAndOverflowIsMissing) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const AggregateResult r = AggregateCommunes(Aggregation::kSum, {{"A", nan, 1}, {"B", 4, 1}});
  ASSERT_TRUE(r.value);
  EXPECT_DOUBLE_EQ(*r.value, 4);
  EXPECT_EQ(r.reporting, 1);
  const AggregateResult big =
      AggregateCommunes(Aggregation::kSum, {{"A", 1e308, 1}, {"B", 1e308, 1}});
  EXPECT_FALSE(big.value);
  EXPECT_EQ(big.missing_reason, "result is not a finite number");
}

TEST(ProgressPercentTest, ShareOfTheWay) {
  EXPECT_DOUBLE_EQ(*ProgressPercent(10, 30, 20), 50);
  EXPECT_DOUBLE_EQ(*ProgressPercent(10, 30, 10), 0);
  EXPECT_DOUBLE_EQ(*ProgressPercent(10, 30, 30), 100);
  EXPECT_DOUBLE_EQ(*ProgressPercent(10, 30, 40), 150);
  EXPECT_GT(*ProgressPercent(10, 30, 31), 100);
  EXPECT_DOUBLE_EQ(*ProgressPercent(10, 30, 5), -25);
  // Decreasing targets.
  EXPECT_DOUBLE_EQ(*ProgressPercent(20, 10, 15), 50);
  EXPECT_DOUBLE_EQ(*ProgressPercent(20, 10, 25), -50);
  EXPECT_DOUBLE_EQ(*ProgressPercent(20, 10, 5), 150);
}

TEST(ProgressPercentTest, UndefinedCases) {
  EXPECT_FALSE(ProgressPercent(10, 10, 12));
  EXPECT_FALSE(ProgressPercent(10, 30, std::nullopt));
  EXPECT_FALSE(ProgressPercent(10, 30, std::numeric_limits<double>::quiet_NaN()));
  EXPECT_FALSE(ProgressPercent(std::numeric_limits<double>::infinity(), 30, 12));
  EXPECT_FALSE(ProgressPercent(0, 1e-320, 1e300));  // overflows
}

TEST(PeriodTest, ParsesEachPeriodicity) {
  EXPECT_EQ(ParsePeriod("2025", Periodicity::kYearly), (Period{2025, 0}));
  EXPECT_EQ(ParsePeriod("2025-Q3", Periodicity::kQuarterly), (Period{2025, 3}));
  EXPECT_EQ(ParsePeriod("2025-Q1", Periodicity::kQuarterly), (Period{2025, 1}));
  EXPECT_EQ(ParsePeriod("2025-Q4", Periodicity::kQuarterly), (Period{2025, 4}));
  EXPECT_EQ(ParsePeriod("2025-07", Periodicity::kMonthly), (Period{2025, 7}));
  EXPECT_EQ(ParsePeriod("2025-12", Periodicity::kMonthly), (Period{2025, 12}));
  EXPECT_EQ(ParsePeriod("1900", Periodicity::kYearly), (Period{1900, 0}));
  EXPECT_EQ(ParsePeriod("2200-01", Periodicity::kMonthly), (Period{2200, 1}));

  EXPECT_EQ(FormatPeriod({2025, 0}, Periodicity::kYearly), "2025");
  EXPECT_EQ(FormatPeriod({2025, 3}, Periodicity::kQuarterly), "2025-Q3");
  EXPECT_EQ(FormatPeriod({2025, 7}, Periodicity::kMonthly), "2025-07");
}

TEST(PeriodTest, RefusesMalformedOrOtherPeriodicity) {
  for (const char* bad : {"2025-Q1", "2025-07", "25", "02025", "1899", "2201", "", "abcd", "2025 ",
                          " 2025", "-202"}) {
    EXPECT_FALSE(ParsePeriod(bad, Periodicity::kYearly)) << bad;
  }
  for (const char* bad : {"2025-Q5", "2025-Q0", "2025-q1", "2025Q1", "2025-07", "2025", "2025-Q12",
                          "1899-Q4", "2201-Q1", "25-Q1"}) {
    EXPECT_FALSE(ParsePeriod(bad, Periodicity::kQuarterly)) << bad;
  }
  for (const char* bad : {"2025-13", "2025-00", "2025-1", "2025-001", "2025-Q1", "2025", "202507",
                          "2025/07", "2025-1a", "1899-12", "2201-01"}) {
    EXPECT_FALSE(ParsePeriod(bad, Periodicity::kMonthly)) << bad;
  }
}

TEST(PeriodTest, OrdinalsRoundTrip) {
  EXPECT_EQ(PeriodOrdinal({2025, 1}, Periodicity::kMonthly), 2025 * 12);
  EXPECT_EQ(PeriodOrdinal({2025, 12}, Periodicity::kMonthly) + 1,
            PeriodOrdinal({2026, 1}, Periodicity::kMonthly));
  EXPECT_EQ(PeriodOrdinal({2025, 4}, Periodicity::kQuarterly) + 1,
            PeriodOrdinal({2026, 1}, Periodicity::kQuarterly));
  EXPECT_EQ(PeriodOrdinal({2025, 0}, Periodicity::kYearly), 2025);
  for (Periodicity periodicity :
       {Periodicity::kMonthly, Periodicity::kQuarterly, Periodicity::kYearly}) {
    const int first =
        PeriodOrdinal({1999, periodicity == Periodicity::kYearly ? 0 : 1}, periodicity);
    for (int o = first; o < first + 100; ++o) {
      const Period p = PeriodFromOrdinal(o, periodicity);
      EXPECT_EQ(PeriodOrdinal(p, periodicity), o);
      EXPECT_EQ(ParsePeriod(FormatPeriod(p, periodicity), periodicity), p);
    }
  }
}

TEST(PeriodTest, RangesAcrossYearEnds) {
  const std::vector<Period> quarters = PeriodRange({2024, 3}, {2025, 2}, Periodicity::kQuarterly);
  EXPECT_EQ(quarters, (std::vector<Period>{{2024, 3}, {2024, 4}, {2025, 1}, {2025, 2}}));
  const std::vector<Period> months = PeriodRange({2024, 11}, {2025, 2}, Periodicity::kMonthly);
  EXPECT_EQ(months, (std::vector<Period>{{2024, 11}, {2024, 12}, {2025, 1}, {2025, 2}}));
  const std::vector<Period> years = PeriodRange({2023, 0}, {2025, 0}, Periodicity::kYearly);
  EXPECT_EQ(years, (std::vector<Period>{{2023, 0}, {2024, 0}, {2025, 0}}));
  EXPECT_EQ(PeriodRange({2025, 2}, {2025, 2}, Periodicity::kQuarterly),
            (std::vector<Period>{{2025, 2}}));
  EXPECT_TRUE(PeriodRange({2025, 3}, {2025, 2}, Periodicity::kQuarterly).empty());
  EXPECT_TRUE(PeriodRange({2026, 1}, {2025, 12}, Periodicity::kMonthly).empty());
}

TEST(PeriodTest, PeriodStart) {
  EXPECT_EQ(PeriodStart({2025, 0}, Periodicity::kYearly), (Ymd{2025, 1, 1}));
  EXPECT_EQ(PeriodStart({2025, 1}, Periodicity::kQuarterly), (Ymd{2025, 1, 1}));
  EXPECT_EQ(PeriodStart({2025, 3}, Periodicity::kQuarterly), (Ymd{2025, 7, 1}));
  EXPECT_EQ(PeriodStart({2025, 4}, Periodicity::kQuarterly), (Ymd{2025, 10, 1}));
  EXPECT_EQ(PeriodStart({2025, 7}, Periodicity::kMonthly), (Ymd{2025, 7, 1}));
  EXPECT_EQ(PeriodStart({2025, 12}, Periodicity::kMonthly), (Ymd{2025, 12, 1}));
}

// A quarterly series starting at 2023-Q1 with the given values.
std::vector<SeriesPoint> Quarterly(const std::vector<std::optional<double>>& values) {
  std::vector<SeriesPoint> series;
  for (std::size_t i = 0; i < values.size(); ++i) {
    series.push_back(
        {FormatPeriod(PeriodFromOrdinal(
                          PeriodOrdinal({2023, 1}, Periodicity::kQuarterly) + static_cast<int>(i),
                          Periodicity::kQuarterly),
                      Periodicity::kQuarterly),
         values[i]});
  }
  return series;
}

// Options with a current period right after a 6-point series, so nothing is stale.
QualityOptions Options() {
  QualityOptions o;
  o.current_period = "2024-Q3";
  o.periodicity = Periodicity::kQuarterly;
  return o;
}

std::vector<QualityFlag> OfKind(const std::vector<QualityFlag>& flags, QualityFlagKind kind) {
  std::vector<QualityFlag> out;
  for (const auto& f : flags) {
    if (f.kind == kind) out.push_back(f);
  }
  return out;
}

TEST(QualityFlagsTest, CleanSeriesHasNoFlag) {
  EXPECT_TRUE(QualityFlags(Quarterly({10, 11, 12, 13, 14, 15}), Options()).empty());
  // A steady trend with rounding noise, and a noisy but regular series.
  EXPECT_TRUE(QualityFlags(Quarterly({0.1, 0.2, 0.3, 0.4, 0.5, 0.6}), Options()).empty());
  EXPECT_TRUE(QualityFlags(Quarterly({10, 12, 11, 13, 12, 14}), Options()).empty());
  EXPECT_TRUE(QualityFlags(Quarterly({5, 5, 5, 5, 5, 5}), Options()).empty());
}

TEST(QualityFlagsTest, MissingPeriod) {
  // The change across the missing point (+2 over 2 periods) is +1 per period: no jump.
  const std::vector<QualityFlag> flags =
      QualityFlags(Quarterly({10, std::nullopt, 12, 13, 14, 15}), Options());
  ASSERT_EQ(flags.size(), 1u);
  EXPECT_EQ(flags[0].kind, QualityFlagKind::kMissingPeriod);
  EXPECT_EQ(flags[0].period, "2023-Q2");
  EXPECT_EQ(flags[0].detail, "no value for this period");
}

TEST(QualityFlagsTest, OutOfBoundsOnBothSides) {
  QualityOptions o = Options();
  o.soft_min = 0;
  o.soft_max = 200;
  const std::vector<QualityFlag> flags =
      QualityFlags(Quarterly({-2.5, 0, 200, 250, std::nullopt}), o);
  const std::vector<QualityFlag> bounds = OfKind(flags, QualityFlagKind::kOutOfBounds);
  ASSERT_EQ(bounds.size(), 2u);
  EXPECT_EQ(bounds[0].period, "2023-Q1");
  EXPECT_EQ(bounds[0].detail, "value -2.5 below the plausible minimum 0");
  EXPECT_EQ(bounds[1].period, "2023-Q4");
  EXPECT_EQ(bounds[1].detail, "value 250 above the plausible maximum 200");
  EXPECT_EQ(OfKind(flags, QualityFlagKind::kMissingPeriod).size(), 1u);
}

TEST(QualityFlagsTest, ClearJumpIsFlaggedAtItsPeriod) {
  // A level shift between 2023-Q4 (13) and 2024-Q1 (30).
  const std::vector<QualityFlag> flags =
      QualityFlags(Quarterly({10, 11, 12, 13, 30, 31, 32, 33}), Options());
  ASSERT_EQ(flags.size(), 1u);
  EXPECT_EQ(flags[0].kind, QualityFlagKind::kJump);
  EXPECT_EQ(flags[0].period, "2024-Q1");
  EXPECT_EQ(flags[0].detail,
            "change of +17 from the previous value 13 (2023-Q4) while the other changes average 1 "
            "(standard deviation 0)");

  // A noisy series with one drop; the missing point in between is skipped.
  const std::vector<QualityFlag> noisy =
      QualityFlags(Quarterly({100, 102, 101, 103, 102, std::nullopt, 60, 61, 63}), Options());
  const std::vector<QualityFlag> jumps = OfKind(noisy, QualityFlagKind::kJump);
  ASSERT_EQ(jumps.size(), 1u);
  EXPECT_EQ(jumps[0].period, "2024-Q3");
  EXPECT_EQ(jumps[0].detail,
            "change of -42 over 2 periods (-21 per period) from the previous value 102 (2024-Q1) "
            "while the other changes average 0.8333 (standard deviation 1.344)");
  EXPECT_EQ(OfKind(noisy, QualityFlagKind::kMissingPeriod).size(), 1u);
}

TEST(QualityFlagsTest, LeaveOneOutCatchesASpikeInAShortSeries) {
  // With the spike's own change in the yardstick, the changes {1, 1, 1, 40, 1} have mean 8.8 and
  // sd 15.6, so +40 would only be 2 sigma away: the leave-one-out rule flags it.
  const std::vector<QualityFlag> flags =
      QualityFlags(Quarterly({10, 11, 12, 13, 53, 54}), Options());
  const std::vector<QualityFlag> jumps = OfKind(flags, QualityFlagKind::kJump);
  ASSERT_EQ(jumps.size(), 1u);
  EXPECT_EQ(jumps[0].period, "2024-Q1");
}

TEST(QualityFlagsTest, NoJumpWithFewerThanThreeOtherChanges) {
  // Three changes: each would be tested against only two others.
  EXPECT_TRUE(
      OfKind(QualityFlags(Quarterly({10, 11, 12, 90}), Options()), QualityFlagKind::kJump).empty());
  EXPECT_TRUE(
      OfKind(QualityFlags(Quarterly({10, 90, 11}), Options()), QualityFlagKind::kJump).empty());
  // Four changes are enough.
  EXPECT_EQ(OfKind(QualityFlags(Quarterly({10, 11, 12, 13, 90}), Options()), QualityFlagKind::kJump)
                .size(),
            1u);
}

TEST(QualityFlagsTest, Stale) {
  QualityOptions o = Options();
  const std::vector<SeriesPoint> series = Quarterly({10, 11, 12, std::nullopt});  // to 2023-Q4
  // Newest value 2023-Q3.
  o.current_period = "2024-Q1";  // 2 periods later: fine
  EXPECT_TRUE(OfKind(QualityFlags(series, o), QualityFlagKind::kStale).empty());
  o.current_period = "2024-Q2";  // 3 periods later: stale
  std::vector<QualityFlag> stale = OfKind(QualityFlags(series, o), QualityFlagKind::kStale);
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_EQ(stale[0].period, "2023-Q3");
  EXPECT_EQ(stale[0].detail, "the newest value is for 2023-Q3, 3 periods before 2024-Q2");
  EXPECT_EQ(QualityFlags(series, o).back().kind, QualityFlagKind::kStale);

  o.stale_after_periods = 3;
  EXPECT_TRUE(OfKind(QualityFlags(series, o), QualityFlagKind::kStale).empty());

  // A current period that does not parse for the periodicity: no stale check.
  o.stale_after_periods = 0;
  o.current_period = "2030-05";
  EXPECT_TRUE(OfKind(QualityFlags(series, o), QualityFlagKind::kStale).empty());

  // No value at all.
  for (const auto& empty : {std::vector<SeriesPoint>{}, Quarterly({std::nullopt, std::nullopt})}) {
    stale = OfKind(QualityFlags(empty, o), QualityFlagKind::kStale);
    ASSERT_EQ(stale.size(), 1u);
    EXPECT_EQ(stale[0].period, "");
    EXPECT_EQ(stale[0].detail, "no value at all");
  }

  // Monthly.
  QualityOptions m;
  m.periodicity = Periodicity::kMonthly;
  m.current_period = "2025-02";
  const std::vector<SeriesPoint> monthly = {{"2024-10", 1}, {"2024-11", 2}};
  EXPECT_EQ(OfKind(QualityFlags(monthly, m), QualityFlagKind::kStale).size(), 1u);
  m.current_period = "2025-01";
  EXPECT_TRUE(QualityFlags(monthly, m).empty());
}

}  // namespace
}  // namespace ctg::indicators
