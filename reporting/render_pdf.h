#pragma once

#include <string>

#include "reporting/report_document.h"

namespace ctg::reporting {

// The PDF rendition of a report, drawn with Cairo and Pango: A4 pages in DejaVu Sans (real
// fonts, every accent shaped by Pango); a table of contents whose entries link to their parts
// and give their page, and the same parts as PDF bookmarks; tables that break across pages with
// their caption and header row repeated; charts drawn as vectors; "Page N sur M" and, on every
// page that shows demonstration data, a notice saying so. Tagged for accessibility (cairo 1.16's
// structure tags: H1–H3, P, L/LI, Table/TR/TH/TD with Caption, Figure, TOC/TOCI/Link), with the
// document's language and marked-content flag (which cairo 1.16 cannot set, added by
// CompletePdfCatalog) and
// title, subject, author and dates in its metadata. A table continued on a new page is tagged as
// a table of its own with its header cells, so no page furniture sits inside a structure element.
std::string RenderPdf(const ReportDocument& document);

// Completes the catalog of the PDF in `pdf` with what cairo 1.16 leaves out and accessible PDF
// needs: /Lang (`language`, BCP 47), /MarkInfo << /Marked true >> when it has a structure tree,
// and /ViewerPreferences << /DisplayDocTitle true >> (readers show the title, not the file
// name). Appends an incremental update (a new catalog object, an xref section for it and a
// trailer pointing back to the previous one), so cairo's bytes stay as they are. Throws
// std::runtime_error when `pdf` has no classic xref trailer.
void CompletePdfCatalog(std::string& pdf, const std::string& language);

}  // namespace ctg::reporting
