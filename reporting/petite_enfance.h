#pragma once

#include <string>

#include "ctg/reporting/v1/reporting.pb.h"

namespace ctg::reporting {

// Where a collectivity sits in the territory: the EPCI (the convention's territory, whose
// indicator values are the territory's) or a commune (INSEE code; its values are its row in the
// indicators' commune comparisons).
struct CollectivityPlace {
  bool is_territory = false;
  std::string insee_code;
};

// Completes an AO collectivity's petite enfance part from the rest of the report (its
// indicators, already gathered as of the cut-off): the diagnosis figures (each petite enfance
// indicator's latest value for the collectivity) and the checklist of the schéma pluriannuel's
// components (décret n° 2025-253, art. D.214-10-1 CASF) the CTG holds for it — the one place
// that rule is read:
//   1. the inventory of the existing offer: facilities it supports are recorded (annexe 2);
//   2. the needs of under-threes and their families: a diagnosis figure is known;
//   3. the zones where supply is insufficient or hard to reach: a petite enfance indicator is
//      compared commune by commune (with a value for its commune, for a commune);
//   4. the multi-year orientations and actions: it pilots a petite enfance action of the plan;
//   5. the evaluation indicators: a petite enfance indicator has a baseline and a target.
// `part` must hold its facilities and actions already.
void CompletePetiteEnfancePart(v1::Report::PetiteEnfancePart& part, const CollectivityPlace& place,
                               const v1::Report& report);

}  // namespace ctg::reporting
