/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Registers every element of the livepeer plugin; tests register it statically with it. */
gboolean lp_plugin_init (GstPlugin * plugin);

G_END_DECLS
