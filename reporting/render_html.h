#pragma once

#include <string>

#include "reporting/report_document.h"

namespace ctg::reporting {

// The accessible HTML rendition of a report (RGAA; criterion 13.3 asks French public bodies for
// an accessible version of the documents they publish): document language set, one h1 and a
// heading per part, a table of contents of links to the parts, data tables with a caption and
// header cells scoped to their columns, charts as inline SVG images with a text alternative
// (their data is in the part's table), no colour carrying meaning on its own, a notice wherever
// demonstration data appears, every text escaped. Self-contained (inline CSS, no script, no
// external resource), so it is frozen with the report like the other artefacts.
std::string RenderHtml(const ReportDocument& document);

}  // namespace ctg::reporting
