#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/db.h"
#include "reporting/job_queue.h"

namespace ctg::reporting {

// One rendition of a report.
struct ArtefactFile {
  std::string name;        // "report.json"
  std::string media_type;  // "application/json"
  std::string content;
  std::string sha256;  // hex, of `content`
};

// A frozen report and its artefacts (metadata only when read back with FindReport).
struct StoredReport {
  std::string id;
  std::string job_id;
  JobKey key;
  int version = 1;
  TimePoint created_at;
  bool demonstration = false;
  std::vector<ArtefactFile> artefacts;  // content empty unless read with ReadArtefact
  std::vector<int64_t> sizes;           // the artefacts' sizes, same order
};

// The named statements of the report store (for the pool).
const std::vector<PreparedStatement>& ReportStoreStatements();

// Writes `report` and its artefacts (sha256 computed here) within `tx`.
void SaveReport(pqxx::transaction_base& tx, StoredReport& report);

// The report `id` with its artefacts' metadata, or nothing.
std::optional<StoredReport> FindReport(pqxx::transaction_base& tx, const std::string& id);

// The bytes of artefact `name` of report `id`, or nothing.
std::optional<std::string> ReadArtefact(pqxx::transaction_base& tx, const std::string& id,
                                        const std::string& name);

}  // namespace ctg::reporting
