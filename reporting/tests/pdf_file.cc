#include "reporting/tests/pdf_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>

namespace ctg::reporting {
namespace {

std::string Run(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen((command + " 2>&1").c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("popen " + command);
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe.get())) > 0) out.append(buffer, n);
  return out;
}

}  // namespace

PdfFile::PdfFile(const std::string& bytes) {
  char path[] = "/tmp/ctg-pdf-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp");
  close(fd);
  path_ = path;
  std::ofstream(path_, std::ios::binary) << bytes;
}

PdfFile::~PdfFile() {
  if (const char* dir = std::getenv("CTG_TEST_ARTEFACTS_DIR")) {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string kept = std::string(dir) + "/" + (test ? test->name() : "report") + ".pdf";
    if (std::rename(path_.c_str(), kept.c_str()) == 0) return;
  }
  std::remove(path_.c_str());
}

std::string PdfFile::Text(int first, int last) const {
  std::string range;
  if (first > 0) range = " -f " + std::to_string(first) + " -l " + std::to_string(last);
  const std::string raw = Run("pdftotext -raw -enc UTF-8" + range + " " + path_ + " -");
  std::string text;
  for (char c : raw) {
    const bool space = c == ' ' || c == '\n' || c == '\f' || c == '\t';
    if (space && (text.empty() || text.back() == ' ')) continue;
    text += space ? ' ' : c;
  }
  return text;
}

std::string PdfFile::Info() const {
  std::string info;
  for (char c : Run("pdfinfo " + path_)) {
    if (c == ' ' && !info.empty() && info.back() == ' ') continue;
    info += c;
  }
  return info;
}

std::string PdfFile::Structure() const { return Run("pdfinfo -struct " + path_); }

int PdfFile::Pages() const {
  const std::string info = Info();
  const size_t at = info.find("Pages:");
  return at == std::string::npos ? 0 : std::atoi(info.c_str() + at + 6);
}

}  // namespace ctg::reporting
