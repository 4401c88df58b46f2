// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/gst.h>

#include <memory>

namespace lp::gst {

/// unique_ptr owners for GStreamer references: each releases with the right unref.
struct ObjectUnref {
  void operator()(gpointer p) const {
    if (p) gst_object_unref(p);
  }
};
struct BufferUnref {
  void operator()(GstBuffer* b) const {
    if (b) gst_buffer_unref(b);
  }
};
struct CapsUnref {
  void operator()(GstCaps* c) const {
    if (c) gst_caps_unref(c);
  }
};
struct SampleUnref {
  void operator()(GstSample* s) const {
    if (s) gst_sample_unref(s);
  }
};
struct MessageUnref {
  void operator()(GstMessage* m) const {
    if (m) gst_message_unref(m);
  }
};

template <class T>
using ObjectPtr = std::unique_ptr<T, ObjectUnref>;
using BufferPtr = std::unique_ptr<GstBuffer, BufferUnref>;
using CapsPtr = std::unique_ptr<GstCaps, CapsUnref>;
using SamplePtr = std::unique_ptr<GstSample, SampleUnref>;
using MessagePtr = std::unique_ptr<GstMessage, MessageUnref>;

}  // namespace lp::gst
