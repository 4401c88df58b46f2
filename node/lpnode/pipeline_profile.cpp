// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/lpnode/pipeline_profile.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "elements/common/gst_ptr.h"

namespace lp::node {

namespace {

struct Token {
  enum Kind { link, word } kind;
  std::string text;
  int line;
};

Error at(const std::string& origin, int line, const std::string& message) {
  return make_error(ErrorKind::invalid_input, "profile",
                    origin + ":" + std::to_string(line) + ": " + message);
}

/// Words, `!`, quoted values; `#` starts a comment outside quotes.
Result<std::vector<Token>> tokenize(const std::string& text, const std::string& origin) {
  std::vector<Token> out;
  int line = 1;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      ++i;
    } else if (std::isspace(static_cast<unsigned char>(c)) || c == '\\') {
      ++i;  // a trailing backslash continues a shell line: nothing to us
    } else if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '!') {
      out.push_back({Token::link, "!", line});
      ++i;
    } else {
      std::string w;
      const int start = line;
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])) &&
             text[i] != '!') {
        if (text[i] == '"') {
          ++i;
          while (i < text.size() && text[i] != '"') {
            if (text[i] == '\n')
              return at(origin, start, "a quoted value runs past the end of its line");
            if (text[i] == '\\' && i + 1 < text.size()) ++i;
            w += text[i++];
          }
          if (i >= text.size()) return at(origin, start, "unterminated quote");
          ++i;
        } else {
          w += text[i++];
        }
      }
      out.push_back({Token::word, w, start});
    }
  }
  return out;
}

bool valid_name(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

/// The ${names} in a value.
std::vector<std::string> placeholders(const std::string& value) {
  std::vector<std::string> out;
  for (std::size_t p = value.find("${"); p != std::string::npos; p = value.find("${", p + 2)) {
    const std::size_t e = value.find('}', p);
    out.push_back(e == std::string::npos ? "" : value.substr(p + 2, e - p - 2));
  }
  return out;
}

std::string fill(const std::string& value, const std::map<std::string, std::string>& values) {
  std::string out = value;
  for (const auto& [k, v] : values) {
    const std::string key = "${" + k + "}";
    for (std::size_t p = out.find(key); p != std::string::npos; p = out.find(key, p + v.size()))
      out.replace(p, key.size(), v);
  }
  return out;
}

GParamSpec* find_property(GstElementFactory* factory, const std::string& name) {
  const GType type = gst_element_factory_get_element_type(factory);
  if (type == 0) return nullptr;
  auto* klass = static_cast<GObjectClass*>(g_type_class_ref(type));
  GParamSpec* spec = g_object_class_find_property(klass, name.c_str());
  g_type_class_unref(klass);
  return spec;
}

/// Whether `text` converts to the property's type.
bool converts(GParamSpec* spec, const std::string& text) {
  if (spec->value_type == G_TYPE_STRING) return true;  // set verbatim by build_profile
  GValue v = G_VALUE_INIT;
  g_value_init(&v, spec->value_type);
  const bool ok = gst_value_deserialize_with_pspec(&v, text.c_str(), spec) &&
                  g_param_value_validate(spec, &v) == FALSE;
  g_value_unset(&v);
  return ok;
}

GstElementFactory* loaded_factory(const std::string& name) {
  GstElementFactory* f = gst_element_factory_find(name.c_str());
  if (!f) return nullptr;
  auto* loaded = GST_ELEMENT_FACTORY(gst_plugin_feature_load(GST_PLUGIN_FEATURE(f)));
  gst_object_unref(f);
  return loaded;
}

}  // namespace

std::string ProfileElement::name() const {
  for (const auto& p : props)
    if (p.name == "name") return p.value;
  return "";
}

std::vector<const ProfileElement*> PipelineProfile::elements() const {
  std::vector<const ProfileElement*> out;
  for (const auto& chain : chains)
    for (const auto& e : chain)
      if (!e.factory.empty()) out.push_back(&e);
  return out;
}

Result<PipelineProfile> parse_profile(const std::string& text, const std::string& origin) {
  auto tokens = tokenize(text, origin);
  if (!tokens) return tokens.error();
  PipelineProfile p;
  p.origin = origin;
  bool linked = false;  // the last token was `!`
  for (const Token& t : *tokens) {
    if (t.kind == Token::link) {
      if (p.chains.empty() || p.chains.back().empty() || linked)
        return at(origin, t.line, "'!' with nothing before it");
      linked = true;
      continue;
    }
    const auto eq = t.text.find('=');
    if (eq != std::string::npos) {  // a property of the last element
      if (linked || p.chains.empty() || p.chains.back().back().factory.empty())
        return at(origin, t.line, "'" + t.text + "' is not after an element");
      const std::string key = t.text.substr(0, eq);
      if (!valid_name(key)) return at(origin, t.line, "bad property name '" + key + "'");
      for (const auto& ph : placeholders(t.text.substr(eq + 1)))
        if (!valid_name(ph)) return at(origin, t.line, "bad placeholder in '" + t.text + "'");
      p.chains.back().back().props.push_back({key, t.text.substr(eq + 1), t.line});
      continue;
    }
    ProfileElement e;
    e.line = t.line;
    if (const auto dot = t.text.find('.'); dot != std::string::npos) {
      e.ref = t.text.substr(0, dot);
      e.pad = t.text.substr(dot + 1);
      if (!valid_name(e.ref)) return at(origin, t.line, "bad element reference '" + t.text + "'");
    } else {
      if (t.text.find("${") != std::string::npos)
        return at(origin, t.line,
                  "placeholders are for property values, not element names: '" + t.text + "'");
      if (!valid_name(t.text)) return at(origin, t.line, "bad element name '" + t.text + "'");
      e.factory = t.text;
    }
    if (!linked) p.chains.emplace_back();
    p.chains.back().push_back(std::move(e));
    linked = false;
  }
  if (linked) return at(origin, tokens->back().line, "'!' at the end with nothing after it");
  if (p.chains.empty()) return at(origin, 1, "no elements");
  return p;
}

Result<PipelineProfile> load_profile(const std::string& name_or_path,
                                     const std::string& pipelines_dir) {
  namespace fs = std::filesystem;
  std::string path = name_or_path;
  if (name_or_path.find('/') == std::string::npos && !fs::exists(name_or_path))
    path = (fs::path(pipelines_dir) / (name_or_path + ".gst")).string();
  std::ifstream in(path);
  if (!in)
    return make_error(ErrorKind::invalid_input, "profile",
                      "no profile '" + name_or_path + "' (looked for " + path + ")");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_profile(text.str(), path);
}

Status check_profile(const PipelineProfile& profile,
                     const std::map<std::string, std::string>& values) {
  std::map<std::string, const ProfileElement*> names;
  for (const ProfileElement* e : profile.elements()) {
    gst::ObjectPtr<GstElementFactory> factory(loaded_factory(e->factory));
    GstElementFactory* f = factory.get();
    if (!f)
      return at(profile.origin, e->line,
                "unknown element '" + e->factory +
                    "' (not in the GStreamer registry; gst-inspect-1.0 lists them)");
    for (const auto& prop : e->props) {
      if (prop.name == "name") {
        if (!names.emplace(prop.value, e).second)
          return at(profile.origin, prop.line, "two elements named " + prop.value);
        continue;
      }
      GParamSpec* spec = find_property(f, prop.name);
      if (!spec || !(spec->flags & G_PARAM_WRITABLE)) {
        return at(profile.origin, prop.line,
                  "element " + e->factory + " has no " + (spec ? "writable " : "") + "property '" +
                      prop.name + "' (gst-inspect-1.0 " + e->factory + ")");
      }
      const auto phs = placeholders(prop.value);
      for (const auto& ph : phs)
        if (!values.count(ph))
          return at(profile.origin, prop.line, "unknown placeholder ${" + ph + "}");
      const std::string value = fill(prop.value, values);
      if (!converts(spec, value)) {
        return at(profile.origin, prop.line,
                  "'" + value + "' is not a valid " + g_type_name(spec->value_type) + " for " +
                      e->factory + " " + prop.name);
      }
    }
  }
  for (const auto& chain : profile.chains)
    for (const auto& e : chain)
      if (e.factory.empty() && !names.count(e.ref))
        return at(profile.origin, e.line, "no element named '" + e.ref + "'");
  return ok_status();
}

namespace {

/// Links a src to a sink, now or (a sometimes pad) when the pad appears.
bool link_or_delay(GstElement* src, const std::string& srcpad, GstElement* sink,
                   const std::string& sinkpad) {
  if (gst_element_link_pads(src, srcpad.empty() ? nullptr : srcpad.c_str(), sink,
                            sinkpad.empty() ? nullptr : sinkpad.c_str()))
    return true;
  // A demuxer's pads come later: link the first compatible one that appears.
  bool sometimes = false;
  for (const GList* l = gst_element_class_get_pad_template_list(GST_ELEMENT_GET_CLASS(src)); l;
       l = l->next) {
    auto* templ = static_cast<GstPadTemplate*>(l->data);
    sometimes |= GST_PAD_TEMPLATE_DIRECTION(templ) == GST_PAD_SRC &&
                 GST_PAD_TEMPLATE_PRESENCE(templ) == GST_PAD_SOMETIMES;
  }
  if (!sometimes) return false;
  struct Target {
    GstElement* sink;
    std::string pad;
  };
  auto* target = new Target{sink, sinkpad};
  g_signal_connect_data(
      src, "pad-added", G_CALLBACK(+[](GstElement* el, GstPad* pad, gpointer data) {
        auto* t = static_cast<Target*>(data);
        GstPad* peer = t->pad.empty() ? gst_element_get_compatible_pad(t->sink, pad, nullptr)
                                      : gst_element_get_static_pad(t->sink, t->pad.c_str());
        if (peer && !gst_pad_is_linked(peer)) gst_pad_link(pad, peer);
        if (peer) gst_object_unref(peer);
        (void)el;
      }),
      target, [](gpointer data, GClosure*) { delete static_cast<Target*>(data); },
      static_cast<GConnectFlags>(0));
  return true;
}

}  // namespace

Result<PipelineProfile> without_head(const PipelineProfile& profile) {
  if (profile.chains.empty() || profile.chains[0].empty() || profile.chains[0][0].factory.empty())
    return at(profile.origin, 1, "the profile does not start with an element");
  const ProfileElement& head = profile.chains[0][0];
  const std::string name = head.name();
  for (const auto& chain : profile.chains)
    for (const auto& e : chain)
      if (!name.empty() && e.factory.empty() && e.ref == name)
        return at(profile.origin, e.line,
                  "'" + name + ".' refers to the profile's first element, which input that is " +
                      "already segmented skips");
  PipelineProfile out = profile;
  out.chains[0].erase(out.chains[0].begin());
  if (out.chains[0].empty()) out.chains.erase(out.chains.begin());
  if (out.elements().empty()) return at(profile.origin, head.line, "nothing after " + head.factory);
  return out;
}

Result<std::vector<GstElement*>> build_profile(const PipelineProfile& profile, GstBin* bin,
                                               const std::map<std::string, std::string>& values) {
  if (auto st = check_profile(profile, values); !st) return st.error();
  std::vector<GstElement*> made;
  std::map<std::string, GstElement*> named;
  std::map<const ProfileElement*, GstElement*> of;
  for (const ProfileElement* e : profile.elements()) {
    GstElement* el = gst_element_factory_make(e->factory.c_str(),
                                              e->name().empty() ? nullptr : e->name().c_str());
    if (!el) return at(profile.origin, e->line, "cannot make " + e->factory);
    for (const auto& prop : e->props) {
      if (prop.name == "name") continue;
      const std::string value = fill(prop.value, values);
      // gst_util_set_object_arg would read a string starting with '"' as a quoted one.
      GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(el), prop.name.c_str());
      if (spec && spec->value_type == G_TYPE_STRING)
        g_object_set(el, prop.name.c_str(), value.c_str(), nullptr);
      else
        gst_util_set_object_arg(G_OBJECT(el), prop.name.c_str(), value.c_str());
    }
    gst_bin_add(bin, el);
    made.push_back(el);
    of[e] = el;
    if (!e->name().empty()) named[e->name()] = el;
  }
  for (const auto& chain : profile.chains)
    for (std::size_t i = 0; i + 1 < chain.size(); ++i) {
      const ProfileElement& a = chain[i];
      const ProfileElement& b = chain[i + 1];
      GstElement* src = a.factory.empty() ? named[a.ref] : of[&a];
      GstElement* sink = b.factory.empty() ? named[b.ref] : of[&b];
      if (!link_or_delay(src, a.factory.empty() ? a.pad : "", sink, b.factory.empty() ? b.pad : ""))
        return at(profile.origin, b.line,
                  "cannot link " + std::string(GST_ELEMENT_NAME(src)) + " to " +
                      GST_ELEMENT_NAME(sink) + " (their pads' formats do not match)");
    }
  return made;
}

}  // namespace lp::node
