// The calendars of reports: SQL first, then the RPCs of ReportingService that use it and the
// workers' asking for the reports whose date has come.
#include <google/protobuf/util/field_mask_util.h>

#include "common/api.h"
#include "common/errors.h"
#include "common/log.h"
#include "reporting/schedule.h"
#include "reporting/service.h"

namespace ctg::reporting {
namespace {

namespace pv1 = ::ctg::partners::v1;

const std::vector<PreparedStatement> kStatements = {
    {"schedule_find",
     "SELECT annual_reviews, coalesce(intermediate_date::text, ''), coalesce(final_date::text, "
     "''), version FROM report_schedules WHERE convention = $1"},
    {"schedule_lock", "SELECT version FROM report_schedules WHERE convention = $1 FOR UPDATE"},
    {"schedule_upsert",
     "INSERT INTO report_schedules (convention, annual_reviews, intermediate_date, final_date, "
     "version) VALUES ($1, $2, $3::date, $4::date, 1) ON CONFLICT (convention) DO UPDATE SET "
     "annual_reviews = EXCLUDED.annual_reviews, intermediate_date = EXCLUDED.intermediate_date, "
     "final_date = EXCLUDED.final_date, version = report_schedules.version + 1 RETURNING version"},
};

std::optional<CivilDate> DateOrNone(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return CivilDate::Parse(text);
}

}  // namespace

const std::vector<PreparedStatement>& ScheduleStatements() { return kStatements; }

StoredSchedule LoadSchedule(pqxx::transaction_base& tx, const std::string& convention) {
  StoredSchedule s;
  const auto r = tx.exec_prepared("schedule_find", convention);
  if (r.empty()) return s;  // the default calendar, version 0
  s.settings.annual_reviews = r[0][0].as<bool>();
  s.settings.intermediate_date = DateOrNone(r[0][1].as<std::string>());
  s.settings.final_date = DateOrNone(r[0][2].as<std::string>());
  s.version = r[0][3].as<int64_t>();
  return s;
}

v1::ReportSchedule PresentSchedule(const std::string& convention, const CivilDate& start,
                                   const CivilDate& end, const StoredSchedule& s) {
  v1::ReportSchedule out;
  out.set_convention(convention);
  out.set_annual_reviews(s.settings.annual_reviews);
  if (s.settings.intermediate_date) {
    *out.mutable_intermediate_date() = s.settings.intermediate_date->ToProto();
  }
  if (s.settings.final_date) *out.mutable_final_date() = s.settings.final_date->ToProto();
  out.set_etag(FormatEtag(s.version));
  for (const auto& r : Calendar(start, end, s.settings)) {
    auto* item = out.add_reports();
    item->set_kind(static_cast<v1::ReportKind>(r.kind));
    item->set_year(r.year);
    *item->mutable_due() = r.due.ToProto();
  }
  return out;
}

void ReportingService::GetReportSchedule(const CallContext& call,
                                         const v1::GetReportScheduleRequest& req,
                                         v1::ReportSchedule& resp) {
  Violations v;
  ParseResourceName(req.convention(), "conventions", "convention", v);
  v.ThrowIfAny();
  ReportScope scope;
  const auto c = SeenConvention(call.principal, req.convention(), "convention", &scope);
  StoredSchedule s;
  WithSingleStatementRead(pool_, [&](pqxx::transaction_base& tx) { s = LoadSchedule(tx, c.name); });
  resp = PresentSchedule(c.name, c.start, c.end, s);
}

void ReportingService::UpdateReportSchedule(const CallContext& call,
                                            const v1::UpdateReportScheduleRequest& req,
                                            v1::ReportSchedule& resp) {
  const auto& patch = req.schedule();
  Violations v;
  ParseResourceName(patch.convention(), "conventions", "schedule.convention", v);
  if (patch.etag().empty()) v.Add("schedule.etag", "required");
  std::set<std::string> fields;
  for (const auto& path : req.update_mask().paths()) {
    if (path != "annual_reviews" && path != "intermediate_date" && path != "final_date") {
      v.Add("update_mask", "unknown or immutable field: " + path);
    }
    fields.insert(path);
  }
  if (req.update_mask().paths().empty()) {
    fields = {"annual_reviews", "intermediate_date", "final_date"};
  }
  std::optional<CivilDate> intermediate, final_date;
  if (!IsUnset(patch.intermediate_date())) {
    intermediate = ParseDate(patch.intermediate_date(), "schedule.intermediate_date", v, true);
  }
  if (!IsUnset(patch.final_date())) {
    final_date = ParseDate(patch.final_date(), "schedule.final_date", v, true);
  }
  v.ThrowIfAny();
  ReportScope scope;
  const auto c = SeenConvention(call.principal, patch.convention(), "schedule.convention", &scope);
  const std::string& org = call.principal.organisation;
  const bool may =
      (call.principal.Has(Role::kCafAgent) && c.cafs.count(org)) ||
      (call.principal.Has(Role::kCopilSecretariat) && !org.empty() && org == c.secretariat);
  if (!may) {
    throw PermissionDeniedError(
        "the calendar is changed by a caf_agent of a Caf party or the convention's secretariat");
  }
  StoredSchedule result;
  WithTransaction(pool_, [&](pqxx::work& tx) {
    const auto locked = tx.exec_prepared("schedule_lock", c.name);
    StoredSchedule current = LoadSchedule(tx, c.name);
    CheckEtag(patch.etag(), locked.empty() ? 0 : locked[0][0].as<int64_t>());
    ScheduleSettings next = current.settings;
    if (fields.count("annual_reviews")) next.annual_reviews = patch.annual_reviews();
    if (fields.count("intermediate_date")) next.intermediate_date = intermediate;
    if (fields.count("final_date")) next.final_date = final_date;
    Violations after;
    auto inside = [&](const std::optional<CivilDate>& d, const std::string& field) {
      if (d && (*d < c.start || c.end < *d)) after.Add(field, OutsidePeriod(c.start, c.end));
    };
    inside(next.intermediate_date, "schedule.intermediate_date");
    inside(next.final_date, "schedule.final_date");
    const CivilDate mid = next.intermediate_date.value_or(MidTerm(c.start, c.end));
    const CivilDate fin = next.final_date.value_or(c.end);
    if (after.empty() && fin < mid) {
      after.Add("schedule.final_date", "before the bilan intermédiaire");
    }
    after.ThrowIfAny();
    auto param = [](const std::optional<CivilDate>& d) {
      return d ? std::optional<std::string>(d->ToString()) : std::nullopt;
    };
    result.settings = next;
    result.version = tx.exec_prepared1("schedule_upsert", c.name, next.annual_reviews,
                                       param(next.intermediate_date), param(next.final_date))[0]
                         .as<int64_t>();
  });
  resp = PresentSchedule(c.name, c.start, c.end, result);
}

int AskDueReports(pv1::PartnerService::Stub& partners, ServiceIdentity& identity,
                  ConnectionPool& pool, JobQueue& queue, TimePoint now) {
  // The conventions first (a remote call, no connection held), then each calendar.
  std::vector<pv1::Convention> conventions;
  std::string token;
  do {
    pv1::ListConventionsRequest req;
    req.set_page_size(100);
    req.set_page_token(token);
    pv1::ListConventionsResponse page;
    grpc::ClientContext context;
    identity.Prepare(context, std::chrono::seconds(30));
    const auto status = partners.ListConventions(&context, req, &page);
    if (!status.ok()) ThrowDependencyError(status, "the conventions");
    for (auto& c : *page.mutable_conventions()) conventions.push_back(std::move(c));
    token = page.next_page_token();
  } while (!token.empty());
  const CivilDate today = CivilDate::InParis(now);
  int created = 0;
  for (const auto& c : conventions) {
    if (c.state() != pv1::SIGNED && c.state() != pv1::IN_FORCE && c.state() != pv1::EXPIRED) {
      continue;  // a draft has no calendar yet
    }
    const partners::ConventionFacts facts = partners::FactsOf(c);
    StoredSchedule s;
    WithSingleStatementRead(pool,
                            [&](pqxx::transaction_base& tx) { s = LoadSchedule(tx, c.name()); });
    for (const auto& r : Calendar(facts.start, facts.end, s.settings)) {
      if (today < r.due) continue;
      const JobKey key{c.name(), r.kind, r.year, r.due.ToString()};
      if (queue.Enqueue(key, false, "ctg-reporting (calendrier)", now).second) ++created;
    }
  }
  return created;
}

}  // namespace ctg::reporting
