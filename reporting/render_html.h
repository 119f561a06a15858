#pragma once

#include <string>

#include "ctg/reporting/v1/reporting.pb.h"

namespace ctg::reporting {

// The accessible HTML rendition of a report (RGAA; criterion 13.3 asks French public bodies for
// an accessible version of the documents they publish), in French: document language set, one
// h1 and a heading per part, a table of contents of links to the parts, data tables with a
// caption and header cells scoped to their columns, no colour carrying meaning on its own, a
// notice wherever demonstration data appears, every text escaped. Self-contained (inline CSS,
// no script, no external resource), so it is frozen with the report like the other artefacts.
std::string RenderHtml(const v1::Report& report);

// "1 décembre 2026" (dates in reports meant for French institutions).
std::string FrenchDate(const google::type::Date& date);

}  // namespace ctg::reporting
