// The tracking table file layout, writers and readers, without a database.
#include "action_plan/table_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <minizip/zip.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace ctg::action_plan {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> Headers() {
  std::vector<std::string> out;
  for (const auto& spec : TableColumns()) out.push_back(spec.header);
  return out;
}

TableRow Row(const std::string& number, const std::string& status, const std::string& completion,
             const std::string& progress = "", const std::string& quarter = "2026-Q1") {
  TableRow row(kTableColumnCount);
  row[static_cast<int>(TableColumn::kNumber)] = number;
  row[static_cast<int>(TableColumn::kAxis)] = "Axe 1 : Garantir l'équité d'accès";
  row[static_cast<int>(TableColumn::kTitle)] = "Action " + number;
  row[static_cast<int>(TableColumn::kQuarter)] = quarter;
  row[static_cast<int>(TableColumn::kStatus)] = status;
  row[static_cast<int>(TableColumn::kCompletion)] = completion;
  row[static_cast<int>(TableColumn::kProgress)] = progress;
  row[static_cast<int>(TableColumn::kMissingUpdate)] = "Non";
  row[static_cast<int>(TableColumn::kLate)] = "Oui";
  return row;
}

// Rows whose texts exercise quoting and formula protection.
std::vector<TableRow> TrickyRows() {
  auto a = Row("1", "En cours", "40", "Réunion, puis \"bilan\"\nsur deux lignes");
  a[static_cast<int>(TableColumn::kDifficulties)] = "=HYPERLINK(\"http://evil\")";
  a[static_cast<int>(TableColumn::kNextSteps)] = "+33 5 53 00 00 00";
  a[static_cast<int>(TableColumn::kImplementation)] = "@mention et œuvre";
  a[static_cast<int>(TableColumn::kReason)] = "'=déjà protégé";
  a[static_cast<int>(TableColumn::kPilots)] = "organisations/a, organisations/b";
  auto b = Row("2", "Abandonnée", "0", "-5 bénévoles");
  b[static_cast<int>(TableColumn::kImplementation)] = "-12";
  b[static_cast<int>(TableColumn::kNextSteps)] = "  espaces conservés  ";
  auto c = Row("3", "", "");  // never reported
  return {a, b, c};
}

std::vector<TableRow> CellsOf(const TableFile& file) {
  std::vector<TableRow> out;
  for (const auto& r : file.rows) out.push_back(r.cells);
  return out;
}

std::string CsvOf(const std::vector<std::vector<std::string>>& lines) {
  std::string out;
  for (const auto& line : lines) {
    for (size_t i = 0; i < line.size(); ++i) {
      const bool quote = line[i].find(',') != std::string::npos;
      out += (i ? "," : "") + (quote ? "\"" + line[i] + "\"" : line[i]);
    }
    out += "\r\n";
  }
  return out;
}

// A ZIP archive of the given parts (name → content), written with minizip.
std::string Zip(const std::map<std::string, std::string>& parts) {
  std::string path = (std::filesystem::temp_directory_path() / "ctg-test-XXXXXX").string();
  const int fd = mkstemp(path.data());
  close(fd);
  zipFile zf = zipOpen64(path.c_str(), APPEND_STATUS_CREATE);
  for (const auto& [name, content] : parts) {
    zipOpenNewFileInZip64(zf, name.c_str(), nullptr, nullptr, 0, nullptr, 0, nullptr, Z_DEFLATED,
                          Z_DEFAULT_COMPRESSION, 0);
    zipWriteInFileInZip(zf, content.data(), static_cast<unsigned>(content.size()));
    zipCloseFileInZip(zf);
  }
  zipClose(zf, nullptr);
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  std::remove(path.c_str());
  return bytes.str();
}

// A minimal workbook whose first sheet has the header row and `data_row_xml` as row 2.
std::string HandMadeXlsx(const std::string& data_row_xml, const std::string& prolog = "") {
  std::string header = "<row r=\"1\">";
  const auto headers = Headers();
  for (size_t i = 0; i < headers.size(); ++i) {
    header += "<c r=\"" + std::string(1, static_cast<char>('A' + i)) +
              "1\" t=\"inlineStr\"><is><t>" + headers[i] + "</t></is></c>";
  }
  header += "</row>";
  const std::string ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
  const std::string rns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
  return Zip({
      {"xl/workbook.xml", "<?xml version=\"1.0\"?><workbook xmlns=\"" + ns + "\" xmlns:r=\"" + rns +
                              "\"><sheets><sheet name=\"S\" sheetId=\"1\" r:id=\"rId1\"/>"
                              "</sheets></workbook>"},
      {"xl/_rels/workbook.xml.rels",
       "<?xml version=\"1.0\"?><Relationships "
       "xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship "
       "Id=\"rId1\" Type=\"x\" Target=\"worksheets/feuille.xml\"/></Relationships>"},
      {"xl/worksheets/feuille.xml", "<?xml version=\"1.0\"?>" + prolog + "<worksheet xmlns=\"" +
                                        ns + "\"><sheetData>" + header + data_row_xml +
                                        "</sheetData></worksheet>"},
  });
}

std::vector<std::string> ErrorTexts(const std::vector<TableFileError>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) {
    out.push_back(std::to_string(e.row) + "|" + e.column + "|" + e.message);
  }
  return out;
}

TEST(TableFormatTest, StatusLabelsMapBothWays) {
  EXPECT_EQ(StatusLabel(v1::NOT_STARTED), "Non démarrée");
  EXPECT_EQ(StatusLabel(v1::IN_PROGRESS), "En cours");
  EXPECT_EQ(StatusLabel(v1::ACHIEVED), "Réalisée");
  EXPECT_EQ(StatusLabel(v1::PAUSED), "En pause");
  EXPECT_EQ(StatusLabel(v1::DELAYED), "Retardée");
  EXPECT_EQ(StatusLabel(v1::BLOCKED), "Bloquée");
  EXPECT_EQ(StatusLabel(v1::ABANDONED), "Abandonnée");
  EXPECT_EQ(StatusLabel(v1::ACTION_STATUS_UNSPECIFIED), "");
  for (int s = v1::NOT_STARTED; s <= v1::ABANDONED; ++s) {
    const auto status = static_cast<v1::ActionStatus>(s);
    EXPECT_EQ(ParseStatusLabel(StatusLabel(status)), status);
  }
  EXPECT_EQ(ParseStatusLabel("  en cours "), v1::IN_PROGRESS);
  EXPECT_EQ(ParseStatusLabel("EN PAUSE"), v1::PAUSED);
  EXPECT_EQ(ParseStatusLabel("Terminée"), std::nullopt);
  EXPECT_EQ(ParseStatusLabel(""), std::nullopt);
  EXPECT_EQ(ParseStatusLabel("IN_PROGRESS"), std::nullopt);
}

TEST(TableFormatTest, OneLayoutWithFrenchHeaders) {
  EXPECT_THAT(Headers(),
              ElementsAre("N° action", "Axe", "Intitulé", "Pilotes", "Trimestre", "Statut",
                          "Avancement (%)", "Modalités de mise en œuvre", "Avancées", "Difficultés",
                          "Prochaines étapes", "Motif", "Mise à jour manquante", "En retard"));
  EXPECT_EQ(TableFileName("2026-Q1", v1::XLSX), "suivi-ctg-2026-Q1.xlsx");
  EXPECT_EQ(TableFileName("2026-Q1", v1::CSV), "suivi-ctg-2026-Q1.csv");
}

TEST(TableFormatTest, ExportRowIsPrefilledWithTheLatestReport) {
  v1::TrackingRow row;
  row.mutable_action()->set_number(7);
  row.mutable_action()->set_title("Développer les accueils");
  auto* r = row.mutable_latest_report();
  r->set_status(v1::DELAYED);
  r->set_completion_percent(35);
  r->set_implementation("Comité technique");
  r->set_progress("Deux réunions");
  r->set_difficulties("Recrutement");
  r->set_next_steps("Ouverture");
  r->set_reason("ancien motif");
  row.set_missing_update(true);
  const auto cells = ExportRow(row, "2026-Q1", "Axe 2 : Parentalité", "Marmande");
  EXPECT_THAT(cells, ElementsAre("7", "Axe 2 : Parentalité", "Développer les accueils", "Marmande",
                                 "2026-Q1", "Retardée", "35", "Comité technique", "Deux réunions",
                                 "Recrutement", "Ouverture", "", "Oui", "Non"));
  v1::TrackingRow empty;
  empty.mutable_action()->set_number(8);
  const auto blank = ExportRow(empty, "2026-Q1", "", "");
  EXPECT_EQ(blank[static_cast<int>(TableColumn::kStatus)], "");
  EXPECT_EQ(blank[static_cast<int>(TableColumn::kCompletion)], "");
}

TEST(TableFormatTest, CsvEscapeIsInvertible) {
  for (const std::string s :
       {"", "texte", "=1+1", "+33", "-x", "@a", "'", "'=a", "''=a", "'texte", "\tx", "a=b"}) {
    EXPECT_EQ(UnescapeCsvText(EscapeCsvText(s)), s) << s;
  }
  EXPECT_EQ(EscapeCsvText("=1+1"), "'=1+1");
  EXPECT_EQ(EscapeCsvText("'=1"), "''=1");
  EXPECT_EQ(EscapeCsvText("'texte"), "'texte");
}

TEST(TableFormatTest, CsvIsUtf8CommaSeparatedAndQuotedPerRfc4180) {
  const auto csv = WriteCsv(TrickyRows());
  EXPECT_EQ(csv.substr(0, 3), "\xEF\xBB\xBF");
  EXPECT_THAT(csv, HasSubstr("N° action,Axe,Intitulé,Pilotes,Trimestre,Statut,Avancement (%),"
                             "Modalités de mise en œuvre,Avancées,Difficultés,Prochaines étapes,"
                             "Motif,Mise à jour manquante,En retard\r\n"));
  EXPECT_THAT(csv, HasSubstr("\"Réunion, puis \"\"bilan\"\"\nsur deux lignes\""));
  EXPECT_THAT(csv, HasSubstr(",\"'=HYPERLINK(\"\"http://evil\"\")\","));  // neutralised
  EXPECT_THAT(csv, HasSubstr(",'+33 5 53 00 00 00,"));
  EXPECT_THAT(csv, HasSubstr(",'@mention et œuvre,"));
  EXPECT_THAT(csv, HasSubstr(",-12,"));  // a plain number stays a number
  EXPECT_THAT(csv, HasSubstr(",\"organisations/a, organisations/b\","));
}

TEST(TableFormatTest, CsvRoundTripGivesTheSameRows) {
  const auto rows = TrickyRows();
  const auto file = ReadTableFile(v1::CSV, WriteCsv(rows));
  ASSERT_THAT(ErrorTexts(file.errors), IsEmpty());
  EXPECT_EQ(CellsOf(file), rows);
  ASSERT_EQ(file.rows.size(), 3u);
  EXPECT_EQ(file.rows[0].row, 2);  // header is row 1; a multi-line cell is still one row
  EXPECT_EQ(file.rows[1].row, 3);
}

TEST(TableFormatTest, XlsxRoundTripGivesTheSameRows) {
  const auto rows = TrickyRows();
  const auto xlsx = WriteXlsx(rows, "2026-Q1", std::chrono::system_clock::time_point());
  EXPECT_EQ(xlsx.substr(0, 2), "PK");
  const auto file = ReadTableFile(v1::XLSX, xlsx);
  ASSERT_THAT(ErrorTexts(file.errors), IsEmpty());
  EXPECT_EQ(CellsOf(file), rows);
  // XLSX and CSV read back to the same rows.
  EXPECT_EQ(CellsOf(file), CellsOf(ReadTableFile(v1::CSV, WriteCsv(rows))));
}

TEST(TableFormatTest, ReadsSemicolonCsvAndLfLineEnds) {
  auto headers = Headers();
  std::string csv;
  for (size_t i = 0; i < headers.size(); ++i) csv += (i ? ";" : "") + headers[i];
  csv += "\n1;;;;2026-Q1;En cours;50;;;;;;;\n";
  const auto file = ReadTableFile(v1::CSV, csv);
  ASSERT_THAT(ErrorTexts(file.errors), IsEmpty());
  ASSERT_EQ(file.rows.size(), 1u);
  EXPECT_EQ(file.rows[0].cells[static_cast<int>(TableColumn::kCompletion)], "50");
}

TEST(TableFormatTest, InterpretsRowsAndSkipsBlankOnes) {
  std::vector<TableFileError> errors;
  auto rows = TrickyRows();
  rows[1][static_cast<int>(TableColumn::kCompletion)] = "12 %";
  const auto imported = InterpretRows(ReadTableFile(v1::CSV, WriteCsv(rows)), "2026-Q1", &errors);
  ASSERT_THAT(ErrorTexts(errors), IsEmpty());
  ASSERT_EQ(imported.size(), 3u);
  EXPECT_EQ(imported[0].action_number, 1);
  EXPECT_EQ(imported[0].report.status(), v1::IN_PROGRESS);
  EXPECT_EQ(imported[0].report.completion_percent(), 40);
  EXPECT_EQ(imported[0].report.difficulties(), "=HYPERLINK(\"http://evil\")");
  EXPECT_EQ(imported[1].report.status(), v1::ABANDONED);
  EXPECT_EQ(imported[1].report.completion_percent(), 12);
  EXPECT_TRUE(imported[2].blank);
  EXPECT_FALSE(imported[0].blank);
}

TEST(TableFormatTest, RefusesBadRowValues) {
  std::vector<TableRow> rows = {
      Row("1", "Terminée", "50"),                 // unknown status
      Row("2", "En cours", "101"),                // out of range
      Row("3", "En cours", "beaucoup"),           // not a number
      Row("1", "En cours", "10"),                 // duplicate number
      Row("x", "En cours", "10"),                 // bad number
      Row("4", "En cours", "10", "", "2025-Q4"),  // another quarter
      Row("5", "", "", "du texte sans statut"),   // status and completion required
      Row("6", "En cours", "10.5"),               // not an integer
  };
  std::vector<TableFileError> errors;
  const auto imported = InterpretRows(ReadTableFile(v1::CSV, WriteCsv(rows)), "2026-Q1", &errors);
  EXPECT_THAT(imported, IsEmpty());
  const auto texts = ErrorTexts(errors);
  ASSERT_EQ(texts.size(), 9u);
  EXPECT_THAT(texts[0], HasSubstr("2|Statut|statut « Terminée » inconnu"));
  EXPECT_THAT(texts[1], HasSubstr("3|Avancement (%)|doit être un nombre entier entre 0 et 100"));
  EXPECT_THAT(texts[2], HasSubstr("4|Avancement (%)|"));
  EXPECT_THAT(texts[3], HasSubstr("5|N° action|action 1 déjà présente ligne 2"));
  EXPECT_THAT(texts[4], HasSubstr("6|N° action|"));
  EXPECT_THAT(texts[5],
              HasSubstr("7|Trimestre|le fichier porte sur 2025-Q4, l'import sur 2026-Q1"));
  EXPECT_THAT(texts[6], HasSubstr("8|Statut|obligatoire"));
  EXPECT_THAT(texts[7], HasSubstr("8|Avancement (%)|obligatoire"));
  EXPECT_THAT(texts[8], HasSubstr("9|Avancement (%)|"));
}

TEST(TableFormatTest, RefusesWrongOrMissingColumns) {
  auto headers = Headers();
  headers[static_cast<int>(TableColumn::kStatus)] = "État";
  auto file = ReadTableFile(v1::CSV, CsvOf({headers}));
  EXPECT_THAT(ErrorTexts(file.errors),
              ElementsAre("1|Statut|en-tête « État » au lieu de « Statut »"));

  headers = Headers();
  headers.pop_back();
  file = ReadTableFile(v1::CSV, CsvOf({headers}));
  EXPECT_THAT(ErrorTexts(file.errors), ElementsAre("1|En retard|colonne manquante"));

  headers = Headers();
  headers.push_back("Commentaire");
  file = ReadTableFile(v1::CSV, CsvOf({headers}));
  EXPECT_THAT(ErrorTexts(file.errors),
              ElementsAre("1|colonne O|colonne inattendue « Commentaire »"));

  headers = Headers();
  std::swap(headers[8], headers[9]);
  file = ReadTableFile(v1::CSV, CsvOf({headers}));
  EXPECT_EQ(file.errors.size(), 2u);

  auto data = Row("1", "En cours", "10");
  data.push_back("débordement");
  file = ReadTableFile(v1::CSV, CsvOf({Headers(), data}));
  EXPECT_THAT(ErrorTexts(file.errors), ElementsAre("2|colonne O|cellule hors du tableau"));

  file = ReadTableFile(v1::CSV, "");
  EXPECT_THAT(ErrorTexts(file.errors), ElementsAre("0||le fichier est vide"));
}

TEST(TableFormatTest, RefusesInvalidUtf8) {
  auto data = Row("1", "En cours", "10", "caf\xE9 en Latin-1");
  const auto file = ReadTableFile(v1::CSV, CsvOf({Headers(), data}));
  ASSERT_EQ(file.errors.size(), 1u);
  EXPECT_EQ(file.errors[0].row, 2);
  EXPECT_EQ(file.errors[0].column, "Avancées");
  EXPECT_THAT(file.errors[0].message, HasSubstr("UTF-8"));
  // Overlong encodings are not UTF-8 either.
  const auto overlong =
      ReadTableFile(v1::CSV, CsvOf({Headers(), Row("1", "En cours", "10", "\xC0\xAF")}));
  EXPECT_EQ(overlong.errors.size(), 1u);
  // An XLSX part that is not well-formed UTF-8 XML.
  const auto xlsx = ReadTableFile(
      v1::XLSX, HandMadeXlsx("<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>caf\xE9</t></is>"
                             "</c></row>"));
  ASSERT_EQ(xlsx.errors.size(), 1u);
  EXPECT_EQ(xlsx.errors[0].row, 0);
  EXPECT_THAT(xlsx.errors[0].message, HasSubstr("XML invalide"));
}

TEST(TableFormatTest, RefusesFormulaCells) {
  for (const std::string cell : {"=1+1", "+SUM(A1:A2)", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0"}) {
    auto data = Row("1", "En cours", "10");
    data[static_cast<int>(TableColumn::kProgress)] = cell;
    const auto file = ReadTableFile(v1::CSV, CsvOf({Headers(), data}));
    ASSERT_EQ(file.errors.size(), 1u) << cell;
    EXPECT_EQ(file.errors[0].row, 2);
    EXPECT_EQ(file.errors[0].column, "Avancées");
  }
  for (const std::string number : {"-5", "+3", "-2,5", "-0.25"}) {
    auto data = Row("1", "En cours", "10");
    data[static_cast<int>(TableColumn::kProgress)] = number;
    EXPECT_THAT(ReadTableFile(v1::CSV, CsvOf({Headers(), data})).errors, IsEmpty()) << number;
  }
  // XLSX: any cell with a <f> element, whatever its cached value.
  const auto file = ReadTableFile(
      v1::XLSX, HandMadeXlsx("<row r=\"2\"><c r=\"A2\"><v>1</v></c><c r=\"G2\"><f>40+2</f>"
                             "<v>42</v></c></row>"));
  EXPECT_THAT(ErrorTexts(file.errors),
              ElementsAre("2|Avancement (%)|les formules sont refusées : saisissez une valeur"));
}

TEST(TableFormatTest, ReadsAHandMadeWorkbook) {
  const auto file = ReadTableFile(
      v1::XLSX,
      HandMadeXlsx("<row r=\"3\"><c r=\"A3\"><v>4</v></c><c r=\"E3\" t=\"inlineStr\"><is><t>"
                   "2026-Q1</t></is></c><c r=\"F3\" t=\"inlineStr\"><is><r><t>En </t></r><r><t>"
                   "cours</t></r></is></c><c r=\"G3\"><v>55</v></c></row>"));
  ASSERT_THAT(ErrorTexts(file.errors), IsEmpty());
  ASSERT_EQ(file.rows.size(), 1u);
  EXPECT_EQ(file.rows[0].row, 3);
  EXPECT_EQ(file.rows[0].cells[static_cast<int>(TableColumn::kStatus)], "En cours");
  EXPECT_EQ(file.rows[0].cells[static_cast<int>(TableColumn::kCompletion)], "55");
}

TEST(TableFormatTest, RefusesDoctypeInWorkbookXml) {
  const auto file =
      ReadTableFile(v1::XLSX, HandMadeXlsx("", "<!DOCTYPE lol [<!ENTITY lol \"lol\">]>"));
  ASSERT_EQ(file.errors.size(), 1u);
  EXPECT_THAT(file.errors[0].message, HasSubstr("DOCTYPE"));
}

TEST(TableFormatTest, RefusesOversizedAndNonXlsxContent) {
  const std::string junk(kMaxTableFileBytes + 1, 'x');
  for (auto format : {v1::CSV, v1::XLSX}) {
    const auto file = ReadTableFile(format, junk);
    EXPECT_THAT(ErrorTexts(file.errors), ElementsAre("0||le fichier dépasse 10 Mio"));
  }
  // CSV bytes, random bytes, and a ZIP that is not a workbook, declared as XLSX.
  for (const std::string bytes :
       {WriteCsv({Row("1", "En cours", "1")}), std::string("PK\x03\x04garbage"),
        Zip({{"readme.txt", "bonjour"}})}) {
    const auto file = ReadTableFile(v1::XLSX, bytes);
    ASSERT_EQ(file.errors.size(), 1u);
    EXPECT_EQ(file.errors[0].row, 0);
    EXPECT_THAT(file.errors[0].message, HasSubstr("XLSX"));
  }
  // A zip bomb: a part that inflates past the limit is refused without being read whole.
  const auto bomb =
      ReadTableFile(v1::XLSX, Zip({{"xl/workbook.xml", std::string(70 * 1024 * 1024, ' ')}}));
  ASSERT_EQ(bomb.errors.size(), 1u);
  EXPECT_THAT(bomb.errors[0].message, HasSubstr("trop volumineux"));
  EXPECT_THAT(ReadTableFile(v1::FILE_FORMAT_UNSPECIFIED, "x").errors, ::testing::SizeIs(1));
}

TEST(TableFormatTest, ListsAtMostAHundredErrors) {
  std::vector<std::vector<std::string>> lines = {Headers()};
  for (int i = 0; i < 300; ++i) {
    auto row = Row("1", "En cours", "1");
    row[static_cast<int>(TableColumn::kProgress)] = "=A" + std::to_string(i);
    lines.push_back(row);
  }
  EXPECT_EQ(ReadTableFile(v1::CSV, CsvOf(lines)).errors.size(), 101u);
}

}  // namespace
}  // namespace ctg::action_plan
