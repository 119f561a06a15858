// ExportTrackingTable and ImportTrackingTable: the tableau de suivi partagé as an XLSX or CSV
// file (layout, writers and readers in table_format.h).
//
// Import rules:
// - the file is read and checked whole before anything is written; any error (file, header or
//   row) fails the call with INVALID_ARGUMENT listing every error as a field violation
//   "rows[N].<column key>" (N the 1-based file row, the header being row 1; "content" for the
//   file as a whole), and nothing is written;
// - a row equal to the action's latest report up to the quarter (the values the export
//   pre-filled) or left blank is unchanged; any other row becomes a new progress report
//   revision for the quarter, checked as CreateProgressReport checks one;
// - a changed row for an action the caller may not report on fails the whole import with
//   PERMISSION_DENIED (nothing written); unchanged rows of other pilots' actions are accepted,
//   so a commune can send back the whole table after filling in its own actions;
// - every write happens in one transaction; `request_id` makes a retry return the first result.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "action_plan/access.h"
#include "action_plan/plan_repository.h"
#include "action_plan/service.h"
#include "action_plan/table_format.h"
#include "common/api.h"
#include "common/errors.h"

namespace ctg::action_plan {
namespace {

constexpr const char* kImportMethod = "ImportTrackingTable";

void CheckFormat(v1::FileFormat format, Violations& v) {
  if (format != v1::XLSX && format != v1::CSV) v.Add("format", "obligatoire : XLSX ou CSV");
}

// The field path of a file error: "content" for the whole file, "rows[N].<key>" otherwise.
std::string ErrorField(const TableFileError& e) {
  if (e.row == 0) return "content";
  std::string field = "rows[" + std::to_string(e.row) + "]";
  for (const auto& spec : TableColumns()) {
    if (e.column == spec.header) return field + "." + spec.key;
  }
  return field;
}

[[noreturn]] void ThrowFileErrors(const std::vector<TableFileError>& errors) {
  std::vector<FieldViolation> violations;
  for (const auto& e : errors) {
    std::string where;
    if (e.row > 0) where = "ligne " + std::to_string(e.row);
    if (!e.column.empty()) where += (where.empty() ? "" : ", ") + ("colonne « " + e.column + " »");
    violations.push_back({ErrorField(e), where.empty() ? e.message : where + " : " + e.message});
  }
  throw ValidationError(std::move(violations));
}

// A French message for a violation of ValidateReport on an imported text.
std::string FrenchTextProblem(const std::string& description) {
  if (description.find("UTF-8") != std::string::npos) return "encodage invalide (UTF-8 attendu)";
  if (description.find("control") != std::string::npos) {
    return "caractères de contrôle interdits";
  }
  if (description.find("at most") != std::string::npos) return "texte trop long";
  return description;
}

// The column header of a ProgressReport field checked by ValidateReport.
std::string ColumnOfReportField(const std::string& field) {
  for (const auto& spec : TableColumns()) {
    if (field == spec.key) return spec.header;
  }
  return "";
}

// Whether an imported row only repeats `latest`.
bool SameAsLatest(const v1::ProgressReport& imported, const v1::TrackingRow& row) {
  if (!row.has_latest_report()) return false;
  const auto& l = row.latest_report();
  return imported.status() == l.status() &&
         imported.completion_percent() == l.completion_percent() &&
         imported.implementation() == l.implementation() && imported.progress() == l.progress() &&
         imported.difficulties() == l.difficulties() && imported.next_steps() == l.next_steps();
}

// The result of an earlier import with the same request id, stored as its "resource".
std::string ImportResource(int created, int unchanged) {
  return "trackingTableImports/" + std::to_string(created) + "-" + std::to_string(unchanged);
}

void ParseImportResource(const std::string& resource, v1::ImportTrackingTableResponse* resp) {
  const auto slash = resource.find('/');
  const auto dash = resource.rfind('-');
  if (slash == std::string::npos || dash == std::string::npos || dash < slash) return;
  resp->set_reports_created(std::stoi(resource.substr(slash + 1, dash - slash - 1)));
  resp->set_rows_unchanged(std::stoi(resource.substr(dash + 1)));
}

}  // namespace

void ActionPlanService::ExportTrackingTable(const CallContext& call,
                                            const v1::ExportTrackingTableRequest& req,
                                            v1::ExportedFile& resp) {
  Violations v;
  CheckFormat(req.format(), v);
  v.ThrowIfAny();
  Quarter quarter;
  PlanScope scope;
  CheckTableRequest(call.principal, req.convention(), req.quarter(), &quarter, &scope);
  const auto quarter_text = quarter.ToString();
  v1::TrackingTable table;
  std::map<std::string, std::string> axis_labels;
  WithReadTransaction(pool_, [&](pqxx::transaction_base& tx) {
    table = LoadTrackingTable(tx, req.convention(), quarter);
    for (const auto& axis : PlanRepository(tx).AllAxes(IdOf(req.convention()))) {
      axis_labels[axis.name()] = "Axe " + std::to_string(axis.number()) + " : " + axis.title();
    }
  });
  // Pilots by their official names: the file is read by people (after the transaction, so no
  // database connection waits on the partners service).
  std::set<std::string> pilot_names;
  for (const auto& row : table.rows()) {
    pilot_names.insert(row.action().pilots().begin(), row.action().pilots().end());
  }
  const auto display = partners_->DisplayNames(pilot_names);
  std::vector<TableRow> rows;
  for (const auto& row : table.rows()) {
    std::string pilots;
    for (const auto& p : row.action().pilots()) {
      pilots += (pilots.empty() ? "" : ", ") + display.at(p);
    }
    rows.push_back(ExportRow(row, quarter_text, axis_labels[row.action().axis()], pilots));
  }
  const bool xlsx = req.format() == v1::XLSX;
  resp.set_content(xlsx ? WriteXlsx(rows, quarter_text, call.now) : WriteCsv(rows));
  resp.set_file_name(TableFileName(quarter_text, req.format()));
  resp.set_mime_type(xlsx ? kXlsxMimeType : kCsvMimeType);
}

void ActionPlanService::ImportTrackingTable(const CallContext& call,
                                            const v1::ImportTrackingTableRequest& req,
                                            v1::ImportTrackingTableResponse& resp) {
  Violations v;
  CheckFormat(req.format(), v);
  CheckRequestId(req.request_id(), "request_id", v);
  if (req.content().size() > kMaxTableFileBytes) v.Add("content", "le fichier dépasse 10 Mio");
  v.ThrowIfAny();
  Quarter quarter;
  PlanScope scope;
  const auto convention =
      CheckTableRequest(call.principal, req.convention(), req.quarter(), &quarter, &scope);
  if (auto refusal =
          QuarterRefusal(quarter, convention.start, convention.end, CivilDate::InParis(call.now))) {
    throw ValidationError("quarter", *refusal);
  }
  const auto quarter_text = quarter.ToString();

  // The file, read and interpreted before any transaction.
  const auto file = ReadTableFile(req.format(), req.content());
  auto errors = file.errors;
  std::vector<ImportedRow> rows;
  if (errors.empty()) rows = InterpretRows(file, quarter_text, &errors);
  if (!errors.empty()) ThrowFileErrors(errors);

  WithTransaction(pool_, [&](pqxx::work& tx) {
    IdempotencyKey key(tx, call, req);
    if (auto done = key.Previous()) {
      ParseImportResource(*done, &resp);
      return;
    }
    PlanRepository repo(tx);
    // Every action of the convention is locked first: the status rule of each row is checked
    // against the newest report, which no concurrent report may change under it.
    repo.LockActions(IdOf(req.convention()));
    const auto table = LoadTrackingTable(tx, req.convention(), quarter);
    std::map<int, const v1::TrackingRow*> by_number;
    for (const auto& row : table.rows()) by_number[row.action().number()] = &row;

    struct Change {
      int row;
      const v1::TrackingRow* current;
      v1::ProgressReport report;
    };
    std::vector<Change> changes;
    int unchanged = 0;
    const auto number_header = ColumnSpec(TableColumn::kNumber).header;
    for (const auto& row : rows) {
      auto it = by_number.find(row.action_number);
      if (it == by_number.end()) {
        errors.push_back({row.row, number_header,
                          "l'action " + std::to_string(row.action_number) +
                              " n'existe pas dans cette convention"});
        continue;
      }
      const auto& current = *it->second;
      if (row.blank || SameAsLatest(row.report, current)) {
        ++unchanged;
        continue;
      }
      auto report = row.report;
      report.set_action(current.action().name());
      report.set_quarter(quarter_text);
      Violations rv;
      ValidateReport(report, "", rv);
      try {
        rv.ThrowIfAny();
      } catch (const ValidationError& e) {
        for (const auto& fv : e.violations()) {
          errors.push_back(
              {row.row, ColumnOfReportField(fv.field), FrenchTextProblem(fv.description)});
        }
        continue;
      }
      // The same status rule as CreateProgressReport, against the action's newest report.
      const auto previous = repo.LatestReport(IdOf(current.action().name()));
      const auto from = previous ? previous->report.status() : v1::NOT_STARTED;
      if (StatusMoveRefusal(from, report.status(), report.reason())) {
        errors.push_back({row.row, ColumnSpec(TableColumn::kReason).header,
                          "une action abandonnée ne reprend qu'avec un motif"});
        continue;
      }
      changes.push_back({row.row, &current, std::move(report)});
    }
    if (!errors.empty()) ThrowFileErrors(errors);

    std::string denied;
    for (const auto& change : changes) {
      if (!MayReport(call.principal, scope, change.current->action().pilots())) {
        denied += (denied.empty() ? "" : ", ") + std::to_string(change.row);
      }
    }
    if (!denied.empty()) {
      throw PermissionDeniedError(
          "vous ne pouvez pas renseigner le suivi des actions modifiées aux lignes " + denied +
          " : seuls leurs pilotes et le secrétariat du COPIL le peuvent ; rien n'a été "
          "enregistré");
    }
    for (const auto& change : changes) {
      repo.InsertReport(IdOf(change.current->action().name()), quarter.Index(), change.report,
                        call.principal.subject);
    }
    const int created = static_cast<int>(changes.size());
    key.Remember(ImportResource(created, unchanged));
    resp.set_reports_created(created);
    resp.set_rows_unchanged(unchanged);
  });
}

}  // namespace ctg::action_plan
