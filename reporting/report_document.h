#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ctg/reporting/v1/reporting.pb.h"

namespace ctg::reporting {

// A report as a French document: the parts, headings, sentences, tables and charts that every
// rendition shows, in order. Built once from a Report (BuildReportDocument, the one place that
// words a report for French institutions); the HTML and PDF renderers only lay it out, so the
// two renditions cannot say different things. Text is plain (renderers escape it).

// A table row; `emphasis` marks a total ("Ensemble du plan"), `demonstration` a row that shows
// demonstration data (the PDF then says so on the row's page).
struct DocRow {
  std::vector<std::string> cells;
  bool emphasis = false;
  bool demonstration = false;
};

struct DocTable {
  std::string caption;
  std::vector<std::string> header;
  // Relative column widths (the PDF's layout; same size as `header`).
  std::vector<double> widths;
  std::vector<DocRow> rows;
  // Shown in one row spanning the columns when there are no rows ("Aucun").
  std::string empty_text;
};

// One bar of a horizontal bar chart: its label, its value on the chart's 0–`max` scale
// (clamped when drawn), and the value as written ("37,5 %").
struct DocBar {
  std::string label;
  double value = 0;
  std::string value_text;
};

// A chart drawn as vectors: horizontal bars (one per label, on a 0–`max` scale) or a line
// through a series (`bars` in period order, the scale fitted to the values). Its text
// alternative is `description`, which gives the data (or points to the table that does).
struct DocChart {
  enum class Style { kBars, kLine };
  Style style = Style::kBars;
  std::string title;
  std::string description;
  double max = 100;
  std::vector<DocBar> bars;
};

// The lowest and highest values of a chart's bars or points, each pushed 1 away when they are
// equal (a flat series still has a scale to be drawn on). `chart` must have a bar.
std::pair<double, double> ValueRange(const DocChart& chart);

struct DocBlock {
  enum class Kind { kHeading, kParagraph, kList, kTable, kChart };
  Kind kind = Kind::kParagraph;
  // Headings: 1 (the title), 2 (a part), 3 (within a part).
  int level = 2;
  // A part's heading: the link target its table-of-contents entry points to ("parties").
  std::string anchor;
  // Paragraphs: an optional lead-in in bold ("Données de démonstration :"), then the text;
  // `note` frames it (a notice).
  std::string lead;
  std::string text;
  bool note = false;
  std::vector<std::string> items;  // lists
  DocTable table;
  DocChart chart;
  // The block shows demonstration data.
  bool demonstration = false;
};

struct TocEntry {
  std::string anchor;
  std::string title;
};

struct ReportDocument {
  std::string title;
  // "Bilan intermédiaire 2027 — Val de Garonne Agglomération" (PDF metadata subject).
  std::string subject;
  // When the report was made, ISO 8601 UTC ("2027-07-01T09:30:00Z"; empty if unknown): the PDF's
  // creation date, so the same report renders to the same bytes.
  std::string created;
  // BCP 47 language of the whole document.
  std::string language = "fr-FR";
  // The title page's blocks (title, what the report is, cut-off, notices), before the table of
  // contents.
  std::vector<DocBlock> front;
  std::vector<TocEntry> toc;
  // The parts, each opened by a level-2 heading whose anchor is in `toc`.
  std::vector<DocBlock> body;
};

// The document a report reads as.
ReportDocument BuildReportDocument(const v1::Report& report);

// "1er décembre 2026", "15 août 2026" (dates in documents for French institutions).
std::string FrenchDate(const google::type::Date& date);

// A number as French writes it: decimal comma, at most `decimals` digits after it, no trailing
// zeros ("62,5", "40").
std::string FrenchDecimal(double value, int decimals = 1);

}  // namespace ctg::reporting
