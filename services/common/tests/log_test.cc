#include "common/log.h"

#include <gtest/gtest.h>
#include <limits.h>

#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace ctg {
namespace {

TEST(JsonEscapeTest, EscapesWhatJsonRequiresAndKeepsTheRest) {
  EXPECT_EQ(JsonEscape(""), "");
  EXPECT_EQ(JsonEscape("plain text"), "plain text");
  EXPECT_EQ(JsonEscape("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(JsonEscape("l1\nl2\r\t"), "l1\\nl2\\r\\t");
  EXPECT_EQ(JsonEscape(std::string("\x01\x1f", 2)), "\\u0001\\u001f");
  EXPECT_EQ(JsonEscape(std::string("nul\0end", 7)), "nul\\u0000end");
  // UTF-8 passes through untouched.
  EXPECT_EQ(JsonEscape("Agen, Lot-et-Garonne — Nérac"), "Agen, Lot-et-Garonne — Nérac");
  std::string out = "prefix:";
  AppendJsonEscaped(out, "\"x\"");
  EXPECT_EQ(out, "prefix:\\\"x\\\"");
}

TEST(LogLineTest, EmitsOneJsonObjectPerLine) {
  testing::internal::CaptureStderr();
  LogLine("info")
      .Add("msg", "rpc")
      .Add("code", "OK")
      .Add("attempts", int64_t(2))
      .Add("duration_ms", 1.5)
      .Add("error", "bad \"name\"\n")
      .Emit();
  const std::string line = testing::internal::GetCapturedStderr();
  ASSERT_EQ(line.rfind("{\"time\":\"", 0), 0u) << line;
  // RFC 3339 UTC with microseconds: 2026-12-01T10:42:30.974308Z
  const std::string time = line.substr(9, 27);
  EXPECT_EQ(time.size(), 27u);
  EXPECT_EQ(time[10], 'T');
  EXPECT_EQ(time[19], '.');
  EXPECT_EQ(time.back(), 'Z');
  EXPECT_NE(line.find("\",\"level\":\"info\",\"msg\":\"rpc\",\"code\":\"OK\",\"attempts\":2,"
                      "\"duration_ms\":1.500000,\"error\":\"bad \\\"name\\\"\\n\"}\n"),
            std::string::npos)
      << line;
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line
}

TEST(LogLineTest, NumbersAreWrittenInFullAndTheTimeHasSixDigitsOfMicroseconds) {
  testing::internal::CaptureStderr();
  LogLine("warn")
      .Add("n", int64_t(-9223372036854775807 - 1))
      .Add("zero", int64_t(0))
      .Add("small", 0.0000004)
      .Add("negative", -12.25)
      .Emit();
  const std::string line = testing::internal::GetCapturedStderr();
  EXPECT_NE(line.find("\"n\":-9223372036854775808,\"zero\":0,\"small\":0.000000,"
                      "\"negative\":-12.250000}"),
            std::string::npos)
      << line;
  const std::string time = line.substr(9, 27);
  for (int i : {20, 21, 22, 23, 24, 25}) EXPECT_TRUE(isdigit(time[i])) << time;
  EXPECT_EQ(NowRfc3339().size(), 27u);
}

// Batches far beyond one atomic write, from several threads at once, and a line longer than
// one: every line comes out whole, each once. CaptureStderr makes stderr a regular file opened
// without O_APPEND, where unlocked concurrent writes overwrite each other (how CI caught it).
TEST(EmitLinesTest, WholeLinesFromManyThreadsAndBatchesLargerThanOneWrite) {
  testing::internal::CaptureStderr();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      std::string batch;
      for (int i = 0; i < 300; ++i) {
        batch += "{\"thread\":" + std::to_string(t) + ",\"line\":" + std::to_string(i) + "," +
                 std::string(60 + (i * 7) % 90, 'x') + "}\n";
        if (i % 50 == 49) {
          EmitLines(batch);
          batch.clear();
        }
      }
    });
  }
  const std::string long_line = "{\"long\":\"" + std::string(3 * PIPE_BUF, 'y') + "\"}\n";
  EmitLines(long_line);
  for (auto& t : threads) t.join();
  const std::string out = testing::internal::GetCapturedStderr();
  std::set<std::string> seen;
  std::istringstream lines(out);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    ASSERT_EQ(line.front(), '{') << line.substr(0, 80);
    ASSERT_EQ(line.back(), '}') << line.substr(0, 80);
    EXPECT_TRUE(seen.insert(line).second) << "twice: " << line.substr(0, 80);
  }
  EXPECT_EQ(count, 4 * 300 + 1);
  EXPECT_EQ(seen.count(long_line.substr(0, long_line.size() - 1)), 1u);
}

}  // namespace
}  // namespace ctg
