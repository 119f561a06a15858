// The shared spreadsheet reader and writers: CSV dialects and quoting, XLSX written then read
// back, formulas never taken for values.
#include "common/tabular.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace ctg {
namespace {

TEST(ReadCsv, QuotingSemicolonsByteOrderMarkAndWidths) {
  const Sheet sheet = ReadCsv(
      "\xEF\xBB\xBF"
      "a;b;c\r\n1;\"x;y\";\"dit \"\"oui\"\"\"\r\n;;\n");
  EXPECT_TRUE(sheet.errors.empty());
  EXPECT_TRUE(sheet.cells_are_csv_text);
  EXPECT_EQ(sheet.cells.at(1).at(0), "a");
  EXPECT_EQ(sheet.cells.at(2).at(1), "x;y");
  EXPECT_EQ(sheet.cells.at(2).at(2), "dit \"oui\"");
  EXPECT_EQ(sheet.width.at(2), 3);
  EXPECT_EQ(sheet.cells.count(3), 0u);  // a record of empty fields has no cells
  EXPECT_EQ(sheet.width.at(3), 3);
}

TEST(ReadCsv, AnUnterminatedQuoteIsAnErrorOnItsRow) {
  const Sheet sheet = ReadCsv("a,b\n1,\"open\n");
  ASSERT_EQ(sheet.errors.size(), 1u);
  EXPECT_EQ(sheet.errors[0].row, 2);
  EXPECT_EQ(sheet.errors[0].column, 1);
}

TEST(WriteCsv, ProtectsFormulasAndReadsBackExactly) {
  const std::vector<std::vector<std::string>> rows = {
      {"n", "texte"}, {"12", "=HYPERLINK(\"x\")"}, {"-3", "'déjà protégé"}, {"4,5", "a,b"}};
  const std::string csv = WriteCsv(rows);
  EXPECT_NE(csv.find("'=HYPERLINK"), std::string::npos);
  const Sheet sheet = ReadCsv(csv);
  ASSERT_TRUE(sheet.errors.empty());
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < rows[r].size(); ++c) {
      EXPECT_EQ(UnescapeCsvText(sheet.cells.at(r + 1).at(c)), rows[r][c]) << r << "," << c;
    }
  }
}

TEST(Xlsx, AWorkbookWrittenIsReadBack) {
  XlsxWorkbook wb("Titre", "Sujet", std::chrono::system_clock::time_point());
  const int sheet = wb.AddSheet("Données");
  wb.AddSheet("Aide");
  wb.WriteText(sheet, 0, 0, "Nom", XlsxWorkbook::Style::kHeader);
  wb.WriteText(sheet, 0, 1, "Valeur", XlsxWorkbook::Style::kHeader);
  wb.WriteText(sheet, 1, 0, "=1+1", XlsxWorkbook::Style::kText);  // stays text
  wb.WriteNumber(sheet, 1, 1, 42);
  wb.FreezeHeaderWithFilter(sheet, 1, 1);
  wb.AddListValidation(sheet, 0, 1, 10, {"Oui", "Non"});
  wb.AddIntegerValidation(sheet, 1, 1, 10, 0, 100);
  const std::string bytes = wb.Finish();
  const Sheet read = ReadXlsx(bytes);
  ASSERT_TRUE(read.errors.empty()) << read.errors[0].message;
  EXPECT_EQ(read.cells.at(1).at(0), "Nom");
  EXPECT_EQ(read.cells.at(2).at(0), "=1+1");
  EXPECT_EQ(read.cells.at(2).at(1), "42");
}

// The file depends on its content and the injected clock only, not on when it is written: the
// bilan's spreadsheet equals the one the action plan exports for the same instant.
TEST(Xlsx, TheSameContentAtTheSameInstantIsTheSameFile) {
  const auto created = std::chrono::system_clock::time_point(std::chrono::seconds(1767225600));
  auto write = [&] {
    XlsxWorkbook wb("Titre", "Sujet", created);
    wb.WriteText(wb.AddSheet("Données"), 0, 0, "Nom", XlsxWorkbook::Style::kHeader);
    return wb.Finish();
  };
  const std::string first = write();
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // another second, for the zip too
  EXPECT_EQ(write(), first);
  XlsxWorkbook other("Titre", "Sujet", created + std::chrono::hours(24));
  other.WriteText(other.AddSheet("Données"), 0, 0, "Nom", XlsxWorkbook::Style::kHeader);
  EXPECT_NE(other.Finish(), first);
}

TEST(Xlsx, GarbageIsAnErrorNotACrash) {
  const Sheet read = ReadXlsx("PK\x03\x04 not really a zip");
  ASSERT_FALSE(read.errors.empty());
  EXPECT_EQ(read.errors[0].row, 0);
}

}  // namespace
}  // namespace ctg
