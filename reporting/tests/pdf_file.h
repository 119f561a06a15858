#pragma once

#include <string>

namespace ctg::reporting {

// A PDF written to a temporary file, read back with poppler's tools (pdftotext, pdfinfo) as a
// person's reader or a screen reader would. Removed when destroyed, or kept in
// $CTG_TEST_ARTEFACTS_DIR, when set, under the running test's name (to look at).
class PdfFile {
 public:
  explicit PdfFile(const std::string& bytes);
  ~PdfFile();
  PdfFile(const PdfFile&) = delete;
  PdfFile& operator=(const PdfFile&) = delete;

  // The text of pages [first, last] (all when 0) in content order, every run of white space
  // made one space (lines wrap where they fit).
  std::string Text(int first = 0, int last = 0) const;
  // pdfinfo's report, every run of spaces made one.
  std::string Info() const;
  // The structure tree (tags) poppler reads (pdfinfo -struct).
  std::string Structure() const;
  int Pages() const;

 private:
  std::string path_;
};

}  // namespace ctg::reporting
