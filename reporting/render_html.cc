#include "reporting/render_html.h"

#include <cmath>
#include <cstdio>
#include <map>

#include "action_plan/table_format.h"

namespace ctg::reporting {
namespace {

namespace av1 = ::ctg::action_plan::v1;
namespace iv1 = ::ctg::indicators::v1;

std::string Escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A number as French writes it: decimal comma, at most `decimals` digits after it.
std::string Number(double value, int decimals = 1) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  std::string s = buffer;
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  for (char& c : s) {
    if (c == '.') c = ',';
  }
  return s;
}

std::string KindOfParty(const std::string& kind) {
  static const std::map<std::string, std::string> kLabels = {
      {"EPCI", "Intercommunalité (EPCI)"},
      {"COMMUNE", "Commune"},
      {"CAF", "Caisse d'allocations familiales"},
      {"DEPARTEMENT", "Département"},
      {"EDUCATION_NATIONALE", "Éducation nationale"},
      {"STATE", "État"},
      {"CDSF", "Comité départemental des services aux familles"}};
  auto it = kLabels.find(kind);
  return it == kLabels.end() ? kind : it->second;
}

std::string ExchangeStateLabel(const std::string& state) {
  static const std::map<std::string, std::string> kLabels = {
      {"DRAFT", "Brouillon"},
      {"SUBMITTED", "Déposée"},
      {"STUDIED", "Étudiée par le responsable de traitement"},
      {"OPINION_GIVEN", "Avis du DPO rendu"},
      {"APPROVED", "Approuvée"},
      {"REJECTED", "Refusée"},
      {"ACTIVE", "En vigueur"},
      {"SUSPENDED", "Suspendue"},
      {"REVOKED", "Révoquée"},
      {"EXPIRED", "Expirée"}};
  auto it = kLabels.find(state);
  return it == kLabels.end() ? state : it->second;
}

std::string VerdictLabel(const std::string& verdict) {
  static const std::map<std::string, std::string> kLabels = {
      {"FAVOURABLE", "Favorable"},
      {"FAVOURABLE_WITH_RECOMMENDATIONS", "Favorable avec recommandations"},
      {"UNFAVOURABLE", "Défavorable"}};
  auto it = kLabels.find(verdict);
  return it == kLabels.end() ? verdict : it->second;
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

const char kDemonstrationNotice[] =
    "<p class=\"demo\" role=\"note\"><strong>Données de démonstration :</strong> cette partie "
    "contient des données chargées pour une démonstration, qui ne décrivent pas le "
    "territoire.</p>\n";

}  // namespace

std::string FrenchDate(const google::type::Date& date) {
  static const char* const kMonths[] = {"janvier",   "février", "mars",     "avril",
                                        "mai",       "juin",    "juillet",  "août",
                                        "septembre", "octobre", "novembre", "décembre"};
  if (date.month() < 1 || date.month() > 12) return "";
  return std::to_string(date.day()) + (date.day() == 1 ? "er " : " ") + kMonths[date.month() - 1] +
         " " + std::to_string(date.year());
}

std::string RenderHtml(const v1::Report& report) {
  std::string h;
  const auto& cover = report.cover();
  h += "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += "<title>" + Escape(report.title()) + "</title>\n";
  h += "<style>body{font-family:system-ui,sans-serif;line-height:1.5;max-width:72rem;margin:auto;"
       "padding:1rem;color:#1a1a1a;background:#fff}table{border-collapse:collapse;width:100%;"
       "margin:1rem 0}caption{text-align:left;font-weight:bold;padding:.5rem 0}th,td{border:1px "
       "solid #555;padding:.4rem;text-align:left;vertical-align:top}th{background:#eee}"
       ".demo{border:2px solid #1a1a1a;padding:.5rem}a{color:#00509e}</style>\n";
  h += "</head>\n<body>\n<header>\n<h1>" + Escape(report.title()) + "</h1>\n";
  h += "<p>" + Escape(KindTitle(report.kind(), report.year())) +
       " de la convention territoriale "
       "globale « " +
       Escape(cover.convention_title()) + " » (" + Escape(cover.territory()) + "), conclue du " +
       FrenchDate(cover.start_date()) + " au " + FrenchDate(cover.end_date()) + ".</p>\n";
  h += "<p>Données arrêtées au " + FrenchDate(report.cutoff()) + " ; version " +
       std::to_string(report.version()) + ".</p>\n";
  if (report.demonstration()) h += kDemonstrationNotice;
  h += "</header>\n";
  struct Part {
    const char* id;
    const char* title;
  };
  const Part parts[] = {{"parties", "Parties et signataires"},
                        {"realisations", "Synthèse des réalisations par axe"},
                        {"actions", "Tableau de suivi des actions"},
                        {"indicateurs", "Indicateurs"},
                        {"petite-enfance", "Volet petite enfance (pour le CDSF)"},
                        {"echanges", "Échanges de données"}};
  h += "<nav aria-label=\"Sommaire\">\n<h2>Sommaire</h2>\n<ol>\n";
  for (const auto& p : parts) {
    h += std::string("<li><a href=\"#") + p.id + "\">" + p.title + "</a></li>\n";
  }
  h += "</ol>\n</nav>\n<main>\n";

  // Parties and signatories.
  h += "<section id=\"parties\">\n<h2>Parties et signataires</h2>\n<table>\n<caption>Les " +
       std::to_string(report.parties_size()) +
       " parties de la convention</caption>\n<thead><tr><th scope=\"col\">Partie</th><th "
       "scope=\"col\">Nature</th><th scope=\"col\">Signataires</th></tr></thead>\n<tbody>\n";
  for (const auto& p : report.parties()) {
    std::string who;
    for (const auto& s : p.signatories()) who += (who.empty() ? "" : " ; ") + Escape(s);
    h += "<tr><td>" + Escape(p.display_name()) + "</td><td>" + Escape(KindOfParty(p.kind())) +
         "</td><td>" + (who.empty() ? "Pas encore signée" : who) + "</td></tr>\n";
  }
  h += "</tbody>\n</table>\n</section>\n";

  // Roll-ups per axis.
  std::map<std::string, av1::Axis> axes;
  for (const auto& a : report.axes()) axes[a.name()] = a;
  const auto& tracking = report.tracking();
  h += "<section id=\"realisations\">\n<h2>Synthèse des réalisations par axe</h2>\n<table>\n"
       "<caption>Avancement des actions au trimestre " +
       Escape(tracking.quarter()) +
       "</caption>\n<thead><tr><th scope=\"col\">Axe</th><th scope=\"col\">Actions</th><th "
       "scope=\"col\">Réalisées</th><th scope=\"col\">En retard</th><th scope=\"col\">Sans mise à "
       "jour ce trimestre</th><th scope=\"col\">Avancement moyen</th></tr></thead>\n<tbody>\n";
  auto rollup_row = [&](const std::string& label, const av1::Rollup& r) {
    h += "<tr><td>" + label + "</td><td>" + std::to_string(r.actions()) + "</td><td>" +
         std::to_string(r.achieved()) + "</td><td>" + std::to_string(r.late()) + "</td><td>" +
         std::to_string(r.missing_update()) + "</td><td>" + Number(r.completion_percent()) +
         " %</td></tr>\n";
  };
  for (const auto& r : tracking.axes()) {
    auto it = axes.find(r.axis());
    rollup_row(it == axes.end() ? Escape(r.axis())
                                : "Axe " + std::to_string(it->second.number()) + " : " +
                                      Escape(it->second.title()),
               r);
  }
  rollup_row("<strong>Ensemble du plan</strong>", tracking.plan());
  h += "</tbody>\n</table>\n</section>\n";

  // The action table.
  h += "<section id=\"actions\">\n<h2>Tableau de suivi des actions</h2>\n";
  bool demo_rows = false;
  for (const auto& row : tracking.rows()) demo_rows |= row.latest_report().demonstration();
  if (demo_rows) h += kDemonstrationNotice;
  h += "<table>\n<caption>Chaque action avec son dernier point trimestriel au " +
       Escape(tracking.quarter()) +
       "</caption>\n<thead><tr><th scope=\"col\">N°</th><th scope=\"col\">Action</th><th "
       "scope=\"col\">Statut</th><th scope=\"col\">Avancement</th><th scope=\"col\">Dernier "
       "point</th><th scope=\"col\">Signalements</th></tr></thead>\n<tbody>\n";
  for (const auto& row : tracking.rows()) {
    const auto& a = row.action();
    const auto& last = row.latest_report();
    std::string flags;
    if (row.late()) flags += "En retard";
    if (row.missing_update()) flags += std::string(flags.empty() ? "" : " ; ") + "Sans mise à jour";
    std::string point = "Aucun";
    if (!last.quarter().empty()) {
      point = Escape(last.quarter()) + " : " + Escape(last.progress());
      if (last.demonstration()) point += " (démonstration)";
    }
    h += "<tr><td>" + std::to_string(a.number()) + "</td><td>" + Escape(a.title()) + "</td><td>" +
         Escape(action_plan::StatusLabel(a.status())) + "</td><td>" +
         (last.quarter().empty() ? "—" : std::to_string(last.completion_percent()) + " %") +
         "</td><td>" + point + "</td><td>" + (flags.empty() ? "—" : flags) + "</td></tr>\n";
  }
  h += "</tbody>\n</table>\n</section>\n";

  // Indicators.
  h += "<section id=\"indicateurs\">\n<h2>Indicateurs</h2>\n";
  bool demo_values = false;
  for (const auto& line : report.indicators()) demo_values |= line.progress().demonstration();
  if (demo_values) h += kDemonstrationNotice;
  h += "<table>\n<caption>Valeur de référence, dernière valeur connue au " +
       FrenchDate(report.cutoff()) +
       ", cible et progression</caption>\n<thead><tr><th scope=\"col\">Indicateur</th><th "
       "scope=\"col\">Référence</th><th scope=\"col\">Dernière valeur</th><th "
       "scope=\"col\">Cible</th><th scope=\"col\">Progression vers la cible</th></tr></thead>\n"
       "<tbody>\n";
  auto dated = [](const iv1::DatedValue& v, bool present) {
    return present ? Number(v.value()) + " (" + FrenchDate(v.date()) + ")" : std::string("—");
  };
  for (const auto& line : report.indicators()) {
    const auto& p = line.progress();
    h += "<tr><td>" + Escape(line.label()) + " (" + Escape(line.code()) + ")</td><td>" +
         dated(p.baseline(), p.has_baseline()) + "</td><td>" +
         (p.has_latest_value() ? Number(p.latest_value()) + " (" + Escape(p.latest_period()) + ")"
                               : std::string("Aucune valeur connue")) +
         "</td><td>" + dated(p.target(), p.has_target()) + "</td><td>" +
         (p.has_progress_percent() ? Number(p.progress_percent()) + " %" : std::string("—")) +
         "</td></tr>\n";
  }
  h += "</tbody>\n</table>\n</section>\n";

  // The petite enfance part, per AO collectivity.
  h += "<section id=\"petite-enfance\">\n<h2>Volet petite enfance (pour le CDSF)</h2>\n";
  if (!report.petite_enfance_unavailable().empty()) {
    h += "<p>Le volet petite enfance n'a pas pu être établi : " +
         Escape(report.petite_enfance_unavailable()) + ".</p>\n";
  } else if (report.petite_enfance().empty()) {
    h += "<p>Aucune collectivité n'exerce de compétence d'autorité organisatrice au titre de la "
         "convention.</p>\n";
  }
  for (const auto& part : report.petite_enfance()) {
    h += "<h3>" + Escape(part.display_name()) + "</h3>\n";
    h += std::string("<p>Schéma pluriannuel requis : ") +
         (part.schema_pluriannuel_required() ? "oui" : "non") +
         " ; relais petite enfance requis : " +
         (part.relais_petite_enfance_required() ? "oui" : "non") + ".</p>\n";
    if (!part.competences().empty()) {
      h += "<p>Compétences d'autorité organisatrice :</p>\n<ul>\n";
      for (const auto& c : part.competences()) h += "<li>" + Escape(c) + "</li>\n";
      h += "</ul>\n";
    }
    h += "<table>\n<caption>Équipements soutenus par " + Escape(part.display_name()) +
         "</caption>\n<thead><tr><th scope=\"col\">Équipement</th><th scope=\"col\">Type</th>"
         "<th scope=\"col\">Places</th></tr></thead>\n<tbody>\n";
    for (const auto& f : part.facilities()) {
      h += "<tr><td>" + Escape(f.display_name()) + "</td><td>" + Escape(f.kind()) + "</td><td>" +
           std::to_string(f.capacity()) + "</td></tr>\n";
    }
    if (part.facilities().empty()) h += "<tr><td colspan=\"3\">Aucun</td></tr>\n";
    h += "</tbody>\n</table>\n";
    if (part.actions().empty()) {
      h += "<p>Aucune action petite enfance pilotée.</p>\n";
    } else {
      h += "<p>Actions petite enfance pilotées :</p>\n<ul>\n";
      for (const auto& a : part.actions()) h += "<li>" + Escape(a) + "</li>\n";
      h += "</ul>\n";
    }
  }
  h += "</section>\n";

  // Data exchanges.
  const auto& x = report.exchanges();
  h += "<section id=\"echanges\">\n<h2>Échanges de données</h2>\n";
  h += "<table>\n<caption>Demandes d'échange de données au titre de la convention, par "
       "état</caption>\n<thead><tr><th scope=\"col\">État</th><th scope=\"col\">Demandes</th>"
       "</tr></thead>\n<tbody>\n";
  const std::map<std::string, int> states(x.by_state().begin(), x.by_state().end());
  for (const auto& [state, count] : states) {
    h += "<tr><td>" + Escape(ExchangeStateLabel(state)) + "</td><td>" + std::to_string(count) +
         "</td></tr>\n";
  }
  if (states.empty()) h += "<tr><td colspan=\"2\">Aucune demande</td></tr>\n";
  h += "</tbody>\n</table>\n";
  const std::map<std::string, int> opinions(x.opinions().begin(), x.opinions().end());
  if (!opinions.empty()) {
    h += "<p>Avis des délégués à la protection des données : ";
    bool first = true;
    for (const auto& [verdict, count] : opinions) {
      h += std::string(first ? "" : ", ") + Escape(VerdictLabel(verdict)) + " (" +
           std::to_string(count) + ")";
      first = false;
    }
    h += ".</p>\n";
  }
  h += "<h3>Consentements en vigueur</h3>\n";
  if (x.active().empty()) {
    h += "<p>Aucun.</p>\n";
  } else {
    h += "<ul>\n";
    for (const auto& a : x.active()) {
      h += "<li>" + Escape(a.title()) + " : de " + Escape(a.requester()) + " à " +
           Escape(a.holder()) + "</li>\n";
    }
    h += "</ul>\n";
  }
  h += "</section>\n</main>\n</body>\n</html>\n";
  return h;
}

}  // namespace ctg::reporting
