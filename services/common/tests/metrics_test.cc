#include "common/metrics.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <thread>

namespace ctg {
namespace {

TEST(ProcessStatsTest, CpuTimeGrowsWithWorkDone) {
  const double before = ReadProcessStats().cpu_seconds;
  // Burn at least 0.2 s of CPU (measured on the process's own clock, not the wall clock).
  volatile double sink = 0;
  const auto start = std::clock();
  while (double(std::clock() - start) / CLOCKS_PER_SEC < 0.2) sink = sink + std::sqrt(sink + 1);
  const double after = ReadProcessStats().cpu_seconds;
  EXPECT_GE(after - before, 0.15);
  EXPECT_LT(after - before, 5.0);
}

TEST(ProcessStatsTest, ResidentSetFollowsTouchedMemory) {
  const double before = ReadProcessStats().resident_bytes;
  EXPECT_GT(before, 1 << 20);
  constexpr size_t kBytes = 64 << 20;
  auto block = std::make_unique<char[]>(kBytes);
  std::memset(block.get(), 1, kBytes);  // touched, so resident
  const double after = ReadProcessStats().resident_bytes;
  EXPECT_GE(after - before, 0.9 * kBytes);
  EXPECT_GE(ReadProcessStats().virtual_bytes, after);
  EXPECT_EQ(block[kBytes - 1], 1);
}

TEST(ProcessStatsTest, OpenFileDescriptorsAreCounted) {
  const double before = ReadProcessStats().open_fds;
  const int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(ReadProcessStats().open_fds, before + 1);
  close(fd);
  EXPECT_EQ(ReadProcessStats().open_fds, before);
  EXPECT_GE(ReadProcessStats().max_fds, before + 1);
}

TEST(ProcessStatsTest, StartTimeIsWhenThisProcessStarted) {
  const double start = ReadProcessStats().start_time_seconds;
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // This test binary started moments ago (clock ticks are 10 ms; btime is whole seconds).
  EXPECT_LE(start, now + 1);
  EXPECT_GT(start, now - 600);
  // Stable from one read to the next.
  EXPECT_NEAR(ReadProcessStats().start_time_seconds, start, 0.02);
}

TEST(ProcessMetricsCollectorTest, ExportsTheStandardFamilies) {
  const auto families = ProcessMetricsCollector().Collect();
  std::map<std::string, const prometheus::MetricFamily*> by_name;
  for (const auto& f : families) by_name[f.name] = &f;
  const std::map<std::string, prometheus::MetricType> wanted = {
      {"process_cpu_seconds_total", prometheus::MetricType::Counter},
      {"process_resident_memory_bytes", prometheus::MetricType::Gauge},
      {"process_virtual_memory_bytes", prometheus::MetricType::Gauge},
      {"process_open_fds", prometheus::MetricType::Gauge},
      {"process_max_fds", prometheus::MetricType::Gauge},
      {"process_start_time_seconds", prometheus::MetricType::Gauge}};
  ASSERT_EQ(by_name.size(), wanted.size());
  for (const auto& [name, type] : wanted) {
    ASSERT_TRUE(by_name.count(name)) << name;
    const auto& f = *by_name[name];
    EXPECT_EQ(f.type, type) << name;
    ASSERT_EQ(f.metric.size(), 1u) << name;
    EXPECT_FALSE(f.help.empty()) << name;
    const double value = type == prometheus::MetricType::Counter ? f.metric[0].counter.value
                                                                 : f.metric[0].gauge.value;
    EXPECT_GT(value, 0) << name;
  }
}

}  // namespace
}  // namespace ctg
