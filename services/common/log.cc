#include "common/log.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace ctg {

void AppendJsonEscaped(std::string& out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  size_t plain = 0;  // start of the run of characters copied as they are
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
  }
  out.append(s.data() + plain, s.size() - plain);
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  AppendJsonEscaped(out, s);
  return out;
}

std::string NowRfc3339() {
  const auto now = std::chrono::system_clock::now();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch());
  const std::time_t secs = us.count() / 1000000;
  // The date and time to the second change once a second: formatted once per thread and second.
  thread_local std::time_t cached_secs = -1;
  thread_local char cached[32];
  if (secs != cached_secs) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_secs = secs;
  }
  // The rest by hand: snprintf was a visible share of a relayed call's CPU (one line per call).
  std::string out(cached);
  char fraction[9] = {'.', '0', '0', '0', '0', '0', '0', 'Z', '\0'};
  int64_t micros = us.count() % 1000000;
  for (int i = 6; i >= 1; --i, micros /= 10) fraction[i] = char('0' + micros % 10);
  out += fraction;
  return out;
}

LogLine::LogLine(std::string_view level) {
  json_.reserve(384);
  json_ = "{\"time\":\"";
  json_ += NowRfc3339();
  json_ += "\",\"level\":\"";
  AppendJsonEscaped(json_, level);
  json_ += '"';
}

void LogLine::AppendKey(std::string_view key) {
  json_ += ",\"";
  AppendJsonEscaped(json_, key);
  json_ += "\":";
}

LogLine& LogLine::Add(std::string_view key, std::string_view value) {
  AppendKey(key);
  json_ += '"';
  AppendJsonEscaped(json_, value);
  json_ += '"';
  return *this;
}

LogLine& LogLine::Add(std::string_view key, int64_t value) {
  AppendKey(key);
  char buf[24];
  const auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
  json_.append(buf, end);
  return *this;
}

LogLine& LogLine::Add(std::string_view key, double value) {
  AppendKey(key);
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, 6);
  if (result.ec == std::errc()) {
    json_.append(buf, result.ptr);
  } else {
    json_ += "null";  // too large for the buffer (never a duration)
  }
  return *this;
}

namespace {

// One writer at a time. A write(2) of at most PIPE_BUF bytes is atomic on a pipe, but stderr may
// also be a regular file opened without O_APPEND (`2> file`, gtest's CaptureStderr): there,
// concurrent writes race on the shared file offset and overwrite each other (seen on this
// machine's kernel: lines lost, NUL bytes in their place). An uncontended lock costs no system
// call; callers batch their lines (EmitLines) so that the lock is taken once per batch.
std::mutex stderr_mu;

// Writes all of `data` to stderr (several write(2) when the kernel takes less).
void WriteAll(const char* p, size_t left) {
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to log to: nothing else to do
    p += n;
    left -= size_t(n);
  }
}

}  // namespace

void EmitLines(std::string_view batch) {
  if (batch.empty()) return;
  std::lock_guard lock(stderr_mu);
  WriteAll(batch.data(), batch.size());
}

void LogLine::Emit() {
  json_ += "}\n";
  EmitLines(json_);
}

void LogLine::AppendTo(std::string* batch) {
  json_ += "}\n";
  batch->append(json_);
}

}  // namespace ctg
