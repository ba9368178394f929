// One thread that runs posted jobs in order. Observers of controllers and of
// the discovery log post here: they are called on the initiator's own
// threads, which must not block on admin commands or the FUSE layer.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace nvmefs::daemon {

class EventThread {
 public:
  EventThread();
  ~EventThread();  // stop()
  EventThread(const EventThread&) = delete;
  EventThread& operator=(const EventThread&) = delete;

  // Queues `job`; ignored once stop() has begun.
  void post(std::function<void()> job);
  // Finishes the running job, drops the queued ones, joins. Idempotent.
  void stop();

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace nvmefs::daemon
