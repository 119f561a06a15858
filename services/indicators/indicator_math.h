#pragma once

#include <optional>
#include <string>
#include <vector>

namespace ctg::indicators {

// How an indicator's EPCI value is computed from its communes' values.
enum class Aggregation { kNone, kSum, kPopulationWeightedMean, kMin, kMax };

// One commune's value of an indicator (nullopt: the commune has not reported it).
struct CommuneValue {
  std::string commune;  // INSEE code
  std::optional<double> value;
  double population = 0;
};

// An aggregated value with its coverage. Either `value` or `missing_reason` is set.
struct AggregateResult {
  std::optional<double> value;
  int reporting = 0;  // communes with a (finite) value
  int total = 0;      // communes given
  std::string missing_reason;
};

// The EPCI value from its communes' values. `reporting` counts communes with a finite value (a
// NaN or infinite value counts as not reported) and `total` every commune given; sum, min and max
// are over the reporting communes; the weighted mean is sum(value * population) /
// sum(population) over the reporting communes with a population > 0. kNone gives no value
// ("this indicator is not aggregated"); so do zero reporting communes, a weighted mean without
// any populated reporting commune and a non-finite result, each with its reason.
AggregateResult AggregateCommunes(Aggregation how, const std::vector<CommuneValue>& communes);

// The share of the way from `baseline` to `target` reached by `latest`, in percent:
// 100 * (latest - baseline) / (target - baseline). May be below 0 (moving away) or above 100
// (beyond the target); works for decreasing targets too. nullopt when `latest` is missing,
// target == baseline or an input or the result is not finite.
std::optional<double> ProgressPercent(double baseline, double target, std::optional<double> latest);

// How often an indicator is measured.
enum class Periodicity { kMonthly, kQuarterly, kYearly };

// One period: "2025" (yearly), "2025-Q3" (quarterly) or "2025-07" (monthly).
struct Period {
  int year = 0;
  int sub = 0;  // quarter 1-4, month 1-12, 0 for yearly

  friend bool operator==(const Period& a, const Period& b) {
    return a.year == b.year && a.sub == b.sub;
  }
  friend bool operator!=(const Period& a, const Period& b) { return !(a == b); }
  friend bool operator<(const Period& a, const Period& b) {
    return a.year != b.year ? a.year < b.year : a.sub < b.sub;
  }
};

// The first and last years a period may have.
inline constexpr int kMinPeriodYear = 1900;
inline constexpr int kMaxPeriodYear = 2200;

// Parses a period written for `periodicity` ("2025", "2025-Q3", "2025-07": four-digit year,
// upper-case Q, two-digit month). nullopt when malformed, of another periodicity (e.g. "2025-Q1"
// for kYearly) or with a year outside kMinPeriodYear..kMaxPeriodYear.
std::optional<Period> ParsePeriod(const std::string& text, Periodicity periodicity);

// The text form ParsePeriod reads: "2025", "2025-Q3" or "2025-07".
std::string FormatPeriod(const Period& p, Periodicity periodicity);

// An ordinal such that consecutive periods differ by 1: year * 12 + month - 1 (monthly),
// year * 4 + quarter - 1 (quarterly), year (yearly).
int PeriodOrdinal(const Period& p, Periodicity periodicity);

// The period whose PeriodOrdinal is `ordinal`.
Period PeriodFromOrdinal(int ordinal, Periodicity periodicity);

// A calendar date.
struct Ymd {
  int year = 0;
  int month = 0;
  int day = 0;

  friend bool operator==(const Ymd& a, const Ymd& b) {
    return a.year == b.year && a.month == b.month && a.day == b.day;
  }
  friend bool operator!=(const Ymd& a, const Ymd& b) { return !(a == b); }
};

// The period `date` falls in ("2025-Q3" for 2025-08-14, quarterly).
Period PeriodContaining(const Ymd& date, Periodicity periodicity);

// The first day of the period.
Ymd PeriodStart(const Period& p, Periodicity periodicity);

// Every period from `from` to `to` inclusive, in order (empty when from > to).
std::vector<Period> PeriodRange(const Period& from, const Period& to, Periodicity periodicity);

// The kinds of data-quality flag.
enum class QualityFlagKind { kMissingPeriod, kOutOfBounds, kJump, kStale };

// One data-quality remark on a series.
struct QualityFlag {
  QualityFlagKind kind = QualityFlagKind::kMissingPeriod;
  std::string period;  // the period concerned ("" for a series without any value)
  std::string detail;  // in English, e.g. "value 250 above the plausible maximum 200"
};

// One point of a series (nullopt: no value for the period).
struct SeriesPoint {
  std::string period;
  std::optional<double> value;
};

// What QualityFlags checks.
struct QualityOptions {
  // Plausible bounds; a value strictly outside is flagged kOutOfBounds.
  std::optional<double> soft_min;
  std::optional<double> soft_max;
  // A value is a jump when its change from the previous value deviates from the mean of the
  // series' other changes by more than jump_sigmas times their population standard deviation
  // (see QualityFlags).
  double jump_sigmas = 3.0;
  // Stale: the newest value is more than this many periods before `current_period`.
  int stale_after_periods = 2;
  std::string current_period;  // e.g. "2025-Q3"; when it does not parse, no stale check
  Periodicity periodicity = Periodicity::kQuarterly;
};

// The data-quality flags of one series, sorted by period (points are expected in period order):
// - kMissingPeriod for each point without a value (or with a non-finite one);
// - kOutOfBounds for each value below soft_min or above soft_max;
// - kJump: the changes are the differences between consecutive values (skipping points without a
//   value), divided by the number of periods they span (so 10, -, 12 is a change of +1 per
//   period; the span comes from the periods when both parse, else from the points' positions).
//   A change d_k is tested against the other changes only (leave-one-out, so that a single spike
//   does not inflate its own yardstick): flagged when |d_k - mean_j!=k(d_j)| > jump_sigmas *
//   stddev_j!=k(d_j) (population standard deviation) and also > 1e-9 times the largest absolute
//   value (not a rounding artefact). Measuring from the mean of the other changes keeps a steady
//   trend from being a jump. Only done when each change has at least 3 others, i.e. the series
//   has at least 4 changes; otherwise no jump flag. The flag is on the period of the value that
//   ends the change;
// - kStale, at most one, last: with period "" and detail "no value at all" when no point has a
//   value (whatever current_period); otherwise on the newest point with a value when it is more
//   than stale_after_periods periods before current_period, the check being skipped when
//   current_period (or that point's period) does not parse for `periodicity`.
// For each point, flags come in the order missing, out of bounds, jump.
std::vector<QualityFlag> QualityFlags(const std::vector<SeriesPoint>& series,
                                      const QualityOptions& options);

}  // namespace ctg::indicators
