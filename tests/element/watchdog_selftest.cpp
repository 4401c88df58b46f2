// SPDX-License-Identifier: LGPL-2.1-or-later
// The watchdog's own subject (tests/element/watchdog_check.sh): one test that never ends, which
// the watchdog must name, show the stacks of and abort. Not part of any suite run by itself.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/element/watchdog.h"

TEST(Watchdog, StuckTest) { std::this_thread::sleep_for(std::chrono::hours(1)); }

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  lp::test::install_watchdog();
  return RUN_ALL_TESTS();
}
