// SPDX-License-Identifier: LGPL-2.1-or-later
// A gtest listener that ends a test running longer than its limit: the test's name, every
// thread's stack (gdb, when installed) and an abort, so that a hang shows where it is in the log
// instead of as a bare suite timeout. tests/element/watchdog_check.sh checks it on a test that
// never ends (watchdog_selftest.cpp).
#pragma once

#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

extern char** environ;

namespace lp::test {

class Watchdog : public ::testing::EmptyTestEventListener {
 public:
  explicit Watchdog(std::chrono::seconds limit) : limit_(limit), thread_([this] { run(); }) {}
  ~Watchdog() override {
    {
      std::lock_guard lock(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  void OnTestStart(const ::testing::TestInfo& test) override {
    std::lock_guard lock(mu_);
    name_ = std::string(test.test_suite_name()) + "." + test.name();
    deadline_ = std::chrono::steady_clock::now() + limit_;
    armed_ = true;
    cv_.notify_all();
  }
  void OnTestEnd(const ::testing::TestInfo&) override {
    std::lock_guard lock(mu_);
    armed_ = false;
    cv_.notify_all();
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (!quit_) {
      if (!armed_) {
        cv_.wait(lock);
      } else if (cv_.wait_until(lock, deadline_) == std::cv_status::timeout && armed_ &&
                 std::chrono::steady_clock::now() >= deadline_) {
        fire(name_, limit_);
      }
    }
  }

  // posix_spawn, not fork: a process that hangs may hold locks that fork handlers want.
  [[noreturn]] static void fire(const std::string& name, std::chrono::seconds limit) {
    std::fprintf(stderr, "\nwatchdog: %s has run for more than %lld s; every thread's stack:\n",
                 name.c_str(), static_cast<long long>(limit.count()));
    std::fflush(stderr);
    prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);  // let gdb, a child, attach
    const std::string pid = std::to_string(getpid());
    std::string args[] = {"gdb", "-p", pid, "-batch", "-nx", "-ex", "thread apply all bt"};
    char* argv[] = {args[0].data(), args[1].data(), args[2].data(), args[3].data(),
                    args[4].data(), args[5].data(), args[6].data(), nullptr};
    posix_spawn_file_actions_t io;
    posix_spawn_file_actions_init(&io);
    posix_spawn_file_actions_adddup2(&io, STDERR_FILENO, STDOUT_FILENO);
    pid_t child = 0;
    int status = 0;
    if (posix_spawnp(&child, "gdb", &io, nullptr, argv, environ) != 0 ||
        waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      std::fprintf(stderr, "watchdog: no stacks (gdb missing or not allowed to attach)\n");
    posix_spawn_file_actions_destroy(&io);
    std::abort();
  }

  const std::chrono::seconds limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string name_;                                // guarded by mu_
  std::chrono::steady_clock::time_point deadline_;  // guarded by mu_
  bool armed_ = false;                              // guarded by mu_
  bool quit_ = false;                               // guarded by mu_
  std::thread thread_;
};

/// Installs the watchdog with LP_TEST_WATCHDOG_S seconds (default 480; 0: none).
inline void install_watchdog() {
  const char* limit = std::getenv("LP_TEST_WATCHDOG_S");
  const long seconds = limit && *limit ? std::strtol(limit, nullptr, 10) : 480;
  if (seconds > 0)  // gtest owns and deletes its listeners
    ::testing::UnitTest::GetInstance()->listeners().Append(
        new Watchdog(std::chrono::seconds(seconds)));
}

}  // namespace lp::test
