#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

namespace ctg::reporting {

// The PostgreSQL channel every change of a report job is announced on (a trigger of
// report_jobs, migration 005: payload the job's id), so workers on any machine claim a new job
// at once and watchers see a change at once, instead of waiting for their next poll.
inline constexpr char kJobChannel[] = "ctg_report_jobs";

// Listens on kJobChannel on a connection of its own, on a thread of its own, and passes every
// announcement on: to the callbacks given to OnChange and to the callers waiting in
// WaitForChange. When the connection fails it reconnects (every second); meanwhile nothing is
// announced, so every user keeps polling at its own interval — the notifications make the
// pipeline faster, never correct.
class JobNotifier {
 public:
  // `database_url` is a libpq connection string (a secret: never logged).
  explicit JobNotifier(std::string database_url);
  ~JobNotifier();
  JobNotifier(const JobNotifier&) = delete;
  JobNotifier& operator=(const JobNotifier&) = delete;

  // Calls `callback` (on the listening thread; it must not block) on every announcement.
  // Callbacks are added before the first announcement matters, and live as long as the notifier.
  void OnChange(std::function<void()> callback);
  // How many announcements have arrived so far.
  uint64_t changes();
  // Waits until more than `seen` announcements have arrived, or `timeout` passes; returns
  // changes(). An announcement counts once the OnChange callbacks have run for it.
  uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout);
  // True once the first LISTEN has been accepted (tests wait for it).
  bool listening();

 private:
  void Run();
  void Announce();

  const std::string url_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::function<void()>> callbacks_;
  uint64_t changes_ = 0;
  bool listening_ = false;
  bool stopping_ = false;
  std::condition_variable stop_;
  std::thread thread_;
};

}  // namespace ctg::reporting
