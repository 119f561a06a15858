#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/api.h"
#include "common/db.h"
#include "common/service_client.h"
#include "ctg/partners/v1/partners.grpc.pb.h"
#include "ctg/reporting/v1/reporting.pb.h"
#include "reporting/job_queue.h"

namespace ctg::reporting {

// The calendar of a convention's reports (convention art. 11): an annual review (point d'étape)
// at the end of each year of the period, the bilan intermédiaire at mid-term, the bilan final at
// the end — unless the convention's schedule says otherwise (dates moved, annual reviews off).
struct ScheduleSettings {
  bool annual_reviews = true;
  std::optional<CivilDate> intermediate_date;  // default: mid-term
  std::optional<CivilDate> final_date;         // default: the convention's end
};

// One report the calendar asks for, on `due` (its data cut-off too).
struct ScheduledReport {
  ReportKind kind = ReportKind::kAnnualReview;
  int year = 0;  // annual reviews only
  CivilDate due;
};

// The reports of a convention running from `start` to `end`, in date order.
std::vector<ScheduledReport> Calendar(const CivilDate& start, const CivilDate& end,
                                      const ScheduleSettings& settings);

// The violation text for a date outside a convention's period [start, end].
std::string OutsidePeriod(const CivilDate& start, const CivilDate& end);

// The civil date halfway through [start, end] (the default mid-term).
CivilDate MidTerm(const CivilDate& start, const CivilDate& end);

// A convention's calendar as stored (version 0: never changed, the default).
struct StoredSchedule {
  ScheduleSettings settings;
  int64_t version = 0;
};

// The named statements of the calendars (for the pool); schedules.cc.
const std::vector<PreparedStatement>& ScheduleStatements();
StoredSchedule LoadSchedule(pqxx::transaction_base& tx, const std::string& convention);
// The calendar as the API shows it, with the reports it asks for.
::ctg::reporting::v1::ReportSchedule PresentSchedule(const std::string& convention,
                                                     const CivilDate& start, const CivilDate& end,
                                                     const StoredSchedule& schedule);

// Asks for every report whose date has come (today in Paris at `now`) on every signed
// convention, with its date as cut-off; returns how many jobs it created (asking again creates
// none: the job's key). Reads the conventions through the partners API as `identity`.
int AskDueReports(::ctg::partners::v1::PartnerService::Stub& partners, ServiceIdentity& identity,
                  ConnectionPool& pool, JobQueue& queue, TimePoint now);

}  // namespace ctg::reporting
