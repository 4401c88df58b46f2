// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace lp::test {

/// RAII owner of a GstHarness.
struct HarnessDeleter {
  void operator()(GstHarness* h) const {
    if (h) gst_harness_teardown(h);
  }
};
using HarnessPtr = std::unique_ptr<GstHarness, HarnessDeleter>;

/// Path of a clip in tests/data/media.
inline std::string media(const std::string& name) {
  return std::string(LP_TEST_DATA_DIR) + "/media/" + name;
}

}  // namespace lp::test

namespace lp::test {

struct GstUnref {
  void operator()(gpointer p) const {
    if (p) gst_object_unref(p);
  }
};
struct BufferUnref {
  void operator()(GstBuffer* b) const {
    if (b) gst_buffer_unref(b);
  }
};
using ElementRef = std::unique_ptr<GstElement, GstUnref>;
using BusRef = std::unique_ptr<GstBus, GstUnref>;
using BufferRef = std::unique_ptr<GstBuffer, BufferUnref>;

}  // namespace lp::test
