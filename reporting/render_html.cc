#include "reporting/render_html.h"

#include <algorithm>
#include <cstdio>

namespace ctg::reporting {
namespace {

std::string Escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void AppendTable(std::string& h, const DocTable& t) {
  h += "<table>\n<caption>" + Escape(t.caption) + "</caption>\n<thead><tr>";
  for (const auto& column : t.header) h += "<th scope=\"col\">" + Escape(column) + "</th>";
  h += "</tr></thead>\n<tbody>\n";
  for (const auto& row : t.rows) {
    h += "<tr>";
    for (size_t i = 0; i < row.cells.size(); ++i) {
      const bool strong = row.emphasis && i == 0;
      h += std::string("<td>") + (strong ? "<strong>" : "") + Escape(row.cells[i]) +
           (strong ? "</strong>" : "") + "</td>";
    }
    h += "</tr>\n";
  }
  if (t.rows.empty() && !t.empty_text.empty()) {
    h += "<tr><td colspan=\"" + std::to_string(t.header.size()) + "\">" + Escape(t.empty_text) +
         "</td></tr>\n";
  }
  h += "</tbody>\n</table>\n";
}

// A horizontal bar chart as an inline SVG image: its title is the figure's caption, its
// description the image's text alternative; bars are drawn against a 0–max scale with the value
// written beside each, so no colour carries meaning.
// A series as an inline SVG line, the lowest and highest values and the first and last periods
// written beside it; the values in its text alternative.
void AppendLineChart(std::string& h, const DocChart& c, int number) {
  const std::string id = "graphique-" + std::to_string(number);
  const auto [low, high] = ValueRange(c);
  h += "<figure>\n<figcaption id=\"" + id + "\">" + Escape(c.title) + "</figcaption>\n";
  h += "<svg role=\"img\" aria-labelledby=\"" + id + "\" aria-describedby=\"" + id +
       "-desc\" viewBox=\"0 0 720 140\" width=\"100%\">\n<desc id=\"" + id + "-desc\">" +
       Escape(c.description) + "</desc>\n";
  h += "<rect x=\"60\" y=\"5\" width=\"650\" height=\"110\" fill=\"none\" stroke=\"#555\"/>";
  std::string points;
  const double n = static_cast<double>(c.bars.size());
  for (size_t i = 0; i < c.bars.size(); ++i) {
    char xy[64];
    std::snprintf(xy, sizeof xy, "%.1f,%.1f ", 66 + 638 * (n > 1 ? i / (n - 1) : 0.5),
                  11 + 98 * (high - c.bars[i].value) / (high - low));
    points += xy;
  }
  h += "<polyline fill=\"none\" stroke=\"#1f4e79\" stroke-width=\"2\" points=\"" + points + "\"/>";
  h += "<text x=\"0\" y=\"16\" font-size=\"12\">" + Escape(FrenchDecimal(high)) + "</text>";
  h += "<text x=\"0\" y=\"115\" font-size=\"12\">" + Escape(FrenchDecimal(low)) + "</text>";
  h += "<text x=\"60\" y=\"134\" font-size=\"12\">" + Escape(c.bars.front().label) + "</text>";
  h += "<text x=\"710\" y=\"134\" font-size=\"12\" text-anchor=\"end\">" +
       Escape(c.bars.back().label) + "</text>\n</svg>\n</figure>\n";
}

void AppendChart(std::string& h, const DocChart& c, int number) {
  if (c.style == DocChart::Style::kLine) return AppendLineChart(h, c, number);
  // Each bar under its label, the value written after the bar.
  const int row = 38, width = 720, bar_width = 600;
  const int height = row * static_cast<int>(c.bars.size()) + 6;
  const std::string id = "graphique-" + std::to_string(number);
  h += "<figure>\n<figcaption id=\"" + id + "\">" + Escape(c.title) + "</figcaption>\n";
  h += "<svg role=\"img\" aria-labelledby=\"" + id + "\" aria-describedby=\"" + id +
       "-desc\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
       "\" width=\"100%\">\n<desc id=\"" + id + "-desc\">" + Escape(c.description) + "</desc>\n";
  int y = 0;
  for (const auto& bar : c.bars) {
    const double share = c.max > 0 ? std::clamp(bar.value / c.max, 0.0, 1.0) : 0.0;
    char rect[160];
    std::snprintf(rect, sizeof rect,
                  "<rect x=\"0\" y=\"%d\" width=\"%.1f\" height=\"14\" fill=\"#1f4e79\"/>"
                  "<rect x=\"0\" y=\"%d\" width=\"%d\" height=\"14\" fill=\"none\" "
                  "stroke=\"#555\"/>",
                  y + 18, share * bar_width, y + 18, bar_width);
    h += "<text x=\"0\" y=\"" + std::to_string(y + 13) + "\" font-size=\"13\">" +
         Escape(bar.label) + "</text>" + rect + "<text x=\"" + std::to_string(bar_width + 8) +
         "\" y=\"" + std::to_string(y + 30) + "\" font-size=\"13\">" + Escape(bar.value_text) +
         "</text>\n";
    y += row;
  }
  h += "</svg>\n</figure>\n";
}

void AppendBlock(std::string& h, const DocBlock& b, int& charts) {
  switch (b.kind) {
    case DocBlock::Kind::kHeading: {
      const std::string tag = "h" + std::to_string(b.level);
      h += "<" + tag + ">" + Escape(b.text) + "</" + tag + ">\n";
      break;
    }
    case DocBlock::Kind::kParagraph:
      h += b.note ? "<p class=\"demo\" role=\"note\">" : "<p>";
      if (!b.lead.empty()) h += "<strong>" + Escape(b.lead) + "</strong> ";
      h += Escape(b.text) + "</p>\n";
      break;
    case DocBlock::Kind::kList:
      h += "<ul>\n";
      for (const auto& item : b.items) h += "<li>" + Escape(item) + "</li>\n";
      h += "</ul>\n";
      break;
    case DocBlock::Kind::kTable:
      AppendTable(h, b.table);
      break;
    case DocBlock::Kind::kChart:
      AppendChart(h, b.chart, ++charts);
      break;
  }
}

}  // namespace

std::string RenderHtml(const ReportDocument& doc) {
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"" + Escape(doc.language.substr(0, 2)) +
       "\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += "<title>" + Escape(doc.title) + "</title>\n";
  h += "<style>body{font-family:system-ui,sans-serif;line-height:1.5;max-width:72rem;margin:auto;"
       "padding:1rem;color:#1a1a1a;background:#fff}table{border-collapse:collapse;width:100%;"
       "margin:1rem 0}caption,figcaption{text-align:left;font-weight:bold;padding:.5rem 0}th,td{"
       "border:1px solid #555;padding:.4rem;text-align:left;vertical-align:top}th{background:#eee}"
       "figure{margin:1rem 0}.demo{border:2px solid #1a1a1a;padding:.5rem}a{color:#00509e}"
       "</style>\n";
  h += "</head>\n<body>\n<header>\n";
  int charts = 0;
  for (const auto& b : doc.front) AppendBlock(h, b, charts);
  h += "</header>\n<nav aria-label=\"Sommaire\">\n<h2>Sommaire</h2>\n<ol>\n";
  for (const auto& entry : doc.toc) {
    h += "<li><a href=\"#" + Escape(entry.anchor) + "\">" + Escape(entry.title) + "</a></li>\n";
  }
  h += "</ol>\n</nav>\n<main>\n";
  bool in_section = false;
  for (const auto& b : doc.body) {
    if (b.kind == DocBlock::Kind::kHeading && !b.anchor.empty()) {
      if (in_section) h += "</section>\n";
      h += "<section id=\"" + Escape(b.anchor) + "\">\n";
      in_section = true;
    }
    AppendBlock(h, b, charts);
  }
  if (in_section) h += "</section>\n";
  h += "</main>\n</body>\n</html>\n";
  return h;
}

}  // namespace ctg::reporting
