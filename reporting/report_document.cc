#include "reporting/report_document.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>

#include "action_plan/table_format.h"
#include "common/labels.h"
#include "ctg/consents/v1/consents.pb.h"
#include "ctg/partners/v1/partners.pb.h"

namespace ctg::reporting {
namespace {

namespace av1 = ::ctg::action_plan::v1;
namespace iv1 = ::ctg::indicators::v1;

std::string KindOfParty(const std::string& kind) {
  return EnumLabelOfName(::ctg::partners::v1::OrganisationKind_descriptor(), kind);
}

std::string ExchangeStateLabel(const std::string& state) {
  return EnumLabelOfName(::ctg::consents::v1::ExchangeState_descriptor(), state);
}

std::string VerdictLabel(const std::string& verdict) {
  return EnumLabelOfName(::ctg::consents::v1::OpinionVerdict_descriptor(), verdict);
}

std::string KindTitle(v1::ReportKind kind, int year) {
  switch (kind) {
    case v1::ANNUAL_REVIEW:
      return "Point d'étape " + std::to_string(year);
    case v1::INTERMEDIATE_REVIEW:
      return "Bilan intermédiaire";
    case v1::FINAL_REVIEW:
      return "Bilan final";
    default:
      return "Rapport";
  }
}

DocBlock Heading(int level, std::string text, std::string anchor = "") {
  DocBlock b;
  b.kind = DocBlock::Kind::kHeading;
  b.level = level;
  b.text = std::move(text);
  b.anchor = std::move(anchor);
  return b;
}

DocBlock Paragraph(std::string text, std::string lead = "") {
  DocBlock b;
  b.kind = DocBlock::Kind::kParagraph;
  b.text = std::move(text);
  b.lead = std::move(lead);
  return b;
}

DocBlock List(std::vector<std::string> items) {
  DocBlock b;
  b.kind = DocBlock::Kind::kList;
  b.items = std::move(items);
  return b;
}

DocBlock Table(DocTable table) {
  DocBlock b;
  b.kind = DocBlock::Kind::kTable;
  for (const auto& row : table.rows) b.demonstration |= row.demonstration;
  b.table = std::move(table);
  return b;
}

DocBlock Chart(DocChart chart) {
  DocBlock b;
  b.kind = DocBlock::Kind::kChart;
  b.chart = std::move(chart);
  return b;
}

// The notice shown at the head of every part that holds demonstration data.
DocBlock DemonstrationNotice() {
  DocBlock b = Paragraph(
      "cette partie contient des données chargées pour une démonstration, qui ne décrivent pas le "
      "territoire.",
      "Données de démonstration :");
  b.note = true;
  b.demonstration = true;
  return b;
}

std::string YesNo(bool value) { return value ? "oui" : "non"; }

std::string Signed(double value) { return (value > 0 ? "+" : "") + FrenchDecimal(value); }

// What changed for the inhabitants (art. 11): each indicator with a baseline and a later value,
// the change between them and whether it goes toward the target.
void AppendTerritorialChanges(std::vector<DocBlock>& body, const v1::Report& report) {
  body.push_back(Heading(3, "Changements territoriaux depuis la référence"));
  DocTable t;
  t.caption =
      "Évolution de chaque indicateur entre sa valeur de référence et sa dernière valeur "
      "connue au " +
      FrenchDate(report.cutoff());
  t.header = {"Indicateur", "Référence", "Dernière valeur", "Évolution", "Par rapport à la cible"};
  t.widths = {4, 2, 2, 1.5, 2.2};
  t.empty_text =
      "Aucun indicateur n'a à la fois une valeur de référence et une valeur connue à cette date.";
  for (const auto& line : report.indicators()) {
    const auto& p = line.progress();
    if (!p.has_baseline() || !p.has_latest_value()) continue;
    const double change = p.latest_value() - p.baseline().value();
    std::string sense = "—";
    if (p.has_target()) {
      const double wanted = p.target().value() - p.baseline().value();
      sense = change == 0 || wanted == 0     ? "Stable"
              : (change > 0) == (wanted > 0) ? "Vers la cible"
                                             : "S'éloigne de la cible";
    }
    t.rows.push_back(
        {{line.label() + " (" + line.code() + ")",
          FrenchDecimal(p.baseline().value()) + " (" + FrenchDate(p.baseline().date()) + ")",
          FrenchDecimal(p.latest_value()) + " (" + p.latest_period() + ")", Signed(change), sense},
         false,
         p.demonstration()});
  }
  body.push_back(Table(std::move(t)));
}

// A line chart per indicator with at least two known values on the territory.
void AppendSeries(std::vector<DocBlock>& body, const v1::Report& report) {
  bool heading = false;
  for (const auto& line : report.indicators()) {
    DocChart chart;
    chart.style = DocChart::Style::kLine;
    std::string values;
    bool demonstration = false;
    int known = 0;
    for (const auto& point : line.series()) {
      if (!point.has_value()) {
        values += (values.empty() ? "" : " ; ") + point.period() + " : pas de valeur";
        continue;
      }
      ++known;
      demonstration |= point.demonstration();
      chart.bars.push_back({point.period(), point.value(), FrenchDecimal(point.value())});
      values +=
          (values.empty() ? "" : " ; ") + point.period() + " : " + FrenchDecimal(point.value());
    }
    if (known < 2) continue;
    if (!heading) {
      body.push_back(Heading(3, "Évolution des indicateurs sur le territoire"));
      heading = true;
    }
    chart.title = line.label() + " (" + line.code() + "), de " + line.series(0).period() + " à " +
                  line.series(line.series_size() - 1).period();
    chart.description = "Courbe des valeurs du territoire : " + values + ".";
    DocBlock b = Chart(std::move(chart));
    b.demonstration = demonstration;
    body.push_back(std::move(b));
  }
}

// A bar chart per commune-level indicator: each commune's value at the latest period.
void AppendCommuneComparisons(std::vector<DocBlock>& body, const v1::Report& report) {
  bool heading = false;
  for (const auto& line : report.indicators()) {
    const auto& c = line.communes();
    if (c.reporting_communes() == 0) continue;
    if (!heading) {
      body.push_back(Heading(3, "Comparaison des communes"));
      heading = true;
    }
    std::vector<const iv1::CommuneRow*> rows;
    std::string missing;
    double max = 0;
    for (const auto& row : c.communes()) {
      if (row.has_value()) {
        rows.push_back(&row);
        max = std::max(max, row.value());
      } else {
        missing += (missing.empty() ? "" : ", ") + row.display_name();
      }
    }
    std::sort(rows.begin(), rows.end(),
              [](const auto* a, const auto* b) { return a->rank() < b->rank(); });
    DocChart chart;
    chart.title = line.label() + " (" + line.code() + ") par commune en " + c.period();
    chart.max = max > 0 ? max : 1;
    bool demonstration = c.demonstration();
    for (const auto* row : rows) {
      chart.bars.push_back({row->display_name(), row->value(), FrenchDecimal(row->value())});
      demonstration |= row->demonstration();
    }
    chart.description =
        "Diagramme en barres : la valeur de chaque commune en " + c.period() +
        ", de la plus élevée à la plus basse ; " + std::to_string(c.reporting_communes()) +
        " communes sur " + std::to_string(c.total_communes()) + " ont une valeur" +
        (missing.empty() ? "" : " (sans valeur : " + missing + ")") +
        (c.has_epci_value() ? " ; valeur de l'intercommunalité : " + FrenchDecimal(c.epci_value())
                            : "") +
        ".";
    DocBlock b = Chart(std::move(chart));
    b.demonstration = demonstration;
    body.push_back(std::move(b));
  }
}

// The diagnosis figures of an AO collectivity and the schéma pluriannuel checklist.
void AppendDiagnosisAndSchema(std::vector<DocBlock>& body, const v1::Report::PetiteEnfancePart& pe,
                              const google::type::Date& cutoff) {
  DocTable d;
  d.caption = "Chiffres du diagnostic pour " + pe.display_name() + " au " + FrenchDate(cutoff);
  d.header = {"Indicateur", "Période", "Valeur"};
  d.widths = {5, 1.5, 1.5};
  d.empty_text = "Aucune valeur d'indicateur petite enfance connue";
  for (const auto& f : pe.diagnosis()) {
    d.rows.push_back({{f.label() + " (" + f.code() + ")", f.period(), FrenchDecimal(f.value())},
                      false,
                      f.demonstration()});
  }
  body.push_back(Table(std::move(d)));
  if (pe.schema_components().empty()) return;
  int covered = 0;
  std::string missing;
  for (const auto& c : pe.schema_components()) {
    if (c.covered()) {
      ++covered;
    } else {
      missing += (missing.empty() ? "" : " ; ") + c.component();
    }
  }
  const int total = pe.schema_components_size();
  body.push_back(Paragraph(
      covered == total
          ? "La CTG contient les " + std::to_string(total) +
                " composantes du schéma pluriannuel (décret n° 2025-253) : elle en tient lieu "
                "pour " +
                pe.display_name() + "."
          : "La CTG contient " + std::to_string(covered) + " des " + std::to_string(total) +
                " composantes du schéma pluriannuel (décret n° 2025-253) pour " +
                pe.display_name() + " ; il manque : " + missing + "."));
  DocTable t;
  t.caption = "Composantes du schéma pluriannuel (art. D.214-10-1 CASF) tenues par la CTG pour " +
              pe.display_name();
  t.header = {"Composante", "Tenue par la CTG", "Éléments"};
  t.widths = {5, 1.5, 4};
  for (const auto& c : pe.schema_components()) {
    t.rows.push_back({{c.component(), YesNo(c.covered()), c.evidence()}});
  }
  body.push_back(Table(std::move(t)));
}

// The COPIL and its parity verdict, the avenants signed by the cut-off.
void AppendGovernance(std::vector<DocBlock>& body, const v1::Report::Governance& g,
                      const google::type::Date& cutoff) {
  const auto& copil = g.copil();
  body.push_back(Paragraph(
      "Le comité de pilotage compte " + std::to_string(g.copil_members()) +
      (g.copil_members() > 1 ? " membres" : " membre") +
      ". Au regard de l'article 8, sa "
      "composition est " +
      (copil.compliant() ? "conforme (parité des collèges votants, coprésidence et secrétariat)."
                         : "à régulariser.")));
  DocTable t;
  t.caption = "Membres votants du comité de pilotage par collège";
  t.header = {"Collège", "Membres votants"};
  t.widths = {4, 1.5};
  t.empty_text = "Aucun membre enregistré";
  for (const auto& college : copil.colleges()) {
    t.rows.push_back({{EnumLabel(::ctg::partners::v1::CopilCollege_descriptor(), college.college()),
                       std::to_string(college.voting_members())}});
  }
  body.push_back(Table(std::move(t)));
  if (!copil.issues().empty()) {
    body.push_back(Paragraph("Points à régulariser :"));
    body.push_back(List({copil.issues().begin(), copil.issues().end()}));
  }
  body.push_back(Heading(3, "Avenants"));
  DocTable a;
  a.caption = "Avenants signés au " + FrenchDate(cutoff);
  a.header = {"N°", "Signé le", "Modifications"};
  a.widths = {0.8, 2, 7};
  a.empty_text = "Aucun avenant signé";
  for (const auto& amendment : g.amendments()) {
    std::string changes;
    for (const auto& c : amendment.changes()) changes += (changes.empty() ? "" : " ; ") + c;
    a.rows.push_back(
        {{std::to_string(amendment.number()), FrenchDate(amendment.signed_on()), changes}});
  }
  body.push_back(Table(std::move(a)));
}

}  // namespace

std::string FrenchDate(const google::type::Date& date) {
  static const char* const kMonths[] = {"janvier",   "février", "mars",     "avril",
                                        "mai",       "juin",    "juillet",  "août",
                                        "septembre", "octobre", "novembre", "décembre"};
  if (date.month() < 1 || date.month() > 12) return "";
  return std::to_string(date.day()) + (date.day() == 1 ? "er " : " ") + kMonths[date.month() - 1] +
         " " + std::to_string(date.year());
}

std::pair<double, double> ValueRange(const DocChart& chart) {
  double low = chart.bars.front().value, high = low;
  for (const auto& p : chart.bars) {
    low = std::min(low, p.value);
    high = std::max(high, p.value);
  }
  if (high == low) {
    high += 1;
    low -= 1;
  }
  return {low, high};
}

std::string FrenchDecimal(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  std::string s = buffer;
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  for (char& c : s) {
    if (c == '.') c = ',';
  }
  return s;
}

ReportDocument BuildReportDocument(const v1::Report& report) {
  ReportDocument doc;
  const auto& cover = report.cover();
  doc.title = report.title();
  doc.subject = KindTitle(report.kind(), report.year()) + " — " + cover.territory();
  if (report.has_create_time()) {
    const time_t seconds = report.create_time().seconds();
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char iso[32];
    std::strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &utc);
    doc.created = iso;
  }

  doc.front.push_back(Heading(1, report.title()));
  doc.front.push_back(Paragraph(
      KindTitle(report.kind(), report.year()) + " de la convention territoriale globale « " +
      cover.convention_title() + " » (" + cover.territory() + "), conclue du " +
      FrenchDate(cover.start_date()) + " au " + FrenchDate(cover.end_date()) + "."));
  doc.front.push_back(Paragraph("Données arrêtées au " + FrenchDate(report.cutoff()) +
                                " ; version " + std::to_string(report.version()) + "."));
  if (report.demonstration()) doc.front.push_back(DemonstrationNotice());

  auto part = [&](const char* anchor, const char* title) {
    doc.toc.push_back({anchor, title});
    doc.body.push_back(Heading(2, title, anchor));
  };
  auto& body = doc.body;

  // Parties and signatories.
  part("parties", "Parties et signataires");
  {
    DocTable t;
    t.caption = "Les " + std::to_string(report.parties_size()) + " parties de la convention";
    t.header = {"Partie", "Nature", "Signataires"};
    t.widths = {3, 2, 4};
    for (const auto& p : report.parties()) {
      std::string who;
      for (const auto& s : p.signatories()) who += (who.empty() ? "" : " ; ") + s;
      t.rows.push_back(
          {{p.display_name(), KindOfParty(p.kind()), who.empty() ? "Pas encore signée" : who}});
    }
    body.push_back(Table(std::move(t)));
  }

  // Roll-ups per axis, and their chart.
  std::map<std::string, av1::Axis> axes;
  for (const auto& a : report.axes()) axes[a.name()] = a;
  const auto& tracking = report.tracking();
  part("realisations", "Synthèse des réalisations par axe");
  {
    DocTable t;
    t.caption = "Avancement des actions au trimestre " + tracking.quarter();
    t.header = {"Axe",
                "Actions",
                "Réalisées",
                "En retard",
                "Sans mise à jour ce trimestre",
                "Avancement moyen"};
    t.widths = {4.2, 1.3, 1.5, 1.4, 2, 1.9};
    DocChart chart;
    chart.title = "Avancement moyen des actions par axe au trimestre " + tracking.quarter();
    chart.description =
        "Diagramme en barres : l'avancement moyen de chaque axe, de 0 à 100 %, repris du tableau "
        "ci-dessus.";
    auto rollup_row = [&](const std::string& label, const av1::Rollup& r, bool total) {
      const std::string percent = FrenchDecimal(r.completion_percent()) + " %";
      t.rows.push_back({{label, std::to_string(r.actions()), std::to_string(r.achieved()),
                         std::to_string(r.late()), std::to_string(r.missing_update()), percent},
                        total});
      chart.bars.push_back({label, r.completion_percent(), percent});
    };
    for (const auto& r : tracking.axes()) {
      auto it = axes.find(r.axis());
      rollup_row(it == axes.end()
                     ? r.axis()
                     : "Axe " + std::to_string(it->second.number()) + " : " + it->second.title(),
                 r, false);
    }
    rollup_row("Ensemble du plan", tracking.plan(), true);
    body.push_back(Table(std::move(t)));
    body.push_back(Chart(std::move(chart)));
  }

  // The action table.
  part("actions", "Tableau de suivi des actions");
  {
    bool demo_rows = false;
    for (const auto& row : tracking.rows()) demo_rows |= row.latest_report().demonstration();
    if (demo_rows) body.push_back(DemonstrationNotice());
    DocTable t;
    t.caption = "Chaque action avec son dernier point trimestriel au " + tracking.quarter();
    t.header = {"N°", "Action", "Statut", "Avancement", "Dernier point", "Signalements"};
    t.widths = {1, 4.3, 1.6, 1.8, 4, 1.8};
    for (const auto& row : tracking.rows()) {
      const auto& a = row.action();
      const auto& last = row.latest_report();
      std::string flags;
      if (row.late()) flags += "En retard";
      if (row.missing_update())
        flags += std::string(flags.empty() ? "" : " ; ") + "Sans mise à jour";
      std::string point = "Aucun";
      if (!last.quarter().empty()) {
        point = last.quarter() + " : " + last.progress();
        if (last.demonstration()) point += " (démonstration)";
      }
      t.rows.push_back(
          {{std::to_string(a.number()), a.title(), action_plan::StatusLabel(a.status()),
            last.quarter().empty() ? "—" : std::to_string(last.completion_percent()) + " %", point,
            flags.empty() ? "—" : flags},
           false,
           last.demonstration()});
    }
    body.push_back(Table(std::move(t)));
  }

  // Indicators.
  part("indicateurs", "Indicateurs");
  {
    bool demo_values = false;
    for (const auto& line : report.indicators()) demo_values |= line.progress().demonstration();
    if (demo_values) body.push_back(DemonstrationNotice());
    DocTable t;
    t.caption = "Valeur de référence, dernière valeur connue au " + FrenchDate(report.cutoff()) +
                ", cible et progression";
    t.header = {"Indicateur", "Référence", "Dernière valeur", "Cible", "Progression vers la cible"};
    t.widths = {4, 2.2, 2.2, 2.2, 1.8};
    DocChart chart;
    chart.title = "Progression des indicateurs vers leur cible au " + FrenchDate(report.cutoff());
    chart.description =
        "Diagramme en barres : la progression de chaque indicateur qui a une référence et une "
        "cible, de 0 à 100 %, reprise du tableau ci-dessus.";
    auto dated = [](const iv1::DatedValue& v, bool present) {
      return present ? FrenchDecimal(v.value()) + " (" + FrenchDate(v.date()) + ")"
                     : std::string("—");
    };
    for (const auto& line : report.indicators()) {
      const auto& p = line.progress();
      const std::string label = line.label() + " (" + line.code() + ")";
      const std::string progress =
          p.has_progress_percent() ? FrenchDecimal(p.progress_percent()) + " %" : "—";
      t.rows.push_back(
          {{label, dated(p.baseline(), p.has_baseline()),
            p.has_latest_value() ? FrenchDecimal(p.latest_value()) + " (" + p.latest_period() + ")"
                                 : std::string("Aucune valeur connue"),
            dated(p.target(), p.has_target()), progress},
           false,
           p.demonstration()});
      if (p.has_progress_percent()) chart.bars.push_back({label, p.progress_percent(), progress});
    }
    body.push_back(Table(std::move(t)));
    if (!chart.bars.empty()) {
      DocBlock c = Chart(std::move(chart));
      c.demonstration = demo_values;
      body.push_back(std::move(c));
    }
    AppendTerritorialChanges(body, report);
    AppendSeries(body, report);
    AppendCommuneComparisons(body, report);
  }

  // The petite enfance part, per AO collectivity.
  part("petite-enfance", "Volet petite enfance (pour le CDSF)");
  if (!report.petite_enfance_unavailable().empty()) {
    body.push_back(Paragraph("Le volet petite enfance n'a pas pu être établi : " +
                             report.petite_enfance_unavailable() + "."));
  } else if (report.petite_enfance().empty()) {
    body.push_back(
        Paragraph("Aucune collectivité n'exerce de compétence d'autorité organisatrice au titre "
                  "de la convention."));
  }
  for (const auto& pe : report.petite_enfance()) {
    body.push_back(Heading(3, pe.display_name()));
    body.push_back(Paragraph(
        "Schéma pluriannuel requis : " + YesNo(pe.schema_pluriannuel_required()) +
        " ; relais petite enfance requis : " + YesNo(pe.relais_petite_enfance_required()) + "."));
    if (!pe.competences().empty()) {
      body.push_back(Paragraph("Compétences d'autorité organisatrice :"));
      body.push_back(List({pe.competences().begin(), pe.competences().end()}));
    }
    DocTable t;
    t.caption = "Équipements soutenus par " + pe.display_name();
    t.header = {"Équipement", "Type", "Places"};
    t.widths = {5, 2, 1};
    t.empty_text = "Aucun";
    for (const auto& f : pe.facilities()) {
      t.rows.push_back({{f.display_name(), f.kind(), std::to_string(f.capacity())}});
    }
    body.push_back(Table(std::move(t)));
    if (pe.actions().empty()) {
      body.push_back(Paragraph("Aucune action petite enfance pilotée."));
    } else {
      body.push_back(Paragraph("Actions petite enfance pilotées :"));
      body.push_back(List({pe.actions().begin(), pe.actions().end()}));
    }
    AppendDiagnosisAndSchema(body, pe, report.cutoff());
  }

  // Data exchanges.
  const auto& x = report.exchanges();
  part("echanges", "Échanges de données");
  {
    DocTable t;
    t.caption = "Demandes d'échange de données au titre de la convention, par état";
    t.header = {"État", "Demandes"};
    t.widths = {4, 1};
    t.empty_text = "Aucune demande";
    const std::map<std::string, int> states(x.by_state().begin(), x.by_state().end());
    for (const auto& [state, count] : states) {
      t.rows.push_back({{ExchangeStateLabel(state), std::to_string(count)}});
    }
    body.push_back(Table(std::move(t)));
  }
  const std::map<std::string, int> opinions(x.opinions().begin(), x.opinions().end());
  if (!opinions.empty()) {
    std::string text;
    for (const auto& [verdict, count] : opinions) {
      text +=
          (text.empty() ? "" : ", ") + VerdictLabel(verdict) + " (" + std::to_string(count) + ")";
    }
    body.push_back(Paragraph("Avis des délégués à la protection des données : " + text + "."));
  }
  body.push_back(Heading(3, "Consentements en vigueur"));
  if (x.active().empty()) {
    body.push_back(Paragraph("Aucun."));
  } else {
    std::vector<std::string> items;
    for (const auto& a : x.active()) {
      items.push_back(a.title() + " : de " + a.requester() + " à " + a.holder());
    }
    body.push_back(List(std::move(items)));
  }

  part("gouvernance", "Gouvernance et vie de la convention");
  AppendGovernance(body, report.governance(), report.cutoff());
  return doc;
}

}  // namespace ctg::reporting
