// SPDX-License-Identifier: LGPL-2.1-or-later
// Operator profiles in pipelines/: gst-launch-1.0 descriptions (the same grammar, so a profile
// can be tried on the command line once its placeholders are filled in) that lpnode reads into
// a fixed schema: chains of elements, each a factory with property=value settings, linked with
// `!`, and `name.` / `name.pad` references. Operator values go in as ${placeholder} property
// values and are set as typed property values on the made elements: never spliced into text
// for gst_parse_launch. Every element and property is checked against the GStreamer registry
// before anything is built; each error names the file and line.
#pragma once

#include <gst/gst.h>

#include <map>
#include <string>
#include <vector>

#include "payment/common/result.h"

namespace lp::node {

struct ProfileProperty {
  std::string name;
  std::string value;  ///< may hold ${placeholders}
  int line = 0;
};

/// One chain member: an element to make, or a reference to a named one (`t.` / `t.src_0`).
struct ProfileElement {
  std::string factory;  ///< empty for a reference
  std::string ref;      ///< the referenced element's name
  std::string pad;      ///< the referenced pad (may be empty)
  std::vector<ProfileProperty> props;
  int line = 0;
  std::string name() const;  ///< the name= property, or ""
};

struct PipelineProfile {
  std::string origin;  ///< file path, for messages
  std::vector<std::vector<ProfileElement>> chains;
  /// Every element (not reference) in order of appearance.
  std::vector<const ProfileElement*> elements() const;
};

/// Parses a description; errors name origin:line.
Result<PipelineProfile> parse_profile(const std::string& text, const std::string& origin);
/// Reads a profile by path, or by name from pipelines/ (`gateway` -> <dir>/gateway.gst).
Result<PipelineProfile> load_profile(const std::string& name_or_path,
                                     const std::string& pipelines_dir);

/// Checks factories, properties (writable, literal values of the right type) and placeholders
/// (each one of `values`) without making a pipeline.
Status check_profile(const PipelineProfile& profile,
                     const std::map<std::string, std::string>& values);

/// The profile without its first element (the head of the first chain), for input that arrives
/// already in the form the head makes (HTTP push: whole segments, the head being lpsegmenter).
/// An error when the head is referenced by name or is all the profile has.
Result<PipelineProfile> without_head(const PipelineProfile& profile);

/// Makes every element in `bin` with its properties (placeholders filled from `values`) and
/// links the chains; string properties take their filled-in value verbatim (a stream name or a
/// path with quotes stays as it is), others are deserialized to their type. Returns the elements by
/// position in elements(). Sometimes pads (a demuxer's) are linked when they appear.
Result<std::vector<GstElement*>> build_profile(const PipelineProfile& profile, GstBin* bin,
                                               const std::map<std::string, std::string>& values);

}  // namespace lp::node
