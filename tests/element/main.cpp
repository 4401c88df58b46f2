// SPDX-License-Identifier: LGPL-2.1-or-later
// gtest main for element tests: initializes GStreamer, registers the livepeer plugin
// statically (no GST_PLUGIN_PATH needed) and turns GLib criticals and warnings into failures.
// A watchdog ends a test that runs longer than LP_TEST_WATCHDOG_S seconds (default 480) with
// every thread's stack (gdb, when installed) and an abort: a hang shows where it is in the log
// instead of as a bare suite timeout.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include "plugins/livepeer/plugin.h"
#include "tests/element/watchdog.h"

namespace {

void fail_on_log(const gchar* domain, GLogLevelFlags level, const gchar* message, gpointer) {
  ADD_FAILURE() << "GLib " << ((level & G_LOG_LEVEL_CRITICAL) ? "critical" : "warning") << " in "
                << (domain ? domain : "(default)") << ": " << message;
}

class GstEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    gst_init(nullptr, nullptr);
    ASSERT_TRUE(lp_plugin_register_static());
    const auto levels = static_cast<GLogLevelFlags>(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
    for (const char* domain :
         {"GLib", "GLib-GObject", "GStreamer", "GStreamer-Base", "GStreamer-Check"})
      g_log_set_handler(domain, levels, fail_on_log, nullptr);
    g_log_set_handler(nullptr, levels, fail_on_log, nullptr);
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new GstEnvironment);
  lp::test::install_watchdog();
  return RUN_ALL_TESTS();
}
