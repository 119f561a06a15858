#include "partners/ao_rules.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace ctg::partners {

namespace v1 = ::ctg::partners::v1;

namespace {

// Art. 3: planning and quality support above 3,500 inhabitants; schéma pluriannuel and relais
// petite enfance above 10,000 (strictly more in both cases: "plus de").
constexpr int64_t kPlanningThreshold = 3500;
constexpr int64_t kSchemaThreshold = 10000;
// A vintage V of the INSEE legal populations is in force from 1 January of V + 3.
constexpr int kVintageLag = 3;

// "17 833 habitants (population totale, millésime 2023)".
std::string PopulationPhrase(const PopulationInForce& p) {
  return FormatFrenchNumber(p.population) + (p.population > 1 ? " habitants" : " habitant") +
         " (population " + p.kind + ", millésime " + std::to_string(p.vintage) + ")";
}

// "31/12/2025".
std::string FrenchDate(const CivilDate& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d/%02d/%04d", d.day, d.month, d.year);
  return buf;
}

void AddCompetence(v1::AoCompetences& out, v1::AoCompetence competence, std::string reason) {
  auto* held = out.add_competences();
  held->set_competence(competence);
  held->set_reason(std::move(reason));
}

}  // namespace

CivilDate AoRegimeStart() { return CivilDate{2025, 1, 1}; }

CivilDate RelaisPetiteEnfanceStart() { return CivilDate{2026, 1, 1}; }

std::string FormatFrenchNumber(int64_t value) {
  const bool negative = value < 0;
  std::string digits = std::to_string(negative ? -value : value);
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out += ' ';
    out += digits[i];
  }
  return negative ? "-" + out : out;
}

std::optional<PopulationInForce> PopulationAt(
    const google::protobuf::RepeatedPtrField<v1::LegalPopulation>& populations,
    const CivilDate& date) {
  if (populations.empty()) return std::nullopt;
  const v1::LegalPopulation* in_force = nullptr;
  const v1::LegalPopulation* oldest = nullptr;
  for (const auto& p : populations) {
    if (oldest == nullptr || p.vintage() < oldest->vintage()) oldest = &p;
    if (p.vintage() + kVintageLag <= date.year &&
        (in_force == nullptr || p.vintage() > in_force->vintage())) {
      in_force = &p;
    }
  }
  PopulationInForce result;
  const v1::LegalPopulation* chosen = in_force;
  if (chosen == nullptr) {
    chosen = oldest;
    result.no_vintage_in_force = true;
  }
  result.vintage = chosen->vintage();
  if (chosen->totale() > 0) {
    result.population = chosen->totale();
    result.kind = "totale";
  } else {
    result.population = chosen->municipale();
    result.kind = "municipale";
  }
  return result;
}

std::vector<v1::LegalPopulation> SumMemberPopulations(
    const std::vector<v1::Organisation>& members) {
  struct Sum {
    int members = 0;
    int64_t municipale = 0;
    int64_t totale = 0;
    bool totale_known = true;
  };
  std::map<int32_t, Sum> sums;
  for (const auto& m : members) {
    for (const auto& p : m.populations()) {
      auto& s = sums[p.vintage()];
      ++s.members;
      s.municipale += p.municipale();
      s.totale += p.totale();
      if (p.totale() <= 0) s.totale_known = false;
    }
  }
  std::vector<v1::LegalPopulation> out;
  for (const auto& [vintage, s] : sums) {
    if (s.members != static_cast<int>(members.size())) continue;
    v1::LegalPopulation p;
    p.set_vintage(vintage);
    p.set_municipale(s.municipale);
    p.set_totale(s.totale_known ? s.totale : 0);
    out.push_back(p);
  }
  return out;
}

v1::AoCompetences EvaluateAoCompetences(const AoSubject& subject, const CivilDate& date) {
  const auto& asked = subject.organisation;
  v1::AoCompetences out;
  out.set_organisation(asked.name());
  *out.mutable_date() = date.ToProto();

  const bool transferred =
      asked.kind() == v1::COMMUNE && asked.ao_competence_transferred() && subject.epci.has_value();
  const v1::Organisation& holder = transferred ? *subject.epci : asked;

  const auto population = PopulationAt(holder.populations(), date);
  if (population) {
    out.set_population(population->population);
    out.set_population_vintage(population->vintage);
    out.set_population_kind(population->kind);
  }

  if (date < AoRegimeStart()) {
    out.add_notes(
        "Le régime des autorités organisatrices de l'accueil du jeune enfant s'applique à "
        "compter du 1er janvier 2025 (loi pour le plein emploi) : aucune compétence d'AO au " +
        FrenchDate(date) + ".");
    return out;
  }
  if (asked.kind() == v1::EPCI && subject.transferring_members == 0) {
    // Art. 3: the competences belong to the communes, or to their EPCI for those that
    // transferred them; none did, so each commune is its own AO and the EPCI holds nothing.
    out.clear_population();
    out.clear_population_vintage();
    out.clear_population_kind();
    out.add_notes(
        "Aucune des " + std::to_string(std::max(subject.member_count, 0)) +
        " communes membres n'a transféré la compétence d'AO à l'EPCI : chacune l'exerce "
        "elle-même (art. 3) ; l'EPCI n'est autorité organisatrice pour aucune d'elles et ne "
        "détient ni compétence d'AO, ni l'obligation de schéma pluriannuel ou de relais petite "
        "enfance.");
    return out;
  }
  out.set_autorite_organisatrice(holder.name());

  if (transferred) {
    out.add_notes("Compétence d'AO transférée à l'EPCI " + holder.display_name() + " (" +
                  holder.name() + ") : les seuils s'appliquent à la population de l'EPCI.");
  } else if (asked.kind() == v1::COMMUNE && asked.ao_competence_transferred()) {
    // Defensive: the service always provides the EPCI of a transferring commune.
    out.add_notes(
        "Compétence d'AO transférée à l'EPCI, mais l'EPCI n'est pas connu : les seuils "
        "sont appliqués à la population de la commune.");
  }
  if (asked.kind() == v1::EPCI && subject.member_count >= 0 && subject.transferring_members >= 0) {
    out.add_notes(
        std::to_string(subject.transferring_members) + " commune(s) membre(s) sur " +
        std::to_string(subject.member_count) +
        " ont transféré la compétence d'AO à l'EPCI, qui l'exerce pour elles ; les autres "
        "l'exercent elles-mêmes.");
  }
  if (subject.summed_members > 0) {
    out.add_notes(
        "L'EPCI est AO pour les seules communes qui lui ont transféré la compétence : les "
        "seuils s'appliquent à la somme des populations de ces " +
        std::to_string(subject.summed_members) + " communes.");
  }

  if (!population) {
    out.add_notes(
        "Aucune population légale enregistrée : seules les compétences exercées par toute AO, "
        "sans seuil de population, sont déterminées.");
    AddCompetence(out, v1::CENSUS_NEEDS, "Compétence de toute AO, sans seuil de population.");
    AddCompetence(out, v1::INFORM_FAMILIES, "Compétence de toute AO, sans seuil de population.");
    return out;
  }
  if (population->no_vintage_in_force) {
    out.add_notes("Aucun millésime de population légale en vigueur au " + FrenchDate(date) +
                  " : le millésime " + std::to_string(population->vintage) +
                  " (en vigueur à compter du 1er janvier " +
                  std::to_string(population->vintage + kVintageLag) + ") est utilisé à défaut.");
  }
  if (population->kind == "municipale") {
    out.add_notes("Population totale inconnue pour le millésime " +
                  std::to_string(population->vintage) +
                  " : la population municipale est utilisée à défaut (les seuils légaux "
                  "s'appliquent normalement à la population totale).");
  }

  const std::string phrase = PopulationPhrase(*population);
  const std::string any = phrase + " : compétence de toute AO, sans seuil de population";
  AddCompetence(out, v1::CENSUS_NEEDS, any);
  AddCompetence(out, v1::INFORM_FAMILIES, any);
  if (population->population > kPlanningThreshold) {
    const std::string above = phrase + " > " + FormatFrenchNumber(kPlanningThreshold);
    AddCompetence(out, v1::PLAN_DEVELOPMENT, above);
    AddCompetence(out, v1::SUPPORT_QUALITY, above);
  }
  if (population->population > kSchemaThreshold) {
    const std::string above = phrase + " > " + FormatFrenchNumber(kSchemaThreshold);
    out.set_schema_pluriannuel_required(true);
    out.add_notes(above +
                  " : la planification prend la forme du schéma pluriannuel de maintien et de "
                  "développement de l'offre d'accueil du jeune enfant (art. L.214-2 CASF).");
    if (RelaisPetiteEnfanceStart() <= date) {
      out.set_relais_petite_enfance_required(true);
      out.add_notes(above +
                    " : un relais petite enfance est obligatoire depuis le 1er janvier "
                    "2026.");
    } else {
      out.add_notes(above +
                    " : un relais petite enfance sera obligatoire à compter du 1er "
                    "janvier 2026.");
    }
  }
  return out;
}

}  // namespace ctg::partners
