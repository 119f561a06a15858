#include "reporting/render_pdf.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <vector>

namespace ctg::reporting {
namespace {

// A4 in points, and the frame the content is laid out in.
constexpr double kPageWidth = 595.276;
constexpr double kPageHeight = 841.89;
constexpr double kLeft = 51;
constexpr double kRight = kPageWidth - 51;
constexpr double kWidth = kRight - kLeft;
constexpr double kTop = 64;
constexpr double kBottom = kPageHeight - 64;
constexpr double kCellPadding = 3;

struct LayoutUnref {
  void operator()(PangoLayout* layout) const { g_object_unref(layout); }
};
struct FontFree {
  void operator()(PangoFontDescription* font) const { pango_font_description_free(font); }
};
using LayoutPtr = std::unique_ptr<PangoLayout, LayoutUnref>;
using FontPtr = std::unique_ptr<PangoFontDescription, FontFree>;

// One drawing step of a page, recorded while laying out and replayed onto the PDF surface once
// the number of pages and the page of every part are known (the table of contents and the
// footers need them).
struct Op {
  enum class Type { kTagBegin, kTagEnd, kText, kFill, kStroke, kPolyline, kTocPage };
  explicit Op(Type t) : type(t) {}
  Type type;
  std::string tag;         // kTagBegin/kTagEnd: the tag; kTocPage: the anchor
  std::string attributes;  // kTagBegin
  PangoLayout* layout = nullptr;
  double x = 0, y = 0, w = 0, h = 0;
  double gray = 0;             // kText/kFill/kStroke: the colour, 0 black .. 1 white
  bool accent = false;         // kFill, kPolyline: the charts' blue
  std::vector<double> points;  // kPolyline: x0, y0, x1, y1, ...
};

struct Page {
  std::vector<Op> ops;
  bool demonstration = false;
};

std::string Quoted(const std::string& text) {
  // Cairo's attribute strings quote with ' and escape ' and \ with a backslash.
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// Lays a ReportDocument out into pages of Ops.
class Layouter {
 public:
  explicit Layouter(PangoContext* context) : context_(context) {
    body_.reset(pango_font_description_from_string("DejaVu Sans 9.5"));
    small_.reset(pango_font_description_from_string("DejaVu Sans 8"));
    bold_.reset(pango_font_description_from_string("DejaVu Sans Bold 8"));
    caption_.reset(pango_font_description_from_string("DejaVu Sans Bold 9.5"));
    h1_.reset(pango_font_description_from_string("DejaVu Sans Bold 20"));
    h2_.reset(pango_font_description_from_string("DejaVu Sans Bold 14"));
    h3_.reset(pango_font_description_from_string("DejaVu Sans Bold 11.5"));
    NewPage();
  }

  void Front(const ReportDocument& doc) {
    y_ = kTop + 120;
    for (const auto& b : doc.front) Block(b);
  }

  // The table of contents: one line per part, linking to it, its page written when drawn.
  void Contents(const std::vector<TocEntry>& toc) {
    y_ += 24;
    Begin("TOC");
    Heading(2, "Sommaire", "");
    for (const auto& entry : toc) {
      PangoLayout* title = Text(entry.title, body_.get(), kWidth - 40);
      const double h = Height(title);
      Ensure(h + 4);
      Begin("TOCI");
      Begin(CAIRO_TAG_LINK, "dest=" + Quoted(entry.anchor));
      Show(title, kLeft, y_);
      Op page(Op::Type::kTocPage);
      page.tag = entry.anchor;
      page.y = y_;
      ops().push_back(std::move(page));
      End(CAIRO_TAG_LINK);
      End("TOCI");
      y_ += h + 4;
    }
    End("TOC");
    NewPage();
  }

  void Block(const DocBlock& b) {
    // The pages its text lands on show demonstration data (a table's own rows say which).
    block_demonstration_ = b.demonstration && b.kind != DocBlock::Kind::kTable;
    switch (b.kind) {
      case DocBlock::Kind::kHeading:
        Heading(b.level, b.text, b.anchor);
        break;
      case DocBlock::Kind::kParagraph:
        Paragraph(b);
        break;
      case DocBlock::Kind::kList:
        List(b.items);
        break;
      case DocBlock::Kind::kTable:
        Table(b.table);
        break;
      case DocBlock::Kind::kChart:
        Chart(b.chart);
        break;
    }
    block_demonstration_ = false;
  }

  std::vector<Page>& pages() { return pages_; }
  const std::map<std::string, int>& anchor_pages() const { return anchor_pages_; }
  PangoLayout* Text(const std::string& text, const PangoFontDescription* font, double width,
                    PangoAlignment align = PANGO_ALIGN_LEFT) {
    LayoutPtr layout(pango_layout_new(context_));
    pango_layout_set_font_description(layout.get(), font);
    pango_layout_set_width(layout.get(), width < 0 ? -1 : static_cast<int>(width * PANGO_SCALE));
    pango_layout_set_wrap(layout.get(), PANGO_WRAP_WORD_CHAR);
    pango_layout_set_alignment(layout.get(), align);
    pango_layout_set_text(layout.get(), text.data(), static_cast<int>(text.size()));
    layouts_.push_back(std::move(layout));
    return layouts_.back().get();
  }
  const PangoFontDescription* small() const { return small_.get(); }
  const PangoFontDescription* body() const { return body_.get(); }

 private:
  static double Height(PangoLayout* layout) {
    int w = 0, h = 0;
    pango_layout_get_size(layout, &w, &h);
    return static_cast<double>(h) / PANGO_SCALE;
  }

  Page& current() { return pages_.back(); }
  std::vector<Op>& ops() { return current().ops; }
  void NewPage() {
    pages_.emplace_back();
    y_ = kTop;
  }
  // Starts a new page unless `height` more fits on this one.
  bool Ensure(double height) {
    if (y_ + height <= kBottom || y_ == kTop) return false;
    NewPage();
    return true;
  }
  // Ensure, inside the open structure element `tag`: continued on a new page, the element is
  // closed on the page it began and a new one opened (no tag spans a page break).
  void EnsureWithin(const std::string& tag, double height) {
    if (!Ensure(height)) return;
    Op end(Op::Type::kTagEnd);
    end.tag = tag;
    pages_[pages_.size() - 2].ops.push_back(std::move(end));
    Begin(tag);
  }
  void Begin(const std::string& tag, std::string attributes = "") {
    Op op(Op::Type::kTagBegin);
    op.tag = tag;
    op.attributes = std::move(attributes);
    ops().push_back(std::move(op));
  }
  void End(const std::string& tag) {
    Op op(Op::Type::kTagEnd);
    op.tag = tag;
    ops().push_back(std::move(op));
  }
  void Show(PangoLayout* layout, double x, double y, double gray = 0) {
    if (block_demonstration_) current().demonstration = true;
    Op op(Op::Type::kText);
    op.layout = layout;
    op.x = x;
    op.y = y;
    op.gray = gray;
    ops().push_back(std::move(op));
  }
  void Rect(Op::Type type, double x, double y, double w, double h, double gray,
            bool accent = false) {
    Op op(type);
    op.x = x;
    op.y = y;
    op.w = w;
    op.h = h;
    op.gray = gray;
    op.accent = accent;
    ops().push_back(std::move(op));
  }

  void Heading(int level, const std::string& text, const std::string& anchor) {
    const PangoFontDescription* font = level == 1 ? h1_.get() : level == 2 ? h2_.get() : h3_.get();
    PangoLayout* layout = Text(text, font, kWidth);
    const double h = Height(layout);
    const double before = level == 1 ? 0 : level == 2 ? 16 : 10;
    // A heading stays with at least a few lines of what follows it.
    if (!Ensure(before + h + 60)) y_ += (y_ == kTop ? 0 : before);
    const std::string tag = "H" + std::to_string(level);
    Begin(tag);
    if (!anchor.empty()) {
      anchor_pages_[anchor] = static_cast<int>(pages_.size());
      Begin(CAIRO_TAG_DEST, "name=" + Quoted(anchor));
    }
    Show(layout, kLeft, y_, level == 1 ? 0 : 0.1);
    if (!anchor.empty()) End(CAIRO_TAG_DEST);
    End(tag);
    y_ += h + (level == 1 ? 14 : 8);
  }

  void Paragraph(const DocBlock& b) {
    const double inset = b.note ? 8 : 0;
    const std::string text = b.lead.empty() ? b.text : b.lead + " " + b.text;
    PangoLayout* layout = Text(text, body_.get(), kWidth - 2 * inset);
    if (!b.lead.empty()) {
      PangoAttrList* attributes = pango_attr_list_new();
      PangoAttribute* weight = pango_attr_weight_new(PANGO_WEIGHT_BOLD);
      weight->start_index = 0;
      weight->end_index = static_cast<guint>(b.lead.size());
      pango_attr_list_insert(attributes, weight);
      pango_layout_set_attributes(layout, attributes);
      pango_attr_list_unref(attributes);
    }
    const double h = Height(layout);
    Ensure(h + 2 * inset + 6);
    if (b.note) Rect(Op::Type::kStroke, kLeft, y_, kWidth, h + 2 * inset, 0, false);
    Begin("P");
    Show(layout, kLeft + inset, y_ + inset);
    End("P");
    y_ += h + 2 * inset + 6;
  }

  void List(const std::vector<std::string>& items) {
    Begin("L");
    for (const auto& item : items) {
      PangoLayout* text = Text(item, body_.get(), kWidth - 16);
      const double h = Height(text);
      EnsureWithin("L", h + 2);
      Begin("LI");
      Begin("Lbl");
      Show(Text("•", body_.get(), 12), kLeft + 2, y_);
      End("Lbl");
      Begin("LBody");
      Show(text, kLeft + 16, y_);
      End("LBody");
      End("LI");
      y_ += h + 2;
    }
    End("L");
    y_ += 4;
  }

  // Widens the columns whose header has a word wider than the column (a header word is never
  // broken), taking the room from the others in proportion to their width.
  void FitHeaderWords(const std::vector<std::string>& header, std::vector<double>& widths) {
    std::vector<double> least(widths.size(), 0);
    for (size_t i = 0; i < header.size(); ++i) {
      size_t start = 0;
      while (start <= header[i].size()) {
        size_t end = header[i].find(' ', start);
        if (end == std::string::npos) end = header[i].size();
        if (end > start) {
          PangoLayout* word = Text(header[i].substr(start, end - start), bold_.get(), -1);
          int w = 0, h = 0;
          pango_layout_get_size(word, &w, &h);
          least[i] =
              std::max(least[i], static_cast<double>(w) / PANGO_SCALE + 2 * kCellPadding + 1);
        }
        start = end + 1;
      }
    }
    double needed = 0, spare = 0;
    for (size_t i = 0; i < widths.size(); ++i) {
      if (widths[i] < least[i]) {
        needed += least[i] - widths[i];
      } else {
        spare += widths[i] - least[i];
      }
    }
    if (needed == 0 || spare <= 0) return;
    const double take = std::min(1.0, needed / spare);
    for (size_t i = 0; i < widths.size(); ++i) {
      widths[i] = widths[i] < least[i] ? least[i] : widths[i] - (widths[i] - least[i]) * take;
    }
  }

  // The caption (with "(suite)" on a continuation page) and the header row of a table.
  void TableHead(const DocTable& t, const std::vector<double>& x, bool continued,
                 const std::vector<PangoLayout*>& header, double header_height) {
    Begin("Table");
    PangoLayout* caption =
        Text(continued ? t.caption + " (suite)" : t.caption, caption_.get(), kWidth);
    Begin("Caption");
    Show(caption, kLeft, y_);
    End("Caption");
    y_ += Height(caption) + 4;
    Begin("TR");
    for (size_t i = 0; i < header.size(); ++i) {
      Rect(Op::Type::kFill, x[i], y_, x[i + 1] - x[i], header_height, 0.9);
      Rect(Op::Type::kStroke, x[i], y_, x[i + 1] - x[i], header_height, 0.35);
      Begin("TH", "");
      Show(header[i], x[i] + kCellPadding, y_ + kCellPadding);
      End("TH");
    }
    End("TR");
    y_ += header_height;
  }

  void Table(const DocTable& t) {
    const size_t columns = t.header.size();
    std::vector<double> widths = t.widths;
    widths.resize(columns, 1.0);
    double total = 0;
    for (double w : widths) total += w;
    for (double& w : widths) w = kWidth * w / total;
    FitHeaderWords(t.header, widths);
    std::vector<double> x{kLeft};
    for (double w : widths) x.push_back(x.back() + w);
    std::vector<PangoLayout*> header;
    double header_height = 0;
    for (size_t i = 0; i < columns; ++i) {
      header.push_back(Text(t.header[i], bold_.get(), x[i + 1] - x[i] - 2 * kCellPadding));
      header_height = std::max(header_height, Height(header.back()));
    }
    header_height += 2 * kCellPadding;

    std::vector<DocRow> rows = t.rows;
    const bool empty = rows.empty() && !t.empty_text.empty();
    Ensure(header_height + 40);
    y_ += 4;
    TableHead(t, x, false, header, header_height);
    auto row_layouts = [&](const DocRow& row, bool span) {
      std::vector<PangoLayout*> cells;
      for (size_t i = 0; i < (span ? 1 : columns); ++i) {
        const double right = span ? x[columns] : x[i + 1];
        cells.push_back(Text(i < row.cells.size() ? row.cells[i] : "",
                             row.emphasis ? bold_.get() : small_.get(),
                             right - x[i] - 2 * kCellPadding));
      }
      return cells;
    };
    auto draw_row = [&](const DocRow& row, bool span) {
      std::vector<PangoLayout*> cells = row_layouts(row, span);
      double h = 0;
      for (auto* c : cells) h = std::max(h, Height(c));
      h += 2 * kCellPadding;
      if (y_ + h > kBottom) {
        End("Table");
        NewPage();
        TableHead(t, x, true, header, header_height);
      }
      if (row.demonstration) current().demonstration = true;
      Begin("TR");
      for (size_t i = 0; i < cells.size(); ++i) {
        const double right = span ? x[columns] : x[i + 1];
        Rect(Op::Type::kStroke, x[i], y_, right - x[i], h, 0.35);
        Begin("TD");
        Show(cells[i], x[i] + kCellPadding, y_ + kCellPadding);
        End("TD");
      }
      End("TR");
      y_ += h;
    };
    for (const auto& row : rows) draw_row(row, false);
    if (empty) draw_row(DocRow{{t.empty_text}}, true);
    End("Table");
    y_ += 10;
  }

  void Chart(const DocChart& c) {
    if (c.style == DocChart::Style::kLine) {
      LineChart(c);
    } else {
      BarChart(c);
    }
  }

  // One row per bar: its label on the left, the bar on a 0–max scale, the value written after.
  void BarChart(const DocChart& c) {
    constexpr double kLabelWidth = kWidth * 0.38, kBarLeft = kLeft + kWidth * 0.40;
    constexpr double kBarWidth = kWidth * 0.50, kBarHeight = 8;
    PangoLayout* title = Text(c.title, caption_.get(), kWidth);
    std::vector<PangoLayout*> labels;
    double height = Height(title) + 6;
    for (const auto& bar : c.bars) {
      labels.push_back(Text(bar.label, small_.get(), kLabelWidth));
      height += std::max(Height(labels.back()), kBarHeight) + 4;
    }
    Ensure(std::min(height, kBottom - kTop));
    Begin("Figure");
    Show(title, kLeft, y_);
    y_ += Height(title) + 6;
    for (size_t i = 0; i < c.bars.size(); ++i) {
      const auto& bar = c.bars[i];
      const double row = std::max(Height(labels[i]), kBarHeight) + 4;
      EnsureWithin("Figure", row);
      Show(labels[i], kLeft, y_);
      const double share = c.max > 0 ? std::clamp(bar.value / c.max, 0.0, 1.0) : 0.0;
      const double top = y_ + 2;
      Rect(Op::Type::kFill, kBarLeft, top, kBarWidth * share, kBarHeight, 0, true);
      Rect(Op::Type::kStroke, kBarLeft, top, kBarWidth, kBarHeight, 0.35);
      Show(Text(bar.value_text, small_.get(), kWidth * 0.09), kBarLeft + kBarWidth + 4, y_);
      y_ += row;
    }
    ChartDescription(c.description);
    End("Figure");
    y_ += 8;
  }

  // A chart's text alternative written under it (the data a reader cannot take off a drawing),
  // inside the open Figure.
  void ChartDescription(const std::string& text) {
    if (text.empty()) return;
    PangoLayout* description = Text(text, small_.get(), kWidth);
    EnsureWithin("Figure", Height(description) + 2);
    y_ += 2;
    Begin("P");
    Show(description, kLeft, y_, 0.2);
    End("P");
    y_ += Height(description);
  }

  // A series: the line through its values in a framed plot, the lowest and highest values on
  // the left, the first and last periods below, then the values written out.
  void LineChart(const DocChart& c) {
    constexpr double kPlotLeft = kLeft + 44, kPlotRight = kRight - 8, kPlotHeight = 80;
    PangoLayout* title = Text(c.title, caption_.get(), kWidth);
    const auto [low, high] = ValueRange(c);
    const double height = Height(title) + 6 + kPlotHeight + 16 + 40;
    Ensure(std::min(height, kBottom - kTop));
    Begin("Figure");
    Show(title, kLeft, y_);
    y_ += Height(title) + 6;
    const double top = y_;
    Rect(Op::Type::kStroke, kPlotLeft, top, kPlotRight - kPlotLeft, kPlotHeight, 0.35);
    Show(Text(FrenchDecimal(high), small_.get(), 40, PANGO_ALIGN_RIGHT), kPlotLeft - 44, top - 4);
    Show(Text(FrenchDecimal(low), small_.get(), 40, PANGO_ALIGN_RIGHT), kPlotLeft - 44,
         top + kPlotHeight - 8);
    Op line(Op::Type::kPolyline);
    line.accent = true;
    const double n = static_cast<double>(c.bars.size());
    for (size_t i = 0; i < c.bars.size(); ++i) {
      const double x = kPlotLeft + 6 + (kPlotRight - kPlotLeft - 12) * (n > 1 ? i / (n - 1) : 0.5);
      const double y = top + 6 + (kPlotHeight - 12) * (high - c.bars[i].value) / (high - low);
      line.points.push_back(x);
      line.points.push_back(y);
    }
    ops().push_back(line);
    for (size_t i = 0; i < line.points.size(); i += 2) {
      Rect(Op::Type::kFill, line.points[i] - 1.5, line.points[i + 1] - 1.5, 3, 3, 0, true);
    }
    y_ = top + kPlotHeight + 2;
    Show(Text(c.bars.front().label, small_.get(), 80), kPlotLeft, y_);
    Show(Text(c.bars.back().label, small_.get(), 80, PANGO_ALIGN_RIGHT), kPlotRight - 80, y_);
    y_ += 12;
    ChartDescription(c.description);
    End("Figure");
    y_ += 10;
  }

  PangoContext* context_;
  FontPtr body_, small_, bold_, caption_, h1_, h2_, h3_;
  std::vector<LayoutPtr> layouts_;
  std::vector<Page> pages_;
  std::map<std::string, int> anchor_pages_;
  double y_ = kTop;
  bool block_demonstration_ = false;
};

cairo_status_t AppendToString(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

void Replay(cairo_t* cr, const Op& op, const Layouter& layouter, PangoContext* context,
            std::vector<LayoutPtr>& late_layouts) {
  switch (op.type) {
    case Op::Type::kTagBegin:
      cairo_tag_begin(cr, op.tag.c_str(), op.attributes.c_str());
      break;
    case Op::Type::kTagEnd:
      cairo_tag_end(cr, op.tag.c_str());
      break;
    case Op::Type::kText:
      cairo_set_source_rgb(cr, op.gray, op.gray, op.gray);
      cairo_move_to(cr, op.x, op.y);
      pango_cairo_show_layout(cr, op.layout);
      break;
    case Op::Type::kFill:
      if (op.accent) {
        cairo_set_source_rgb(cr, 0.12, 0.31, 0.47);
      } else {
        cairo_set_source_rgb(cr, op.gray, op.gray, op.gray);
      }
      cairo_rectangle(cr, op.x, op.y, op.w, op.h);
      cairo_fill(cr);
      break;
    case Op::Type::kStroke:
      cairo_set_source_rgb(cr, op.gray, op.gray, op.gray);
      cairo_set_line_width(cr, 0.5);
      cairo_rectangle(cr, op.x, op.y, op.w, op.h);
      cairo_stroke(cr);
      break;
    case Op::Type::kPolyline:
      cairo_set_source_rgb(cr, 0.12, 0.31, 0.47);
      cairo_set_line_width(cr, 1.2);
      for (size_t i = 0; i + 1 < op.points.size(); i += 2) {
        if (i == 0) {
          cairo_move_to(cr, op.points[i], op.points[i + 1]);
        } else {
          cairo_line_to(cr, op.points[i], op.points[i + 1]);
        }
      }
      cairo_stroke(cr);
      break;
    case Op::Type::kTocPage: {
      auto it = layouter.anchor_pages().find(op.tag);
      const std::string page =
          it == layouter.anchor_pages().end() ? "" : std::to_string(it->second);
      LayoutPtr layout(pango_layout_new(context));
      pango_layout_set_font_description(layout.get(), layouter.body());
      pango_layout_set_width(layout.get(), 40 * PANGO_SCALE);
      pango_layout_set_alignment(layout.get(), PANGO_ALIGN_RIGHT);
      pango_layout_set_text(layout.get(), page.c_str(), -1);
      cairo_set_source_rgb(cr, 0, 0, 0);
      cairo_move_to(cr, kRight - 40, op.y);
      pango_cairo_show_layout(cr, layout.get());
      late_layouts.push_back(std::move(layout));
      break;
    }
  }
}

}  // namespace

void CompletePdfCatalog(std::string& pdf, const std::string& language) {
  const size_t startxref = pdf.rfind("startxref");
  const size_t trailer = pdf.rfind("trailer");
  if (startxref == std::string::npos || trailer == std::string::npos || trailer > startxref) {
    throw std::runtime_error("the PDF has no classic trailer");
  }
  const long previous = std::strtol(pdf.c_str() + startxref + 9, nullptr, 10);
  const std::string trailer_dict = pdf.substr(trailer, startxref - trailer);
  auto reference = [&](const std::string& key) {
    const size_t at = trailer_dict.find(key);
    if (at == std::string::npos) throw std::runtime_error("the PDF trailer has no " + key);
    return std::atoi(trailer_dict.c_str() + at + key.size());
  };
  const int root = reference("/Root");
  const int size = reference("/Size");
  const size_t info_at = trailer_dict.find("/Info");
  const std::string info =
      info_at == std::string::npos
          ? ""
          : " /Info " + std::to_string(std::atoi(trailer_dict.c_str() + info_at + 5)) + " 0 R";
  const std::string header = "\n" + std::to_string(root) + " 0 obj";
  const size_t object = pdf.find(header);
  const size_t open = object == std::string::npos ? object : pdf.find("<<", object);
  const size_t end = open == std::string::npos ? open : pdf.find("endobj", open);
  if (end == std::string::npos) throw std::runtime_error("the PDF catalog is not found");
  std::string catalog = pdf.substr(open, end - open);
  while (!catalog.empty() && (catalog.back() == '\n' || catalog.back() == ' ')) catalog.pop_back();
  std::string lang = "(";
  for (char c : language) {
    if (c == '(' || c == ')' || c == '\\') lang += '\\';
    lang += c;
  }
  lang += ")";
  std::string additions = " /Lang " + lang;
  if (catalog.find("/StructTreeRoot") != std::string::npos &&
      catalog.find("/MarkInfo") == std::string::npos) {
    additions += " /MarkInfo << /Marked true >>";
  }
  if (catalog.find("/ViewerPreferences") == std::string::npos) {
    additions += " /ViewerPreferences << /DisplayDocTitle true >>";
  }
  catalog.insert(2, additions);
  if (pdf.back() != '\n') pdf += '\n';
  const size_t offset = pdf.size();
  pdf += std::to_string(root) + " 0 obj\n" + catalog + "\nendobj\n";
  const size_t xref = pdf.size();
  char entry[32];
  std::snprintf(entry, sizeof entry, "%010zu 00000 n \n", offset);
  pdf += "xref\n" + std::to_string(root) + " 1\n" + entry;
  pdf += "trailer\n<< /Size " + std::to_string(size) + " /Root " + std::to_string(root) + " 0 R" +
         info + " /Prev " + std::to_string(previous) + " >>\nstartxref\n" + std::to_string(xref) +
         "\n%%EOF\n";
}

std::string RenderPdf(const ReportDocument& doc) {
  std::string pdf;
  cairo_surface_t* surface =
      cairo_pdf_surface_create_for_stream(AppendToString, &pdf, kPageWidth, kPageHeight);
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, doc.title.c_str());
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_SUBJECT, doc.subject.c_str());
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_AUTHOR,
                                 "Convention territoriale globale — service de rapports");
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "ctg-reporting");
  if (!doc.created.empty()) {
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, doc.created.c_str());
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_MOD_DATE, doc.created.c_str());
  }
  cairo_t* cr = cairo_create(surface);
  PangoContext* context = pango_cairo_create_context(cr);
  cairo_font_options_t* font_options = cairo_font_options_create();
  cairo_font_options_set_hint_metrics(font_options, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style(font_options, CAIRO_HINT_STYLE_NONE);
  pango_cairo_context_set_font_options(context, font_options);
  cairo_font_options_destroy(font_options);
  PangoLanguage* french = pango_language_from_string(doc.language.c_str());
  pango_context_set_language(context, french);
  {
    Layouter layouter(context);
    layouter.Front(doc);
    layouter.Contents(doc.toc);
    for (const auto& b : doc.body) layouter.Block(b);

    std::vector<LayoutPtr> late;
    const auto& pages = layouter.pages();
    const std::string total = std::to_string(pages.size());
    PangoLayout* running = layouter.Text(doc.title, layouter.small(), kWidth);
    pango_layout_set_ellipsize(running, PANGO_ELLIPSIZE_END);  // one line
    for (size_t i = 0; i < pages.size(); ++i) {
      // Page furniture first, while no structure element is open.
      if (i > 0) {
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
        cairo_move_to(cr, kLeft, 30);
        pango_cairo_show_layout(cr, running);
      }
      PangoLayout* footer = layouter.Text("Page " + std::to_string(i + 1) + " sur " + total,
                                          layouter.small(), 120, PANGO_ALIGN_RIGHT);
      cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
      cairo_move_to(cr, kRight - 120, kPageHeight - 40);
      pango_cairo_show_layout(cr, footer);
      if (pages[i].demonstration) {
        PangoLayout* demo = layouter.Text("Cette page contient des données de démonstration.",
                                          layouter.small(), kWidth - 130);
        cairo_move_to(cr, kLeft, kPageHeight - 40);
        pango_cairo_show_layout(cr, demo);
      }
      for (const auto& op : pages[i].ops) Replay(cr, op, layouter, context, late);
      cairo_show_page(cr);
    }
    for (const auto& entry : doc.toc) {
      cairo_pdf_surface_add_outline(surface, CAIRO_PDF_OUTLINE_ROOT, entry.title.c_str(),
                                    ("dest=" + Quoted(entry.anchor)).c_str(),
                                    static_cast<cairo_pdf_outline_flags_t>(0));
    }
  }
  g_object_unref(context);
  cairo_destroy(cr);
  cairo_surface_finish(surface);
  const cairo_status_t status = cairo_surface_status(surface);
  cairo_surface_destroy(surface);
  if (status != CAIRO_STATUS_SUCCESS) {
    throw std::runtime_error(std::string("the PDF could not be drawn: ") +
                             cairo_status_to_string(status));
  }
  CompletePdfCatalog(pdf, doc.language);
  return pdf;
}

}  // namespace ctg::reporting
