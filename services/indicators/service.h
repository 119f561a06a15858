#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "common/db.h"
#include "common/rpc.h"
#include "common/server.h"
#include "ctg/indicators/v1/indicators.ctg.h"
#include "indicators/access.h"
#include "indicators/indicator_repository.h"
#include "indicators/indicator_rules.h"
#include "indicators/territories.h"

namespace ctg::indicators {

// The indicators API (convention art. 11 and art. 3): definitions, values and their bulk
// ingestion, derived indicators, territorial queries and data quality. Territories and
// conventions are read from the partners service (PartnersDirectory) before any database
// connection is taken. The roles of each RPC are declared in indicators.proto; which
// territories a caller reads and writes is the rule of access.h.
class IndicatorService final : public v1::IndicatorServiceBase {
 public:
  IndicatorService(ConnectionPool& pool, UnaryRunner& runner,
                   std::unique_ptr<PartnersDirectory> directory)
      : v1::IndicatorServiceBase(runner), pool_(pool), directory_(std::move(directory)) {}

  void CreateIndicator(const CallContext& call, const v1::CreateIndicatorRequest& req,
                       v1::Indicator& resp) override;
  void GetIndicator(const CallContext& call, const v1::GetIndicatorRequest& req,
                    v1::Indicator& resp) override;
  void ListIndicators(const CallContext& call, const v1::ListIndicatorsRequest& req,
                      v1::ListIndicatorsResponse& resp) override;
  void UpdateIndicator(const CallContext& call, const v1::UpdateIndicatorRequest& req,
                       v1::Indicator& resp) override;
  // Implemented in ingestion.cc.
  void IngestValues(const CallContext& call, RequestStream& requests,
                    v1::IngestValuesResponse& resp) override;
  void ImportValues(const CallContext& call, const v1::ImportValuesRequest& req,
                    v1::IngestValuesResponse& resp) override;
  void ExportValues(const CallContext& call, const v1::ExportValuesRequest& req,
                    v1::ExportedValues& resp) override;
  // Implemented in queries.cc.
  void GetSeries(const CallContext& call, const v1::GetSeriesRequest& req,
                 v1::Series& resp) override;
  void CompareCommunes(const CallContext& call, const v1::CompareCommunesRequest& req,
                       v1::CommuneComparison& resp) override;
  void GetProgress(const CallContext& call, const v1::GetProgressRequest& req,
                   v1::Progress& resp) override;
  void GetQualityReport(const CallContext& call, const v1::GetQualityReportRequest& req,
                        v1::QualityReport& resp) override;

 private:
  // The registry snapshot and the caller's scope in it (no connection held).
  struct CallerView {
    std::shared_ptr<const TerritoryDirectory> directory;
    std::shared_ptr<const TerritoryScope> scope;
  };
  CallerView ViewOf(const Principal& principal);
  // The territory `code` (request field `field`) when the caller reads it; NOT_FOUND word for
  // word as for an unknown code otherwise (AIP-211).
  static const Territory& ReadableTerritory(const CallerView& view, const std::string& code,
                                            const std::string& field);
  // The current definition named `name` ("indicators/{code}", request field `field`).
  v1::Indicator LoadIndicator(const std::string& name, const std::string& field);
  // The series of `indicator` on `territory` over [from, to] (ordinals), evaluated when derived;
  // a measured indicator's values already read (`prefetched`) are used as they are.
  std::vector<v1::SeriesPoint> SeriesOf(const v1::Indicator& indicator,
                                        const TerritoryDirectory& directory,
                                        const Territory& territory, int from, int to,
                                        int64_t as_of_micros,
                                        std::vector<StoredValue>* prefetched = nullptr);
  // The definition of `code` (named `name` in errors) with its values on `territories` over
  // [first, last] in one statement (queries.cc); NOT_FOUND, or INVALID_ARGUMENT on
  // `period_field` when the indicator's periodicity is not `periodicity`.
  std::pair<v1::Indicator, std::vector<StoredValue>> FindWithValues(
      const std::string& code, const std::string& name, const std::vector<std::string>& territories,
      Periodicity periodicity, int first, int last, int64_t as_of, const std::string& period_field);
  // Validates, writes with COPY and commits the values `next` yields (ingestion.cc): all or
  // nothing. `next` returns false at the end; `row_field` names row i in violations
  // ("values[i]").
  void IngestBatch(const CallContext& call, const std::string& batch_id,
                   const std::function<bool(v1::ValueInput*)>& next,
                   const std::function<std::string(int64_t)>& row_field,
                   v1::IngestValuesResponse& resp);

  ConnectionPool& pool_;
  std::unique_ptr<PartnersDirectory> directory_;
  // Scopes computed on the current registry snapshot, by organisation and roles: a scope only
  // changes with the snapshot, and computing it walks every convention.
  std::mutex scopes_mu_;
  std::shared_ptr<const TerritoryDirectory> scopes_snapshot_;
  std::map<std::string, std::shared_ptr<const TerritoryScope>> scopes_;
};

// Everything the runtime needs to host the indicators service. The partners service address
// comes from the `partners` entry of --backends (CTG_BACKENDS). `directory_ttl` is how long a
// snapshot of the registry is used (tests pass 0: every call reads it).
ServiceSpec IndicatorServiceSpec(
    std::chrono::milliseconds directory_ttl = std::chrono::seconds(10));

}  // namespace ctg::indicators
