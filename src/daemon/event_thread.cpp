#include "event_thread.hpp"

#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"

namespace nvmefs::daemon {

EventThread::EventThread() : thread_([this] { run(); }) {}

EventThread::~EventThread() { stop(); }

void EventThread::post(std::function<void()> job) {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void EventThread::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
    jobs_.clear();
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void EventThread::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [this] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lk.unlock();
    try {
      job();
    } catch (const Error& e) {
      log::error("{}", e.what());
    }
    lk.lock();
  }
}

}  // namespace nvmefs::daemon
