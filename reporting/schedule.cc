#include "reporting/schedule.h"

#include <algorithm>

namespace ctg::reporting {

std::string OutsidePeriod(const CivilDate& start, const CivilDate& end) {
  return "outside the convention's period (" + start.ToString() + " to " + end.ToString() + ")";
}

CivilDate MidTerm(const CivilDate& start, const CivilDate& end) {
  return CivilDate::FromDays(start.ToDays() + (end.ToDays() - start.ToDays()) / 2);
}

std::vector<ScheduledReport> Calendar(const CivilDate& start, const CivilDate& end,
                                      const ScheduleSettings& settings) {
  std::vector<ScheduledReport> out;
  if (end < start) return out;
  if (settings.annual_reviews) {
    // Each year of the period ends with its review; the last year's is the bilan final's.
    for (int year = start.year; year < end.year; ++year) {
      out.push_back({ReportKind::kAnnualReview, year, CivilDate{year, 12, 31}});
    }
  }
  out.push_back({ReportKind::kIntermediateReview, 0,
                 settings.intermediate_date.value_or(MidTerm(start, end))});
  out.push_back({ReportKind::kFinalReview, 0, settings.final_date.value_or(end)});
  std::stable_sort(out.begin(), out.end(), [](const ScheduledReport& a, const ScheduledReport& b) {
    return a.due < b.due;
  });
  return out;
}

}  // namespace ctg::reporting
