#pragma once

#include <set>
#include <string>

#include "common/auth.h"
#include "indicators/territories.h"

namespace ctg::indicators {

// The object-level rules of the indicators service, in one place. Which roles may call each
// RPC is declared in indicators.proto and checked by the runtime first; these rules then say
// which territories' values a caller who passed that check may read and write.
//
// - Write (IngestValues, ImportValues): the organisation that is the source of a value, for its
//   own territory (a commune its INSEE code, an EPCI its SIREN and its member communes, a
//   Département its code); a caf_agent of a Caf party to a convention, and the copil_secretariat
//   agents of the organisation holding its secretariat, for the territories the convention
//   covers; a Caf also for its own département.
// - Read (series, comparisons, progress, quality, export): what the caller writes, plus the
//   territories of the conventions its organisation is a party to (caf_agent,
//   collectivity_agent, copil_secretariat), the territories of its département (cdsf,
//   auditor), every territory (service identity).
//
// A territory the caller may not read answers NOT_FOUND, exactly like an unknown one
// (AIP-211); one it reads but may not write answers PERMISSION_DENIED.
struct TerritoryScope {
  bool read_all = false;
  std::set<std::string> read;   // territory codes
  std::set<std::string> write;  // territory codes (always also in `read`)
  std::string departement;      // cdsf/auditor: every territory of this département is read

  bool Reads(const Territory& t) const;
  bool Writes(const Territory& t) const { return write.count(t.code) != 0; }
};

// The scope of `principal` over the territories of `directory`.
TerritoryScope ScopeOf(const Principal& principal, const TerritoryDirectory& directory);

}  // namespace ctg::indicators
