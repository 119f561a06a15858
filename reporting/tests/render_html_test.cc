// The accessible HTML rendition of a report, from a Report built here (no database).
#include "reporting/render_html.h"

#include <gtest/gtest.h>

namespace ctg::reporting {
namespace {

namespace av1 = ::ctg::action_plan::v1;

// How many times `needle` occurs in `text`.
size_t Count(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

v1::Report Sample() {
  v1::Report r;
  r.set_title("Bilan intermédiaire — CTG « Val de Garonne »");
  r.set_kind(v1::INTERMEDIATE_REVIEW);
  r.mutable_cutoff()->set_year(2027);
  r.mutable_cutoff()->set_month(7);
  r.mutable_cutoff()->set_day(1);
  r.set_version(1);
  auto* c = r.mutable_cover();
  c->set_convention_title("CTG Val de Garonne");
  c->set_territory("Val de Garonne Agglomération");
  c->mutable_start_date()->set_year(2025);
  c->mutable_start_date()->set_month(1);
  c->mutable_start_date()->set_day(1);
  c->mutable_end_date()->set_year(2029);
  c->mutable_end_date()->set_month(12);
  c->mutable_end_date()->set_day(31);
  auto* p = r.add_parties();
  p->set_display_name("Marmande");
  p->set_kind("COMMUNE");
  p->add_signatories("Joël Hocquelet, maire");
  auto* axis = r.add_axes();
  axis->set_name("axes/1");
  axis->set_number(1);
  axis->set_title("Petite enfance");
  auto* t = r.mutable_tracking();
  t->set_quarter("2027-Q3");
  auto* row = t->add_rows();
  row->mutable_action()->set_number(3);
  row->mutable_action()->set_title("Créer un <relais> & un lieu d'accueil");
  row->mutable_action()->set_status(av1::IN_PROGRESS);
  row->mutable_latest_report()->set_quarter("2027-Q2");
  row->mutable_latest_report()->set_progress("Local trouvé");
  row->mutable_latest_report()->set_completion_percent(40);
  row->set_missing_update(true);
  auto* rollup = t->add_axes();
  rollup->set_axis("axes/1");
  rollup->set_actions(1);
  rollup->set_completion_percent(40);
  auto* line = r.add_indicators();
  line->set_code("TCG");
  line->set_label("Taux de couverture global");
  line->mutable_progress()->set_latest_value(62.5);
  line->mutable_progress()->set_latest_period("2026");
  line->mutable_progress()->set_progress_percent(37.5);
  (*r.mutable_exchanges()->mutable_by_state())["ACTIVE"] = 1;
  auto* pe = r.add_petite_enfance();
  pe->set_display_name("Marmande");
  pe->set_schema_pluriannuel_required(true);
  pe->add_competences("Recensement des besoins : commune de 17 000 habitants");
  auto* facility = pe->add_facilities();
  facility->set_display_name("Crèche Les Lutins");
  facility->set_kind("EAJE");
  facility->set_capacity(40);
  pe->add_actions("3 — Créer un relais");
  return r;
}

TEST(RenderHtmlTest, TheDocumentIsFrenchStructuredAndEscaped) {
  const std::string html = RenderHtml(Sample());
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
  v1::Report r = Sample();
  EXPECT_EQ(RenderHtml(r).find("Données de démonstration"), std::string::npos);
  r.set_demonstration(true);
  r.mutable_tracking()->mutable_rows(0)->mutable_latest_report()->set_demonstration(true);
  const std::string html = RenderHtml(r);
  // In the header and in the action table (the indicators hold none).
  EXPECT_EQ(Count(html, "Données de démonstration"), 2u);
  EXPECT_NE(html.find("Local trouvé (démonstration)"), std::string::npos);
}

TEST(RenderHtmlTest, APetiteEnfancePartThatCouldNotBeDrawnUpSaysWhy) {
  v1::Report r = Sample();
  r.clear_petite_enfance();
  r.set_petite_enfance_unavailable("no legal population is recorded for Tonneins");
  const std::string html = RenderHtml(r);
  EXPECT_NE(html.find("Le volet petite enfance n'a pas pu être établi : no legal population is "
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
