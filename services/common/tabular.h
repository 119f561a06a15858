#pragma once

// Spreadsheet files as people exchange them with the backend: reading CSV and XLSX files
// untrusted (size, row, column and decompression limits, formula detection, no XML entity
// tricks) into a grid of cells, and writing CSV files and XLSX workbooks that open in any
// spreadsheet without running anything. One implementation for every service (the tracking
// table, the reference-data imports, the indicators and the bilans). Messages meant for the
// people who filled a file in are in French.

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ctg {

// Limits of a file being read.
struct SheetLimits {
  int max_rows = 10000;
  int max_columns = 16384;
  // Largest uncompressed part of a workbook (a ZIP bomb stops there).
  size_t max_part_bytes = 64 * 1024 * 1024;
  // Errors listed before a last "trop d'erreurs" one.
  size_t max_errors = 100;
};

// One problem of a file being read: `row` is 1-based (0: the file as a whole), `column` 0-based
// (-1: no particular column).
struct SheetError {
  int row = 0;
  int column = -1;
  std::string message;
};

// The cells of a file: rows by 1-based row number, cells by 0-based column; empty cells are
// absent. `width` gives, for a CSV file, the number of fields of each record.
struct Sheet {
  std::map<int, std::map<int, std::string>> cells;
  std::map<int, int> width;
  std::vector<SheetError> errors;
  // CSV only: a text cell may be a formula to a spreadsheet (see StartsLikeFormula).
  bool cells_are_csv_text = false;
};

// Appends an error to `errors`, up to `limits.max_errors`, then one "trop d'erreurs" line.
void AddSheetError(std::vector<SheetError>* errors, int row, int column, std::string message,
                   const SheetLimits& limits = {});

// Reads a CSV file (RFC 4180 quoting; a UTF-8 byte order mark skipped; the separator is a comma,
// or a semicolon when the first line has semicolons and no comma, as French spreadsheets save
// them). Cells are kept as written (see UnescapeCsvText).
Sheet ReadCsv(std::string_view content, const SheetLimits& limits = {});

// Reads the first worksheet of an XLSX workbook (shared and inline strings, numbers as written);
// a cell holding a formula is an error, never a value.
Sheet ReadXlsx(std::string_view content, const SheetLimits& limits = {});

// "-12", "+3", "4.5", "4,5": a number a spreadsheet may show, never a formula.
bool IsPlainNumber(std::string_view s);
// Whether a spreadsheet would take `s` for a formula (= + - @ first).
bool StartsLikeFormula(std::string_view s);
// Protects a text cell of a CSV file against formula injection: a text starting with = + - @
// (or tab / carriage return) gets a leading apostrophe; so does a text that would otherwise be
// read back without its own leading apostrophe. UnescapeCsvText is its exact inverse.
std::string EscapeCsvText(const std::string& text);
std::string UnescapeCsvText(const std::string& text);

// A CSV file: UTF-8 with a byte order mark (so that spreadsheets detect the encoding), comma
// separated, CRLF line ends, RFC 4180 quoting; plain numbers as they are, every other cell
// protected with EscapeCsvText.
std::string WriteCsv(const std::vector<std::vector<std::string>>& rows);

// An XLSX workbook written with libxlsxwriter, cell by cell: text stays text (never a formula),
// numbers are numbers.
class XlsxWorkbook {
 public:
  // The look of a cell: a bold framed header, wrapped text, or a number.
  enum class Style { kHeader, kText, kNumber };

  // `title` and `subject` are the document properties; `created` (the call's injected clock) is
  // its creation date, so the same content written at the same instant is the same file.
  // Throws std::runtime_error when libxlsxwriter fails.
  XlsxWorkbook(const std::string& title, const std::string& subject,
               std::chrono::system_clock::time_point created);
  ~XlsxWorkbook();
  XlsxWorkbook(const XlsxWorkbook&) = delete;
  XlsxWorkbook& operator=(const XlsxWorkbook&) = delete;

  // Adds a worksheet and returns its index (0, 1, ...).
  int AddSheet(const std::string& name);
  void SetColumn(int sheet, int column, double width, Style style);
  // Rows and columns are 0-based.
  void WriteText(int sheet, int row, int column, const std::string& text, Style style);
  void WriteNumber(int sheet, int row, int column, double value);
  // Keeps the first row in view and adds filter buttons on rows 0..last_row.
  void FreezeHeaderWithFilter(int sheet, int last_row, int last_column);
  // A drop-down of `values` on the cells of `column` in rows first_row..last_row.
  void AddListValidation(int sheet, int column, int first_row, int last_row,
                         const std::vector<std::string>& values);
  // Whole numbers between `min` and `max` only, on the same kind of range.
  void AddIntegerValidation(int sheet, int column, int first_row, int last_row, int min, int max);
  // Closes the workbook and returns the file's bytes (the object is then spent).
  std::string Finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace ctg
