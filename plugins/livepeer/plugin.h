/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Registers every element of the livepeer plugin; tests register it statically with it. */
gboolean lp_plugin_init(GstPlugin* plugin);

/* Registers the plugin linked into this program (lpnode, the tests, the benchmarks) with
 * GStreamer's registry, once per process; gst_init() must have run. Returns TRUE when the
 * elements are available. */
gboolean lp_plugin_register_static(void);

G_END_DECLS
