#include "indicators/indicator_math.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <system_error>

namespace ctg::indicators {
namespace {

bool IsFinite(const std::optional<double>& v) { return v && std::isfinite(*v); }

// `v` rounded to `max_precision` significant digits, then written as briefly as reads back:
// 250, 0.3 (for 0.30000000000000004), 1234567, 1e+20.
std::string FormatNumber(double v, int max_precision = 15) {
  char buf[128];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, max_precision);
  double rounded = 0;
  std::from_chars(buf, r.ptr, rounded);
  if (rounded == 0) rounded = 0;  // no "-0"
  const double magnitude = std::fabs(rounded);
  if (magnitude >= 1e-4 && magnitude < 1e15) {
    r = std::to_chars(buf, buf + sizeof buf, rounded, std::chars_format::fixed);
  } else {
    r = std::to_chars(buf, buf + sizeof buf, rounded);
  }
  return std::string(buf, r.ptr);
}

// A change with its sign: "+17", "-3.5".
std::string FormatChange(double d) { return (d > 0 ? "+" : "") + FormatNumber(d); }

bool ParseDigits(const std::string& text, std::size_t from, std::size_t count, int* out) {
  if (from + count > text.size()) return false;
  int v = 0;
  for (std::size_t i = from; i < from + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + (text[i] - '0');
  }
  *out = v;
  return true;
}

// Floor division (ordinals may be negative in principle).
int FloorDiv(int a, int b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

int PerYear(Periodicity periodicity) {
  switch (periodicity) {
    case Periodicity::kMonthly:
      return 12;
    case Periodicity::kQuarterly:
      return 4;
    case Periodicity::kYearly:
      return 1;
  }
  return 1;
}

}  // namespace

AggregateResult AggregateCommunes(Aggregation how, const std::vector<CommuneValue>& communes) {
  AggregateResult r;
  r.total = static_cast<int>(communes.size());
  for (const auto& c : communes) r.reporting += IsFinite(c.value) ? 1 : 0;
  if (how == Aggregation::kNone) {
    r.missing_reason = "this indicator is not aggregated";
    return r;
  }
  if (r.total == 0) {
    r.missing_reason = "no member commune";
    return r;
  }
  if (r.reporting == 0) {
    r.missing_reason = "none of the " + std::to_string(r.total) + " communes has a value";
    return r;
  }
  double result = 0;
  switch (how) {
    case Aggregation::kNone:
      break;
    case Aggregation::kSum:
      for (const auto& c : communes) {
        if (IsFinite(c.value)) result += *c.value;
      }
      break;
    case Aggregation::kMin:
    case Aggregation::kMax: {
      bool first = true;
      for (const auto& c : communes) {
        if (!IsFinite(c.value)) continue;
        if (first || (how == Aggregation::kMin ? *c.value < result : *c.value > result)) {
          result = *c.value;
        }
        first = false;
      }
      break;
    }
    case Aggregation::kPopulationWeightedMean: {
      double weighted = 0, population = 0;
      for (const auto& c : communes) {
        if (!IsFinite(c.value) || !(c.population > 0) || !std::isfinite(c.population)) continue;
        weighted += *c.value * c.population;
        population += c.population;
      }
      if (population == 0) {
        r.missing_reason = "no reporting commune has a population";
        return r;
      }
      result = weighted / population;
      break;
    }
  }
  if (!std::isfinite(result)) {
    r.missing_reason = "result is not a finite number";
    return r;
  }
  r.value = result;
  return r;
}

std::optional<double> ProgressPercent(double baseline, double target,
                                      std::optional<double> latest) {
  if (!IsFinite(latest) || !std::isfinite(baseline) || !std::isfinite(target)) {
    return std::nullopt;
  }
  if (target == baseline) return std::nullopt;
  const double percent = 100 * (*latest - baseline) / (target - baseline);
  if (!std::isfinite(percent)) return std::nullopt;
  return percent;
}

std::optional<Period> ParsePeriod(const std::string& text, Periodicity periodicity) {
  Period p;
  if (!ParseDigits(text, 0, 4, &p.year)) return std::nullopt;
  switch (periodicity) {
    case Periodicity::kYearly:
      if (text.size() != 4) return std::nullopt;
      break;
    case Periodicity::kQuarterly:
      if (text.size() != 7 || text[4] != '-' || text[5] != 'Q') return std::nullopt;
      if (!ParseDigits(text, 6, 1, &p.sub) || p.sub < 1 || p.sub > 4) return std::nullopt;
      break;
    case Periodicity::kMonthly:
      if (text.size() != 7 || text[4] != '-') return std::nullopt;
      if (!ParseDigits(text, 5, 2, &p.sub) || p.sub < 1 || p.sub > 12) return std::nullopt;
      break;
  }
  if (p.year < kMinPeriodYear || p.year > kMaxPeriodYear) return std::nullopt;
  return p;
}

std::string FormatPeriod(const Period& p, Periodicity periodicity) {
  char buf[32];
  switch (periodicity) {
    case Periodicity::kMonthly:
      std::snprintf(buf, sizeof buf, "%04d-%02d", p.year, p.sub);
      break;
    case Periodicity::kQuarterly:
      std::snprintf(buf, sizeof buf, "%04d-Q%d", p.year, p.sub);
      break;
    case Periodicity::kYearly:
      std::snprintf(buf, sizeof buf, "%04d", p.year);
      break;
  }
  return buf;
}

int PeriodOrdinal(const Period& p, Periodicity periodicity) {
  if (periodicity == Periodicity::kYearly) return p.year;
  return p.year * PerYear(periodicity) + p.sub - 1;
}

Period PeriodFromOrdinal(int ordinal, Periodicity periodicity) {
  if (periodicity == Periodicity::kYearly) return Period{ordinal, 0};
  const int n = PerYear(periodicity);
  const int year = FloorDiv(ordinal, n);
  return Period{year, ordinal - year * n + 1};
}

Period PeriodContaining(const Ymd& date, Periodicity periodicity) {
  Period p;
  p.year = date.year;
  p.sub = periodicity == Periodicity::kMonthly     ? date.month
          : periodicity == Periodicity::kQuarterly ? (date.month - 1) / 3 + 1
                                                   : 0;
  return p;
}

Ymd PeriodStart(const Period& p, Periodicity periodicity) {
  switch (periodicity) {
    case Periodicity::kMonthly:
      return Ymd{p.year, p.sub, 1};
    case Periodicity::kQuarterly:
      return Ymd{p.year, (p.sub - 1) * 3 + 1, 1};
    case Periodicity::kYearly:
      break;
  }
  return Ymd{p.year, 1, 1};
}

std::vector<Period> PeriodRange(const Period& from, const Period& to, Periodicity periodicity) {
  std::vector<Period> range;
  const int first = PeriodOrdinal(from, periodicity);
  const int last = PeriodOrdinal(to, periodicity);
  if (first > last) return range;
  range.reserve(static_cast<std::size_t>(last - first) + 1);
  for (int o = first; o <= last; ++o) range.push_back(PeriodFromOrdinal(o, periodicity));
  return range;
}

std::vector<QualityFlag> QualityFlags(const std::vector<SeriesPoint>& series,
                                      const QualityOptions& options) {
  std::vector<QualityFlag> flags;

  // The changes between consecutive values, per period: a change across points without a value
  // is divided by the number of periods it spans (from the periods when they parse, else from
  // the points' positions). Change k goes from point change_start[k] to point change_end[k].
  struct Change {
    double per_period;
    std::size_t start, end;
    int periods;
  };
  std::vector<Change> changes;
  double scale = 0;  // the largest absolute value, for the rounding tolerance
  std::optional<std::size_t> previous;
  for (std::size_t i = 0; i < series.size(); ++i) {
    if (!IsFinite(series[i].value)) continue;
    scale = std::max(scale, std::fabs(*series[i].value));
    if (previous) {
      int periods = static_cast<int>(i - *previous);
      const auto a = ParsePeriod(series[*previous].period, options.periodicity);
      const auto b = ParsePeriod(series[i].period, options.periodicity);
      if (a && b) {
        const int d =
            PeriodOrdinal(*b, options.periodicity) - PeriodOrdinal(*a, options.periodicity);
        if (d >= 1) periods = d;
      }
      changes.push_back(
          {(*series[i].value - *series[*previous].value) / periods, *previous, i, periods});
    }
    previous = i;
  }

  // Each change against the mean and population standard deviation of the others (leave-one-out:
  // a single spike does not inflate its own yardstick). Quadratic, series are short.
  const std::size_t n = changes.size();
  std::vector<std::optional<std::string>> jump_detail(series.size());
  if (n >= 4) {
    const double tolerance = 1e-9 * scale;
    for (std::size_t k = 0; k < n; ++k) {
      double mean = 0;
      for (std::size_t j = 0; j < n; ++j) mean += j == k ? 0 : changes[j].per_period;
      mean /= static_cast<double>(n - 1);
      double variance = 0;
      for (std::size_t j = 0; j < n; ++j) {
        const double e = changes[j].per_period - mean;
        variance += j == k ? 0 : e * e;
      }
      const double sd = std::sqrt(variance / static_cast<double>(n - 1));
      const double deviation = std::fabs(changes[k].per_period - mean);
      if (deviation > options.jump_sigmas * sd && deviation > tolerance) {
        const Change& c = changes[k];
        const SeriesPoint& from = series[c.start];
        std::string detail = "change of " + FormatChange(*series[c.end].value - *from.value);
        if (c.periods > 1) {
          detail += " over " + std::to_string(c.periods) + " periods (" +
                    FormatChange(c.per_period) + " per period)";
        }
        jump_detail[c.end] = detail + " from the previous value " + FormatNumber(*from.value) +
                             " (" + from.period + ") while the other changes average " +
                             FormatNumber(mean, 4) + " (standard deviation " + FormatNumber(sd, 4) +
                             ")";
      }
    }
  }

  for (std::size_t i = 0; i < series.size(); ++i) {
    const SeriesPoint& p = series[i];
    if (!p.value) {
      flags.push_back({QualityFlagKind::kMissingPeriod, p.period, "no value for this period"});
      continue;
    }
    if (!std::isfinite(*p.value)) {
      flags.push_back({QualityFlagKind::kMissingPeriod, p.period, "value is not a finite number"});
      continue;
    }
    const double v = *p.value;
    if (options.soft_min && v < *options.soft_min) {
      flags.push_back({QualityFlagKind::kOutOfBounds, p.period,
                       "value " + FormatNumber(v) + " below the plausible minimum " +
                           FormatNumber(*options.soft_min)});
    }
    if (options.soft_max && v > *options.soft_max) {
      flags.push_back({QualityFlagKind::kOutOfBounds, p.period,
                       "value " + FormatNumber(v) + " above the plausible maximum " +
                           FormatNumber(*options.soft_max)});
    }
    if (jump_detail[i]) flags.push_back({QualityFlagKind::kJump, p.period, *jump_detail[i]});
  }

  if (!previous) {
    flags.push_back({QualityFlagKind::kStale, "", "no value at all"});
    return flags;
  }
  const std::optional<Period> current = ParsePeriod(options.current_period, options.periodicity);
  const SeriesPoint& newest = series[*previous];
  const std::optional<Period> newest_period = ParsePeriod(newest.period, options.periodicity);
  if (current && newest_period) {
    const int behind = PeriodOrdinal(*current, options.periodicity) -
                       PeriodOrdinal(*newest_period, options.periodicity);
    if (behind > options.stale_after_periods) {
      flags.push_back({QualityFlagKind::kStale, newest.period,
                       "the newest value is for " + newest.period + ", " + std::to_string(behind) +
                           " periods before " + options.current_period});
    }
  }
  return flags;
}

}  // namespace ctg::indicators
