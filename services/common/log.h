#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ctg {

// Escapes `s` for inclusion inside a JSON string literal.
std::string JsonEscape(std::string_view s);
// Appends `s`, escaped as JsonEscape does, to `out` (no temporary string).
void AppendJsonEscaped(std::string& out, std::string_view s);

// Builds one structured JSON log line, written to stderr atomically by Emit().
// Keys are fixed by the caller; values are escaped. Never put secrets in a log line.
class LogLine {
 public:
  explicit LogLine(std::string_view level);
  LogLine& Add(std::string_view key, std::string_view value);
  LogLine& Add(std::string_view key, const char* value) {
    return Add(key, std::string_view(value));
  }
  LogLine& Add(std::string_view key, int64_t value);
  LogLine& Add(std::string_view key, double value);
  // Writes the line to stderr now, in one write.
  void Emit();
  // Appends the finished line to `batch`, for EmitLines: a caller that must not wait for the
  // write where it builds the line (the gateway's relay, before its answer is sent) writes it
  // right after.
  void AppendTo(std::string* batch);

 private:
  void AppendKey(std::string_view key);
  std::string json_;
};

// Writes finished lines (LogLine::AppendTo) to stderr under one lock, so that no line ever
// interleaves with or overwrites another thread's, whatever stderr is (pipe, file, terminal).
void EmitLines(std::string_view batch);

// Current UTC time as RFC 3339 with microseconds.
std::string NowRfc3339();

}  // namespace ctg
