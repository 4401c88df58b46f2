// SPDX-License-Identifier: LGPL-2.1-or-later
// Plugin registration only: the elements live in elements/.
#include "plugins/livepeer/plugin.h"

#include <gst/gst.h>

#include "elements/gstlphlssink.h"
#include "elements/gstlpremotetranscode.h"
#include "elements/gstlpsegmenter.h"
#include "elements/gstlpticketpay.h"
#include "elements/gstlptranscode.h"
#include "elements/gstlpverify.h"

gboolean lp_plugin_init(GstPlugin* plugin) {
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(lpsegmenter, plugin);
  ok |= GST_ELEMENT_REGISTER(lptranscode, plugin);
  ok |= GST_ELEMENT_REGISTER(lpticketpay, plugin);
  ok |= GST_ELEMENT_REGISTER(lpremote_transcode, plugin);
  ok |= GST_ELEMENT_REGISTER(lphlssink, plugin);
  ok |= GST_ELEMENT_REGISTER(lpverify, plugin);
  return ok;
}

#ifdef LP_PLUGIN_STATIC
gboolean lp_plugin_register_static(void) {
  static gsize once = 0;
  static gboolean registered = FALSE;
  if (g_once_init_enter(&once)) {
    registered = gst_plugin_register_static(
        GST_VERSION_MAJOR, GST_VERSION_MINOR, "livepeer",
        "Livepeer network elements: segmenting, transcoding, payment and verification",
        lp_plugin_init, LP_VERSION, "LGPL", "livepeer-gst", "livepeer-gst", "https://livepeer.org");
    g_once_init_leave(&once, 1);
  }
  return registered;
}
#else
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, livepeer,
                  "Livepeer network elements: segmenting, transcoding, payment and verification",
                  lp_plugin_init, LP_VERSION, "LGPL", "livepeer-gst", "https://livepeer.org")
#endif
