// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/orchestrator/orchestrator.h"

#include <atomic>
#include <thread>

#include "elements/net/segment_line.h"
#include "elements/net/wire.h"
#include "node/orchestrator/capabilities.h"
#include "payment/eth/keccak.h"

namespace lp::orch {

namespace {

SegmentReply text_reply(int status, const std::string& text) {
  return {status, "text/plain", text};
}

std::string bytes_of(ByteSpan b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

Result<media::VideoProfile> from_proto(const ::net::VideoProfile& p) {
  if (p.format() != ::net::VideoProfile::MPEGTS)
    return make_error(ErrorKind::invalid_input, "unsupported_format",
                      "profile " + p.name() + ": only MPEG-TS output");
  if (p.encoder() != ::net::VideoProfile::H264)
    return make_error(ErrorKind::invalid_input, "unsupported_codec",
                      "profile " + p.name() + ": only H.264 output");
  if (p.width() <= 0 || p.height() <= 0 || p.width() > 8192 || p.height() > 8192 ||
      p.bitrate() <= 0)
    return make_error(ErrorKind::invalid_input, "bad_profile",
                      "profile " + p.name() + ": bad size or bitrate");
  media::VideoProfile v;
  v.name = p.name();
  v.width = p.width();
  v.height = p.height();
  v.bitrate = p.bitrate();
  v.fps = static_cast<int>(std::min<std::uint32_t>(p.fps(), 240));
  v.fps_den = p.fpsden() == 0 ? 1 : static_cast<int>(std::min<std::uint32_t>(p.fpsden(), 1001));
  switch (p.profile()) {
    case ::net::VideoProfile::H264_BASELINE:
      v.profile = media::H264Profile::baseline;
      break;
    case ::net::VideoProfile::H264_MAIN:
      v.profile = media::H264Profile::main;
      break;
    case ::net::VideoProfile::H264_HIGH:
      v.profile = media::H264Profile::high;
      break;
    case ::net::VideoProfile::H264_CONSTRAINED_HIGH:
      v.profile = media::H264Profile::constrained_high;
      break;
    default:
      v.profile = media::H264Profile::encoder_default;
      break;
  }
  v.gop_ms = p.gop() < 0 ? -1 : p.gop();
  return v;
}

}  // namespace

struct Orchestrator::Session {
  std::string id;
  explicit Session(std::size_t max_waiting) : line(max_waiting) {}
  net::SegmentLine line;                           // one segment at a time, in acceptance order
  std::unique_ptr<media::TranscodeEngine> engine;  // used by the line's current holder only
  std::string engine_ladder;                       // the ladder it was built for
  std::atomic<std::int64_t> last_used{0};
  mutable std::mutex store_mu;
  // profile -> the last renditions, oldest first
  std::map<std::string, std::deque<std::pair<std::int64_t, std::string>>>
      store;  // guarded by store_mu
};

Orchestrator::Orchestrator(OrchestratorConfig config, PrivateKey key, pm::Recipient& recipient,
                           Clock now)
    : config_(std::move(config)),
      key_(std::move(key)),
      recipient_(recipient),
      now_(std::move(now)),
      capabilities_(orchestrator_capabilities(config_.version)) {}

Orchestrator::~Orchestrator() = default;

void Orchestrator::set_service_uri(const std::string& uri) {
  std::lock_guard lock(mu_);
  config_.service_uri = uri;
}

std::string Orchestrator::service_uri() const {
  std::lock_guard lock(mu_);
  return config_.service_uri;
}

::net::OrchestratorInfo Orchestrator::info_for(const Address& sender,
                                               const ::net::AuthToken& token) {
  ::net::OrchestratorInfo info;
  info.set_transcoder(service_uri());
  if (auto params = recipient_.ticket_params(sender, config_.price))
    *info.mutable_ticket_params() = net::to_proto(*params);
  *info.mutable_price_info() = net::to_proto(config_.price);
  info.set_address(bytes_of(key_.address()));
  *info.mutable_capabilities() = capabilities_;
  *info.mutable_auth_token() = token;
  return info;
}

Result<std::shared_ptr<Orchestrator::Session>> Orchestrator::session_for(const std::string& id,
                                                                         bool create) {
  std::lock_guard lock(mu_);
  if (auto it = sessions_.find(id); it != sessions_.end()) return it->second;
  if (!create) return make_error(ErrorKind::invalid_input, "unknown_session", "unknown session");
  if (sessions_.size() >= config_.max_sessions)
    return make_error(ErrorKind::retryable, "orchestrator_capped", "OrchestratorCapped");
  auto s = std::make_shared<Session>(config_.max_queued_per_session);
  s->id = id;
  s->last_used = now_();
  sessions_.emplace(id, s);
  return s;
}

Result<::net::OrchestratorInfo> Orchestrator::get_orchestrator(
    const ::net::OrchestratorRequest& req) {
  auto sender = net::address_field(req.address(), "address");
  if (!sender) return sender.error();
  // The gateway signs its EIP-55 address string once at start (go-livepeer starter.go).
  const std::string message = to_checksum(*sender);
  if (!verify_message(*sender, as_bytes(message), as_bytes(req.sig())))
    return make_error(ErrorKind::forbidden, "invalid_signature",
                      "invalid orchestrator request signature");
  if (!req.ignorecapacitycheck() && sessions() >= config_.max_sessions)
    return make_error(ErrorKind::retryable, "orchestrator_capped", "OrchestratorCapped");
  auto params = recipient_.ticket_params(*sender, config_.price);
  if (!params) return params.error();
  return info_for(*sender, tokens_.issue(AuthTokens::new_session_id(), now_()));
}

SegmentReply Orchestrator::serve_segment(std::string_view payment_header,
                                         std::string_view segment_header, std::string_view body) {
  auto accepted = accept_segment(payment_header, segment_header, body);
  if (auto* reply = std::get_if<SegmentReply>(&accepted)) return std::move(*reply);
  return transcode_segment(std::move(std::get<AcceptedSegment>(accepted)), body);
}

std::variant<SegmentReply, AcceptedSegment> Orchestrator::accept_segment(
    std::string_view payment_header, std::string_view segment_header, std::string_view body,
    const Hash* body_hash) {
  auto outcome = check_segment(payment_header, segment_header, body, body_hash);
  if (std::holds_alternative<SegmentReply>(outcome)) {
    std::lock_guard lock(stats_mu_);
    ++stats_.segments_refused;
  }
  return outcome;
}

std::variant<SegmentReply, AcceptedSegment> Orchestrator::check_segment(
    std::string_view payment_header, std::string_view segment_header, std::string_view body,
    const Hash* body_hash) {
  // go-livepeer's order (server/segment_rpc.go): payment parse, segment credentials, payment,
  // balance, body hash (here before the payment); then 200 and the transcode result.
  ::net::Payment payment;
  if (auto st = net::decode_header(payment_header, &payment, "Livepeer-Payment"); !st)
    return text_reply(402, st.error().message);
  ::net::SegData seg;
  if (auto st = net::decode_header(segment_header, &seg, "Livepeer-Segment"); !st)
    return text_reply(403, st.error().message);
  if (seg.duration() < 0 || seg.duration() > 300'000)
    return text_reply(403, "invalid segment duration");
  const bool paid = config_.price.price_per_unit > 0;
  std::optional<Address> sender;
  if (!payment.sender().empty()) {
    auto a = net::address_field(payment.sender(), "sender");
    if (!a) return text_reply(402, a.error().message);
    sender = *a;
  }
  if (paid && (!sender || !payment.has_ticket_params())) return text_reply(402, "missing payment");
  const std::vector<std::string> names = net::segdata_profile_names(seg);
  if (names.empty()) return text_reply(403, "no profiles");
  if (sender) {
    if (seg.hash().size() != 32) return text_reply(403, "ErrSegSig");
    Hash h{};
    std::copy(seg.hash().begin(), seg.hash().end(), h.begin());
    const Bytes flat = net::segment_flatten(seg.manifestid(), seg.seq(), h, names);
    if (!verify_message(*sender, flat, as_bytes(seg.sig()))) return text_reply(403, "ErrSegSig");
  }
  if (!compatible(seg.capabilities(), capabilities_))
    return text_reply(403, "incompatible capabilities");
  const std::int64_t now = now_();
  if (auto st = tokens_.verify(seg.auth_token(), now); !st)
    return text_reply(403, st.error().message);
  const std::string session_id = seg.auth_token().session_id();
  auto session = session_for(session_id, true);
  if (!session) return text_reply(403, session.error().message);
  (*session)->last_used = now;

  // The body's hash before the payment (go-livepeer checks it after): a request with a wrong
  // body must not consume the gateway's tickets. Single-fault requests get go-livepeer's status.
  const Hash hash = body_hash ? *body_hash : keccak256(as_bytes(body));
  if (seg.hash().size() != 32 || bytes_of(hash) != seg.hash()) return text_reply(403, "Forbidden");
  if (payment.has_ticket_params()) {
    auto batch = net::from_proto(payment);
    if (!batch) return text_reply(400, batch.error().message);
    if (batch->sender != *sender) return text_reply(400, "payment sender differs");
    const pm::PaymentOutcome outcome = recipient_.receive_payment(*batch, session_id);
    {
      std::lock_guard lock(stats_mu_);
      stats_.tickets_recv += outcome.accepted;
      stats_.winning_tickets_recv += outcome.winners;
      stats_.ticket_value_recv += outcome.credited;
      if (outcome.error) ++stats_.payment_recv_errors;
    }
    if (outcome.error) return text_reply(400, outcome.error->message);
  }
  if (paid &&
      recipient_.balances().balance(*sender, session_id) < Rational(recipient_.config().ticket_ev))
    return text_reply(400, "Insufficient balance");

  AcceptedSegment accepted;
  accepted.segment = std::move(seg);
  accepted.sender = sender;
  return accepted;
}

SegmentReply Orchestrator::transcode_segment(AcceptedSegment accepted, std::string_view body) {
  const ::net::SegData& seg = accepted.segment;
  const std::optional<Address>& sender = accepted.sender;
  const bool paid = config_.price.price_per_unit > 0;
  const std::string session_id = seg.auth_token().session_id();
  ::net::TranscodeResult result;
  result.set_seq(seg.seq());
  *result.mutable_info() = info_for(sender.value_or(Address{}), seg.auth_token());
  auto session = session_for(session_id, false);
  if (!session) {  // ended between acceptance and work
    result.set_error("session ended");
    return {200, "application/x-protobuf", result.SerializeAsString()};
  }
  auto& s = **session;
  const auto ticket = s.line.join();
  if (!ticket) {
    result.set_error("OrchestratorBusy");
    return {200, "application/x-protobuf", result.SerializeAsString()};
  }
  s.line.wait_turn(*ticket);
  struct Leave {
    net::SegmentLine& line;
    ~Leave() { line.leave(); }
  } leave{s.line};
  std::vector<media::VideoProfile> ladder;
  std::string ladder_key;
  const auto& profiles = seg.fullprofiles3_size()   ? seg.fullprofiles3()
                         : seg.fullprofiles2_size() ? seg.fullprofiles2()
                                                    : seg.fullprofiles();
  for (const auto& p : profiles) {
    auto v = from_proto(p);
    if (!v) {
      result.set_error(v.error().message);
      return {200, "application/x-protobuf", result.SerializeAsString()};
    }
    ladder.push_back(*v);
    ladder_key += p.SerializeAsString();
  }
  if (!s.engine || s.engine_ladder != ladder_key) {
    s.engine = std::make_unique<media::TranscodeEngine>(
        media::TranscodeEngine::Options{ladder, config_.gpu, config_.x264_preset});
    s.engine_ladder = ladder_key;
  }
  gst::BufferPtr in(gst_buffer_new_memdup(body.data(), body.size()));
  std::vector<media::Rendition> out;
  std::string error;
  const std::int64_t started = g_get_monotonic_time();
  const bool transcoded = s.engine->transcode(in.get(), &out, &error);
  {
    std::lock_guard lock(stats_mu_);
    const double seconds = static_cast<double>(g_get_monotonic_time() - started) / 1e6;
    ++(transcoded ? stats_.segments_transcoded : stats_.transcode_failed);
    stats_.transcode_seconds += seconds;
    stats_.last_transcode_seconds = seconds;
  }
  if (!transcoded) {
    s.engine
        .reset();  // the next segment starts a fresh pipeline (as go-livepeer after an lpms error)
    result.set_error(error);
    return {200, "application/x-protobuf", result.SerializeAsString()};
  }
  // The renditions' bytes and claimed pixels.
  std::vector<std::string> rendition_bytes(out.size());
  std::vector<std::uint64_t> rendition_pixels(out.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    GstMapInfo map;
    if (gst_buffer_map(out[i].ts.get(), &map, GST_MAP_READ)) {
      rendition_bytes[i].assign(reinterpret_cast<const char*>(map.data), map.size);
      gst_buffer_unmap(out[i].ts.get(), &map);
    }
    rendition_pixels[i] = out[i].pixels;
  }
  RenditionTamper tamper;
  {
    std::lock_guard lock(mu_);
    tamper = tamper_;
  }
  if (tamper.before_sign) tamper.before_sign(seg.seq(), rendition_bytes, rendition_pixels);
  // The hashes in parallel (each ~1 ms per 250 kB), then the signature over them.
  std::vector<Hash> rendition_hashes(out.size());
  {
    std::vector<std::thread> hashers;
    for (std::size_t i = 0; i < out.size(); ++i) {
      auto hash_one = [&, i] { rendition_hashes[i] = keccak256(as_bytes(rendition_bytes[i])); };
      if (i + 1 < out.size())
        hashers.emplace_back(hash_one);
      else
        hash_one();
    }
    for (auto& t : hashers) t.join();
  }
  Bytes hashes;
  for (const Hash& h : rendition_hashes) hashes.insert(hashes.end(), h.begin(), h.end());
  const Signature sig = sign_message(key_, hashes);
  if (tamper.after_sign) tamper.after_sign(seg.seq(), rendition_bytes);
  std::uint64_t pixels = 0;
  auto* data = result.mutable_data();
  data->set_sig(bytes_of(sig));
  for (std::size_t i = 0; i < out.size(); ++i) {
    pixels += rendition_pixels[i];
    auto* seg_out = data->add_segments();
    seg_out->set_url(service_uri() + "/stream/" + session_id + "/" + ladder[i].name + "/" +
                     std::to_string(seg.seq()) + ".ts");
    seg_out->set_pixels(static_cast<std::int64_t>(rendition_pixels[i]));
    std::lock_guard lock(s.store_mu);
    auto& kept = s.store[ladder[i].name];
    kept.emplace_back(seg.seq(), std::move(rendition_bytes[i]));
    while (kept.size() > config_.renditions_kept) kept.pop_front();
  }
  {
    std::lock_guard lock(stats_mu_);
    stats_.pixels += pixels;
  }
  // Fees: encoded pixels at the session's price (go-livepeer debits even partial output).
  if (paid) {
    auto per_pixel = config_.price.per_pixel();
    if (per_pixel) recipient_.balances().debit(*sender, session_id, *per_pixel * Rational(pixels));
  }
  return {200, "application/x-protobuf", result.SerializeAsString()};
}

Status Orchestrator::end_session(const ::net::AuthToken& token) {
  if (auto st = tokens_.verify(token, now_()); !st) return st;
  std::lock_guard lock(mu_);
  sessions_.erase(token.session_id());
  return ok_status();
}

std::string Orchestrator::ping(const std::string& value) const {
  return bytes_of(sign_message(key_, as_bytes(value)));
}

std::optional<std::string> Orchestrator::rendition(const std::string& session,
                                                   const std::string& profile,
                                                   std::int64_t seq) const {
  std::shared_ptr<Session> s;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(session);
    if (it == sessions_.end()) return std::nullopt;
    s = it->second;
  }
  std::lock_guard lock(s->store_mu);
  auto it = s->store.find(profile);
  if (it == s->store.end()) return std::nullopt;
  for (const auto& [n, bytes] : it->second)
    if (n == seq) return bytes;
  return std::nullopt;
}

std::size_t Orchestrator::reap_idle() {
  const std::int64_t now = now_();
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (now - it->second->last_used > config_.session_idle_seconds &&
        it->second->line.size() == 0) {
      it = sessions_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

std::size_t Orchestrator::sessions() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

OrchestratorStats Orchestrator::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

void Orchestrator::set_tamper(RenditionTamper tamper) {
  std::lock_guard lock(mu_);
  tamper_ = std::move(tamper);
}

}  // namespace lp::orch
