#include "common/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace ctg {

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (unsigned char c : s) {
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
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  return out;
}

std::string NowRfc3339() {
  const auto now = std::chrono::system_clock::now();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch());
  std::time_t secs = us.count() / 1000000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(us.count() % 1000000));
  return buf;
}

LogLine::LogLine(std::string_view level) {
  json_ = "{\"time\":\"" + NowRfc3339() + "\",\"level\":\"" + JsonEscape(level) + "\"";
}

LogLine& LogLine::Add(std::string_view key, std::string_view value) {
  json_ += ",\"" + JsonEscape(key) + "\":\"" + JsonEscape(value) + "\"";
  return *this;
}

LogLine& LogLine::Add(std::string_view key, int64_t value) {
  json_ += ",\"" + JsonEscape(key) + "\":" + std::to_string(value);
  return *this;
}

LogLine& LogLine::Add(std::string_view key, double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", value);
  json_ += ",\"" + JsonEscape(key) + "\":" + buf;
  return *this;
}

void LogLine::Emit() {
  static std::mutex mu;
  json_ += "}\n";
  std::lock_guard lock(mu);
  std::fwrite(json_.data(), 1, json_.size(), stderr);
  std::fflush(stderr);
}

}  // namespace ctg
