#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/api.h"
#include "common/db.h"
#include "ctg/indicators/v1/indicators.pb.h"

namespace ctg::indicators {

namespace v1 = ::ctg::indicators::v1;

// Named statements of the indicators repository (prepared on every pooled connection).
const std::vector<PreparedStatement>& IndicatorStatements();

// One stored value as read back, with its provenance.
struct StoredValue {
  std::string indicator;
  std::string territory;
  std::string period;
  int period_ord = 0;
  double value = 0;
  v1::ValueStatus status = v1::VALUE_STATUS_UNSPECIFIED;
  v1::Source source = v1::SOURCE_UNSPECIFIED;
  bool demonstration = false;
  int indicator_version = 0;
  std::string batch_id;
  std::string author;
  google::protobuf::Timestamp record_time;
  int revisions = 0;  // older rows of the same key known at the instant
};

// A committed ingestion batch.
struct StoredBatch {
  std::string fingerprint;  // hex SHA-256 of the batch's values
  int64_t values_written = 0;
  google::protobuf::Timestamp commit_time;
};

// The instant "as of" queries read at, as a SQL parameter (microseconds since the epoch).
int64_t AsOfMicros(const google::protobuf::Timestamp& as_of,
                   std::chrono::system_clock::time_point now);

// Definitions, values and batches in the indicators schema. Functions take the caller's
// transaction: the service layer owns transaction boundaries.
class IndicatorRepository {
 public:
  explicit IndicatorRepository(pqxx::transaction_base& tx) : tx_(tx) {}

  // The definition `code` at `version` (0: current).
  std::optional<v1::Indicator> Find(const std::string& code, int version = 0);
  // Locks the definition and returns its current version (nullopt: no such code).
  std::optional<int> LockCurrentVersion(const std::string& code);
  // Inserts `indicator` (version, name, etag and update_time already set) as a new code or as
  // the next version of an existing one.
  void InsertVersion(const v1::Indicator& indicator, const std::string& author,
                     std::chrono::system_clock::time_point now, bool new_code);
  Page<v1::Indicator> List(v1::IndicatorKind kind, int field, const PageRequest& page);
  // Every current definition.
  std::vector<v1::Indicator> AllCurrent();

  // The value of each (indicator, territory, period) known at `as_of_micros`, for the given
  // indicators and territories and periods in [from_ord, to_ord] (in no particular order).
  std::vector<StoredValue> ValuesAsOf(const std::vector<std::string>& indicators,
                                      const std::vector<std::string>& territories, int from_ord,
                                      int to_ord, int64_t as_of_micros);
  // The current definition of `code` and, in the same statement (one round trip), its values
  // as ValuesAsOf reads them on `territories` over [from_ord, to_ord]; nullopt when there is no
  // such indicator. The ordinals are those of the periodicity the caller expects: it checks the
  // definition's before using the values.
  std::optional<std::pair<v1::Indicator, std::vector<StoredValue>>> FindWithValues(
      const std::string& code, const std::vector<std::string>& territories, int from_ord,
      int to_ord, int64_t as_of_micros);
  // The same over every territory and period (export); `indicators` empty: all.
  std::vector<StoredValue> AllValuesAsOf(const std::vector<std::string>& indicators,
                                         int64_t as_of_micros);

  // The batch `batch_id` committed by `author`, if any. Locks its key until the transaction
  // ends, so a concurrent re-send waits for the first to finish.
  std::optional<StoredBatch> ClaimBatch(const std::string& author, const std::string& batch_id,
                                        std::chrono::system_clock::time_point now);
  void CompleteBatch(const std::string& author, const std::string& batch_id,
                     const std::string& fingerprint, int64_t values_written);

 private:
  pqxx::transaction_base& tx_;
};

// Writes values with PostgreSQL COPY into indicator_values within the caller's transaction
// (nothing is visible before it commits). Rows are streamed, never buffered whole.
class ValueWriter {
 public:
  ValueWriter(pqxx::transaction_base& tx, const std::string& batch_id, const std::string& author,
              std::chrono::system_clock::time_point record_time);
  // Appends one row.
  void Write(const std::string& indicator, const std::string& territory, const std::string& period,
             int period_ord, double value, v1::ValueStatus status, v1::Source source,
             bool demonstration, int indicator_version);
  // Ends the COPY (throws what the database refused). Must be called before the commit.
  void Complete();
  int64_t rows() const { return rows_; }

 private:
  pqxx::stream_to stream_;
  const std::string batch_id_;
  const std::string author_;
  const std::string record_time_;
  int64_t rows_ = 0;
};

}  // namespace ctg::indicators
