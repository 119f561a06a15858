#include "action_plan/table_format.h"

#include <expat.h>
#include <unistd.h>
#include <unzip.h>
#include <xlsxwriter.h>

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

namespace ctg::action_plan {
namespace {

constexpr size_t kMaxErrors = 100;
// Largest uncompressed part of a workbook read (a zip bomb stops there).
constexpr size_t kMaxXlsxPartBytes = 64 * 1024 * 1024;
// Rows and columns beyond these are refused outright.
constexpr int kMaxRows = 10000;
constexpr int kMaxColumns = 16384;

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

struct StatusName {
  v1::ActionStatus status;
  const char* label;
};
constexpr StatusName kStatusNames[] = {
    {v1::NOT_STARTED, "Non démarrée"}, {v1::IN_PROGRESS, "En cours"}, {v1::ACHIEVED, "Réalisée"},
    {v1::PAUSED, "En pause"},          {v1::DELAYED, "Retardée"},     {v1::BLOCKED, "Bloquée"},
    {v1::ABANDONED, "Abandonnée"},
};

std::string Trim(std::string_view s) {
  const char* ws = " \t\r\n";
  const auto begin = s.find_first_not_of(ws);
  if (begin == std::string_view::npos) return "";
  const auto end = s.find_last_not_of(ws);
  return std::string(s.substr(begin, end - begin + 1));
}

std::string AsciiLower(std::string s) {
  for (auto& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = s[i];
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k < len; ++k) {
      const unsigned char d = s[i + k];
      if ((d >> 6) != 2) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += len;
  }
  return true;
}

// "-12", "+3", "4.5", "4,5": a number a spreadsheet may show, never a formula.
bool IsPlainNumber(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
    ++i;
    size_t decimals = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++decimals;
    if (decimals == 0) return false;
  }
  return digits > 0 && i == s.size();
}

bool StartsLikeFormula(std::string_view s) {
  return !s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@');
}

// Whether EscapeCsvText must prefix `s` with an apostrophe.
bool NeedsCsvEscape(std::string_view s) {
  if (s.empty()) return false;
  if (StartsLikeFormula(s) || s[0] == '\t' || s[0] == '\r') return true;
  return s[0] == '\'' && NeedsCsvEscape(s.substr(1));
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

// A raw grid read from a file: rows by 1-based row number, cells by 0-based column.
struct Grid {
  std::map<int, std::map<int, std::string>> cells;
  std::vector<TableFileError> errors;
  bool formula_checks_on_text = false;  // CSV: cells starting with = + - @ are refused
};

void AddError(std::vector<TableFileError>* errors, int row, std::string column,
              std::string message) {
  if (errors->size() < kMaxErrors) {
    errors->push_back({row, std::move(column), std::move(message)});
  } else if (errors->size() == kMaxErrors) {
    errors->push_back({0, "", "trop d'erreurs : seules les 100 premières sont listées"});
  }
}

// ---- CSV ----

Grid ParseCsv(std::string_view content) {
  Grid grid;
  grid.formula_checks_on_text = true;
  if (content.substr(0, 3) == "\xEF\xBB\xBF") content.remove_prefix(3);
  // The separator: a comma, or a semicolon when the header line has semicolons and no comma
  // (French spreadsheets save CSV that way).
  char sep = ',';
  const auto first_line = content.substr(0, content.find('\n'));
  if (first_line.find(',') == std::string_view::npos &&
      first_line.find(';') != std::string_view::npos) {
    sep = ';';
  }
  int row = 1;
  int col = 0;
  std::string cell;
  bool quoted = false;      // inside a quoted field
  bool was_quoted = false;  // the current field started with a quote
  bool any_in_record = false;
  auto end_cell = [&] {
    if (!cell.empty()) {
      if (col >= kMaxColumns) {
        AddError(&grid.errors, row, ColumnName(col), "trop de colonnes");
      } else {
        grid.cells[row][col] = std::move(cell);
      }
    }
    cell.clear();
    was_quoted = false;
    ++col;
  };
  auto end_record = [&] {
    end_cell();
    ++row;
    col = 0;
    any_in_record = false;
  };
  for (size_t i = 0; i < content.size(); ++i) {
    const char c = content[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < content.size() && content[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cell += c;
      }
      continue;
    }
    any_in_record = true;
    if (c == '"' && cell.empty() && !was_quoted) {
      quoted = true;
      was_quoted = true;
    } else if (c == sep) {
      end_cell();
    } else if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < content.size() && content[i + 1] == '\n') ++i;
      end_record();
      if (row > kMaxRows + 1) {
        AddError(&grid.errors, 0, "", "trop de lignes (au plus " + std::to_string(kMaxRows) + ")");
        return grid;
      }
    } else {
      cell += c;
    }
  }
  if (quoted) {
    AddError(&grid.errors, row, ColumnName(col), "guillemet ouvrant sans guillemet fermant");
    return grid;
  }
  if (any_in_record) end_record();
  return grid;
}

std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// ---- XLSX reading ----

// A read-only in-memory file for minizip.
struct MemoryFile {
  std::string_view data;
  uint64_t pos = 0;
};

voidpf ZCALLBACK MemOpen(voidpf opaque, const void*, int mode) {
  if (mode & ZLIB_FILEFUNC_MODE_WRITE) return nullptr;
  static_cast<MemoryFile*>(opaque)->pos = 0;
  return opaque;
}
uLong ZCALLBACK MemRead(voidpf, voidpf stream, void* buf, uLong size) {
  auto* f = static_cast<MemoryFile*>(stream);
  const uint64_t left = f->pos < f->data.size() ? f->data.size() - f->pos : 0;
  const uLong n = static_cast<uLong>(std::min<uint64_t>(left, size));
  std::memcpy(buf, f->data.data() + f->pos, n);
  f->pos += n;
  return n;
}
uLong ZCALLBACK MemWrite(voidpf, voidpf, const void*, uLong) { return 0; }
ZPOS64_T ZCALLBACK MemTell(voidpf, voidpf stream) { return static_cast<MemoryFile*>(stream)->pos; }
long ZCALLBACK MemSeek(voidpf, voidpf stream, ZPOS64_T offset, int origin) {
  auto* f = static_cast<MemoryFile*>(stream);
  uint64_t base = 0;
  switch (origin) {
    case ZLIB_FILEFUNC_SEEK_SET:
      base = 0;
      break;
    case ZLIB_FILEFUNC_SEEK_CUR:
      base = f->pos;
      break;
    case ZLIB_FILEFUNC_SEEK_END:
      base = f->data.size();
      break;
    default:
      return -1;
  }
  if (base + offset > f->data.size()) return -1;
  f->pos = base + offset;
  return 0;
}
int ZCALLBACK MemClose(voidpf, voidpf) { return 0; }
int ZCALLBACK MemError(voidpf, voidpf) { return 0; }

// An open ZIP archive over memory.
class ZipReader {
 public:
  explicit ZipReader(std::string_view data) : file_{data} {
    zlib_filefunc64_def funcs{};
    funcs.zopen64_file = MemOpen;
    funcs.zread_file = MemRead;
    funcs.zwrite_file = MemWrite;
    funcs.ztell64_file = MemTell;
    funcs.zseek64_file = MemSeek;
    funcs.zclose_file = MemClose;
    funcs.zerror_file = MemError;
    funcs.opaque = &file_;
    zip_ = unzOpen2_64("memory", &funcs);
  }
  ~ZipReader() {
    if (zip_ != nullptr) unzClose(zip_);
  }
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  bool ok() const { return zip_ != nullptr; }

  // The uncompressed part `name`: nullopt when absent; throws std::runtime_error when it is
  // damaged, encrypted or larger than kMaxXlsxPartBytes.
  std::optional<std::string> Read(const std::string& name) {
    if (unzLocateFile(zip_, name.c_str(), 1) != UNZ_OK) return std::nullopt;
    unz_file_info64 info{};
    if (unzGetCurrentFileInfo64(zip_, &info, nullptr, 0, nullptr, 0, nullptr, 0) != UNZ_OK) {
      throw std::runtime_error("entrée " + name + " illisible");
    }
    if (info.flag & 1) throw std::runtime_error("classeur chiffré");
    if (info.uncompressed_size > kMaxXlsxPartBytes) {
      throw std::runtime_error("contenu décompressé trop volumineux");
    }
    if (unzOpenCurrentFile(zip_) != UNZ_OK)
      throw std::runtime_error("entrée " + name + " illisible");
    std::string out;
    char buf[65536];
    int n = 0;
    while ((n = unzReadCurrentFile(zip_, buf, sizeof buf)) > 0) {
      out.append(buf, n);
      if (out.size() > kMaxXlsxPartBytes) {
        unzCloseCurrentFile(zip_);
        throw std::runtime_error("contenu décompressé trop volumineux");
      }
    }
    const int close = unzCloseCurrentFile(zip_);
    if (n < 0 || close != UNZ_OK) throw std::runtime_error("entrée " + name + " endommagée");
    return out;
  }

 private:
  MemoryFile file_;
  unzFile zip_ = nullptr;
};

// The local part of an expat name built with a '|' namespace separator.
const char* Local(const char* name) {
  const char* bar = std::strrchr(name, '|');
  return bar != nullptr ? bar + 1 : name;
}

const char* Attribute(const char** atts, const char* local) {
  for (int i = 0; atts[i] != nullptr; i += 2) {
    if (std::strcmp(Local(atts[i]), local) == 0) return atts[i + 1];
  }
  return nullptr;
}

// An expat parse of one XML part with a handler object; documents with a DOCTYPE are refused
// (no entity tricks).
template <typename Handler>
void ParseXml(const std::string& xml, Handler* handler, const std::string& part) {
  struct Ctx {
    XML_Parser parser;
    Handler* handler;
    bool doctype = false;
  };
  XML_Parser parser = XML_ParserCreateNS(nullptr, '|');
  if (parser == nullptr) throw std::runtime_error("mémoire insuffisante");
  Ctx ctx{parser, handler};
  XML_SetUserData(parser, &ctx);
  XML_SetElementHandler(
      parser,
      [](void* data, const char* name, const char** atts) {
        static_cast<Ctx*>(data)->handler->Start(Local(name), atts);
      },
      [](void* data, const char* name) { static_cast<Ctx*>(data)->handler->End(Local(name)); });
  XML_SetCharacterDataHandler(parser, [](void* data, const char* s, int len) {
    static_cast<Ctx*>(data)->handler->Text(s, len);
  });
  XML_SetStartDoctypeDeclHandler(parser,
                                 [](void* data, const char*, const char*, const char*, int) {
                                   auto* ctx = static_cast<Ctx*>(data);
                                   ctx->doctype = true;
                                   XML_StopParser(ctx->parser, XML_FALSE);
                                 });
  const auto status = XML_Parse(parser, xml.data(), static_cast<int>(xml.size()), XML_TRUE);
  const bool doctype = ctx.doctype;
  std::string error = status == XML_STATUS_OK ? "" : XML_ErrorString(XML_GetErrorCode(parser));
  XML_ParserFree(parser);
  if (doctype) throw std::runtime_error(part + " : déclaration DOCTYPE refusée");
  if (status != XML_STATUS_OK) throw std::runtime_error(part + " : XML invalide (" + error + ")");
}

// xl/workbook.xml: the relationship id of the first sheet.
struct WorkbookHandler {
  std::string first_sheet_rid;
  void Start(const char* name, const char** atts) {
    if (first_sheet_rid.empty() && std::strcmp(name, "sheet") == 0) {
      if (const char* id = Attribute(atts, "id")) first_sheet_rid = id;
    }
  }
  void End(const char*) {}
  void Text(const char*, int) {}
};

// xl/_rels/workbook.xml.rels: relationship targets by id.
struct RelsHandler {
  std::map<std::string, std::string> targets;
  void Start(const char* name, const char** atts) {
    if (std::strcmp(name, "Relationship") != 0) return;
    const char* id = Attribute(atts, "Id");
    const char* target = Attribute(atts, "Target");
    if (id != nullptr && target != nullptr) targets[id] = target;
  }
  void End(const char*) {}
  void Text(const char*, int) {}
};

// xl/sharedStrings.xml: the strings, rich text runs joined, phonetic runs left out.
struct SharedStringsHandler {
  std::vector<std::string> strings;
  std::string current;
  bool in_si = false, in_t = false;
  int phonetic_depth = 0;
  void Start(const char* name, const char**) {
    if (std::strcmp(name, "si") == 0) {
      in_si = true;
      current.clear();
    } else if (std::strcmp(name, "rPh") == 0) {
      ++phonetic_depth;
    } else if (std::strcmp(name, "t") == 0 && in_si && phonetic_depth == 0) {
      in_t = true;
    }
  }
  void End(const char* name) {
    if (std::strcmp(name, "si") == 0) {
      strings.push_back(std::move(current));
      current.clear();
      in_si = false;
    } else if (std::strcmp(name, "rPh") == 0) {
      --phonetic_depth;
    } else if (std::strcmp(name, "t") == 0) {
      in_t = false;
    }
  }
  void Text(const char* s, int len) {
    if (in_t) current.append(s, len);
  }
};

// 0-based column of a cell reference ("C12" → 2), -1 when malformed.
int ColumnOfRef(const char* ref) {
  int col = 0;
  int letters = 0;
  for (; *ref >= 'A' && *ref <= 'Z'; ++ref, ++letters) {
    col = col * 26 + (*ref - 'A' + 1);
    if (col > kMaxColumns) return -1;
  }
  return letters == 0 ? -1 : col - 1;
}

// A worksheet part: cell values into a Grid; formula cells are errors.
struct SheetHandler {
  const std::vector<std::string>* shared = nullptr;
  Grid* grid = nullptr;
  int row = 0;
  int col = -1;
  std::string type;
  std::string value;       // <v>
  std::string inline_str;  // <is><t>
  bool in_v = false, in_is = false, in_t = false, formula = false, in_cell = false;
  int phonetic_depth = 0;
  bool too_many_rows = false;

  void Start(const char* name, const char** atts) {
    if (std::strcmp(name, "row") == 0) {
      const char* r = Attribute(atts, "r");
      row = r != nullptr ? std::atoi(r) : row + 1;
      col = -1;
    } else if (std::strcmp(name, "c") == 0) {
      const char* ref = Attribute(atts, "r");
      col = ref != nullptr ? ColumnOfRef(ref) : col + 1;
      const char* t = Attribute(atts, "t");
      type = t != nullptr ? t : "n";
      value.clear();
      inline_str.clear();
      formula = false;
      in_cell = true;
    } else if (in_cell && std::strcmp(name, "f") == 0) {
      formula = true;
    } else if (in_cell && std::strcmp(name, "v") == 0) {
      in_v = true;
    } else if (in_cell && std::strcmp(name, "is") == 0) {
      in_is = true;
    } else if (in_is && std::strcmp(name, "rPh") == 0) {
      ++phonetic_depth;
    } else if (in_is && std::strcmp(name, "t") == 0 && phonetic_depth == 0) {
      in_t = true;
    }
  }
  void End(const char* name) {
    if (std::strcmp(name, "v") == 0) {
      in_v = false;
    } else if (std::strcmp(name, "t") == 0) {
      in_t = false;
    } else if (std::strcmp(name, "rPh") == 0) {
      --phonetic_depth;
    } else if (std::strcmp(name, "is") == 0) {
      in_is = false;
    } else if (std::strcmp(name, "c") == 0) {
      in_cell = false;
      EndCell();
    }
  }
  void Text(const char* s, int len) {
    if (in_v) value.append(s, len);
    if (in_t) inline_str.append(s, len);
  }

  void EndCell() {
    if (row < 1 || row > kMaxRows + 1) {
      if (!too_many_rows) {
        AddError(&grid->errors, 0, "",
                 "trop de lignes ou numéro de ligne invalide (au plus " + std::to_string(kMaxRows) +
                     " lignes)");
      }
      too_many_rows = true;
      return;
    }
    if (col < 0) {
      AddError(&grid->errors, row, "", "référence de cellule invalide");
      return;
    }
    if (formula) {
      AddError(&grid->errors, row, ColumnName(col),
               "les formules sont refusées : saisissez une valeur");
      return;
    }
    std::string text;
    if (type == "s") {
      char* end = nullptr;
      const long index = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || index < 0 ||
          static_cast<size_t>(index) >= shared->size()) {
        AddError(&grid->errors, row, ColumnName(col), "chaîne partagée introuvable");
        return;
      }
      text = (*shared)[index];
    } else if (type == "inlineStr") {
      text = inline_str;
    } else {
      text = value;  // n, str, b, e, d
    }
    if (!text.empty()) grid->cells[row][col] = std::move(text);
  }
};

// The path in the archive of a relationship target of xl/workbook.xml.
std::string PartPath(const std::string& target) {
  if (!target.empty() && target[0] == '/') return target.substr(1);
  return "xl/" + target;
}

Grid ParseXlsx(std::string_view content) {
  Grid grid;
  ZipReader zip(content);
  if (!zip.ok()) {
    AddError(&grid.errors, 0, "", "le fichier n'est pas un classeur XLSX (archive ZIP illisible)");
    return grid;
  }
  try {
    const auto workbook = zip.Read("xl/workbook.xml");
    if (!workbook) throw std::runtime_error("le fichier n'est pas un classeur XLSX");
    WorkbookHandler wb;
    ParseXml(*workbook, &wb, "xl/workbook.xml");
    std::string sheet_path = "xl/worksheets/sheet1.xml";
    if (const auto rels = zip.Read("xl/_rels/workbook.xml.rels")) {
      RelsHandler rh;
      ParseXml(*rels, &rh, "xl/_rels/workbook.xml.rels");
      auto it = rh.targets.find(wb.first_sheet_rid);
      if (it != rh.targets.end()) sheet_path = PartPath(it->second);
    }
    SharedStringsHandler sh;
    if (const auto strings = zip.Read("xl/sharedStrings.xml")) {
      ParseXml(*strings, &sh, "xl/sharedStrings.xml");
    }
    const auto sheet = zip.Read(sheet_path);
    if (!sheet) throw std::runtime_error("feuille de calcul introuvable");
    SheetHandler handler;
    handler.shared = &sh.strings;
    handler.grid = &grid;
    ParseXml(*sheet, &handler, sheet_path);
  } catch (const std::runtime_error& e) {
    AddError(&grid.errors, 0, "", std::string("classeur XLSX illisible : ") + e.what());
  }
  return grid;
}

// Checks encoding, formulas, header and extent of a grid and turns it into rows.
TableFile CheckGrid(Grid grid) {
  TableFile file;
  file.errors = std::move(grid.errors);
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
      if (grid.formula_checks_on_text) {
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
  for (const auto& s : kStatusNames) {
    if (s.status == status) return s.label;
  }
  return "";
}

std::optional<v1::ActionStatus> ParseStatusLabel(std::string_view label) {
  const auto wanted = AsciiLower(Trim(label));
  if (wanted.empty()) return std::nullopt;
  for (const auto& s : kStatusNames) {
    if (AsciiLower(s.label) == wanted) return s.status;
  }
  return std::nullopt;
}

std::string StatusLabelList() {
  std::string out;
  for (const auto& s : kStatusNames) {
    if (!out.empty()) out += ", ";
    out += s.label;
  }
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

std::string EscapeCsvText(const std::string& text) {
  return NeedsCsvEscape(text) ? "'" + text : text;
}

std::string UnescapeCsvText(const std::string& text) {
  if (!text.empty() && text[0] == '\'' && NeedsCsvEscape(std::string_view(text).substr(1))) {
    return text.substr(1);
  }
  return text;
}

std::string WriteCsv(const std::vector<TableRow>& rows) {
  std::string out = "\xEF\xBB\xBF";
  auto write_row = [&out](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) out += ',';
      const auto& v = cells[i];
      out += CsvField(IsPlainNumber(v) ? v : EscapeCsvText(v));
    }
    out += "\r\n";
  };
  std::vector<std::string> header;
  for (const auto& spec : Specs()) header.push_back(spec.header);
  write_row(header);
  for (const auto& row : rows) write_row(row);
  return out;
}

std::string WriteXlsx(const std::vector<TableRow>& rows, const std::string& quarter) {
  namespace fs = std::filesystem;
  std::string path = (fs::temp_directory_path() / "ctg-suivi-XXXXXX").string();
  const int fd = mkstemp(path.data());
  if (fd < 0) throw std::runtime_error("cannot create a temporary file for the XLSX export");
  close(fd);
  struct Cleanup {
    std::string path;
    ~Cleanup() { std::remove(path.c_str()); }
  } cleanup{path};
  lxw_workbook_options options{};
  const std::string tmpdir = fs::temp_directory_path().string();
  options.tmpdir = const_cast<char*>(tmpdir.c_str());
  lxw_workbook* wb = workbook_new_opt(path.c_str(), &options);
  if (wb == nullptr) throw std::runtime_error("libxlsxwriter: cannot create the workbook");
  const std::string doc_title = "Tableau de suivi partagé CTG " + quarter;
  lxw_doc_properties properties{};
  properties.title = const_cast<char*>(doc_title.c_str());
  properties.subject = const_cast<char*>("Convention Territoriale Globale");
  workbook_set_properties(wb, &properties);
  lxw_worksheet* ws = workbook_add_worksheet(wb, ("Suivi " + quarter).c_str());
  lxw_worksheet* help = workbook_add_worksheet(wb, "Mode d'emploi");
  if (ws == nullptr || help == nullptr) {
    workbook_close(wb);
    throw std::runtime_error("libxlsxwriter: cannot add the sheets");
  }
  lxw_format* header = workbook_add_format(wb);
  format_set_bold(header);
  format_set_text_wrap(header);
  format_set_bg_color(header, 0xDDEBF7);
  format_set_border(header, LXW_BORDER_THIN);
  format_set_align(header, LXW_ALIGN_VERTICAL_CENTER);
  lxw_format* text = workbook_add_format(wb);
  format_set_text_wrap(text);
  format_set_align(text, LXW_ALIGN_VERTICAL_TOP);
  format_set_num_format(text, "@");  // typed values stay text, never formulas
  lxw_format* number = workbook_add_format(wb);
  format_set_align(number, LXW_ALIGN_VERTICAL_TOP);

  const auto& specs = Specs();
  for (int col = 0; col < kTableColumnCount; ++col) {
    const bool numeric =
        specs[col].column == TableColumn::kNumber || specs[col].column == TableColumn::kCompletion;
    worksheet_set_column(ws, col, col, specs[col].width, numeric ? number : text);
    worksheet_write_string(ws, 0, col, specs[col].header, header);
  }
  lxw_error error = LXW_NO_ERROR;
  for (size_t r = 0; r < rows.size() && error == LXW_NO_ERROR; ++r) {
    const auto row_index = static_cast<lxw_row_t>(r + 1);
    for (int col = 0; col < kTableColumnCount && col < static_cast<int>(rows[r].size()); ++col) {
      const auto& value = rows[r][col];
      if (value.empty()) continue;
      const bool numeric = specs[col].column == TableColumn::kNumber ||
                           specs[col].column == TableColumn::kCompletion;
      if (numeric && IsPlainNumber(value)) {
        error =
            worksheet_write_number(ws, row_index, col, std::strtod(value.c_str(), nullptr), number);
      } else {
        error = worksheet_write_string(ws, row_index, col, value.c_str(), text);
      }
      if (error != LXW_NO_ERROR) break;
    }
  }
  const lxw_row_t last = static_cast<lxw_row_t>(std::max<size_t>(rows.size(), 1));
  worksheet_freeze_panes(ws, 1, 0);
  worksheet_autofilter(ws, 0, 0, last, kTableColumnCount - 1);

  // A drop-down of the French statuses and a 0-100 check, on the filled rows and some spare.
  std::vector<std::string> labels;
  for (const auto& s : kStatusNames) labels.push_back(s.label);
  std::vector<const char*> list;
  for (const auto& l : labels) list.push_back(l.c_str());
  list.push_back(nullptr);
  const lxw_row_t validated = last + 200;
  lxw_data_validation status_check{};
  status_check.validate = LXW_VALIDATION_TYPE_LIST;
  status_check.value_list = const_cast<char**>(list.data());
  worksheet_data_validation_range(ws, 1, static_cast<int>(TableColumn::kStatus), validated,
                                  static_cast<int>(TableColumn::kStatus), &status_check);
  lxw_data_validation completion_check{};
  completion_check.validate = LXW_VALIDATION_TYPE_INTEGER;
  completion_check.criteria = LXW_VALIDATION_CRITERIA_BETWEEN;
  completion_check.minimum_number = 0;
  completion_check.maximum_number = 100;
  worksheet_data_validation_range(ws, 1, static_cast<int>(TableColumn::kCompletion), validated,
                                  static_cast<int>(TableColumn::kCompletion), &completion_check);

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
  worksheet_set_column(help, 0, 0, 120, text);
  for (size_t i = 0; i < sizeof instructions / sizeof *instructions; ++i) {
    const std::string line = i == 0 ? std::string(instructions[0]) + quarter : instructions[i];
    worksheet_write_string(help, static_cast<lxw_row_t>(i), 0, line.c_str(),
                           i == 0 ? header : text);
  }
  const lxw_error closed = workbook_close(wb);
  if (error != LXW_NO_ERROR || closed != LXW_NO_ERROR) {
    throw std::runtime_error(std::string("libxlsxwriter: ") +
                             lxw_strerror(error != LXW_NO_ERROR ? error : closed));
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in) throw std::runtime_error("cannot read back the XLSX export");
  return bytes.str();
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
      return CheckGrid(ParseCsv(content));
    case v1::XLSX:
      return CheckGrid(ParseXlsx(content));
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
