// Bulk ingestion (IngestValues, ImportValues) and the CSV export of values.
#include <charconv>

#include "common/api.h"
#include "common/auth.h"
#include "common/tabular.h"
#include "google/protobuf/util/time_util.h"
#include "indicators/service.h"

namespace ctg::indicators {
namespace {

// The column layout of ExportValues and ImportValues, in this order.
const std::vector<std::string> kCsvHeader = {"indicator", "territory", "period",       "value",
                                             "status",    "source",    "demonstration"};
// A batch reports at most this many rejected rows (InvalidArgumentStatus keeps 50 of them).
constexpr size_t kMaxRejectedRows = 50;

std::string ValueText(double value) {
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);  // shortest round trip
  return std::string(buffer, result.ptr);
}

}  // namespace

void IndicatorService::IngestBatch(const CallContext& call, const std::string& batch_id,
                                   const std::function<bool(v1::ValueInput*)>& next,
                                   const std::function<std::string(int64_t)>& row_field,
                                   v1::IngestValuesResponse& resp) {
  // The registry is read before any connection is taken (no remote call inside a transaction).
  const CallerView view = ViewOf(call.principal);
  const std::string& author = call.principal.subject;
  resp.set_batch_id(batch_id);
  WithTransaction(pool_, [&](pqxx::work& tx) {
    IndicatorRepository repo(tx);
    Sha256Stream fingerprint;
    v1::ValueInput value;
    std::string bytes;
    auto hash = [&] {
      bytes.clear();
      value.SerializeToString(&bytes);
      const uint32_t size = static_cast<uint32_t>(bytes.size());
      fingerprint.Update(std::string_view(reinterpret_cast<const char*>(&size), sizeof size));
      fingerprint.Update(bytes);
    };
    if (auto previous = repo.ClaimBatch(author, batch_id, call.now)) {
      // A re-send: the same values make it a no-op, other values a refusal.
      while (next(&value)) hash();
      if (fingerprint.HexDigest() != previous->fingerprint) {
        throw ValidationError("batch_id",
                              "already used for a batch with other values; use a new batch id");
      }
      resp.set_values_written(previous->values_written);
      resp.set_already_committed(true);
      *resp.mutable_commit_time() = previous->commit_time;
      return;
    }
    std::map<std::string, DefinitionFacts> definitions;
    for (auto& d : repo.AllCurrent()) {
      auto& facts = definitions[d.code()];
      facts.periodicity = PeriodicityOf(d.periodicity());
      facts.indicator = std::move(d);
    }
    ValueWriter writer(tx, batch_id, author, call.now);
    Violations rejected;
    size_t rejected_rows = 0;
    int64_t index = 0;
    for (; next(&value); ++index) {
      hash();
      // Checked without naming the row first: the name is built only for a rejected row.
      Violations unnamed;
      auto checked = CheckValue(value, definitions, *view.directory, "", unnamed);
      if (!checked) {
        if (rejected_rows < kMaxRejectedRows) {
          CheckValue(value, definitions, *view.directory, row_field(index) + ".", rejected);
        }
        ++rejected_rows;
        continue;
      }
      if (!view.scope->Writes(*checked->territory)) {
        throw PermissionDeniedError(row_field(index) + ".territory: " + value.territory() +
                                    " is not a territory the caller records values for");
      }
      if (rejected_rows != 0) continue;  // nothing more is written once a row is refused
      const auto& def = checked->definition->indicator;
      writer.Write(value.indicator(), value.territory(), value.period(), checked->period_ord,
                   value.value(), value.status(),
                   value.source() == v1::SOURCE_UNSPECIFIED ? def.source() : value.source(),
                   value.demonstration(), def.version());
    }
    if (rejected_rows != 0) {
      if (rejected_rows > kMaxRejectedRows) {
        rejected.Add("values", std::to_string(rejected_rows) + " rows rejected in all; the first " +
                                   std::to_string(kMaxRejectedRows) + " are listed");
      }
      rejected.ThrowIfAny();
    }
    writer.Complete();
    repo.CompleteBatch(author, batch_id, fingerprint.HexDigest(), writer.rows());
    resp.set_values_written(writer.rows());
    *resp.mutable_commit_time() = TimestampAt(call.now);
  });
}

void IndicatorService::IngestValues(const CallContext& call, RequestStream& requests,
                                    v1::IngestValuesResponse& resp) {
  v1::IngestValuesRequest message;
  if (!requests.Next(&message)) throw ValidationError("batch_id", "required (empty stream)");
  const std::string batch_id = message.batch_id();
  Violations v;
  if (!IsUuid(batch_id)) v.Add("batch_id", "must be a UUID naming the batch");
  if (message.values_size() > kMaxValuesPerMessage) {
    v.Add("values", "at most " + std::to_string(kMaxValuesPerMessage) + " values per message");
  }
  v.ThrowIfAny();
  int position = 0;
  int64_t message_index = 0;
  bool complete = message.complete();
  auto next = [&](v1::ValueInput* out) -> bool {
    while (position >= message.values_size()) {
      if (!requests.Next(&message)) {
        // gRPC reports a message it refused mid-way like the end of the stream: only the
        // client's own mark says the batch is whole.
        if (!complete) {
          throw ValidationError("complete",
                                "the stream ended without its last message (marked "
                                "complete): nothing was written");
        }
        return false;
      }
      ++message_index;
      position = 0;
      const std::string where = "message " + std::to_string(message_index);
      if (complete) throw ValidationError("complete", where + " follows the last message");
      complete = message.complete();
      if (!message.batch_id().empty() && message.batch_id() != batch_id) {
        throw ValidationError("batch_id", where + " names another batch");
      }
      if (message.values_size() > kMaxValuesPerMessage) {
        throw ValidationError(
            "values", where + " has more than " + std::to_string(kMaxValuesPerMessage) + " values");
      }
    }
    out->Swap(message.mutable_values(position++));
    return true;
  };
  IngestBatch(
      call, batch_id, next, [](int64_t i) { return "values[" + std::to_string(i) + "]"; }, resp);
}

void IndicatorService::ImportValues(const CallContext& call, const v1::ImportValuesRequest& req,
                                    v1::IngestValuesResponse& resp) {
  Violations v;
  if (!IsUuid(req.batch_id())) v.Add("batch_id", "must be a UUID naming the batch");
  if (req.csv().size() > 10 * 1024 * 1024) v.Add("csv", "at most 10 MiB");
  v.ThrowIfAny();
  SheetLimits limits;
  limits.max_rows = 300000;
  limits.max_columns = static_cast<int>(kCsvHeader.size());
  const Sheet sheet = ReadCsv(req.csv(), limits);
  for (const auto& e : sheet.errors) {
    v.Add("csv", "ligne " + std::to_string(e.row) + " : " + e.message);
  }
  v.ThrowIfAny();
  auto cell = [&](const std::map<int, std::string>& row, int column) -> std::string {
    auto it = row.find(column);
    if (it == row.end()) return "";
    return sheet.cells_are_csv_text ? UnescapeCsvText(it->second) : it->second;
  };
  auto header = sheet.cells.find(1);
  for (size_t c = 0; c < kCsvHeader.size(); ++c) {
    if (header == sheet.cells.end() || cell(header->second, static_cast<int>(c)) != kCsvHeader[c]) {
      v.Add(
          "csv", "the first line must be the header " + [] {
            std::string h;
            for (const auto& name : kCsvHeader) h += (h.empty() ? "" : ",") + name;
            return h;
          }());
      break;
    }
  }
  v.ThrowIfAny();
  // Rows are converted first (a cell that is not a number, an unknown status), then go through
  // the same checks and COPY as the stream.
  std::vector<v1::ValueInput> values;
  std::vector<int> lines;
  for (auto it = std::next(header); it != sheet.cells.end(); ++it) {
    const auto& row = it->second;
    const std::string prefix = "values[" + std::to_string(it->first) + "].";
    v1::ValueInput value;
    value.set_indicator(cell(row, 0));
    value.set_territory(cell(row, 1));
    value.set_period(cell(row, 2));
    const std::string number = cell(row, 3);
    double parsed = 0;
    auto result = std::from_chars(number.data(), number.data() + number.size(), parsed);
    if (number.empty() || result.ec != std::errc() || result.ptr != number.data() + number.size()) {
      v.Add(prefix + "value", "not a number");
    }
    value.set_value(parsed);
    v1::ValueStatus status;
    if (!v1::ValueStatus_Parse(cell(row, 4), &status)) v.Add(prefix + "status", "unknown status");
    value.set_status(status);
    v1::Source source = v1::SOURCE_UNSPECIFIED;
    if (!cell(row, 5).empty() && !v1::Source_Parse(cell(row, 5), &source)) {
      v.Add(prefix + "source", "unknown source");
    }
    value.set_source(source);
    const std::string demo = cell(row, 6);
    if (demo != "" && demo != "true" && demo != "false") {
      v.Add(prefix + "demonstration", "true or false");
    }
    value.set_demonstration(demo == "true");
    values.push_back(std::move(value));
    lines.push_back(it->first);
  }
  v.ThrowIfAny();
  size_t position = 0;
  auto next = [&](v1::ValueInput* out) -> bool {
    if (position >= values.size()) return false;
    *out = values[position++];
    return true;
  };
  IngestBatch(
      call, req.batch_id(), next,
      [&](int64_t i) { return "values[" + std::to_string(lines.at(i)) + "]"; }, resp);
}

void IndicatorService::ExportValues(const CallContext& call, const v1::ExportValuesRequest& req,
                                    v1::ExportedValues& resp) {
  const CallerView view = ViewOf(call.principal);
  std::set<std::string> only_territories;
  if (!req.territory().empty()) {
    const Territory& t = ReadableTerritory(view, req.territory(), "territory");
    only_territories.insert(t.code);
    for (const auto* c : view.directory->CommunesOf(t.code)) only_territories.insert(c->code);
  }
  std::vector<std::string> codes;
  if (!req.indicator().empty()) {
    codes.push_back(LoadIndicator("indicators/" + req.indicator(), "indicator").code());
  }
  std::vector<StoredValue> stored;
  WithSingleStatementRead(pool_, [&](pqxx::transaction_base& tx) {
    stored = IndicatorRepository(tx).AllValuesAsOf(codes, AsOfMicros(req.as_of(), call.now));
  });
  std::vector<std::vector<std::string>> rows = {kCsvHeader};
  for (const auto& s : stored) {
    const Territory* t = view.directory->Find(s.territory);
    if (t == nullptr || !view.scope->Reads(*t)) continue;
    if (!only_territories.empty() && only_territories.count(s.territory) == 0) continue;
    rows.push_back({s.indicator, s.territory, s.period, ValueText(s.value),
                    v1::ValueStatus_Name(s.status), v1::Source_Name(s.source),
                    s.demonstration ? "true" : "false"});
  }
  resp.set_content_type("text/csv; charset=utf-8");
  resp.set_filename("indicateurs.csv");
  resp.set_rows(static_cast<int64_t>(rows.size() - 1));
  resp.set_content(WriteCsv(rows));
}

}  // namespace ctg::indicators
