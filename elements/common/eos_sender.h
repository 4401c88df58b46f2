// SPDX-License-Identifier: LGPL-2.1-or-later
// Sends EOS into a pipeline from a thread of its own, for a host that stops on a signal: a source
// in push mode takes its streaming lock to queue the EOS, and a source blocked in its read (a pipe
// nobody writes, a listener nobody called) holds that lock, so the main loop must not send it.
// The thread is detached and holds its own reference: a host that gives up on a stuck pipeline may
// leave (even by _exit) with the send still blocked, without a thread to join. The future becomes
// ready when the send has returned (setting the pipeline to NULL unblocks a waiting source).
#pragma once

#include <gst/gst.h>

#include <future>
#include <thread>

namespace lp::gst {

inline std::future<void> send_eos_off_thread(GstElement* element) {
  std::promise<void> sent;
  std::future<void> done = sent.get_future();
  std::thread([e = GST_ELEMENT(gst_object_ref(element)), sent = std::move(sent)]() mutable {
    gst_element_send_event(e, gst_event_new_eos());
    gst_object_unref(e);
    sent.set_value();
  }).detach();
  return done;
}

}  // namespace lp::gst
