// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/orchestrator/orchestrator.h"

#include <glib.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "elements/net/protocol.h"
#include "elements/net/segment_line.h"
#include "elements/net/wire.h"
#include "node/orchestrator/capabilities.h"
#include "payment/eth/keccak.h"

namespace lp::orch {

namespace {

// As Go's http.Error writes it: the text and a newline.
SegmentReply text_reply(int status, const std::string& text) {
  return {status, "text/plain; charset=utf-8", text + "\n"};
}

SegmentReply result_reply(const ::net::TranscodeResult& result) {
  return {200, net::kProtobufContentType, result.SerializeAsString()};
}

SegmentReply error_result(::net::TranscodeResult& result, const std::string& error) {
  result.set_error(error);
  return result_reply(result);
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
  Session(std::string session_id, std::size_t max_waiting, std::shared_ptr<RenditionStore> store)
      : id(std::move(session_id)), line(max_waiting), store_(std::move(store)) {}
  // The last one out (the session ended and no segment is in flight) takes its renditions.
  ~Session() { store_->drop(id); }

  const std::string id;
  net::SegmentLine line;                         // one segment at a time, in acceptance order
  std::unique_ptr<TranscodeSession> transcoder;  // used by the line's current holder only
  std::string ladder_key;                        // the ladder it was opened for
  std::atomic<std::int64_t> last_used{0};

 private:
  std::shared_ptr<RenditionStore> store_;
};

/// A session's turn in its line: taken by admit(), left when the segment is done.
class Orchestrator::Turn {
 public:
  explicit Turn(std::shared_ptr<Session> s) : session_(std::move(s)) {}
  Turn(Turn&& other) noexcept : session_(std::move(other.session_)) {}
  Turn& operator=(Turn&&) = delete;
  ~Turn() {
    if (session_) session_->line.leave();
  }
  Session& session() const { return *session_; }

 private:
  std::shared_ptr<Session> session_;
};

Orchestrator::Orchestrator(OrchestratorConfig config, const PrivateKey& key,
                           pm::Recipient& recipient, std::shared_ptr<Transcoder> transcoder,
                           Clock now, std::shared_ptr<RenditionStore> store)
    : config_(std::move(config)),
      key_(key),
      recipient_(recipient),
      transcoder_(std::move(transcoder)),
      store_(store ? std::move(store)
                   : std::make_shared<MemoryRenditionStore>(config_.renditions_kept)),
      now_(std::move(now)),
      capabilities_(orchestrator_capabilities(config_.version, transcoder_->capabilities())) {}

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
  if (sessions_.size() >= session_limit())
    return make_error(ErrorKind::retryable, "orchestrator_capped", net::kErrOrchestratorCapped);
  auto s = std::make_shared<Session>(id, config_.max_queued_per_session, store_);
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
    return make_error(
        ErrorKind::forbidden, "invalid_signature",  // go-livepeer's text
        std::string(net::kErrInvalidOrchRequest) + "orchestrator req sig check failed");
  // Checked whatever the request's ignoreCapacityCheck says, as go-livepeer's
  // verifyOrchestratorReq does (CheckCapacity for no session: a full orchestrator refuses even
  // a refresh).
  if (sessions() >= session_limit())
    return make_error(ErrorKind::retryable, "orchestrator_capped",
                      std::string(net::kErrInvalidOrchRequest) + net::kErrOrchestratorCapped);
  auto params = recipient_.ticket_params(*sender, config_.price);
  if (!params) return params.error();
  return info_for(*sender, tokens_.issue(AuthTokens::new_session_id(), now_()));
}

SegmentReply Orchestrator::serve_segment(std::string_view payment_header,
                                         std::string_view segment_header, std::string_view body) {
  auto accepted = accept_segment(payment_header, segment_header, body);
  if (auto* reply = std::get_if<SegmentReply>(&accepted)) return std::move(*reply);
  return transcode_segment(std::get<AcceptedSegment>(accepted), body);
}

std::variant<SegmentReply, AcceptedSegment> Orchestrator::accept_segment(
    std::string_view payment_header, std::string_view segment_header, std::string_view body,
    const Hash* body_hash, SegmentBody kind) {
  auto outcome = check_segment(payment_header, segment_header, body, body_hash, kind);
  if (std::holds_alternative<SegmentReply>(outcome)) count_refusal();
  return outcome;
}

std::optional<SegmentReply> Orchestrator::check_headers(std::string_view payment_header,
                                                        std::string_view segment_header) {
  auto outcome = check_segment(payment_header, segment_header, {}, nullptr, SegmentBody::headers);
  if (auto* refusal = std::get_if<SegmentReply>(&outcome)) {
    count_refusal();
    return std::move(*refusal);
  }
  return std::nullopt;
}

void Orchestrator::count_refusal() {
  std::lock_guard lock(stats_mu_);
  ++stats_.segments_refused;
}

std::optional<SegmentReply> Orchestrator::check_download(const AcceptedSegment& accepted,
                                                         const Result<std::string>& downloaded) {
  std::optional<SegmentReply> refusal;
  if (!downloaded)
    refusal = text_reply(400, net::kErrBadRequest);
  else if (bytes_of(keccak256(as_bytes(*downloaded))) != accepted.segment.hash())
    refusal = text_reply(403, net::kErrForbidden);
  if (refusal) count_refusal();
  return refusal;
}

std::variant<SegmentReply, AcceptedSegment> Orchestrator::check_segment(
    std::string_view payment_header, std::string_view segment_header, std::string_view body,
    const Hash* body_hash, SegmentBody kind) {
  // go-livepeer's order (server/segment_rpc.go): payment parse, segment credentials, payment,
  // balance, body hash (here before the payment); then 200 and the transcode result.
  // The texts are go-livepeer's (getPayment, verifySegCreds, coreSegMetadata).
  ::net::Payment payment;
  if (auto st = net::decode_header(payment_header, &payment); !st)
    return text_reply(402, (st.error().code == "bad_base64" ? "base64 decode error: "
                                                            : "protobuf unmarshal error: ") +
                               st.error().message);
  ::net::SegData seg;
  if (auto st = net::decode_header(segment_header, &seg); !st)
    return text_reply(403,
                      st.error().code == "bad_base64" ? net::kErrSegEncoding : st.error().message);
  if (seg.duration() < 0 || seg.duration() > 300'000) return text_reply(403, net::kErrDuration);
  const bool paid = config_.price.price_per_unit > 0;
  std::optional<Address> sender;
  if (!payment.sender().empty()) {
    auto a = net::address_field(payment.sender(), "sender");
    if (!a) return text_reply(402, a.error().message);
    sender = *a;
  }
  // No sender (the header absent, empty or without one): go-livepeer takes the zero address,
  // whose segment signature cannot verify. A payment without ticket params is a payment: the
  // sender's credit must cover the segment (checked below), as when go-livepeer's gateway
  // sends no tickets because its credit here already covers the fee.
  if (paid && !sender) return text_reply(403, net::kErrSegSig);
  // The signature before the profiles: an absent Livepeer-Segment (an empty SegData) fails it,
  // as in go-livepeer.
  const std::vector<std::string> names = net::segdata_profile_names(seg);
  if (sender) {
    if (seg.hash().size() != 32) return text_reply(403, net::kErrSegSig);
    Hash h{};
    std::copy(seg.hash().begin(), seg.hash().end(), h.begin());
    const Bytes flat = net::segment_flatten(seg.manifestid(), seg.seq(), h, names);
    if (!verify_message(*sender, flat, as_bytes(seg.sig())))
      return text_reply(403, net::kErrSegSig);
  }
  if (names.empty()) return text_reply(403, "no profiles");
  if (!compatible(seg.capabilities(), capabilities_)) return text_reply(403, net::kErrCapCompat);
  const std::int64_t now = now_();
  if (auto st = tokens_.verify(seg.auth_token(), now); !st)
    return text_reply(403, st.error().message);
  const std::string session_id = seg.auth_token().session_id();
  if (kind == SegmentBody::headers) {
    // Before the body is read: what the headers alone decide. A payment without tickets must
    // find the credit that covers the segment (a payment with tickets is taken with the body).
    if (paid && !payment.has_ticket_params() &&
        recipient_.balances().balance(*sender, session_id) <
            Rational(recipient_.config().ticket_ev))
      return text_reply(400, net::kErrInsufficientBalance);
    return AcceptedSegment{};
  }
  auto session = session_for(session_id, true);
  if (!session) return text_reply(403, session.error().message);
  (*session)->last_used = now;

  // The body's hash before the payment (go-livepeer checks it after): a request with a wrong
  // body must not consume the gateway's tickets. Single-fault requests get go-livepeer's status.
  // A URI body can only be checked once downloaded, and is downloaded only once paid for (as
  // go-livepeer): check_download().
  if (kind == SegmentBody::bytes) {
    const Hash hash = body_hash ? *body_hash : keccak256(as_bytes(body));
    if (seg.hash().size() != 32 || bytes_of(hash) != seg.hash())
      return text_reply(403, net::kErrForbidden);
  }
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
    return text_reply(400, net::kErrInsufficientBalance);

  AcceptedSegment accepted;
  accepted.segment = std::move(seg);
  accepted.sender = sender;
  if (kind == SegmentBody::uri) accepted.uri = std::string(body);
  return accepted;
}

SegmentReply Orchestrator::transcode_segment(const AcceptedSegment& accepted,
                                             std::string_view body) {
  // Payment was taken in accept_segment; what is left: admit, transcode, sign, store, bill.
  const ::net::SegData& seg = accepted.segment;
  const std::string session_id = seg.auth_token().session_id();
  ::net::TranscodeResult result;
  result.set_seq(seg.seq());
  *result.mutable_info() = info_for(accepted.sender.value_or(Address{}), seg.auth_token());
  auto turn = admit(session_id);
  if (!turn) return error_result(result, turn.error().message);
  auto ladder = ladder_of(seg);
  if (!ladder) return error_result(result, ladder.error().message);
  auto renditions = transcode(turn->session(), *ladder, seg, body);
  if (!renditions) return error_result(result, renditions.error().message);
  result.mutable_data()->set_sig(bytes_of(sign(*renditions)));
  const std::uint64_t pixels =
      store(session_id, *ladder, seg.seq(), std::move(*renditions), result.mutable_data());
  bill(accepted, pixels);
  return result_reply(result);
}

Result<Orchestrator::Turn> Orchestrator::admit(const std::string& session_id) {
  auto session = session_for(session_id, false);
  if (!session)  // ended between acceptance and work
    return make_error(ErrorKind::retryable, "session_ended", "session ended");
  const auto ticket = (*session)->line.join();
  if (!ticket)
    return make_error(ErrorKind::retryable, "orchestrator_busy", net::kErrOrchestratorBusy);
  (*session)->line.wait_turn(*ticket);
  return Turn(std::move(*session));
}

Result<Orchestrator::Ladder> Orchestrator::ladder_of(const ::net::SegData& seg) {
  const auto& profiles = seg.fullprofiles3_size()   ? seg.fullprofiles3()
                         : seg.fullprofiles2_size() ? seg.fullprofiles2()
                                                    : seg.fullprofiles();
  Ladder ladder;
  for (const auto& p : profiles) {
    auto v = from_proto(p);
    if (!v) return v.error();
    ladder.profiles.push_back(*v);
    ladder.key += p.SerializeAsString();
  }
  return ladder;
}

Result<std::vector<RenditionOut>> Orchestrator::transcode(Session& s, const Ladder& ladder,
                                                          const ::net::SegData& seg,
                                                          std::string_view body) {
  const std::int64_t started = g_get_monotonic_time();
  auto outcome = [&]() -> Result<std::vector<RenditionOut>> {
    if (!s.transcoder || s.ladder_key != ladder.key) {
      s.transcoder.reset();
      auto opened = transcoder_->open_session(ladder.profiles);
      if (!opened) return opened.error();
      s.transcoder = std::move(*opened);
      s.ladder_key = ladder.key;
    }
    auto out = s.transcoder->transcode(SegmentIn{seg.seq(), seg.duration(), body});
    if (out && out->size() != ladder.profiles.size())
      return make_error(ErrorKind::fatal, "transcode_failed",
                        "the transcoder returned " + std::to_string(out->size()) +
                            " renditions for " + std::to_string(ladder.profiles.size()) +
                            " profiles");
    return out;
  }();
  // After a failure the next segment starts a fresh transcoder session (as go-livepeer after
  // an lpms error).
  if (!outcome) s.transcoder.reset();
  std::lock_guard lock(stats_mu_);
  const double seconds = static_cast<double>(g_get_monotonic_time() - started) / 1e6;
  ++(outcome ? stats_.segments_transcoded : stats_.transcode_failed);
  stats_.transcode_seconds += seconds;
  stats_.last_transcode_seconds = seconds;
  return outcome;
}

Signature Orchestrator::sign(const std::vector<RenditionOut>& renditions) const {
  // The hashes in parallel (each ~1 ms per 250 kB), then the signature over them.
  std::vector<Hash> hashes(renditions.size());
  {
    std::vector<std::thread> hashers;
    for (std::size_t i = 0; i < renditions.size(); ++i) {
      auto hash_one = [&, i] { hashes[i] = keccak256(as_bytes(renditions[i].bytes)); };
      if (i + 1 < renditions.size())
        hashers.emplace_back(hash_one);
      else
        hash_one();
    }
    for (auto& t : hashers) t.join();
  }
  Bytes all;
  for (const Hash& h : hashes) all.insert(all.end(), h.begin(), h.end());
  return sign_message(key_, all);
}

std::uint64_t Orchestrator::store(const std::string& session_id, const Ladder& ladder,
                                  std::int64_t seq, std::vector<RenditionOut> renditions,
                                  ::net::TranscodeData* data) {
  const std::string base = service_uri();
  std::uint64_t pixels = 0;
  for (std::size_t i = 0; i < renditions.size(); ++i) {
    const std::string& profile = ladder.profiles[i].name;
    pixels += renditions[i].pixels;
    auto* out = data->add_segments();
    out->set_url(net::rendition_url(base, session_id, profile, seq));
    out->set_pixels(static_cast<std::int64_t>(renditions[i].pixels));
    store_->put(session_id, profile, seq, std::move(renditions[i].bytes));
  }
  return pixels;
}

void Orchestrator::bill(const AcceptedSegment& accepted, std::uint64_t pixels) {
  {
    std::lock_guard lock(stats_mu_);
    stats_.pixels += pixels;
  }
  // Fees: encoded pixels at the session's price (go-livepeer debits even partial output).
  if (config_.price.price_per_unit <= 0 || !accepted.sender) return;
  if (auto per_pixel = config_.price.per_pixel())
    recipient_.balances().debit(*accepted.sender, accepted.segment.auth_token().session_id(),
                                *per_pixel * Rational(pixels));
}

Status Orchestrator::end_session(const ::net::AuthToken& token) {
  // go-livepeer's endTranscodingSession checks the MAC only: an expired token still ends its
  // session (a gateway ends a session it stopped using, often after the token's 30 minutes).
  if (!tokens_.authentic(token))
    return make_error(ErrorKind::forbidden, "invalid_auth_token", "Invalid auth token");
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
  {
    std::lock_guard lock(mu_);
    if (!sessions_.count(session)) return std::nullopt;
  }
  return store_->get(session, profile, seq);
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

std::size_t Orchestrator::session_limit() const {
  return std::min(config_.max_sessions, transcoder_->capacity());
}

std::size_t Orchestrator::sessions() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

OrchestratorStats Orchestrator::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

}  // namespace lp::orch
