// The accessible HTML rendition of a report, from a Report built here (no database).
#include "reporting/render_html.h"

#include <gtest/gtest.h>

#include "reporting/tests/sample_report.h"

namespace ctg::reporting {
namespace {

std::string Html(const v1::Report& report) { return RenderHtml(BuildReportDocument(report)); }

TEST(RenderHtmlTest, TheDocumentIsFrenchStructuredAndEscaped) {
  const std::string html = Html(SampleReport());
  EXPECT_NE(html.find("<html lang=\"fr\">"), std::string::npos);
  EXPECT_NE(html.find("<title>Bilan intermédiaire — CTG « Val de Garonne »</title>"),
            std::string::npos);
  // One h1; every part has a heading and a link to it in the table of contents.
  EXPECT_EQ(Count(html, "<h1>"), 1u);
  for (const char* id :
       {"parties", "realisations", "actions", "indicateurs", "petite-enfance", "echanges"}) {
    EXPECT_NE(html.find(std::string("href=\"#") + id + "\""), std::string::npos) << id;
    EXPECT_NE(html.find(std::string("<section id=\"") + id + "\">\n<h2>"), std::string::npos) << id;
  }
  // Data tables have a caption and column headers.
  EXPECT_EQ(Count(html, "<table>\n<caption>"), 6u);
  EXPECT_NE(html.find("Schéma pluriannuel requis : oui"), std::string::npos);
  EXPECT_NE(html.find("<td>Crèche Les Lutins</td><td>EAJE</td><td>40</td>"), std::string::npos);
  EXPECT_NE(html.find("<li>3 — Créer un relais</li>"), std::string::npos);
  EXPECT_EQ(html.find("<th>"), std::string::npos);  // every header cell is scoped
  // Texts are escaped, accents kept, French labels and numbers.
  EXPECT_NE(html.find("Créer un &lt;relais&gt; &amp; un lieu d&#39;accueil"), std::string::npos);
  EXPECT_EQ(html.find("<relais>"), std::string::npos);
  EXPECT_NE(html.find("<td>En cours</td>"), std::string::npos);
  EXPECT_NE(html.find("Sans mise à jour"), std::string::npos);
  EXPECT_NE(html.find("62,5 (2026)"), std::string::npos);
  EXPECT_NE(html.find("37,5 %"), std::string::npos);
  EXPECT_NE(html.find("Axe 1 : Petite enfance"), std::string::npos);
  EXPECT_NE(html.find("du 1er janvier 2025 au 31 décembre 2029"), std::string::npos);
  EXPECT_NE(html.find("<td>En vigueur</td>"), std::string::npos);
  EXPECT_NE(html.find("Joël Hocquelet, maire"), std::string::npos);
  // Nothing external, nothing executable.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);
}

TEST(RenderHtmlTest, DemonstrationDataIsAnnouncedWhereItAppears) {
  v1::Report r = SampleReport();
  EXPECT_EQ(Html(r).find("Données de démonstration"), std::string::npos);
  r.set_demonstration(true);
  r.mutable_tracking()->mutable_rows(0)->mutable_latest_report()->set_demonstration(true);
  const std::string html = Html(r);
  // In the header and in the action table (the indicators hold none).
  EXPECT_EQ(Count(html, "Données de démonstration"), 2u);
  EXPECT_NE(html.find("Local trouvé (démonstration)"), std::string::npos);
}

TEST(RenderHtmlTest, APetiteEnfancePartThatCouldNotBeDrawnUpSaysWhy) {
  v1::Report r = SampleReport();
  r.clear_petite_enfance();
  r.set_petite_enfance_unavailable("no legal population is recorded for Tonneins");
  const std::string html = Html(r);
  EXPECT_NE(html.find("Le volet petite enfance n&#39;a pas pu être établi : no legal population is "
                      "recorded for Tonneins."),
            std::string::npos);
}

TEST(RenderHtmlTest, FrenchDatesUseTheOrdinalForTheFirst) {
  google::type::Date d;
  d.set_year(2026);
  d.set_month(12);
  d.set_day(1);
  EXPECT_EQ(FrenchDate(d), "1er décembre 2026");
  d.set_day(15);
  d.set_month(8);
  EXPECT_EQ(FrenchDate(d), "15 août 2026");
}

}  // namespace
}  // namespace ctg::reporting
