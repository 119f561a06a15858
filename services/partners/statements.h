#pragma once

#include <vector>

#include "common/db.h"

namespace ctg::partners {

// Named statements of each repository of the partners service (defined at the top of each
// repository's .cc file). PartnerServiceSpec prepares them all on every pooled connection.
const std::vector<PreparedStatement>& OrganisationStatements();
const std::vector<PreparedStatement>& ConventionStatements();
const std::vector<PreparedStatement>& CopilStatements();
const std::vector<PreparedStatement>& FacilityStatements();

}  // namespace ctg::partners
