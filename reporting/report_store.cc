#include "reporting/report_store.h"

#include "common/api.h"
#include "common/auth.h"

namespace ctg::reporting {
namespace {

const std::vector<PreparedStatement> kStatements = {
    {"report_insert",
     "INSERT INTO reports (id, job, convention, kind, year, cutoff, version, created_at, "
     "demonstration) VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6::date, $7, 'epoch'::timestamptz "
     "+ $8::bigint * interval '1 microsecond', $9)"},
    {"artefact_insert",
     "INSERT INTO report_artefacts (report, name, media_type, content, sha256) VALUES ($1::uuid, "
     "$2, $3, $4, $5)"},
    {"report_find",
     "SELECT r.id::text, r.job::text, r.convention, r.kind, r.year, r.cutoff::text, r.version, "
     "(extract(epoch FROM r.created_at) * 1000000)::bigint, r.demonstration, "
     "coalesce(array_agg(a.name ORDER BY a.name) FILTER (WHERE a.name IS NOT NULL), '{}'), "
     "coalesce(array_agg(a.media_type ORDER BY a.name) FILTER (WHERE a.name IS NOT NULL), '{}'), "
     "coalesce(array_agg(a.sha256 ORDER BY a.name) FILTER (WHERE a.name IS NOT NULL), '{}'), "
     "coalesce(array_agg(octet_length(a.content)::text ORDER BY a.name) FILTER (WHERE a.name IS "
     "NOT NULL), '{}') "
     "FROM reports r LEFT JOIN report_artefacts a ON a.report = r.id WHERE r.id = $1::uuid "
     "GROUP BY r.id"},
    {"artefact_read", "SELECT content FROM report_artefacts WHERE report = $1::uuid AND name = $2"},
};

}  // namespace

const std::vector<PreparedStatement>& ReportStoreStatements() { return kStatements; }

void SaveReport(pqxx::transaction_base& tx, StoredReport& report) {
  tx.exec_prepared("report_insert", report.id, report.job_id, report.key.convention,
                   static_cast<int>(report.key.kind), report.key.year, report.key.cutoff,
                   report.version, MicrosSinceEpoch(report.created_at), report.demonstration);
  for (auto& a : report.artefacts) {
    a.sha256 = Sha256Hex(a.content);
    tx.exec_prepared("artefact_insert", report.id, a.name, a.media_type,
                     pqxx::binarystring(a.content), a.sha256);
  }
}

std::optional<StoredReport> FindReport(pqxx::transaction_base& tx, const std::string& id) {
  const auto r = tx.exec_prepared("report_find", id);
  if (r.empty()) return std::nullopt;
  const auto& row = r[0];
  StoredReport s;
  s.id = row[0].as<std::string>();
  s.job_id = row[1].as<std::string>();
  s.key.convention = row[2].as<std::string>();
  s.key.kind = static_cast<ReportKind>(row[3].as<int>());
  s.key.year = row[4].as<int>();
  s.key.cutoff = row[5].as<std::string>();
  s.version = row[6].as<int>();
  s.created_at = TimePoint(std::chrono::microseconds(row[7].as<int64_t>()));
  s.demonstration = row[8].as<bool>();
  const auto names = ParsePgArray(row[9]);
  const auto types = ParsePgArray(row[10]);
  const auto hashes = ParsePgArray(row[11]);
  const auto sizes = ParsePgArray(row[12]);
  for (size_t i = 0; i < names.size(); ++i) {
    s.artefacts.push_back({names[i], types[i], "", hashes[i]});
    s.sizes.push_back(std::stoll(sizes[i]));
  }
  return s;
}

std::optional<std::string> ReadArtefact(pqxx::transaction_base& tx, const std::string& id,
                                        const std::string& name) {
  const auto r = tx.exec_prepared("artefact_read", id, name);
  if (r.empty()) return std::nullopt;
  return pqxx::binarystring(r[0][0]).str();
}

}  // namespace ctg::reporting
