// Series, commune comparisons, progress and data quality; derived indicators are evaluated
// here from the values of their inputs, as of the query's instant.
#include <algorithm>
#include <climits>
#include <cmath>
#include <unordered_map>

#include "common/api.h"
#include "indicators/service.h"

namespace ctg::indicators {
namespace {

// A point's value or why it has none.
struct Cell {
  std::optional<double> value;
  std::string missing_reason;
  const StoredValue* stored = nullptr;  // the recorded value (measured indicators)
};

// Evaluates indicators (measured, aggregated to an EPCI, or derived) on territories and period
// ordinals from values read once. Derived definitions are acyclic (checked at definition time);
// the depth guard only protects against a catalogue edited outside the API.
class Evaluator {
 public:
  Evaluator(const std::map<std::string, v1::Indicator>& definitions,
            const TerritoryDirectory& directory, const std::vector<StoredValue>& values)
      : definitions_(definitions), directory_(directory) {
    for (const auto& v : values) stored_[Key(v.indicator, v.territory, v.period_ord)] = &v;
  }

  Cell At(const std::string& code, const std::string& territory, int ord, int depth = 0) {
    const std::string key = Key(code, territory, ord);
    auto memo = memo_.find(key);
    if (memo != memo_.end()) return memo->second;
    Cell cell = Compute(code, territory, ord, depth);
    memo_[key] = cell;
    return cell;
  }

 private:
  static std::string Key(const std::string& code, const std::string& territory, int ord) {
    return code + '\x1f' + territory + '\x1f' + std::to_string(ord);
  }

  class Inputs : public FormulaInputs {
   public:
    Inputs(Evaluator& e, const std::string& territory, int ord, int depth)
        : e_(e), territory_(territory), ord_(ord), depth_(depth) {}
    std::optional<double> Value(const std::string& code) const override {
      return e_.At(code, territory_, ord_, depth_ + 1).value;
    }
    std::vector<std::optional<double>> CommuneValues(const std::string& code) const override {
      std::vector<std::optional<double>> out;
      for (const auto* c : e_.directory_.CommunesOf(territory_)) {
        out.push_back(e_.At(code, c->code, ord_, depth_ + 1).value);
      }
      return out;
    }

   private:
    Evaluator& e_;
    const std::string& territory_;
    int ord_;
    int depth_;
  };

  Cell Compute(const std::string& code, const std::string& territory, int ord, int depth) {
    Cell cell;
    auto def = definitions_.find(code);
    if (def == definitions_.end()) {
      cell.missing_reason = "unknown indicator " + code;
      return cell;
    }
    if (depth > 32) {
      cell.missing_reason = "formula nested too deeply";
      return cell;
    }
    const v1::Indicator& indicator = def->second;
    if (!indicator.formula().empty()) {
      std::string error;
      auto formula = Formula::Parse(indicator.formula(), &error);
      if (!formula) {
        cell.missing_reason = "formula: " + error;
        return cell;
      }
      const Evaluation e = formula->Evaluate(Inputs(*this, territory, ord, depth));
      cell.value = e.value;
      cell.missing_reason = e.missing_reason;
      return cell;
    }
    auto found = stored_.find(Key(code, territory, ord));
    if (found != stored_.end()) {
      cell.value = found->second->value;
      cell.stored = found->second;
      return cell;
    }
    const Territory* t = directory_.Find(territory);
    if (t != nullptr && t->level == v1::EPCI && indicator.level() == v1::COMMUNE) {
      std::vector<CommuneValue> communes;
      for (const auto* c : directory_.CommunesOf(territory)) {
        auto v = stored_.find(Key(code, c->code, ord));
        communes.push_back(
            {c->code, v == stored_.end() ? std::nullopt : std::optional<double>(v->second->value),
             c->population});
      }
      const AggregateResult a = AggregateCommunes(AggregationOf(indicator.aggregation()), communes);
      // A territory's value needs every commune: a partial sum would read as a fall.
      if (a.value && a.reporting < a.total) {
        cell.missing_reason = std::to_string(a.total - a.reporting) + " of " +
                              std::to_string(a.total) + " communes have no value";
        return cell;
      }
      cell.value = a.value;
      cell.missing_reason = a.missing_reason;
      return cell;
    }
    cell.missing_reason = "no value recorded";
    return cell;
  }

  const std::map<std::string, v1::Indicator>& definitions_;
  const TerritoryDirectory& directory_;
  std::unordered_map<std::string, const StoredValue*> stored_;
  std::unordered_map<std::string, Cell> memo_;
};

// The definitions a query on `indicator` needs: itself and, transitively, its formula's inputs.
std::map<std::string, v1::Indicator> DefinitionsFor(const v1::Indicator& indicator,
                                                    IndicatorRepository& repo) {
  std::map<std::string, v1::Indicator> out;
  out[indicator.code()] = indicator;
  if (indicator.formula().empty()) return out;
  std::map<std::string, v1::Indicator> all;
  for (auto& d : repo.AllCurrent()) all[d.code()] = std::move(d);
  std::vector<std::string> pending = {indicator.code()};
  while (!pending.empty()) {
    const std::string code = pending.back();
    pending.pop_back();
    std::string error;
    auto formula = Formula::Parse(out[code].formula(), &error);
    if (!formula) continue;
    for (const auto& ref : formula->references()) {
      if (out.count(ref) || !all.count(ref)) continue;
      out[ref] = all[ref];
      if (!all[ref].formula().empty()) pending.push_back(ref);
    }
  }
  return out;
}

// Every territory a query on `territory` may read values of: itself and its member communes.
std::vector<std::string> TerritoriesFor(const TerritoryDirectory& directory,
                                        const std::string& territory) {
  std::vector<std::string> out = {territory};
  for (const auto* c : directory.CommunesOf(territory)) {
    if (c->code != territory) out.push_back(c->code);
  }
  return out;
}

// The definitions a query needs and the values they read.
struct LoadedValues {
  std::map<std::string, v1::Indicator> definitions;
  std::vector<StoredValue> values;
};

LoadedValues Load(ConnectionPool& pool, const v1::Indicator& indicator,
                  const std::vector<std::string>& territories, int from, int to, int64_t as_of) {
  LoadedValues out;
  if (indicator.formula().empty()) {
    // A measured indicator reads one statement: no transaction block (two round trips saved).
    out.definitions[indicator.code()] = indicator;
    WithSingleStatementRead(pool, [&](pqxx::transaction_base& tx) {
      out.values =
          IndicatorRepository(tx).ValuesAsOf({indicator.code()}, territories, from, to, as_of);
    });
    return out;
  }
  // A derived one reads its inputs' definitions and values in one snapshot.
  WithReadTransaction(pool, [&](pqxx::transaction_base& tx) {
    IndicatorRepository repo(tx);
    out.definitions = DefinitionsFor(indicator, repo);
    std::vector<std::string> measured;
    for (const auto& [code, d] : out.definitions) {
      if (d.formula().empty()) measured.push_back(code);
    }
    out.values = repo.ValuesAsOf(measured, territories, from, to, as_of);
  });
  return out;
}

v1::SeriesPoint PointOf(const Cell& cell, const std::string& period) {
  v1::SeriesPoint p;
  p.set_period(period);
  if (cell.value) {
    p.set_value(*cell.value);
  } else {
    p.set_missing_reason(cell.missing_reason);
  }
  if (cell.stored != nullptr) {
    const StoredValue& s = *cell.stored;
    p.set_status(s.status);
    p.set_revisions(s.revisions);
    p.set_demonstration(s.demonstration);
    auto* prov = p.mutable_provenance();
    prov->set_author(s.author);
    prov->set_source(s.source);
    *prov->mutable_record_time() = s.record_time;
    prov->set_batch_id(s.batch_id);
    prov->set_indicator_version(s.indicator_version);
  }
  return p;
}

bool AnyDemonstration(const std::vector<StoredValue>& values) {
  return std::any_of(values.begin(), values.end(),
                     [](const StoredValue& v) { return v.demonstration; });
}

// The period containing `now` in `periodicity`.
Period CurrentPeriod(std::chrono::system_clock::time_point now, Periodicity periodicity) {
  const CivilDate today = CivilDate::InParis(now);
  return PeriodContaining({today.year, today.month, today.day}, periodicity);
}

std::chrono::system_clock::time_point AsOfTime(int64_t micros) {
  return std::chrono::system_clock::time_point(std::chrono::microseconds(micros));
}

}  // namespace

std::vector<v1::SeriesPoint> IndicatorService::SeriesOf(const v1::Indicator& indicator,
                                                        const TerritoryDirectory& directory,
                                                        const Territory& territory, int from,
                                                        int to, int64_t as_of_micros,
                                                        std::vector<StoredValue>* prefetched) {
  LoadedValues loaded;
  if (prefetched != nullptr && indicator.formula().empty()) {
    loaded.definitions[indicator.code()] = indicator;
    loaded.values = std::move(*prefetched);
  } else {
    loaded =
        Load(pool_, indicator, TerritoriesFor(directory, territory.code), from, to, as_of_micros);
  }
  Evaluator evaluator(loaded.definitions, directory, loaded.values);
  const Periodicity periodicity = PeriodicityOf(indicator.periodicity());
  std::vector<v1::SeriesPoint> points;
  for (int ord = from; ord <= to; ++ord) {
    points.push_back(PointOf(evaluator.At(indicator.code(), territory.code, ord),
                             FormatPeriod(PeriodFromOrdinal(ord, periodicity), periodicity)));
  }
  return points;
}

// The definition of a query's indicator and its values on `territories` over [first, last] of
// `periodicity` (the form of the periods asked), read in one statement; NOT_FOUND for no such
// indicator, INVALID_ARGUMENT (on `period_field`) when the indicator has another periodicity.
std::pair<v1::Indicator, std::vector<StoredValue>> IndicatorService::FindWithValues(
    const std::string& code, const std::string& name, const std::vector<std::string>& territories,
    Periodicity periodicity, int first, int last, int64_t as_of, const std::string& period_field) {
  std::optional<std::pair<v1::Indicator, std::vector<StoredValue>>> found;
  WithSingleStatementRead(pool_, [&](pqxx::transaction_base& tx) {
    found = IndicatorRepository(tx).FindWithValues(code, territories, first, last, as_of);
  });
  if (!found) throw NotFoundError("indicator: " + name + " not found");
  if (PeriodicityOf(found->first.periodicity()) != periodicity) {
    throw ValidationError(period_field, "not a period of the indicator's periodicity (" +
                                            v1::Periodicity_Name(found->first.periodicity()) + ")");
  }
  return std::move(*found);
}

void IndicatorService::GetSeries(const CallContext& call, const v1::GetSeriesRequest& req,
                                 v1::Series& resp) {
  const CallerView view = ViewOf(call.principal);
  const Territory& territory = ReadableTerritory(view, req.territory(), "territory");
  Violations v;
  auto code = ParseIndicatorName(req.indicator(), "indicator", v);
  auto from = ParseAnyPeriod(req.from_period(), "from_period", v);
  auto to = ParseAnyPeriod(req.to_period(), "to_period", v);
  if (from && to && from->second != to->second) {
    v.Add("to_period", "not of the same periodicity as from_period");
  }
  v.ThrowIfAny();
  const Periodicity periodicity = from->second;
  const int first = PeriodOrdinal(from->first, periodicity);
  const int last = PeriodOrdinal(to->first, periodicity);
  if (last < first) v.Add("to_period", "must not be before from_period");
  if (last - first + 1 > kMaxSeriesPeriods) {
    v.Add("to_period", "at most " + std::to_string(kMaxSeriesPeriods) + " periods");
  }
  v.ThrowIfAny();
  const int64_t as_of = AsOfMicros(req.as_of(), call.now);
  auto [indicator, values] =
      FindWithValues(*code, req.indicator(), TerritoriesFor(*view.directory, territory.code),
                     periodicity, first, last, as_of, "from_period");
  resp.set_indicator(indicator.name());
  resp.set_territory(territory.code);
  for (auto& p : SeriesOf(indicator, *view.directory, territory, first, last, as_of, &values)) {
    if (p.demonstration()) resp.set_demonstration(true);
    *resp.add_points() = std::move(p);
  }
  if (indicator.demonstration()) resp.set_demonstration(true);
}

void IndicatorService::CompareCommunes(const CallContext& call,
                                       const v1::CompareCommunesRequest& req,
                                       v1::CommuneComparison& resp) {
  const CallerView view = ViewOf(call.principal);
  const Territory& epci = ReadableTerritory(view, req.epci(), "epci");
  Violations v;
  if (epci.level != v1::EPCI) v.Add("epci", "not an EPCI");
  auto code = ParseIndicatorName(req.indicator(), "indicator", v);
  auto period = ParseAnyPeriod(req.period(), "period", v);
  v.ThrowIfAny();
  const int ord = PeriodOrdinal(period->first, period->second);
  const int64_t as_of = AsOfMicros(req.as_of(), call.now);
  const auto territories = TerritoriesFor(*view.directory, epci.code);
  auto [indicator, values] = FindWithValues(*code, req.indicator(), territories, period->second,
                                            ord, ord, as_of, "period");
  if (indicator.formula().empty() && indicator.level() != v1::COMMUNE) {
    throw ValidationError("indicator", "not a commune-level indicator");
  }
  const bool measured = indicator.formula().empty();
  LoadedValues loaded;
  if (measured) {
    loaded.values = std::move(values);
  } else {
    loaded = Load(pool_, indicator, territories, ord, ord, as_of);
  }
  // A measured indicator's rows are its values as read; a derived one's are evaluated.
  std::optional<Evaluator> evaluator;
  if (!measured) evaluator.emplace(loaded.definitions, *view.directory, loaded.values);
  std::map<std::string_view, const StoredValue*> by_commune;
  if (measured) {
    for (const auto& value : loaded.values) by_commune[value.territory] = &value;
  }
  struct Row {
    const Territory* commune;
    Cell cell;
  };
  std::vector<Row> rows;
  std::vector<CommuneValue> aggregate_input;
  for (const auto* c : view.directory->CommunesOf(epci.code)) {
    Row row{c, {}};
    if (measured) {
      auto found = by_commune.find(c->code);
      if (found != by_commune.end()) {
        row.cell.value = found->second->value;
        row.cell.stored = found->second;
      } else {
        row.cell.missing_reason = "no value recorded";
      }
      aggregate_input.push_back({c->code, row.cell.value, c->population});
    } else {
      row.cell = evaluator->At(indicator.code(), c->code, ord);
    }
    rows.push_back(std::move(row));
  }
  // Highest first, missing values last, ties in code order.
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.cell.value.has_value() != b.cell.value.has_value()) return a.cell.value.has_value();
    return a.cell.value && *a.cell.value > *b.cell.value;
  });
  resp.set_indicator(indicator.name());
  resp.set_epci(epci.code);
  resp.set_period(req.period());
  int reporting = 0, rank = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    auto* out = resp.add_communes();
    out->set_commune(r.commune->code);
    out->set_display_name(r.commune->display_name);
    if (r.cell.stored && r.cell.stored->demonstration) out->set_demonstration(true);
    if (!r.cell.value) {
      out->set_missing_reason(r.cell.missing_reason);
      continue;
    }
    ++reporting;
    const bool tie = i > 0 && rows[i - 1].cell.value && *rows[i - 1].cell.value == *r.cell.value;
    if (!tie) rank = static_cast<int>(i) + 1;
    out->set_value(*r.cell.value);
    out->set_rank(rank);
  }
  Cell total;
  if (measured) {
    const AggregateResult a =
        AggregateCommunes(AggregationOf(indicator.aggregation()), aggregate_input);
    total.value = a.value;
    total.missing_reason = a.missing_reason;
  } else {
    total = evaluator->At(indicator.code(), epci.code, ord);
  }
  if (total.value) {
    resp.set_epci_value(*total.value);
  } else {
    resp.set_epci_missing_reason(total.missing_reason);
  }
  resp.set_reporting_communes(reporting);
  resp.set_total_communes(resp.communes_size());
  resp.set_demonstration(indicator.demonstration() || AnyDemonstration(loaded.values));
}

void IndicatorService::GetProgress(const CallContext& call, const v1::GetProgressRequest& req,
                                   v1::Progress& resp) {
  const CallerView view = ViewOf(call.principal);
  const Territory& territory = ReadableTerritory(view, req.territory(), "territory");
  const v1::Indicator indicator = LoadIndicator(req.indicator(), "indicator");
  const Periodicity periodicity = PeriodicityOf(indicator.periodicity());
  const int64_t as_of = AsOfMicros(req.as_of(), call.now);
  // From the baseline's period (or ten years back) to the period of the instant asked about.
  const int last = PeriodOrdinal(CurrentPeriod(AsOfTime(as_of), periodicity), periodicity);
  int first = last - (periodicity == Periodicity::kMonthly     ? 120
                      : periodicity == Periodicity::kQuarterly ? 40
                                                               : 10);
  if (indicator.has_baseline() && indicator.baseline().date().year() > 0) {
    Period b;
    b.year = indicator.baseline().date().year();
    const int month = std::max(1, indicator.baseline().date().month());
    b.sub = periodicity == Periodicity::kMonthly     ? month
            : periodicity == Periodicity::kQuarterly ? (month - 1) / 3 + 1
                                                     : 0;
    first = std::min(first, PeriodOrdinal(b, periodicity));
  }
  first = std::max(first, last - kMaxSeriesPeriods + 1);
  const auto points = SeriesOf(indicator, *view.directory, territory, first, last, as_of);
  resp.set_indicator(indicator.name());
  resp.set_territory(territory.code);
  if (indicator.has_baseline()) *resp.mutable_baseline() = indicator.baseline();
  if (indicator.has_target()) *resp.mutable_target() = indicator.target();
  for (auto it = points.rbegin(); it != points.rend(); ++it) {
    if (!it->has_value()) continue;
    resp.set_latest_period(it->period());
    resp.set_latest_value(it->value());
    resp.set_demonstration(it->demonstration() || indicator.demonstration());
    if (indicator.has_baseline() && indicator.has_target()) {
      if (auto p = ProgressPercent(indicator.baseline().value(), indicator.target().value(),
                                   it->value())) {
        resp.set_progress_percent(*p);
      }
    }
    break;
  }
}

void IndicatorService::GetQualityReport(const CallContext& call,
                                        const v1::GetQualityReportRequest& req,
                                        v1::QualityReport& resp) {
  const CallerView view = ViewOf(call.principal);
  const Territory& territory = ReadableTerritory(view, req.territory(), "territory");
  const v1::Indicator indicator = LoadIndicator(req.indicator(), "indicator");
  Violations v;
  auto from = ParseQueryPeriod(req.from_period(), indicator, "from_period", v);
  auto to = ParseQueryPeriod(req.to_period(), indicator, "to_period", v);
  if (req.jump_sigmas() < 0 || !std::isfinite(req.jump_sigmas())) {
    v.Add("jump_sigmas", "must be a positive number (0: 3)");
  }
  if (req.stale_after_periods() < 0) v.Add("stale_after_periods", "must be positive (0: 2)");
  v.ThrowIfAny();
  const Periodicity periodicity = PeriodicityOf(indicator.periodicity());
  const int first = PeriodOrdinal(*from, periodicity);
  const int last = PeriodOrdinal(*to, periodicity);
  if (last < first) v.Add("to_period", "must not be before from_period");
  if (last - first + 1 > kMaxSeriesPeriods) {
    v.Add("to_period", "at most " + std::to_string(kMaxSeriesPeriods) + " periods");
  }
  v.ThrowIfAny();
  const int64_t as_of = AsOfMicros(req.as_of(), call.now);
  std::vector<SeriesPoint> series;
  for (const auto& p : SeriesOf(indicator, *view.directory, territory, first, last, as_of)) {
    series.push_back({p.period(), p.has_value() ? std::optional<double>(p.value()) : std::nullopt});
  }
  QualityOptions options;
  if (indicator.bounds().has_soft_min()) options.soft_min = indicator.bounds().soft_min();
  if (indicator.bounds().has_soft_max()) options.soft_max = indicator.bounds().soft_max();
  if (req.jump_sigmas() > 0) options.jump_sigmas = req.jump_sigmas();
  if (req.stale_after_periods() > 0) options.stale_after_periods = req.stale_after_periods();
  options.periodicity = periodicity;
  options.current_period = FormatPeriod(CurrentPeriod(AsOfTime(as_of), periodicity), periodicity);
  resp.set_indicator(indicator.name());
  resp.set_territory(territory.code);
  for (const auto& f : QualityFlags(series, options)) {
    auto* flag = resp.add_flags();
    switch (f.kind) {
      case QualityFlagKind::kMissingPeriod:
        flag->set_kind(v1::MISSING_PERIOD);
        break;
      case QualityFlagKind::kOutOfBounds:
        flag->set_kind(v1::OUT_OF_BOUNDS);
        break;
      case QualityFlagKind::kJump:
        flag->set_kind(v1::JUMP);
        break;
      case QualityFlagKind::kStale:
        flag->set_kind(v1::STALE_SOURCE);
        break;
    }
    flag->set_period(f.period);
    flag->set_detail(f.detail);
  }
}

}  // namespace ctg::indicators
