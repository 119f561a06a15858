#include "action_plan/plan_repository.h"

namespace ctg::action_plan {
namespace {

constexpr char kAxisColumns[] =
    "x.id::text, x.seq, x.convention_id::text, x.number, x.title, x.weight, x.version";

constexpr char kActionColumns[] =
    "a.id::text, a.seq, a.convention_id::text, a.axis_id::text, a.number, a.title, "
    "a.description, a.objectives, a.fields, a.pilots, a.partners, "
    "coalesce(a.planned_start::text, ''), coalesce(a.planned_end::text, ''), a.continuous, "
    "a.priority, a.indicators, a.weight, a.version, "
    "extract(epoch FROM a.update_time)::float8, "
    "coalesce((SELECT json_agg(json_build_array(f.organisation_id::text, f.year::text, "
    "  f.planned_cents::text, f.actual_cents::text) ORDER BY f.year, f.organisation_id) "
    "  FROM fundings f WHERE f.action_id = a.id), '[]')::text, "
    "coalesce((SELECT json_agg(json_build_array(m.title, coalesce(m.due_date::text, ''), "
    "  m.done::text) ORDER BY m.position) FROM milestones m WHERE m.action_id = a.id), '[]')::text";

constexpr char kReportColumns[] =
    "r.id::text, r.seq, r.action_id::text, r.quarter_index, r.revision, r.status, "
    "r.completion_percent, r.implementation, r.progress, r.difficulties, r.next_steps, r.reason, "
    "r.author, r.demonstration, extract(epoch FROM r.create_time)::float8";

std::string Select(const char* columns, const char* from) {
  return std::string("SELECT ") + columns + " FROM " + from;
}

const std::vector<PreparedStatement>& Statements() {
  static const std::string axis_find = Select(kAxisColumns, "axes x") + " WHERE x.id = $1::uuid";
  static const std::string axis_list =
      Select(kAxisColumns, "axes x") +
      " WHERE x.convention_id = $1::uuid AND x.seq > $2 ORDER BY x.seq LIMIT $3";
  static const std::string axis_all =
      Select(kAxisColumns, "axes x") + " WHERE x.convention_id = $1::uuid ORDER BY x.number";
  static const std::string action_find =
      Select(kActionColumns, "actions a") + " WHERE a.id = $1::uuid";
  static const std::string action_list = Select(kActionColumns, "actions a") +
                                         " WHERE a.convention_id = $1::uuid AND a.seq > $2"
                                         " AND ($3 = '' OR a.axis_id = nullif($3, '')::uuid)"
                                         " AND ($4 = 0 OR $4::smallint = ANY (a.fields))"
                                         " AND ($5 = '' OR nullif($5, '')::uuid = ANY (a.pilots))"
                                         " ORDER BY a.seq LIMIT $6";
  static const std::string action_all =
      Select(kActionColumns, "actions a") + " WHERE a.convention_id = $1::uuid ORDER BY a.number";
  static const std::string report_find =
      Select(kReportColumns, "progress_reports r") + " WHERE r.id = $1::uuid";
  static const std::string report_latest =
      Select(kReportColumns, "progress_reports r") +
      " WHERE r.action_id = $1::uuid AND ($2 < 0 OR r.quarter_index <= $2)"
      " ORDER BY r.quarter_index DESC, r.revision DESC LIMIT 1";
  // One index probe per action for its newest report (a DISTINCT ON over every report of the
  // convention sorted them all: ~8x slower on 40 actions x 20 quarters).
  static const std::string report_latest_all =
      std::string("SELECT ") + kReportColumns +
      " FROM actions a CROSS JOIN LATERAL (SELECT * FROM progress_reports p"
      "   WHERE p.action_id = a.id AND p.quarter_index <= $2"
      "   ORDER BY p.quarter_index DESC, p.revision DESC LIMIT 1) r"
      " WHERE a.convention_id = $1::uuid";
  static const std::string report_list =
      Select(kReportColumns, "progress_reports r") +
      " WHERE r.action_id = $1::uuid AND ($2 < 0 OR r.quarter_index = $2) AND r.seq > $3"
      " ORDER BY r.seq LIMIT $4";
  static const std::vector<PreparedStatement> statements = {
      {"axis_find", axis_find.c_str()},
      {"actions_lock",
       "SELECT 1 FROM actions WHERE convention_id = $1::uuid ORDER BY id FOR UPDATE"},
      {"axis_list", axis_list.c_str()},
      {"axis_all", axis_all.c_str()},
      {"axis_insert",
       "INSERT INTO axes (convention_id, number, title, weight) VALUES ($1::uuid, $2, $3, $4) "
       "RETURNING id::text"},
      {"axis_update",
       "UPDATE axes SET number = $2, title = $3, weight = $4, version = version + 1 "
       "WHERE id = $1::uuid"},
      {"axis_number_taken",
       "SELECT EXISTS (SELECT 1 FROM axes WHERE convention_id = $1::uuid AND number = $2 "
       "AND id::text <> $3)"},
      {"action_number_taken",
       "SELECT EXISTS (SELECT 1 FROM actions WHERE convention_id = $1::uuid AND number = $2 "
       "AND id::text <> $3)"},
      {"action_find", action_find.c_str()},
      {"action_list", action_list.c_str()},
      {"action_all", action_all.c_str()},
      {"action_insert",
       "INSERT INTO actions (convention_id, axis_id, number, title, description, objectives, "
       "fields, pilots, partners, planned_start, planned_end, continuous, priority, indicators, "
       "weight) VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6::text[], $7::smallint[], $8::uuid[], "
       "$9::uuid[], $10::date, $11::date, $12, $13, $14::text[], $15) RETURNING id::text"},
      {"action_update",
       "UPDATE actions SET axis_id = $2::uuid, number = $3, title = $4, description = $5, "
       "objectives = $6::text[], fields = $7::smallint[], pilots = $8::uuid[], "
       "partners = $9::uuid[], planned_start = $10::date, planned_end = $11::date, "
       "continuous = $12, priority = $13, indicators = $14::text[], weight = $15, "
       "version = version + 1, update_time = now() WHERE id = $1::uuid"},
      {"funding_delete", "DELETE FROM fundings WHERE action_id = $1::uuid"},
      {"funding_insert",
       "INSERT INTO fundings (action_id, organisation_id, year, planned_cents, actual_cents) "
       "VALUES ($1::uuid, $2::uuid, $3, $4, $5)"},
      {"milestone_delete", "DELETE FROM milestones WHERE action_id = $1::uuid"},
      {"milestone_insert",
       "INSERT INTO milestones (action_id, position, title, due_date, done) "
       "VALUES ($1::uuid, $2, $3, $4::date, $5)"},
      {"report_insert",
       "INSERT INTO progress_reports (action_id, quarter_index, revision, status, "
       "completion_percent, implementation, progress, difficulties, next_steps, reason, author, "
       "demonstration) SELECT $1::uuid, $2, coalesce(max(revision), 0) + 1, $3, $4, $5, $6, $7, "
       "$8, $9, $10, $11 FROM progress_reports WHERE action_id = $1::uuid AND quarter_index = $2 "
       "RETURNING id::text"},
      {"report_lock_action", "SELECT id FROM actions WHERE id = $1::uuid FOR UPDATE"},
      {"report_find", report_find.c_str()},
      {"report_latest", report_latest.c_str()},
      {"report_latest_all", report_latest_all.c_str()},
      {"report_list", report_list.c_str()},
  };
  return statements;
}

std::string Uuids(const google::protobuf::RepeatedPtrField<std::string>& names) {
  std::vector<std::string> ids;
  for (const auto& n : names) ids.push_back(IdOf(n));
  return PgArrayLiteral(ids);
}

void SetDateText(const std::string& text, google::type::Date* out) {
  if (auto d = DateFromText(text)) *out = *d;
}

v1::Axis AxisFromRow(const pqxx::row& row, int64_t* version) {
  v1::Axis a;
  a.set_name(ResourceName("axes", row[0].as<std::string>()));
  a.set_convention(ResourceName("conventions", row[2].as<std::string>()));
  a.set_number(row[3].as<int>());
  a.set_title(row[4].as<std::string>());
  a.set_weight(row[5].as<double>());
  const auto v = row[6].as<int64_t>();
  a.set_etag(FormatEtag(v));
  if (version) *version = v;
  return a;
}

v1::Action ActionFromRow(const pqxx::row& row, int64_t* version) {
  v1::Action a;
  a.set_name(ResourceName("actions", row[0].as<std::string>()));
  a.set_convention(ResourceName("conventions", row[2].as<std::string>()));
  a.set_axis(ResourceName("axes", row[3].as<std::string>()));
  a.set_number(row[4].as<int>());
  a.set_title(row[5].as<std::string>());
  a.set_description(row[6].as<std::string>());
  for (auto& o : ParsePgArray(row[7])) a.add_objectives(o);
  for (auto& f : ParsePgArray(row[8])) {
    a.add_fields(static_cast<v1::InterventionField>(std::stoi(f)));
  }
  for (auto& p : ParsePgArray(row[9])) {
    a.add_pilots(ResourceName("organisations", p));
  }
  for (auto& p : ParsePgArray(row[10])) {
    a.add_partners(ResourceName("organisations", p));
  }
  SetDateText(row[11].as<std::string>(), a.mutable_planned_start());
  SetDateText(row[12].as<std::string>(), a.mutable_planned_end());
  a.set_continuous(row[13].as<bool>());
  a.set_priority(static_cast<v1::Priority>(row[14].as<int>()));
  for (auto& i : ParsePgArray(row[15])) a.add_indicators(i);
  a.set_weight(row[16].as<double>());
  const auto v = row[17].as<int64_t>();
  a.set_etag(FormatEtag(v));
  if (version) *version = v;
  *a.mutable_update_time() = TimestampFromEpoch(row[18]);
  for (const auto& f : ParseJsonStringRows(row[19].as<std::string>())) {
    auto* funding = a.add_fundings();
    funding->set_organisation(ResourceName("organisations", f.at(0)));
    funding->set_year(std::stoi(f.at(1)));
    funding->set_planned_cents(std::stoll(f.at(2)));
    funding->set_actual_cents(std::stoll(f.at(3)));
  }
  for (const auto& m : ParseJsonStringRows(row[20].as<std::string>())) {
    auto* milestone = a.add_milestones();
    milestone->set_title(m.at(0));
    SetDateText(m.at(1), milestone->mutable_due_date());
    milestone->set_done(m.at(2) == "true");
  }
  a.set_status(v1::NOT_STARTED);
  return a;
}

StoredReport ReportFromRow(const pqxx::row& row) {
  StoredReport s;
  auto& r = s.report;
  r.set_name(ResourceName("progressReports", row[0].as<std::string>()));
  r.set_action(ResourceName("actions", row[2].as<std::string>()));
  s.quarter_index = row[3].as<int>();
  char quarter[16];
  std::snprintf(quarter, sizeof quarter, "%04d-Q%d", s.quarter_index / 4, s.quarter_index % 4 + 1);
  r.set_quarter(quarter);
  r.set_revision(row[4].as<int>());
  r.set_status(static_cast<v1::ActionStatus>(row[5].as<int>()));
  r.set_completion_percent(row[6].as<int>());
  r.set_implementation(row[7].as<std::string>());
  r.set_progress(row[8].as<std::string>());
  r.set_difficulties(row[9].as<std::string>());
  r.set_next_steps(row[10].as<std::string>());
  r.set_reason(row[11].as<std::string>());
  r.set_author(row[12].as<std::string>());
  r.set_demonstration(row[13].as<bool>());
  *r.mutable_create_time() = TimestampFromEpoch(row[14]);
  return s;
}

template <typename T, typename F>
Page<T> ToPage(const pqxx::result& rows, const PageRequest& page, F&& convert) {
  Page<T> out;
  for (const auto& row : rows) {
    if (static_cast<int>(out.items.size()) == page.size) {
      out.more = true;
      break;
    }
    out.items.push_back(convert(row));
    out.last_seq = row[1].as<int64_t>();
  }
  return out;
}

}  // namespace

const std::vector<PreparedStatement>& PlanStatements() { return Statements(); }

std::optional<v1::Axis> PlanRepository::FindAxis(const std::string& id, int64_t* version) {
  auto r = tx_.exec_prepared("axis_find", id);
  if (r.empty()) return std::nullopt;
  return AxisFromRow(r[0], version);
}

std::string PlanRepository::InsertAxis(const v1::Axis& axis) {
  return tx_
      .exec_prepared1("axis_insert", IdOf(axis.convention()), axis.number(), axis.title(),
                      axis.weight() > 0 ? axis.weight() : 1.0)[0]
      .as<std::string>();
}

void PlanRepository::UpdateAxis(const std::string& id, const v1::Axis& axis) {
  tx_.exec_prepared0("axis_update", id, axis.number(), axis.title(), axis.weight());
}

Page<v1::Axis> PlanRepository::ListAxes(const std::string& convention_id, const PageRequest& page) {
  auto rows = tx_.exec_prepared("axis_list", convention_id, page.after, page.size + 1);
  return ToPage<v1::Axis>(rows, page,
                          [](const pqxx::row& row) { return AxisFromRow(row, nullptr); });
}

std::vector<v1::Axis> PlanRepository::AllAxes(const std::string& convention_id) {
  std::vector<v1::Axis> out;
  for (const auto& row : tx_.exec_prepared("axis_all", convention_id)) {
    out.push_back(AxisFromRow(row, nullptr));
  }
  return out;
}

bool PlanRepository::AxisNumberTaken(const std::string& convention_id, int number,
                                     const std::string& own_id) {
  return tx_.exec_prepared1("axis_number_taken", convention_id, number, own_id)[0].as<bool>();
}

bool PlanRepository::ActionNumberTaken(const std::string& convention_id, int number,
                                       const std::string& own_id) {
  return tx_.exec_prepared1("action_number_taken", convention_id, number, own_id)[0].as<bool>();
}

std::optional<v1::Action> PlanRepository::FindAction(const std::string& id, int64_t* version) {
  auto r = tx_.exec_prepared("action_find", id);
  if (r.empty()) return std::nullopt;
  return ActionFromRow(r[0], version);
}

std::string PlanRepository::InsertAction(const v1::Action& a) {
  std::vector<std::string> fields;
  for (int f : a.fields()) fields.push_back(std::to_string(f));
  const auto id = tx_.exec_prepared1("action_insert", IdOf(a.convention()), IdOf(a.axis()),
                                     a.number(), a.title(), a.description(),
                                     PgArrayLiteral({a.objectives().begin(), a.objectives().end()}),
                                     PgArrayLiteral(fields), Uuids(a.pilots()), Uuids(a.partners()),
                                     DateParam(a.planned_start()), DateParam(a.planned_end()),
                                     a.continuous(), static_cast<int>(a.priority()),
                                     PgArrayLiteral({a.indicators().begin(), a.indicators().end()}),
                                     a.weight() > 0 ? a.weight() : 1.0)[0]
                      .as<std::string>();
  ReplaceChildren(id, a);
  return id;
}

void PlanRepository::UpdateAction(const std::string& id, const v1::Action& a) {
  std::vector<std::string> fields;
  for (int f : a.fields()) fields.push_back(std::to_string(f));
  tx_.exec_prepared0("action_update", id, IdOf(a.axis()), a.number(), a.title(), a.description(),
                     PgArrayLiteral({a.objectives().begin(), a.objectives().end()}),
                     PgArrayLiteral(fields), Uuids(a.pilots()), Uuids(a.partners()),
                     DateParam(a.planned_start()), DateParam(a.planned_end()), a.continuous(),
                     static_cast<int>(a.priority()),
                     PgArrayLiteral({a.indicators().begin(), a.indicators().end()}), a.weight());
  ReplaceChildren(id, a);
}

void PlanRepository::ReplaceChildren(const std::string& id, const v1::Action& a) {
  tx_.exec_prepared0("funding_delete", id);
  for (const auto& f : a.fundings()) {
    tx_.exec_prepared0("funding_insert", id, IdOf(f.organisation()), f.year(), f.planned_cents(),
                       f.actual_cents());
  }
  tx_.exec_prepared0("milestone_delete", id);
  int position = 0;
  for (const auto& m : a.milestones()) {
    tx_.exec_prepared0("milestone_insert", id, ++position, m.title(), DateParam(m.due_date()),
                       m.done());
  }
}

Page<v1::Action> PlanRepository::ListActions(const ActionFilter& filter, const PageRequest& page) {
  auto rows = tx_.exec_prepared("action_list", filter.convention_id, page.after, filter.axis_id,
                                filter.field, filter.pilot_id, page.size + 1);
  return ToPage<v1::Action>(rows, page,
                            [](const pqxx::row& row) { return ActionFromRow(row, nullptr); });
}

std::vector<v1::Action> PlanRepository::AllActions(const std::string& convention_id) {
  std::vector<v1::Action> out;
  for (const auto& row : tx_.exec_prepared("action_all", convention_id)) {
    out.push_back(ActionFromRow(row, nullptr));
  }
  return out;
}

std::string PlanRepository::InsertReport(const std::string& action_id, int quarter_index,
                                         const v1::ProgressReport& r, const std::string& author) {
  // Serialises concurrent reports on one action so revisions stay 1, 2, 3…
  tx_.exec_prepared("report_lock_action", action_id);
  return tx_
      .exec_prepared1("report_insert", action_id, quarter_index, static_cast<int>(r.status()),
                      r.completion_percent(), r.implementation(), r.progress(), r.difficulties(),
                      r.next_steps(), r.reason(), author, r.demonstration())[0]
      .as<std::string>();
}

void PlanRepository::LockActions(const std::string& convention_id) {
  tx_.exec_prepared("actions_lock", convention_id);
}

std::optional<v1::ProgressReport> PlanRepository::FindReport(const std::string& id) {
  auto r = tx_.exec_prepared("report_find", id);
  if (r.empty()) return std::nullopt;
  return ReportFromRow(r[0]).report;
}

std::optional<StoredReport> PlanRepository::LatestReport(const std::string& action_id,
                                                         int up_to_quarter) {
  auto r = tx_.exec_prepared("report_latest", action_id, up_to_quarter);
  if (r.empty()) return std::nullopt;
  return ReportFromRow(r[0]);
}

std::vector<StoredReport> PlanRepository::LatestReports(const std::string& convention_id,
                                                        int up_to_quarter) {
  std::vector<StoredReport> out;
  for (const auto& row : tx_.exec_prepared("report_latest_all", convention_id, up_to_quarter)) {
    out.push_back(ReportFromRow(row));
  }
  return out;
}

Page<v1::ProgressReport> PlanRepository::ListReports(const std::string& action_id,
                                                     int quarter_index, const PageRequest& page) {
  auto rows = tx_.exec_prepared("report_list", action_id, quarter_index, page.after, page.size + 1);
  return ToPage<v1::ProgressReport>(rows, page,
                                    [](const pqxx::row& row) { return ReportFromRow(row).report; });
}

}  // namespace ctg::action_plan
