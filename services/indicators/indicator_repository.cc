#include "indicators/indicator_repository.h"

#include <google/protobuf/util/time_util.h>

#include <cstdio>
#include <ctime>
#include <tuple>

namespace ctg::indicators {
namespace {

constexpr char kValueColumns[] =
    "indicator, territory, period, period_ord, value, status, source, demonstration, "
    "indicator_version, batch_id::text, author, extract(epoch FROM record_time)::float8, "
    "count(*) OVER (PARTITION BY indicator, territory, period_ord) - 1";

// The newest row of each period of one indicator ($I) on one territory ($T) over
// [$3, $4], recorded at or before the instant $5 (microseconds). Equalities on the leading index
// columns keep the index order, so neither the window nor DISTINCT ON sorts.
std::string SeriesSql(const std::string& indicator, const std::string& territory) {
  return std::string("SELECT DISTINCT ON (period_ord) ") + kValueColumns +
         " FROM indicator_values WHERE indicator = " + indicator + " AND territory = " + territory +
         " AND period_ord BETWEEN $3 AND $4 AND record_time <= 'epoch'::timestamptz + "
         "$5::bigint * interval '1 microsecond' ORDER BY period_ord, seq DESC";
}

// The newest row of each key over every territory (export): `where` filters.
std::string ValuesAsOfSql(const std::string& where) {
  return std::string("SELECT DISTINCT ON (indicator, territory, period_ord) ") + kValueColumns +
         " FROM indicator_values WHERE " + where +
         " ORDER BY indicator, territory, period_ord, seq DESC";
}

const std::vector<PreparedStatement>& Statements() {
  // Several indicators ($1) and territories ($2): one ordered index probe per pair (ANY over
  // the arrays would sort every row read, twice; ~3x slower on 43 communes).
  static const std::string values_as_of =
      "SELECT v.* FROM unnest($1::text[]) AS i(code) CROSS JOIN unnest($2::text[]) AS "
      "t(code) CROSS JOIN LATERAL (" +
      SeriesSql("i.code", "t.code") + ") v";
  static const std::string values_series = SeriesSql("$1", "$2");
  // The definition, then its values beside it (a row with NULL values when there are none): one
  // round trip for a whole series or comparison. The definition is sent on the first row only.
  static const std::string find_with_values =
      "SELECT CASE WHEN row_number() OVER () = 1 THEN d.body END, v.* FROM (SELECT v.body FROM "
      "indicators i JOIN indicator_versions v ON "
      "v.code = i.code AND v.version = i.current_version WHERE i.code = $1) d LEFT JOIN "
      "(SELECT w.* FROM unnest($2::text[]) AS t(code) CROSS JOIN LATERAL (" +
      SeriesSql("$1", "t.code") + ") w) v ON true";
  static const std::string find_with_series =
      "SELECT d.body, v.* FROM (SELECT v.body FROM indicators i JOIN indicator_versions v ON "
      "v.code = i.code AND v.version = i.current_version WHERE i.code = $1) d LEFT JOIN LATERAL "
      "(" +
      values_series + ") v ON true";
  static const std::string values_all = ValuesAsOfSql(
      "(cardinality($1::text[]) = 0 OR indicator = ANY ($1::text[])) AND record_time <= "
      "'epoch'::timestamptz + $2::bigint * interval '1 microsecond'");
  static const std::vector<PreparedStatement> statements = {
      {"ind_find",
       "SELECT v.body FROM indicators i JOIN indicator_versions v ON v.code = i.code AND "
       "v.version = CASE WHEN $2 = 0 THEN i.current_version ELSE $2 END WHERE i.code = $1"},
      {"ind_lock", "SELECT current_version FROM indicators WHERE code = $1 FOR UPDATE"},
      {"ind_insert_code", "INSERT INTO indicators (code, current_version) VALUES ($1, 1)"},
      {"ind_bump", "UPDATE indicators SET current_version = $2 WHERE code = $1"},
      {"ind_insert_version",
       "INSERT INTO indicator_versions (code, version, kind, fields, body, author, create_time) "
       "VALUES ($1, $2, $3, $4::smallint[], $5, $6, "
       "'epoch'::timestamptz + $7::bigint * interval '1 microsecond')"},
      {"ind_list",
       "SELECT i.seq, v.body FROM indicators i JOIN indicator_versions v ON v.code = i.code AND "
       "v.version = i.current_version WHERE i.seq > $1 AND ($2 = 0 OR v.kind = $2) AND "
       "($3 = 0 OR $3::smallint = ANY (v.fields)) ORDER BY i.seq LIMIT $4"},
      {"ind_all",
       "SELECT v.body FROM indicators i JOIN indicator_versions v ON v.code = i.code AND "
       "v.version = i.current_version ORDER BY i.code"},
      {"values_as_of", values_as_of.c_str()},
      {"values_series", values_series.c_str()},
      {"find_with_values", find_with_values.c_str()},
      {"find_with_series", find_with_series.c_str()},
      {"values_all", values_all.c_str()},
      {"batch_claim",
       "INSERT INTO ingest_batches (author, batch_id, fingerprint, values_written, commit_time) "
       "VALUES ($1, $2::uuid, '', 0, 'epoch'::timestamptz + $3::bigint * interval "
       "'1 microsecond') ON CONFLICT DO NOTHING RETURNING 1"},
      {"batch_find",
       "SELECT encode(fingerprint, 'hex'), values_written, "
       "extract(epoch FROM commit_time)::float8 FROM ingest_batches "
       "WHERE author = $1 AND batch_id = $2::uuid FOR UPDATE"},
      {"batch_complete",
       "UPDATE ingest_batches SET fingerprint = decode($3, 'hex'), values_written = $4 "
       "WHERE author = $1 AND batch_id = $2::uuid"},
  };
  return statements;
}

v1::Indicator ParseBody(const pqxx::field& field) {
  const pqxx::binarystring bytes(field);
  v1::Indicator indicator;
  if (!indicator.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    throw std::runtime_error("unreadable indicator definition in the database");
  }
  return indicator;
}

// The value columns of `row` from column `at` on (kValueColumns' order).
StoredValue ValueFromRow(const pqxx::row& row, int at = 0) {
  StoredValue s;
  s.indicator = row[at].as<std::string>();
  s.territory = row[at + 1].as<std::string>();
  s.period = row[at + 2].as<std::string>();
  s.period_ord = row[at + 3].as<int>();
  s.value = row[at + 4].as<double>();
  s.status = static_cast<v1::ValueStatus>(row[at + 5].as<int>());
  s.source = static_cast<v1::Source>(row[at + 6].as<int>());
  s.demonstration = row[at + 7].as<bool>();
  s.indicator_version = row[at + 8].as<int>();
  s.batch_id = row[at + 9].as<std::string>();
  s.author = row[at + 10].as<std::string>();
  s.record_time = TimestampFromEpoch(row[at + 11]);
  s.revisions = row[at + 12].as<int>();
  return s;
}

}  // namespace

const std::vector<PreparedStatement>& IndicatorStatements() { return Statements(); }

int64_t AsOfMicros(const google::protobuf::Timestamp& as_of,
                   std::chrono::system_clock::time_point now) {
  if (as_of.seconds() == 0 && as_of.nanos() == 0) return MicrosSinceEpoch(now);
  return google::protobuf::util::TimeUtil::TimestampToMicroseconds(as_of);
}

std::optional<v1::Indicator> IndicatorRepository::Find(const std::string& code, int version) {
  auto r = tx_.exec_prepared("ind_find", code, version);
  if (r.empty()) return std::nullopt;
  return ParseBody(r[0][0]);
}

std::optional<int> IndicatorRepository::LockCurrentVersion(const std::string& code) {
  auto r = tx_.exec_prepared("ind_lock", code);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<int>();
}

void IndicatorRepository::InsertVersion(const v1::Indicator& indicator, const std::string& author,
                                        std::chrono::system_clock::time_point now, bool new_code) {
  if (new_code) {
    tx_.exec_prepared("ind_insert_code", indicator.code());
  } else {
    tx_.exec_prepared("ind_bump", indicator.code(), indicator.version());
  }
  std::vector<std::string> fields;
  for (int f : indicator.fields()) fields.push_back(std::to_string(f));
  const std::string body = indicator.SerializeAsString();
  tx_.exec_prepared("ind_insert_version", indicator.code(), indicator.version(),
                    static_cast<int>(indicator.kind()), PgArrayLiteral(fields),
                    pqxx::binarystring(body.data(), body.size()), author, MicrosSinceEpoch(now));
}

Page<v1::Indicator> IndicatorRepository::List(v1::IndicatorKind kind, int field,
                                              const PageRequest& page) {
  Page<v1::Indicator> out;
  auto r = tx_.exec_prepared("ind_list", page.after, static_cast<int>(kind), field, page.size + 1);
  for (const auto& row : r) {
    if (static_cast<int>(out.items.size()) == page.size) {
      out.more = true;
      break;
    }
    out.last_seq = row[0].as<int64_t>();
    out.items.push_back(ParseBody(row[1]));
  }
  return out;
}

std::vector<v1::Indicator> IndicatorRepository::AllCurrent() {
  std::vector<v1::Indicator> out;
  for (const auto& row : tx_.exec_prepared("ind_all")) out.push_back(ParseBody(row[0]));
  return out;
}

std::vector<StoredValue> IndicatorRepository::ValuesAsOf(
    const std::vector<std::string>& indicators, const std::vector<std::string>& territories,
    int from_ord, int to_ord, int64_t as_of_micros) {
  std::vector<StoredValue> out;
  auto r = indicators.size() == 1 && territories.size() == 1
               ? tx_.exec_prepared("values_series", indicators[0], territories[0], from_ord, to_ord,
                                   as_of_micros)
               : tx_.exec_prepared("values_as_of", PgArrayLiteral(indicators),
                                   PgArrayLiteral(territories), from_ord, to_ord, as_of_micros);
  out.reserve(r.size());
  for (const auto& row : r) out.push_back(ValueFromRow(row));
  return out;
}

std::optional<std::pair<v1::Indicator, std::vector<StoredValue>>>
IndicatorRepository::FindWithValues(const std::string& code,
                                    const std::vector<std::string>& territories, int from_ord,
                                    int to_ord, int64_t as_of_micros) {
  auto r = territories.size() == 1
               ? tx_.exec_prepared("find_with_series", code, territories[0], from_ord, to_ord,
                                   as_of_micros)
               : tx_.exec_prepared("find_with_values", code, PgArrayLiteral(territories), from_ord,
                                   to_ord, as_of_micros);
  if (r.empty()) return std::nullopt;
  std::pair<v1::Indicator, std::vector<StoredValue>> out;
  out.first = ParseBody(r[0][0]);
  for (const auto& row : r) {
    if (!row[1].is_null()) out.second.push_back(ValueFromRow(row, 1));
  }
  return out;
}

std::vector<StoredValue> IndicatorRepository::AllValuesAsOf(
    const std::vector<std::string>& indicators, int64_t as_of_micros) {
  std::vector<StoredValue> out;
  auto r = tx_.exec_prepared("values_all", PgArrayLiteral(indicators), as_of_micros);
  out.reserve(r.size());
  for (const auto& row : r) out.push_back(ValueFromRow(row));
  return out;
}

std::optional<StoredBatch> IndicatorRepository::ClaimBatch(
    const std::string& author, const std::string& batch_id,
    std::chrono::system_clock::time_point now) {
  if (!tx_.exec_prepared("batch_claim", author, batch_id, MicrosSinceEpoch(now)).empty()) {
    return std::nullopt;
  }
  auto r = tx_.exec_prepared("batch_find", author, batch_id);
  if (r.empty()) throw std::runtime_error("ingest batch vanished while claimed");
  StoredBatch b;
  b.fingerprint = r[0][0].as<std::string>();
  b.values_written = r[0][1].as<int64_t>();
  b.commit_time = TimestampFromEpoch(r[0][2]);
  return b;
}

void IndicatorRepository::CompleteBatch(const std::string& author, const std::string& batch_id,
                                        const std::string& fingerprint, int64_t values_written) {
  tx_.exec_prepared("batch_complete", author, batch_id, fingerprint, values_written);
}

ValueWriter::ValueWriter(pqxx::transaction_base& tx, const std::string& batch_id,
                         const std::string& author,
                         std::chrono::system_clock::time_point record_time)
    : stream_(tx, "indicator_values",
              std::vector<std::string>{"indicator", "territory", "period", "period_ord", "value",
                                       "status", "source", "demonstration", "indicator_version",
                                       "batch_id", "author", "record_time"}),
      batch_id_(batch_id),
      author_(author),
      record_time_(TimestampCopyText(MicrosSinceEpoch(record_time))) {}

void ValueWriter::Write(const std::string& indicator, const std::string& territory,
                        const std::string& period, int period_ord, double value,
                        v1::ValueStatus status, v1::Source source, bool demonstration,
                        int indicator_version) {
  char number_text[32];
  // 17 significant digits: the double read back is the double sent.
  std::snprintf(number_text, sizeof number_text, "%.17g", value);
  const std::string number(number_text);
  const int status_code = static_cast<int>(status);
  const int source_code = static_cast<int>(source);
  const std::string flag = demonstration ? "t" : "f";
  // References only: the strings are not copied into the tuple.
  stream_ << std::forward_as_tuple(indicator, territory, period, period_ord, number, status_code,
                                   source_code, flag, indicator_version, batch_id_, author_,
                                   record_time_);
  ++rows_;
}

void ValueWriter::Complete() { stream_.complete(); }

}  // namespace ctg::indicators
