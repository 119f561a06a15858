#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include "common/errors.h"
#include "ctg/indicators/v1/indicators.pb.h"
#include "indicators/formula.h"
#include "indicators/indicator_math.h"
#include "indicators/territories.h"

namespace ctg::indicators {

// The rules of indicator definitions and values, in one place (convention art. 11).

// At most this many values in one IngestValues message, and periods in one series.
inline constexpr int kMaxValuesPerMessage = 10000;
inline constexpr int kMaxSeriesPeriods = 400;

// Checks a definition's own fields (not its formula's references): code, label, kind, unit,
// precision, bounds (finite, min <= max, soft within hard), periodicity, level, aggregation
// (required for commune-level indicators), baseline/target dates, linked actions' names, source
// (DERIVED exactly when a formula is set), formula syntax. `prefix` is "indicator.".
void ValidateIndicator(const v1::Indicator& indicator, const std::string& prefix,
                       Violations& violations);

// Checks a derived definition's formula against the catalogue `formulas` (every current code
// -> its formula, "" for a measured indicator): every referenced code exists, and the new
// definition creates no cycle. Records violations on "<prefix>formula".
void CheckFormulaReferences(const v1::Indicator& indicator,
                            const std::map<std::string, std::string>& formulas,
                            const std::string& prefix, Violations& violations);

// The math layer's periodicity and aggregation of a definition.
Periodicity PeriodicityOf(v1::Periodicity periodicity);
Aggregation AggregationOf(v1::Aggregation aggregation);

// What ingestion needs of one definition.
struct DefinitionFacts {
  v1::Indicator indicator;
  Periodicity periodicity = Periodicity::kYearly;
};

// A value checked against its definition and the registry, ready to be written.
struct CheckedValue {
  const DefinitionFacts* definition = nullptr;
  const Territory* territory = nullptr;
  int period_ord = 0;
};

// Checks one incoming value: known, measured (not derived) indicator; known territory of the
// indicator's level; a period of its periodicity; a finite number within the hard bounds; a
// status. Records violations on "<prefix>indicator", "<prefix>territory", ... and returns
// nullopt when any field is bad.
std::optional<CheckedValue> CheckValue(const v1::ValueInput& value,
                                       const std::map<std::string, DefinitionFacts>& definitions,
                                       const TerritoryDirectory& directory,
                                       const std::string& prefix, Violations& violations);

// The code of "indicators/{code}"; a violation on `field` otherwise.
std::optional<std::string> ParseIndicatorName(const std::string& name, const std::string& field,
                                              Violations& violations);

// A period and the periodicity its form says ("2025": yearly, "2025-Q3": quarterly, "2025-07":
// monthly), for a query that reads before it knows the indicator; a violation otherwise.
std::optional<std::pair<Period, Periodicity>> ParseAnyPeriod(const std::string& text,
                                                             const std::string& field,
                                                             Violations& violations);

// Parses a period of the indicator's periodicity for a query field; a violation otherwise.
std::optional<Period> ParseQueryPeriod(const std::string& text, const v1::Indicator& indicator,
                                       const std::string& field, Violations& violations);

}  // namespace ctg::indicators
