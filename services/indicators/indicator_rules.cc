#include "indicators/indicator_rules.h"

#include <cmath>

#include "common/api.h"

namespace ctg::indicators {

namespace {

bool IsCode(const std::string& code) {
  if (code.size() < 2 || code.size() > 64 || code[0] < 'A' || code[0] > 'Z') return false;
  for (char c : code) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

void CheckFinite(const v1::Bounds& b, const std::string& prefix, Violations& v) {
  auto check = [&](bool has, double value, const char* name) {
    if (has && !std::isfinite(value)) v.Add(prefix + name, "must be a finite number");
  };
  check(b.has_soft_min(), b.soft_min(), "soft_min");
  check(b.has_soft_max(), b.soft_max(), "soft_max");
  check(b.has_hard_min(), b.hard_min(), "hard_min");
  check(b.has_hard_max(), b.hard_max(), "hard_max");
  if (b.has_soft_min() && b.has_soft_max() && b.soft_min() > b.soft_max()) {
    v.Add(prefix + "soft_max", "must not be below soft_min");
  }
  if (b.has_hard_min() && b.has_hard_max() && b.hard_min() > b.hard_max()) {
    v.Add(prefix + "hard_max", "must not be below hard_min");
  }
  if (b.has_hard_min() && b.has_soft_min() && b.soft_min() < b.hard_min()) {
    v.Add(prefix + "soft_min", "must be within the hard bounds");
  }
  if (b.has_hard_max() && b.has_soft_max() && b.soft_max() > b.hard_max()) {
    v.Add(prefix + "soft_max", "must be within the hard bounds");
  }
}

void CheckDatedValue(bool has, const v1::DatedValue& d, const std::string& field, Violations& v) {
  if (!has) return;
  if (!std::isfinite(d.value())) v.Add(field + ".value", "must be a finite number");
  ParseDate(d.date(), field + ".date", v, true);
}

}  // namespace

Periodicity PeriodicityOf(v1::Periodicity periodicity) {
  switch (periodicity) {
    case v1::MONTHLY:
      return Periodicity::kMonthly;
    case v1::QUARTERLY:
      return Periodicity::kQuarterly;
    default:
      return Periodicity::kYearly;
  }
}

Aggregation AggregationOf(v1::Aggregation aggregation) {
  switch (aggregation) {
    case v1::SUM:
      return Aggregation::kSum;
    case v1::POPULATION_WEIGHTED_MEAN:
      return Aggregation::kPopulationWeightedMean;
    case v1::MIN:
      return Aggregation::kMin;
    case v1::MAX:
      return Aggregation::kMax;
    default:
      return Aggregation::kNone;
  }
}

void ValidateIndicator(const v1::Indicator& ind, const std::string& prefix, Violations& v) {
  if (!IsCode(ind.code())) {
    v.Add(prefix + "code", "must match [A-Z][A-Z0-9_]{1,63}");
  }
  CheckText(ind.label(), prefix + "label", 1, 200, v);
  CheckText(ind.description(), prefix + "description", 0, 4000, v);
  if (!v1::IndicatorKind_IsValid(ind.kind()) || ind.kind() == v1::INDICATOR_KIND_UNSPECIFIED) {
    v.Add(prefix + "kind", "required");
  }
  if (!v1::Unit_IsValid(ind.unit()) || ind.unit() == v1::UNIT_UNSPECIFIED) {
    v.Add(prefix + "unit", "required");
  }
  if (ind.precision() < 0 || ind.precision() > 6) v.Add(prefix + "precision", "must be 0 to 6");
  CheckFinite(ind.bounds(), prefix + "bounds.", v);
  if (!v1::Periodicity_IsValid(ind.periodicity()) ||
      ind.periodicity() == v1::PERIODICITY_UNSPECIFIED) {
    v.Add(prefix + "periodicity", "required");
  }
  if (!v1::TerritorialLevel_IsValid(ind.level()) ||
      ind.level() == v1::TERRITORIAL_LEVEL_UNSPECIFIED) {
    v.Add(prefix + "level", "required");
  }
  if (!v1::Aggregation_IsValid(ind.aggregation())) {
    v.Add(prefix + "aggregation", "unknown value");
  } else if (ind.level() == v1::COMMUNE && ind.aggregation() == v1::AGGREGATION_UNSPECIFIED) {
    v.Add(prefix + "aggregation",
          "required for a commune-level indicator (NONE when not "
          "aggregated to the EPCI)");
  }
  CheckDatedValue(ind.has_baseline(), ind.baseline(), prefix + "baseline", v);
  CheckDatedValue(ind.has_target(), ind.target(), prefix + "target", v);
  for (int i = 0; i < ind.fields_size(); ++i) {
    if (!::ctg::action_plan::v1::InterventionField_IsValid(ind.fields(i)) || ind.fields(i) == 0) {
      v.Add(prefix + "fields[" + std::to_string(i) + "]", "unknown intervention field");
    }
  }
  if (ind.linked_actions_size() > 100) v.Add(prefix + "linked_actions", "at most 100");
  for (int i = 0; i < ind.linked_actions_size() && i < 100; ++i) {
    Violations ignored;
    if (!ParseResourceName(ind.linked_actions(i), "actions", "", ignored)) {
      v.Add(prefix + "linked_actions[" + std::to_string(i) + "]", "must be actions/{uuid}");
    }
  }
  if (!v1::Source_IsValid(ind.source()) || ind.source() == v1::SOURCE_UNSPECIFIED) {
    v.Add(prefix + "source", "required");
  } else if ((ind.source() == v1::DERIVED) != !ind.formula().empty()) {
    v.Add(prefix + "source", "DERIVED exactly when a formula is set");
  }
  if (!ind.formula().empty()) {
    std::string error;
    if (!Formula::Parse(ind.formula(), &error)) v.Add(prefix + "formula", error);
  }
}

void CheckFormulaReferences(const v1::Indicator& ind,
                            const std::map<std::string, std::string>& formulas,
                            const std::string& prefix, Violations& v) {
  if (ind.formula().empty()) return;
  std::string error;
  auto formula = Formula::Parse(ind.formula(), &error);
  if (!formula) return;  // reported by ValidateIndicator
  std::map<std::string, std::set<std::string>> graph;
  for (const auto& [code, text] : formulas) {
    if (text.empty() || code == ind.code()) continue;
    if (auto f = Formula::Parse(text, &error)) graph[code] = f->references();
  }
  graph[ind.code()] = formula->references();
  for (const auto& ref : formula->references()) {
    if (ref != ind.code() && formulas.count(ref) == 0) {
      v.Add(prefix + "formula", "unknown indicator " + ref);
    }
  }
  const auto cycle = FindCycle(graph);
  if (!cycle.empty()) {
    std::string path;
    for (const auto& c : cycle) path += (path.empty() ? "" : " -> ") + c;
    v.Add(prefix + "formula", "refers to itself: " + path);
  }
}

std::optional<CheckedValue> CheckValue(const v1::ValueInput& value,
                                       const std::map<std::string, DefinitionFacts>& definitions,
                                       const TerritoryDirectory& directory,
                                       const std::string& prefix, Violations& v) {
  CheckedValue out;
  bool ok = true;
  auto def = definitions.find(value.indicator());
  if (def == definitions.end()) {
    v.Add(prefix + "indicator", "unknown indicator");
    ok = false;
  } else if (!def->second.indicator.formula().empty()) {
    v.Add(prefix + "indicator", "a derived indicator is computed, not recorded");
    ok = false;
  } else {
    out.definition = &def->second;
  }
  out.territory = directory.Find(value.territory());
  if (out.territory == nullptr) {
    v.Add(prefix + "territory", "unknown territory code");
    ok = false;
  } else if (out.definition && out.territory->level != out.definition->indicator.level()) {
    v.Add(prefix + "territory", "not a territory of the indicator's level (" +
                                    v1::TerritorialLevel_Name(out.definition->indicator.level()) +
                                    ")");
    ok = false;
  }
  if (out.definition) {
    auto period = ParsePeriod(value.period(), out.definition->periodicity);
    if (!period) {
      v.Add(prefix + "period", "not a period of the indicator's periodicity (" +
                                   v1::Periodicity_Name(out.definition->indicator.periodicity()) +
                                   ")");
      ok = false;
    } else {
      out.period_ord = PeriodOrdinal(*period, out.definition->periodicity);
    }
  }
  if (!std::isfinite(value.value())) {
    v.Add(prefix + "value", "must be a finite number");
    ok = false;
  } else if (out.definition) {
    const auto& b = out.definition->indicator.bounds();
    if ((b.has_hard_min() && value.value() < b.hard_min()) ||
        (b.has_hard_max() && value.value() > b.hard_max())) {
      v.Add(prefix + "value", "outside the indicator's hard bounds");
      ok = false;
    }
  }
  if (value.status() != v1::PROVISIONAL && value.status() != v1::FINAL) {
    v.Add(prefix + "status", "PROVISIONAL or FINAL required");
    ok = false;
  }
  if (!v1::Source_IsValid(value.source()) || value.source() == v1::DERIVED) {
    v.Add(prefix + "source", "not a source of a recorded value");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::string> ParseIndicatorName(const std::string& name, const std::string& field,
                                              Violations& v) {
  const std::string prefix = "indicators/";
  if (name.compare(0, prefix.size(), prefix) != 0 || name.size() == prefix.size()) {
    v.Add(field, "must be indicators/{code}");
    return std::nullopt;
  }
  return name.substr(prefix.size());
}

std::optional<std::pair<Period, Periodicity>> ParseAnyPeriod(const std::string& text,
                                                             const std::string& field,
                                                             Violations& v) {
  for (Periodicity p : {Periodicity::kYearly, Periodicity::kQuarterly, Periodicity::kMonthly}) {
    if (auto period = ParsePeriod(text, p)) return std::make_pair(*period, p);
  }
  v.Add(field, "not a period (\"2025\", \"2025-Q3\" or \"2025-07\")");
  return std::nullopt;
}

std::optional<Period> ParseQueryPeriod(const std::string& text, const v1::Indicator& indicator,
                                       const std::string& field, Violations& v) {
  auto period = ParsePeriod(text, PeriodicityOf(indicator.periodicity()));
  if (!period) {
    v.Add(field, "not a period of the indicator's periodicity (" +
                     v1::Periodicity_Name(indicator.periodicity()) + ")");
  }
  return period;
}

}  // namespace ctg::indicators
