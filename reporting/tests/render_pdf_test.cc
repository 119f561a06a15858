// The PDF rendition, read back with poppler's own tools (pdftotext, pdfinfo) as a person's
// reader or a screen reader would (no database).
#include "reporting/render_pdf.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "reporting/tests/pdf_file.h"
#include "reporting/tests/sample_report.h"

namespace ctg::reporting {
namespace {

v1::Report WithActions(int count) {
  v1::Report r = SampleReport();
  auto* tracking = r.mutable_tracking();
  for (int i = 0; i < count; ++i) {
    auto* row = tracking->add_rows();
    row->mutable_action()->set_number(100 + i);
    row->mutable_action()->set_title("Action numéro " + std::to_string(100 + i) +
                                     " : accueillir les enfants à Sainte-Bazeille");
    row->mutable_latest_report()->set_quarter("2027-Q2");
    row->mutable_latest_report()->set_progress("Étape franchie, réunion tenue à Tonneins");
  }
  return r;
}

TEST(RenderPdfTest, TheTextReadsBackWithItsAccents) {
  PdfFile pdf(RenderPdf(BuildReportDocument(SampleReport())));
  const std::string text = pdf.Text();
  for (const char* expected : {"Bilan intermédiaire — CTG « Val de Garonne »",
                               "Sommaire",
                               "Créer un <relais> & un lieu d'accueil",
                               "Volet petite enfance (pour le CDSF)",
                               "Crèche Les Lutins",
                               "Schéma pluriannuel requis : oui",
                               "3 — Créer un relais",
                               "Taux de couverture global (TCG)",
                               "Joël Hocquelet, maire",
                               "Échanges de données",
                               "du 1er janvier 2025 au 31 décembre 2029",
                               "En vigueur",
                               "62,5 (2026)",
                               "Changements territoriaux depuis la référence",
                               "Vers la cible",
                               "Courbe des valeurs du territoire : 2025 : 58 ; 2026 : 62,5",
                               "Taux de couverture global (TCG) par commune en 2026",
                               "Fourques-sur-Garonne",
                               "Gouvernance et vie de la convention",
                               "Ajout de l'action 39 « Halte-répit »",
                               "elle en tient lieu pour Marmande"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
  }
  EXPECT_EQ(text.find("Données de démonstration"), std::string::npos);
  EXPECT_EQ(text.find("démonstration."), std::string::npos);
}

TEST(RenderPdfTest, TheDocumentIsTaggedTitledAndInFrench) {
  v1::Report report = SampleReport();
  report.mutable_create_time()->set_seconds(1814000000);
  const std::string bytes = RenderPdf(BuildReportDocument(report));
  PdfFile pdf(bytes);
  const std::string info = pdf.Info();
  EXPECT_NE(info.find("Title: Bilan intermédiaire — CTG « Val de Garonne »"), std::string::npos)
      << info;
  EXPECT_NE(info.find("Tagged: yes"), std::string::npos) << info;
  EXPECT_NE(info.find("Page size: 595.276 x 841.89 pts (A4)"), std::string::npos) << info;
  EXPECT_EQ(info.find("Syntax Error"), std::string::npos) << info;
  // The language, added after cairo by an incremental update that readers follow.
  EXPECT_NE(bytes.find("/Lang (fr-FR)"), std::string::npos);
  EXPECT_NE(info.find("Tagged: yes"), std::string::npos) << info;
  // Every kind of structure element is in the tree poppler reads.
  std::set<std::string> tags;
  std::istringstream structure(pdf.Structure());
  for (std::string line; std::getline(structure, line);) {
    std::istringstream words(line);
    std::string tag;
    if (words >> tag) tags.insert(tag);
  }
  for (const char* tag : {"H1", "H2", "H3", "P", "L", "LI", "Lbl", "LBody", "Table", "Caption",
                          "TR", "TH", "TD", "Figure", "TOC", "TOCI", "Link"}) {
    EXPECT_EQ(tags.count(tag), 1u) << tag;
  }
  // The same report renders to the same bytes (its creation date is the report's).
  EXPECT_EQ(RenderPdf(BuildReportDocument(report)), bytes);
}

TEST(RenderPdfTest, ALongTableRepeatsItsCaptionAndHeaderOnEveryPage) {
  PdfFile pdf(RenderPdf(BuildReportDocument(WithActions(150))));
  const int pages = pdf.Pages();
  ASSERT_GE(pages, 6);
  int continued = 0;
  for (int page = 1; page <= pages; ++page) {
    const std::string text = pdf.Text(page, page);
    EXPECT_NE(text.find("Page " + std::to_string(page) + " sur " + std::to_string(pages)),
              std::string::npos)
        << page;
    if (text.find("Action numéro") != std::string::npos) {
      EXPECT_NE(text.find("Dernier point"), std::string::npos) << "page " << page;
      if (text.find("dernier point trimestriel au 2027-Q3 (suite)") != std::string::npos) {
        ++continued;
      }
    }
  }
  EXPECT_GE(continued, 3);
  const std::string all = pdf.Text();
  for (int i = 0; i < 150; ++i) {
    EXPECT_NE(all.find("Action numéro " + std::to_string(100 + i) + " "), std::string::npos) << i;
  }
}

TEST(RenderPdfTest, TheTableOfContentsGivesEachPartsPage) {
  PdfFile pdf(RenderPdf(BuildReportDocument(WithActions(150))));
  const std::string contents = pdf.Text(1, 1);
  for (const char* part : {"Indicateurs", "Échanges de données"}) {
    const size_t at = contents.find(part);
    ASSERT_NE(at, std::string::npos) << part << contents;
    // "Indicateurs 7": the entry's page follows its title.
    const int page = std::atoi(contents.c_str() + at + std::string(part).size());
    ASSERT_GT(page, 1) << contents;
    // The part's heading is on that page, and on no page before it.
    EXPECT_NE(pdf.Text(page, page).find(part), std::string::npos) << part << " page " << page;
    EXPECT_EQ(pdf.Text(2, page - 1).find(part), std::string::npos) << part;
  }
}

TEST(RenderPdfTest, EveryPageShowingDemonstrationDataSaysSo) {
  v1::Report r = WithActions(150);
  // Only the last action's report is demonstration data: its page says so, the first pages
  // of the table do not.
  r.mutable_tracking()->mutable_rows(150)->mutable_latest_report()->set_demonstration(true);
  PdfFile pdf(RenderPdf(BuildReportDocument(r)));
  const int pages = pdf.Pages();
  int marked = 0, last_marked = 0;
  for (int page = 1; page <= pages; ++page) {
    const std::string text = pdf.Text(page, page);
    const bool says =
        text.find("Cette page contient des données de démonstration.") != std::string::npos;
    if (text.find("Action numéro 249 ") != std::string::npos) {
      EXPECT_TRUE(says) << page;
    }
    if (says) {
      ++marked;
      last_marked = page;
    }
  }
  // The notice at the head of the action table (page 2 or 3) and the row's page.
  EXPECT_GE(marked, 1);
  EXPECT_LE(marked, 2);
  EXPECT_GT(last_marked, 3);
}

TEST(RenderPdfTest, TheLanguageUpdateKeepsTheFileReadable) {
  std::string bytes = RenderPdf(BuildReportDocument(SampleReport()));
  EXPECT_EQ(bytes.compare(bytes.size() - 6, 6, "%%EOF\n"), 0);
  std::string not_pdf = "hello";
  EXPECT_THROW(CompletePdfCatalog(not_pdf, "fr-FR"), std::runtime_error);
}

}  // namespace
}  // namespace ctg::reporting
