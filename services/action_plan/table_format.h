#pragma once

// The file form of the tableau de suivi partagé (convention art. 11): one column layout shared
// by the XLSX and the CSV exports, their writers and readers, and the reading of a filled-in
// file back into progress report values. Pure: no database, no RPC.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/tabular.h"
#include "ctg/action_plan/v1/action_plan.pb.h"

namespace ctg::action_plan {

namespace v1 = ::ctg::action_plan::v1;

// The columns of the file, in order.
enum class TableColumn {
  kNumber = 0,
  kAxis,
  kTitle,
  kPilots,
  kQuarter,
  kStatus,
  kCompletion,
  kImplementation,
  kProgress,
  kDifficulties,
  kNextSteps,
  kReason,
  kMissingUpdate,
  kLate,
};
constexpr int kTableColumnCount = 14;

// One column of the layout.
struct TableColumnSpec {
  TableColumn column;
  // The French header written in row 1 and required on import.
  const char* header;
  // A stable English key, used in field violations ("rows[3].status").
  const char* key;
  // False for columns written for information and ignored on import.
  bool imported;
  // Column width in the XLSX sheet (characters).
  double width;
};

// Every column, in file order.
const std::vector<TableColumnSpec>& TableColumns();
// The spec of one column.
const TableColumnSpec& ColumnSpec(TableColumn column);

// The largest file ImportTrackingTable reads (10 MiB).
constexpr size_t kMaxTableFileBytes = 10 * 1024 * 1024;

// MIME types and file names of the exports.
constexpr const char* kXlsxMimeType =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
constexpr const char* kCsvMimeType = "text/csv; charset=utf-8";
// "suivi-ctg-2026-Q1.xlsx" / ".csv"; empty for FILE_FORMAT_UNSPECIFIED.
std::string TableFileName(const std::string& quarter, v1::FileFormat format);

// The French label of a status ("En cours"); "" for ACTION_STATUS_UNSPECIFIED.
std::string StatusLabel(v1::ActionStatus status);
// The status of a French label (surrounding spaces and ASCII case ignored); nullopt when
// unknown or empty.
std::optional<v1::ActionStatus> ParseStatusLabel(std::string_view label);
// The labels of every status, in enum order, joined by ", " (for error messages).
std::string StatusLabelList();

// One row of cells as displayed, kTableColumnCount cells in column order.
using TableRow = std::vector<std::string>;

// The file row of one tracking table row: pre-filled with the latest report so that reading
// the file back unchanged changes nothing. The Motif column is left empty: it justifies the
// change being imported, it is not part of the recorded state. `axis_label` is the text of the
// Axe column, `pilot_labels` that of the Pilotes column.
TableRow ExportRow(const v1::TrackingRow& row, const std::string& quarter,
                   const std::string& axis_label, const std::string& pilot_labels);

// A CSV file (ctg::WriteCsv: UTF-8 with a byte order mark, RFC 4180, text cells protected
// against formulas): the header row then `rows`.
std::string WriteCsv(const std::vector<TableRow>& rows);

// An XLSX workbook: a first sheet "Suivi <quarter>" with the header row (frozen, filtered) and
// `rows`, numbers as numbers and every other cell as text (never a formula), a status drop-down
// and a 0-100 check on Avancement, then a sheet of instructions; `created` (the call's clock) is
// its creation date. Throws std::runtime_error when libxlsxwriter fails.
std::string WriteXlsx(const std::vector<TableRow>& rows, const std::string& quarter,
                      std::chrono::system_clock::time_point created);

// One error of a file being read. `row` is the 1-based row of the file (1 is the header);
// 0 for the file as a whole. `column` is the French header of the column ("" when none).
struct TableFileError {
  int row = 0;
  std::string column;
  std::string message;
};

// A data row read from a file.
struct TableFileRow {
  // 1-based row number in the file.
  int row = 0;
  // kTableColumnCount cells, unescaped, with CRLF turned into LF.
  TableRow cells;
};

// A file read as rows of cells, or the errors that make it unreadable.
struct TableFile {
  std::vector<TableFileRow> rows;
  std::vector<TableFileError> errors;
};

// Reads an export back: checks the size (at most kMaxTableFileBytes), the container (a ZIP
// workbook for XLSX), the encoding (UTF-8), the header row (exactly the layout's headers, in
// order), that no cell is a formula (XLSX <f> elements; CSV cells starting with = + - @ unless
// plain numbers) and that no cell lies outside the layout. Blank rows are skipped. At most 100
// errors are listed.
TableFile ReadTableFile(v1::FileFormat format, std::string_view content);

// The values of one imported data row.
struct ImportedRow {
  int row = 0;
  int action_number = 0;
  // Nothing filled in (no status, completion, text nor reason): nothing to report.
  bool blank = false;
  // status, completion_percent, the four texts and reason; action and quarter are not set.
  v1::ProgressReport report;
};

// Interprets the rows of a file read by ReadTableFile for `quarter` ("2026-Q1"): action
// numbers, the quarter of every row, French statuses, completion 0-100 (an integer, "%"
// accepted), required status and completion on non-blank rows, duplicate action numbers.
// Errors are appended to `errors`.
std::vector<ImportedRow> InterpretRows(const TableFile& file, const std::string& quarter,
                                       std::vector<TableFileError>* errors);

}  // namespace ctg::action_plan
