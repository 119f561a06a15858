#include "reporting/job_notifier.h"

#include <memory>

#include "common/log.h"

namespace ctg::reporting {
namespace {

class Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& connection, std::function<void()> on_notification)
      : pqxx::notification_receiver(connection, kJobChannel),
        on_notification_(std::move(on_notification)) {}
  void operator()(const std::string&, int) override { on_notification_(); }

 private:
  std::function<void()> on_notification_;
};

}  // namespace

JobNotifier::JobNotifier(std::string database_url) : url_(std::move(database_url)) {
  thread_ = std::thread([this] { Run(); });
}

JobNotifier::~JobNotifier() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_.notify_all();
  changed_.notify_all();
  thread_.join();
}

void JobNotifier::OnChange(std::function<void()> callback) {
  std::lock_guard lock(mu_);
  callbacks_.push_back(std::move(callback));
}

uint64_t JobNotifier::changes() {
  std::lock_guard lock(mu_);
  return changes_;
}

uint64_t JobNotifier::WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  changed_.wait_for(lock, timeout, [&] { return changes_ > seen || stopping_; });
  return changes_;
}

bool JobNotifier::listening() {
  std::lock_guard lock(mu_);
  return listening_;
}

void JobNotifier::Announce() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mu_);
    callbacks = callbacks_;
  }
  // The callbacks run before the waiters wake, so a waiter that sees the change also sees
  // what the callbacks did (a test once read a counter a callback had not yet moved).
  for (const auto& callback : callbacks) callback();
  {
    std::lock_guard lock(mu_);
    ++changes_;
  }
  changed_.notify_all();
}

void JobNotifier::Run() {
  bool warned = false;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    try {
      pqxx::connection connection(url_);
      Receiver receiver(connection, [this] { Announce(); });
      {
        std::lock_guard lock(mu_);
        listening_ = true;
      }
      warned = false;
      // A change may have been missed while not listening: announce one so users look.
      Announce();
      for (;;) {
        {
          std::lock_guard lock(mu_);
          if (stopping_) return;
        }
        // Returns at a notification or after 200 ms, to see `stopping_`.
        connection.await_notification(0, 200000);
      }
    } catch (const std::exception& e) {
      {
        std::lock_guard lock(mu_);
        listening_ = false;
      }
      if (!warned) {
        LogLine("warn")
            .Add("msg", "job notifications unavailable; polling meanwhile")
            .Add("error", e.what())
            .Emit();
        warned = true;
      }
    }
    std::unique_lock lock(mu_);
    stop_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
  }
}

}  // namespace ctg::reporting
