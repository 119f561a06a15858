#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/db.h"
#include "ctg/reporting/v1/reporting.pb.h"

namespace ctg::reporting {

// The named statements of agreements and transmissions (for the pool).
const std::vector<PreparedStatement>& TransmissionStatements();

// Agreements recorded for report `report_id`, in the order they were recorded (collectivity
// names not filled in).
std::vector<v1::Agreement> AgreementsOf(pqxx::transaction_base& tx, const std::string& report_id);

// The transmission of report `report_id`, if it was sent.
std::optional<v1::Transmission> TransmissionOf(pqxx::transaction_base& tx,
                                               const std::string& report_id);

// The manifest of a package sent to the CDSF (JSON, in French field values): the report, the
// sender, the recipient, the channel and each artefact's name, size and SHA-256.
std::string PackageManifest(const std::string& report, const std::string& sender,
                            const std::string& recipient, const std::string& channel,
                            const std::string& sent_at,
                            const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace ctg::reporting
