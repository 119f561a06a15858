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
  for (const char* id : {"parties", "realisations", "actions", "indicateurs", "petite-enfance",
                         "echanges", "gouvernance"}) {
    EXPECT_NE(html.find(std::string("href=\"#") + id + "\""), std::string::npos) << id;
    EXPECT_NE(html.find(std::string("<section id=\"") + id + "\">\n<h2>"), std::string::npos) << id;
  }
  // Data tables have a caption and column headers.
  EXPECT_EQ(Count(html, "<table>\n<caption>"), 11u);
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

TEST(RenderHtmlTest, ChartsAreImagesWithTheirDataInTheTextAlternative) {
  const std::string html = Html(SampleReport());
  // The progress per axis and per indicator, the TCG's series, the TCG by commune.
  EXPECT_EQ(Count(html, "<figure>"), 4u);
  EXPECT_EQ(Count(html, "<svg role=\"img\" aria-labelledby="), 4u);
  EXPECT_EQ(Count(html, "<polyline"), 1u);
  EXPECT_NE(html.find("Courbe des valeurs du territoire : 2025 : 58 ; 2026 : 62,5 ; 2027 : pas de "
                      "valeur."),
            std::string::npos);
  EXPECT_NE(html.find("Taux de couverture global (TCG) par commune en 2026"), std::string::npos);
  EXPECT_NE(html.find("2 communes sur 3 ont une valeur (sans valeur : Fourques-sur-Garonne) ; "
                      "valeur de l&#39;intercommunalité : 62,5."),
            std::string::npos);
}

TEST(RenderHtmlTest, TerritorialChangesGovernanceAndTheSchemaChecklistAreShown) {
  const std::string html = Html(SampleReport());
  // 55 at the baseline, 62.5 now, toward a target of 75.
  EXPECT_NE(html.find("<td>+7,5</td><td>Vers la cible</td>"), std::string::npos);
  EXPECT_NE(html.find("Le comité de pilotage compte 6 membres. Au regard de l&#39;article 8, sa "
                      "composition est à régulariser."),
            std::string::npos);
  EXPECT_NE(html.find("<li>Parité : le collège État n&#39;a aucun membre votant</li>"),
            std::string::npos);
  EXPECT_NE(html.find("<td>1</td><td>15 mars 2026</td><td>Ajout de l&#39;action 39 « Halte-répit "
                      "»</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td>Caf</td><td>2</td>"), std::string::npos);
  // Marmande's own TCG (its commune row) is its diagnosis figure.
  EXPECT_NE(html.find("<td>Taux de couverture global (TCG)</td><td>2026</td><td>70</td>"),
            std::string::npos);
  EXPECT_NE(html.find("La CTG contient les 5 composantes du schéma pluriannuel (décret n° "
                      "2025-253) : elle en tient lieu pour Marmande."),
            std::string::npos);
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
