#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/api.h"
#include "ctg/partners/v1/partners.pb.h"

// Pure rules of the autorité organisatrice de l'accueil du jeune enfant (AO), art. 3 of the
// convention and art. L.214-1-3 CASF (loi pour le plein emploi): which competences a commune or
// EPCI holds at a date, from its legal population. No database access here: the service loads
// the organisations and hands them over.
namespace ctg::partners {

// The legal population applicable at a date.
struct PopulationInForce {
  int64_t population = 0;
  int32_t vintage = 0;
  // "totale", or "municipale" when the totale of that vintage is unknown (0).
  std::string kind;
  // True when no vintage is in force yet at the date and the oldest one was used instead.
  bool no_vintage_in_force = false;
};

// First day of the AO regime (2025-01-01).
CivilDate AoRegimeStart();
// First day of the relais petite enfance duty above 10,000 inhabitants (2026-01-01).
CivilDate RelaisPetiteEnfanceStart();

// The population of `populations` that applies at `date`: the latest vintage V in force
// (V + 3 <= year of the date), its totale or, when the totale is 0, its municipale. When no
// vintage is in force yet, the oldest vintage. nullopt when `populations` is empty.
std::optional<PopulationInForce> PopulationAt(
    const google::protobuf::RepeatedPtrField<::ctg::partners::v1::LegalPopulation>& populations,
    const CivilDate& date);

// The populations of an EPCI computed from its member communes: for each vintage every member
// has, the sum of the members' municipale, and the sum of their totale when every member knows
// it (0 otherwise, so that the municipale is used). Vintages some member lacks are left out, so
// a sum never silently misses a commune. Empty when `members` is empty.
std::vector<::ctg::partners::v1::LegalPopulation> SumMemberPopulations(
    const std::vector<::ctg::partners::v1::Organisation>& members);

// What the AO evaluation needs to know about an organisation.
struct AoSubject {
  // The commune or EPCI asked about.
  ::ctg::partners::v1::Organisation organisation;
  // For a commune that transferred the competence: its EPCI, which holds the competence. Its
  // `populations` must be the ones to apply: recorded, or computed by SumMemberPopulations.
  std::optional<::ctg::partners::v1::Organisation> epci;
  // For the organisation holding the competence when it is an EPCI (asked about, or `epci`
  // above): the number of transferring member communes whose populations were summed (the EPCI
  // is AO for them only, on their population; 0: the EPCI's own populations were used, every
  // member having transferred).
  int summed_members = 0;
  // For an EPCI asked about directly: how many member communes it has and how many transferred
  // the competence to it (-1: unknown, no note). With 0 transferring members the EPCI holds no
  // competence at all (art. 3).
  int member_count = -1;
  int transferring_members = -1;
};

// Evaluates the AO competences of `subject` at `date`: the organisation exercising them, the
// population the thresholds apply to, the competences held (each with a French reason naming
// the population, the vintage and the threshold), the schéma pluriannuel and relais petite
// enfance duties, and French notes (transfer, fallbacks, dates). Before 2025-01-01 no
// competence is held. The organisation must be a COMMUNE or an EPCI (checked by the caller).
::ctg::partners::v1::AoCompetences EvaluateAoCompetences(const AoSubject& subject,
                                                         const CivilDate& date);

// "17 833": an integer with a space every three digits, as written in French texts.
std::string FormatFrenchNumber(int64_t value);

}  // namespace ctg::partners
