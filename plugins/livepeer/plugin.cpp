// SPDX-License-Identifier: LGPL-2.1-or-later
// Plugin registration only: the elements live in elements/.
#include <gst/gst.h>

#include "elements/gstlpsegmenter.h"
#include "elements/gstlptranscode.h"
#include "elements/gstlpticketpay.h"
#include "elements/gstlpremotetranscode.h"
#include "elements/gstlphlssink.h"
#include "elements/gstlpverify.h"
#include "plugins/livepeer/plugin.h"

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

#ifndef LP_PLUGIN_STATIC
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, livepeer,
                  "Livepeer network elements: segmenting, transcoding, payment and verification",
                  lp_plugin_init, LP_VERSION, "LGPL", "livepeer-gst", "https://livepeer.org")
#endif
