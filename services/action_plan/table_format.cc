#include "action_plan/table_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "common/api.h"
#include "common/labels.h"
#include "common/tabular.h"

namespace ctg::action_plan {
namespace {

constexpr size_t kMaxErrors = 100;

// The limits of a file read: 10,000 rows, the defaults otherwise.
SheetLimits Limits() {
  SheetLimits limits;
  limits.max_rows = 10000;
  limits.max_errors = kMaxErrors;
  return limits;
}

const std::vector<TableColumnSpec>& Specs() {
  static const auto* specs = new std::vector<TableColumnSpec>{
      {TableColumn::kNumber, "N° action", "number", true, 10},
      {TableColumn::kAxis, "Axe", "axis", false, 30},
      {TableColumn::kTitle, "Intitulé", "title", false, 45},
      {TableColumn::kPilots, "Pilotes", "pilots", false, 25},
      {TableColumn::kQuarter, "Trimestre", "quarter", true, 11},
      {TableColumn::kStatus, "Statut", "status", true, 14},
      {TableColumn::kCompletion, "Avancement (%)", "completion_percent", true, 14},
      {TableColumn::kImplementation, "Modalités de mise en œuvre", "implementation", true, 40},
      {TableColumn::kProgress, "Avancées", "progress", true, 40},
      {TableColumn::kDifficulties, "Difficultés", "difficulties", true, 40},
      {TableColumn::kNextSteps, "Prochaines étapes", "next_steps", true, 40},
      {TableColumn::kReason, "Motif", "reason", true, 30},
      {TableColumn::kMissingUpdate, "Mise à jour manquante", "missing_update", false, 14},
      {TableColumn::kLate, "En retard", "late", false, 10},
  };
  return *specs;
}

std::string CrlfToLf(std::string s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
    out += s[i];
  }
  return out;
}

// The header of a 0-based column index, or its spreadsheet letters beyond the layout.
std::string ColumnName(int index) {
  if (index >= 0 && index < kTableColumnCount) return Specs()[index].header;
  std::string letters;
  for (int n = index + 1; n > 0; n = (n - 1) / 26) {
    letters.insert(letters.begin(), static_cast<char>('A' + (n - 1) % 26));
  }
  return "colonne " + letters;
}

void AddError(std::vector<TableFileError>* errors, int row, std::string column,
              std::string message) {
  if (errors->size() < kMaxErrors) {
    errors->push_back({row, std::move(column), std::move(message)});
  } else if (errors->size() == kMaxErrors) {
    errors->push_back({0, "", "trop d'erreurs : seules les 100 premières sont listées"});
  }
}

// The cells of a string of the file, as a std::string.
std::string Trim(std::string_view s) { return std::string(TrimSpace(s)); }

// Checks encoding, formulas, header and extent of a sheet and turns it into rows.
TableFile CheckGrid(Sheet grid) {
  TableFile file;
  for (auto& e : grid.errors) {
    file.errors.push_back({e.row, e.column < 0 ? "" : ColumnName(e.column), std::move(e.message)});
  }
  if (!file.errors.empty() && file.errors.front().row == 0) return file;
  auto& errors = file.errors;
  // Encoding and formulas, cell by cell.
  for (auto& [row, cells] : grid.cells) {
    for (auto& [col, text] : cells) {
      if (!IsValidUtf8(text)) {
        AddError(&errors, row, ColumnName(col),
                 "encodage invalide : le fichier doit être enregistré en UTF-8");
        text.clear();
        continue;
      }
      if (grid.cells_are_csv_text) {
        if (StartsLikeFormula(text) && !IsPlainNumber(Trim(text))) {
          AddError(&errors, row, ColumnName(col),
                   "une cellule commençant par = + - @ est refusée (risque de formule) ; "
                   "faites-la précéder d'une apostrophe");
        }
        text = UnescapeCsvText(text);
      }
      text = CrlfToLf(std::move(text));
    }
  }
  // The header row.
  auto header_it = grid.cells.find(1);
  if (header_it == grid.cells.end()) {
    AddError(&errors, grid.cells.empty() ? 0 : 1, "",
             grid.cells.empty() ? "le fichier est vide"
                                : "la première ligne doit contenir les en-têtes de colonnes");
    return file;
  }
  const auto& header = header_it->second;
  for (int col = 0; col < kTableColumnCount; ++col) {
    auto it = header.find(col);
    const std::string got = it == header.end() ? "" : Trim(it->second);
    if (got != Specs()[col].header) {
      AddError(&errors, 1, Specs()[col].header,
               got.empty() ? "colonne manquante"
                           : "en-tête « " + got + " » au lieu de « " + Specs()[col].header + " »");
    }
  }
  for (const auto& [col, text] : header) {
    if (col >= kTableColumnCount && !Trim(text).empty()) {
      AddError(&errors, 1, ColumnName(col), "colonne inattendue « " + Trim(text) + " »");
    }
  }
  // Data rows.
  for (auto& [row, cells] : grid.cells) {
    if (row == 1) continue;
    TableFileRow out;
    out.row = row;
    out.cells.assign(kTableColumnCount, "");
    bool any = false;
    for (auto& [col, text] : cells) {
      const bool blank = Trim(text).empty();
      any = any || !blank;
      if (col >= kTableColumnCount) {
        if (!blank) AddError(&errors, row, ColumnName(col), "cellule hors du tableau");
        continue;
      }
      out.cells[col] = std::move(text);
    }
    if (any) file.rows.push_back(std::move(out));
  }
  return file;
}

// Parses a whole-number cell ("12", "12.0", "40 %"); nullopt otherwise.
std::optional<long> ParseWholeNumber(std::string text, bool allow_percent) {
  text = Trim(text);
  if (allow_percent && !text.empty() && text.back() == '%')
    text = Trim(text.substr(0, text.size() - 1));
  if (text.empty() || text.size() > 30) return std::nullopt;
  std::replace(text.begin(), text.end(), ',', '.');
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '+' &&
        c != 'E' && c != 'e') {
      return std::nullopt;
    }
  }
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (*end != '\0' || !std::isfinite(value)) return std::nullopt;
  const double rounded = std::round(value);
  if (std::fabs(value - rounded) > 1e-9 || std::fabs(rounded) > 1e9) return std::nullopt;
  return static_cast<long>(rounded);
}

}  // namespace

const std::vector<TableColumnSpec>& TableColumns() { return Specs(); }

const TableColumnSpec& ColumnSpec(TableColumn column) { return Specs()[static_cast<int>(column)]; }

std::string TableFileName(const std::string& quarter, v1::FileFormat format) {
  switch (format) {
    case v1::XLSX:
      return "suivi-ctg-" + quarter + ".xlsx";
    case v1::CSV:
      return "suivi-ctg-" + quarter + ".csv";
    default:
      return "";
  }
}

std::string StatusLabel(v1::ActionStatus status) {
  return EnumLabel(v1::ActionStatus_descriptor(), status);
}

std::optional<v1::ActionStatus> ParseStatusLabel(std::string_view label) {
  const auto status = EnumValueOfLabel(v1::ActionStatus_descriptor(), label);
  if (!status) return std::nullopt;
  return static_cast<v1::ActionStatus>(*status);
}

// The statuses' labels, in the proto's order (the zero left out).
std::vector<std::string> StatusLabels() {
  std::vector<std::string> labels;
  const auto* type = v1::ActionStatus_descriptor();
  for (int i = 0; i < type->value_count(); ++i) {
    if (type->value(i)->number() != 0) labels.push_back(EnumLabel(type, type->value(i)->number()));
  }
  return labels;
}

std::string StatusLabelList() {
  std::string out;
  for (const std::string& label : StatusLabels()) out += (out.empty() ? "" : ", ") + label;
  return out;
}

TableRow ExportRow(const v1::TrackingRow& row, const std::string& quarter,
                   const std::string& axis_label, const std::string& pilot_labels) {
  TableRow cells(kTableColumnCount);
  auto set = [&](TableColumn c, std::string v) { cells[static_cast<int>(c)] = std::move(v); };
  set(TableColumn::kNumber, std::to_string(row.action().number()));
  set(TableColumn::kAxis, axis_label);
  set(TableColumn::kTitle, row.action().title());
  set(TableColumn::kPilots, pilot_labels);
  set(TableColumn::kQuarter, quarter);
  if (row.has_latest_report()) {
    const auto& r = row.latest_report();
    set(TableColumn::kStatus, StatusLabel(r.status()));
    set(TableColumn::kCompletion, std::to_string(r.completion_percent()));
    set(TableColumn::kImplementation, r.implementation());
    set(TableColumn::kProgress, r.progress());
    set(TableColumn::kDifficulties, r.difficulties());
    set(TableColumn::kNextSteps, r.next_steps());
  }
  set(TableColumn::kMissingUpdate, row.missing_update() ? "Oui" : "Non");
  set(TableColumn::kLate, row.late() ? "Oui" : "Non");
  return cells;
}

std::string WriteCsv(const std::vector<TableRow>& rows) {
  std::vector<std::vector<std::string>> all;
  std::vector<std::string> header;
  for (const auto& spec : Specs()) header.push_back(spec.header);
  all.push_back(std::move(header));
  all.insert(all.end(), rows.begin(), rows.end());
  return ::ctg::WriteCsv(all);
}

std::string WriteXlsx(const std::vector<TableRow>& rows, const std::string& quarter,
                      std::chrono::system_clock::time_point created) {
  using Style = XlsxWorkbook::Style;
  XlsxWorkbook wb("Tableau de suivi partagé CTG " + quarter, "Convention Territoriale Globale",
                  created);
  const int ws = wb.AddSheet("Suivi " + quarter);
  const int help = wb.AddSheet("Mode d'emploi");
  const auto& specs = Specs();
  auto numeric = [&specs](int col) {
    return specs[col].column == TableColumn::kNumber ||
           specs[col].column == TableColumn::kCompletion;
  };
  for (int col = 0; col < kTableColumnCount; ++col) {
    wb.SetColumn(ws, col, specs[col].width, numeric(col) ? Style::kNumber : Style::kText);
    wb.WriteText(ws, 0, col, specs[col].header, Style::kHeader);
  }
  for (size_t r = 0; r < rows.size(); ++r) {
    const int row_index = static_cast<int>(r + 1);
    for (int col = 0; col < kTableColumnCount && col < static_cast<int>(rows[r].size()); ++col) {
      const auto& value = rows[r][col];
      if (value.empty()) continue;
      if (numeric(col) && IsPlainNumber(value)) {
        wb.WriteNumber(ws, row_index, col, std::strtod(value.c_str(), nullptr));
      } else {
        wb.WriteText(ws, row_index, col, value, Style::kText);
      }
    }
  }
  const int last = static_cast<int>(std::max<size_t>(rows.size(), 1));
  wb.FreezeHeaderWithFilter(ws, last, kTableColumnCount - 1);
  // A drop-down of the French statuses and a 0-100 check, on the filled rows and some spare.
  const std::vector<std::string> labels = StatusLabels();
  const int validated = last + 200;
  wb.AddListValidation(ws, static_cast<int>(TableColumn::kStatus), 1, validated, labels);
  wb.AddIntegerValidation(ws, static_cast<int>(TableColumn::kCompletion), 1, validated, 0, 100);
  const char* instructions[] = {
      "Tableau de suivi partagé de la Convention Territoriale Globale — trimestre ",
      "Renseignez, pour chaque action que vous pilotez, les colonnes Statut, Avancement (%), "
      "Modalités de mise en œuvre, Avancées, Difficultés et Prochaines étapes.",
      "Les colonnes N° action, Axe, Intitulé, Pilotes, Mise à jour manquante et En retard sont "
      "données pour information et ne sont pas relues.",
      "Ne modifiez ni l'ordre ni l'intitulé des colonnes, ni le trimestre ; n'utilisez pas de "
      "formules.",
      "Statuts possibles : Non démarrée, En cours, Réalisée, En pause, Retardée, Bloquée, "
      "Abandonnée. Pour reprendre une action abandonnée, indiquez un Motif.",
      "Une ligne identique au dernier suivi enregistré ne crée rien ; une ligne modifiée crée "
      "une nouvelle révision, l'historique est conservé.",
  };
  wb.SetColumn(help, 0, 120, Style::kText);
  for (size_t i = 0; i < sizeof instructions / sizeof *instructions; ++i) {
    const std::string line = i == 0 ? std::string(instructions[0]) + quarter : instructions[i];
    wb.WriteText(help, static_cast<int>(i), 0, line, i == 0 ? Style::kHeader : Style::kText);
  }
  return wb.Finish();
}

TableFile ReadTableFile(v1::FileFormat format, std::string_view content) {
  TableFile file;
  if (content.size() > kMaxTableFileBytes) {
    file.errors.push_back({0, "", "le fichier dépasse 10 Mio"});
    return file;
  }
  if (content.empty()) {
    file.errors.push_back({0, "", "le fichier est vide"});
    return file;
  }
  switch (format) {
    case v1::CSV:
      return CheckGrid(ReadCsv(content, Limits()));
    case v1::XLSX:
      return CheckGrid(ReadXlsx(content, Limits()));
    default:
      file.errors.push_back({0, "", "format inconnu : XLSX ou CSV"});
      return file;
  }
}

std::vector<ImportedRow> InterpretRows(const TableFile& file, const std::string& quarter,
                                       std::vector<TableFileError>* errors) {
  std::vector<ImportedRow> out;
  std::map<long, int> seen;  // action number → first row
  auto header = [](TableColumn c) { return std::string(ColumnSpec(c).header); };
  for (const auto& row : file.rows) {
    auto cell = [&row](TableColumn c) -> const std::string& {
      return row.cells[static_cast<int>(c)];
    };
    ImportedRow imported;
    imported.row = row.row;
    bool ok = true;
    const auto number = ParseWholeNumber(cell(TableColumn::kNumber), false);
    if (!number || *number < 1) {
      AddError(errors, row.row, header(TableColumn::kNumber),
               cell(TableColumn::kNumber).empty() ? "obligatoire"
                                                  : "doit être un numéro d'action (entier ≥ 1)");
      ok = false;
    } else if (auto [it, fresh] = seen.emplace(*number, row.row); !fresh) {
      AddError(errors, row.row, header(TableColumn::kNumber),
               "action " + std::to_string(*number) + " déjà présente ligne " +
                   std::to_string(it->second));
      ok = false;
    } else {
      imported.action_number = static_cast<int>(*number);
    }
    const auto row_quarter = Trim(cell(TableColumn::kQuarter));
    if (row_quarter != quarter) {
      AddError(errors, row.row, header(TableColumn::kQuarter),
               row_quarter.empty()
                   ? "obligatoire (" + quarter + ")"
                   : "le fichier porte sur " + row_quarter + ", l'import sur " + quarter);
      ok = false;
    }
    auto& r = imported.report;
    r.set_implementation(cell(TableColumn::kImplementation));
    r.set_progress(cell(TableColumn::kProgress));
    r.set_difficulties(cell(TableColumn::kDifficulties));
    r.set_next_steps(cell(TableColumn::kNextSteps));
    r.set_reason(cell(TableColumn::kReason));
    const auto& status_text = cell(TableColumn::kStatus);
    const auto& completion_text = cell(TableColumn::kCompletion);
    imported.blank = Trim(status_text).empty() && Trim(completion_text).empty() &&
                     Trim(r.implementation()).empty() && Trim(r.progress()).empty() &&
                     Trim(r.difficulties()).empty() && Trim(r.next_steps()).empty() &&
                     Trim(r.reason()).empty();
    if (!imported.blank) {
      if (Trim(status_text).empty()) {
        AddError(errors, row.row, header(TableColumn::kStatus), "obligatoire");
        ok = false;
      } else if (auto status = ParseStatusLabel(status_text)) {
        r.set_status(*status);
      } else {
        AddError(errors, row.row, header(TableColumn::kStatus),
                 "statut « " + Trim(status_text) +
                     " » inconnu ; valeurs possibles : " + StatusLabelList());
        ok = false;
      }
      if (Trim(completion_text).empty()) {
        AddError(errors, row.row, header(TableColumn::kCompletion), "obligatoire");
        ok = false;
      } else if (auto completion = ParseWholeNumber(completion_text, true);
                 !completion || *completion < 0 || *completion > 100) {
        AddError(errors, row.row, header(TableColumn::kCompletion),
                 "doit être un nombre entier entre 0 et 100");
        ok = false;
      } else {
        r.set_completion_percent(static_cast<int>(*completion));
      }
    }
    if (ok) out.push_back(std::move(imported));
  }
  return out;
}

}  // namespace ctg::action_plan
