#include "reporting/petite_enfance.h"

#include <algorithm>

namespace ctg::reporting {
namespace {

namespace av1 = ::ctg::action_plan::v1;
namespace iv1 = ::ctg::indicators::v1;

bool IsPetiteEnfance(const v1::Report::IndicatorLine& line) {
  return std::find(line.fields().begin(), line.fields().end(), av1::PETITE_ENFANCE) !=
         line.fields().end();
}

// "TCG, TAUX_AM" (codes, in the report's order).
std::string Codes(const std::vector<std::string>& codes) {
  std::string out;
  for (const auto& c : codes) out += (out.empty() ? "" : ", ") + c;
  return out;
}

void Component(v1::Report::PetiteEnfancePart& part, const char* component, bool covered,
               std::string evidence) {
  auto* c = part.add_schema_components();
  c->set_component(component);
  c->set_covered(covered);
  c->set_evidence(std::move(evidence));
}

}  // namespace

void CompletePetiteEnfancePart(v1::Report::PetiteEnfancePart& part, const CollectivityPlace& place,
                               const v1::Report& report) {
  std::vector<std::string> compared, evaluated;
  for (const auto& line : report.indicators()) {
    if (!IsPetiteEnfance(line)) continue;
    const auto& progress = line.progress();
    if (progress.has_baseline() && progress.has_target()) evaluated.push_back(line.code());
    const auto& communes = line.communes();
    if (communes.reporting_communes() > 0) {
      const bool with_own =
          place.is_territory ||
          std::any_of(communes.communes().begin(), communes.communes().end(),
                      [&](const iv1::CommuneRow& row) {
                        return row.commune() == place.insee_code && row.has_value();
                      });
      if (with_own) compared.push_back(line.code());
    }
    // The collectivity's own latest value.
    auto* figure = part.add_diagnosis();
    figure->set_code(line.code());
    figure->set_label(line.label());
    bool known = false;
    if (place.is_territory && progress.has_latest_value()) {
      figure->set_period(progress.latest_period());
      figure->set_value(progress.latest_value());
      figure->set_demonstration(progress.demonstration());
      known = true;
    } else if (!place.is_territory) {
      for (const auto& row : communes.communes()) {
        if (row.commune() != place.insee_code || !row.has_value()) continue;
        figure->set_period(communes.period());
        figure->set_value(row.value());
        figure->set_demonstration(row.demonstration());
        known = true;
      }
    }
    if (!known) part.mutable_diagnosis()->RemoveLast();
  }
  std::vector<std::string> diagnosed;
  for (const auto& f : part.diagnosis()) diagnosed.push_back(f.code());

  Component(part,
            "Inventaire des équipements, services et modes d'accueil existants pour les enfants "
            "de moins de trois ans",
            part.facilities_size() > 0,
            part.facilities_size() > 0
                ? std::to_string(part.facilities_size()) +
                      " équipement(s) ou service(s) soutenu(s) enregistré(s) (annexe 2)"
                : "aucun équipement ni service soutenu n'est enregistré");
  Component(part, "Besoins des enfants de moins de trois ans et de leurs familles",
            !diagnosed.empty(),
            diagnosed.empty() ? "aucune valeur d'indicateur petite enfance n'est connue pour ce "
                                "territoire à la date d'arrêté des données"
                              : "diagnostic : " + Codes(diagnosed));
  Component(part,
            "Zones géographiques où l'offre d'accueil est insuffisante ou difficilement accessible",
            !compared.empty(),
            compared.empty() ? "aucun indicateur petite enfance n'est comparé commune par commune"
                             : "comparaison des communes : " + Codes(compared));
  Component(part,
            "Orientations et actions pluriannuelles (maintien, développement ou redéploiement de "
            "l'offre, emplois et compétences, familles en difficulté, qualité, investissements, "
            "moyens et calendrier)",
            part.actions_size() > 0,
            part.actions_size() > 0
                ? std::to_string(part.actions_size()) + " action(s) petite enfance pilotée(s)"
                : "aucune action petite enfance du plan n'est pilotée par la collectivité");
  Component(part, "Indicateurs d'évaluation", !evaluated.empty(),
            evaluated.empty()
                ? "aucun indicateur petite enfance n'a de valeur de référence et de cible"
                : "indicateurs avec référence et cible : " + Codes(evaluated));
}

}  // namespace ctg::reporting
