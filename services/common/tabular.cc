#include "common/tabular.h"

#include <expat.h>
#include <unistd.h>
#include <unzip.h>
#include <xlsxwriter.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace ctg {

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

namespace {

// Whether EscapeCsvText must prefix `s` with an apostrophe.
bool NeedsCsvEscape(std::string_view s) {
  if (s.empty()) return false;
  if (StartsLikeFormula(s) || s[0] == '\t' || s[0] == '\r') return true;
  return s[0] == '\'' && NeedsCsvEscape(s.substr(1));
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
  ZipReader(std::string_view data, size_t max_part) : max_part_(max_part), file_{data} {
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
  // damaged, encrypted or larger than the limit.
  std::optional<std::string> Read(const std::string& name) {
    if (unzLocateFile(zip_, name.c_str(), 1) != UNZ_OK) return std::nullopt;
    unz_file_info64 info{};
    if (unzGetCurrentFileInfo64(zip_, &info, nullptr, 0, nullptr, 0, nullptr, 0) != UNZ_OK) {
      throw std::runtime_error("entrée " + name + " illisible");
    }
    if (info.flag & 1) throw std::runtime_error("classeur chiffré");
    if (info.uncompressed_size > max_part_) {
      throw std::runtime_error("contenu décompressé trop volumineux");
    }
    if (unzOpenCurrentFile(zip_) != UNZ_OK)
      throw std::runtime_error("entrée " + name + " illisible");
    std::string out;
    char buf[65536];
    int n = 0;
    while ((n = unzReadCurrentFile(zip_, buf, sizeof buf)) > 0) {
      out.append(buf, n);
      if (out.size() > max_part_) {
        unzCloseCurrentFile(zip_);
        throw std::runtime_error("contenu décompressé trop volumineux");
      }
    }
    const int close = unzCloseCurrentFile(zip_);
    if (n < 0 || close != UNZ_OK) throw std::runtime_error("entrée " + name + " endommagée");
    return out;
  }

 private:
  const size_t max_part_;
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
int ColumnOfRef(const char* ref, int max_columns) {
  int col = 0;
  int letters = 0;
  for (; *ref >= 'A' && *ref <= 'Z'; ++ref, ++letters) {
    col = col * 26 + (*ref - 'A' + 1);
    if (col > max_columns) return -1;
  }
  return letters == 0 ? -1 : col - 1;
}

// A worksheet part: cell values into a Sheet; formula cells are errors.
struct SheetHandler {
  const std::vector<std::string>* shared = nullptr;
  Sheet* grid = nullptr;
  const SheetLimits* limits = nullptr;
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
      col = ref != nullptr ? ColumnOfRef(ref, limits->max_columns) : col + 1;
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
    if (row < 1 || row > limits->max_rows + 1) {
      if (!too_many_rows) {
        AddSheetError(&grid->errors, 0, -1,
                      "trop de lignes ou numéro de ligne invalide (au plus " +
                          std::to_string(limits->max_rows) + " lignes)",
                      *limits);
      }
      too_many_rows = true;
      return;
    }
    if (col < 0) {
      AddSheetError(&grid->errors, row, -1, "référence de cellule invalide", *limits);
      return;
    }
    if (formula) {
      AddSheetError(&grid->errors, row, col, "les formules sont refusées : saisissez une valeur",
                    *limits);
      return;
    }
    std::string text;
    if (type == "s") {
      char* end = nullptr;
      const long index = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || index < 0 ||
          static_cast<size_t>(index) >= shared->size()) {
        AddSheetError(&grid->errors, row, col, "chaîne partagée introuvable", *limits);
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

Sheet ReadXlsxSheet(std::string_view content, const SheetLimits& limits) {
  Sheet grid;
  ZipReader zip(content, limits.max_part_bytes);
  if (!zip.ok()) {
    AddSheetError(&grid.errors, 0, -1,
                  "le fichier n'est pas un classeur XLSX (archive ZIP illisible)", limits);
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
    handler.limits = &limits;
    ParseXml(*sheet, &handler, sheet_path);
  } catch (const std::runtime_error& e) {
    AddSheetError(&grid.errors, 0, -1, std::string("classeur XLSX illisible : ") + e.what(),
                  limits);
  }
  return grid;
}

}  // namespace

void AddSheetError(std::vector<SheetError>* errors, int row, int column, std::string message,
                   const SheetLimits& limits) {
  if (errors->size() < limits.max_errors) {
    errors->push_back({row, column, std::move(message)});
  } else if (errors->size() == limits.max_errors) {
    errors->push_back({0, -1,
                       "trop d'erreurs : seules les " + std::to_string(limits.max_errors) +
                           " premières sont listées"});
  }
}

Sheet ReadCsv(std::string_view content, const SheetLimits& limits) {
  Sheet grid;
  grid.cells_are_csv_text = true;
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
      if (col >= limits.max_columns) {
        AddSheetError(&grid.errors, row, col, "trop de colonnes", limits);
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
    grid.width[row] = col;
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
      if (row > limits.max_rows + 1) {
        AddSheetError(&grid.errors, 0, -1,
                      "trop de lignes (au plus " + std::to_string(limits.max_rows) + ")", limits);
        return grid;
      }
    } else {
      cell += c;
    }
  }
  if (quoted) {
    AddSheetError(&grid.errors, row, col, "guillemet ouvrant sans guillemet fermant", limits);
    return grid;
  }
  if (any_in_record) end_record();
  return grid;
}

Sheet ReadXlsx(std::string_view content, const SheetLimits& limits) {
  return ReadXlsxSheet(content, limits);
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

std::string WriteCsv(const std::vector<std::vector<std::string>>& rows) {
  std::string out = "\xEF\xBB\xBF";
  for (const auto& cells : rows) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) out += ',';
      const auto& v = cells[i];
      out += CsvField(IsPlainNumber(v) ? v : EscapeCsvText(v));
    }
    out += "\r\n";
  }
  return out;
}

// ---- XLSX writing ----

struct XlsxWorkbook::State {
  std::string path;
  std::string tmpdir;
  std::string title, subject;
  lxw_workbook* workbook = nullptr;
  std::vector<lxw_worksheet*> sheets;
  lxw_format* header = nullptr;
  lxw_format* text = nullptr;
  lxw_format* number = nullptr;
  lxw_error error = LXW_NO_ERROR;

  lxw_format* Format(Style style) const {
    return style == Style::kHeader ? header : style == Style::kNumber ? number : text;
  }
  lxw_worksheet* Sheet(int index) const {
    if (index < 0 || static_cast<size_t>(index) >= sheets.size()) {
      throw std::out_of_range("no such worksheet");
    }
    return sheets[index];
  }
  void Check(lxw_error e) {
    if (error == LXW_NO_ERROR) error = e;
  }
};

XlsxWorkbook::XlsxWorkbook(const std::string& title, const std::string& subject,
                           std::chrono::system_clock::time_point created)
    : state_(std::make_unique<State>()) {
  namespace fs = std::filesystem;
  state_->tmpdir = fs::temp_directory_path().string();
  state_->path = (fs::temp_directory_path() / "ctg-xlsx-XXXXXX").string();
  const int fd = mkstemp(state_->path.data());
  if (fd < 0) throw std::runtime_error("cannot create a temporary file for an XLSX workbook");
  close(fd);
  lxw_workbook_options options{};
  options.tmpdir = state_->tmpdir.data();
  state_->workbook = workbook_new_opt(state_->path.c_str(), &options);
  if (state_->workbook == nullptr) {
    std::remove(state_->path.c_str());
    throw std::runtime_error("libxlsxwriter: cannot create the workbook");
  }
  state_->title = title;
  state_->subject = subject;
  lxw_doc_properties properties{};
  properties.title = state_->title.data();
  properties.subject = state_->subject.data();
  properties.created = std::chrono::system_clock::to_time_t(created);
  workbook_set_properties(state_->workbook, &properties);
  state_->header = workbook_add_format(state_->workbook);
  format_set_bold(state_->header);
  format_set_text_wrap(state_->header);
  format_set_bg_color(state_->header, 0xDDEBF7);
  format_set_border(state_->header, LXW_BORDER_THIN);
  format_set_align(state_->header, LXW_ALIGN_VERTICAL_CENTER);
  state_->text = workbook_add_format(state_->workbook);
  format_set_text_wrap(state_->text);
  format_set_align(state_->text, LXW_ALIGN_VERTICAL_TOP);
  format_set_num_format(state_->text, "@");  // typed values stay text, never formulas
  state_->number = workbook_add_format(state_->workbook);
  format_set_align(state_->number, LXW_ALIGN_VERTICAL_TOP);
}

XlsxWorkbook::~XlsxWorkbook() {
  if (state_->workbook != nullptr) workbook_close(state_->workbook);
  std::remove(state_->path.c_str());
}

int XlsxWorkbook::AddSheet(const std::string& name) {
  lxw_worksheet* sheet = workbook_add_worksheet(state_->workbook, name.c_str());
  if (sheet == nullptr) throw std::runtime_error("libxlsxwriter: cannot add the sheet " + name);
  state_->sheets.push_back(sheet);
  return static_cast<int>(state_->sheets.size()) - 1;
}

void XlsxWorkbook::SetColumn(int sheet, int column, double width, Style style) {
  state_->Check(
      worksheet_set_column(state_->Sheet(sheet), column, column, width, state_->Format(style)));
}

void XlsxWorkbook::WriteText(int sheet, int row, int column, const std::string& text, Style style) {
  state_->Check(worksheet_write_string(state_->Sheet(sheet), row, column, text.c_str(),
                                       state_->Format(style)));
}

void XlsxWorkbook::WriteNumber(int sheet, int row, int column, double value) {
  state_->Check(worksheet_write_number(state_->Sheet(sheet), row, column, value, state_->number));
}

void XlsxWorkbook::FreezeHeaderWithFilter(int sheet, int last_row, int last_column) {
  worksheet_freeze_panes(state_->Sheet(sheet), 1, 0);
  state_->Check(worksheet_autofilter(state_->Sheet(sheet), 0, 0, last_row, last_column));
}

void XlsxWorkbook::AddListValidation(int sheet, int column, int first_row, int last_row,
                                     const std::vector<std::string>& values) {
  std::vector<const char*> list;
  for (const auto& v : values) list.push_back(v.c_str());
  list.push_back(nullptr);
  lxw_data_validation check{};
  check.validate = LXW_VALIDATION_TYPE_LIST;
  check.value_list = const_cast<char**>(list.data());
  state_->Check(worksheet_data_validation_range(state_->Sheet(sheet), first_row, column, last_row,
                                                column, &check));
}

void XlsxWorkbook::AddIntegerValidation(int sheet, int column, int first_row, int last_row, int min,
                                        int max) {
  lxw_data_validation check{};
  check.validate = LXW_VALIDATION_TYPE_INTEGER;
  check.criteria = LXW_VALIDATION_CRITERIA_BETWEEN;
  check.minimum_number = min;
  check.maximum_number = max;
  state_->Check(worksheet_data_validation_range(state_->Sheet(sheet), first_row, column, last_row,
                                                column, &check));
}

std::string XlsxWorkbook::Finish() {
  if (state_->workbook == nullptr) throw std::logic_error("workbook already finished");
  const lxw_error closed = workbook_close(state_->workbook);
  state_->workbook = nullptr;
  if (state_->error != LXW_NO_ERROR || closed != LXW_NO_ERROR) {
    throw std::runtime_error(std::string("libxlsxwriter: ") +
                             lxw_strerror(state_->error != LXW_NO_ERROR ? state_->error : closed));
  }
  std::ifstream in(state_->path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in) throw std::runtime_error("cannot read back the XLSX workbook");
  return bytes.str();
}

}  // namespace ctg
