// SPDX-License-Identifier: LGPL-2.1-or-later
#include "elements/gateway/remote_transcoder.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <thread>

#include "elements/net/client.h"
#include "elements/net/segment_client.h"
#include "elements/net/segment_line.h"
#include "elements/net/wire.h"

namespace lp::gw {

namespace {

using Clock = std::chrono::steady_clock;

std::string bytes_of(ByteSpan b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

/// What an orchestrator asks per pixel, from its info (0: no price, offchain).
Rational per_pixel(const ::net::OrchestratorInfo& info) {
  const auto& p = info.price_info();
  if (p.pixelsperunit() <= 0 || p.priceperunit() <= 0) return 0;
  return Rational(p.priceperunit()) / Rational(p.pixelsperunit());
}

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000.0)));
}

}  // namespace

Result<Payer::Payment> WalletPayer::pay(const Address& orchestrator, const std::string& session,
                                        const ::net::TicketParams& params,
                                        const ::net::PriceInfo& price, const Rational& fee) {
  auto p = net::from_proto(params);
  if (!p) return p.error();
  auto grant = w_.pay(orchestrator, session, *p, net::from_proto(price), fee);
  if (!grant) return grant.error();
  return Payment{net::encode_header(net::to_proto(grant->batch)), grant->id,
                 grant->batch.tickets.size()};
}

std::vector<::net::VideoProfile> to_wire_profiles(const std::vector<media::VideoProfile>& ladder) {
  std::vector<::net::VideoProfile> out;
  for (const auto& p : ladder) {
    ::net::VideoProfile v;
    v.set_name(p.name);
    v.set_width(p.width);
    v.set_height(p.height);
    v.set_bitrate(p.bitrate);
    v.set_fps(static_cast<std::uint32_t>(std::max(p.fps, 0)));
    v.set_fpsden(static_cast<std::uint32_t>(std::max(p.fps_den, 1)));
    v.set_gop(p.gop_ms);
    switch (p.profile) {
      case media::H264Profile::baseline:
        v.set_profile(::net::VideoProfile::H264_BASELINE);
        break;
      case media::H264Profile::main:
        v.set_profile(::net::VideoProfile::H264_MAIN);
        break;
      case media::H264Profile::high:
        v.set_profile(::net::VideoProfile::H264_HIGH);
        break;
      case media::H264Profile::constrained_high:
        v.set_profile(::net::VideoProfile::H264_CONSTRAINED_HIGH);
        break;
      default:
        v.set_profile(::net::VideoProfile::ENCODER_DEFAULT);
        break;
    }
    out.push_back(v);
  }
  return out;
}

struct RemoteTranscoder::Orch {
  std::string target;
  std::unique_ptr<net::OrchestratorClient> rpc;
  net::SegmentLine line{1024};  // upload order of this orchestrator's segments
  std::mutex refresh_mu;        // one GetOrchestrator at a time
  // guarded by RemoteTranscoder::mu_:
  bool has_info = false;
  ::net::OrchestratorInfo info;
  Address address{};
  double latency_ms = 0;
  std::uint64_t successes = 0, failures = 0, consecutive_failures = 0;
  Clock::time_point suspended_until{};
  int in_flight = 0;
  std::string last_error;
};

RemoteTranscoder::RemoteTranscoder(RemoteConfig config, Payer* payer)
    : config_(std::move(config)),
      payer_(payer),
      profiles_(to_wire_profiles(config_.ladder)),
      http_(std::make_unique<net::SegmentClient>()) {
  if (!payer_) own_key_ = std::make_unique<PrivateKey>(PrivateKey::generate());
  for (const auto& p : config_.ladder)
    boxes_.push_back(ProfileBox{p.width, p.height, p.fps, p.fps_den});
  for (const auto& t : config_.orchestrators) {
    auto o = std::make_unique<Orch>();
    o->target = t;
    o->rpc = std::make_unique<net::OrchestratorClient>(t, config_.call_timeout);
    orchs_.push_back(std::move(o));
  }
}

RemoteTranscoder::~RemoteTranscoder() = default;

void RemoteTranscoder::cancel_all() {
  http_->cancel_all();
  for (auto& o : orchs_) o->rpc->cancel_all();
}

void RemoteTranscoder::resume() {
  http_->resume();
  for (auto& o : orchs_) o->rpc->resume();
}

net::SegmentClient::Counters RemoteTranscoder::http_counters() const { return http_->counters(); }

const char* census_code(const Error& e) {
  const std::string& c = e.code;
  if (c == "no_orchestrator") return "NoOrchestrators";
  if (c == "timeout" || c == "grpc_4") return "Timeout";
  if (c == "download") return "Download";
  if (c == "orchestrator_capped" || c == "orchestrator_busy") return "OrchestratorCapped";
  if (c.rfind("verification", 0) == 0) return "Verification";
  if (e.kind == ErrorKind::payment_required || c == "ticket_params_expired" ||
      c == "insufficient_balance" || c.rfind("payment", 0) == 0 || c.rfind("max_", 0) == 0)
    return "Payment";
  return "Unknown";
}

void RemoteTranscoder::set_logger(std::function<void(const std::string&)> log) {
  std::lock_guard lock(mu_);
  log_ = std::move(log);
}

Status RemoteTranscoder::refresh(Orch& o) {
  std::lock_guard refresh_lock(o.refresh_mu);
  ::net::OrchestratorRequest req;
  Address self{};
  if (payer_) {
    auto a = payer_->address();
    if (!a) return a.error();
    self = *a;
  } else {
    self = own_key_->address();
  }
  req.set_address(bytes_of(self));
  const std::string message = to_checksum(self);
  Result<Signature> sig = payer_ ? payer_->sign(as_bytes(message))
                                 : Result<Signature>(sign_message(*own_key_, as_bytes(message)));
  if (!sig) return sig.error();
  req.set_sig(bytes_of(*sig));
  const auto t0 = Clock::now();
  auto info = o.rpc->get_orchestrator(req);
  const double latency = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (!info) return info.error();
  if (info->transcoder().empty())
    return make_error(ErrorKind::retryable, "no_transcoder", "no transcoder URI in its info");
  std::string addr_bytes =
      info->address().empty() ? info->ticket_params().recipient() : info->address();
  auto addr = net::address_field(addr_bytes, "address");
  if (!addr) return addr.error();
  std::lock_guard lock(mu_);
  o.info = std::move(*info);
  o.address = *addr;
  o.latency_ms = latency;
  o.has_info = true;
  return ok_status();
}

std::size_t RemoteTranscoder::discover() {
  std::vector<std::thread> threads;
  for (auto& o : orchs_)
    threads.emplace_back([this, &o] {
      if (auto st = refresh(*o); !st) fail(*o, "GetOrchestrator: " + st.error().message);
    });
  for (auto& t : threads) t.join();
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(
      std::count_if(orchs_.begin(), orchs_.end(), [](const auto& o) { return o->has_info; }));
}

void RemoteTranscoder::fail(Orch& o, const std::string& why) {
  std::function<void(const std::string&)> log;
  std::chrono::seconds for_how_long{};
  {
    std::lock_guard lock(mu_);
    ++o.failures;
    ++o.consecutive_failures;
    o.last_error = why;
    const auto shift = std::min<std::uint64_t>(o.consecutive_failures - 1, 5);
    for_how_long = config_.suspend_for * (1 << shift);
    o.suspended_until = Clock::now() + for_how_long;
    o.has_info = false;  // asked again before it is used again
    log = log_;
  }
  if (log)
    log("orchestrator " + o.target + " suspended for " + std::to_string(for_how_long.count()) +
        " s: " + why);
}

int RemoteTranscoder::suspend(const Address& orchestrator, const std::string& reason) {
  const int i = index_of(orchestrator);
  if (i >= 0) fail(*orchs_[static_cast<std::size_t>(i)], reason);
  return i;
}

int RemoteTranscoder::index_of(const Address& orchestrator) const {
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < orchs_.size(); ++i)
    if (orchs_[i]->address == orchestrator && orchs_[i]->address != Address{})
      return static_cast<int>(i);
  return -1;
}

Placement RemoteTranscoder::place(const std::set<int>& exclude) {
  const auto now = Clock::now();
  // Orchestrators without info that are not suspended are asked first (at start, after a
  // suspension ends).
  std::vector<Orch*> ask;
  {
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < orchs_.size(); ++i)
      if (!exclude.count(static_cast<int>(i)) && !orchs_[i]->has_info &&
          orchs_[i]->suspended_until <= now)
        ask.push_back(orchs_[i].get());
  }
  for (Orch* o : ask)
    if (auto st = refresh(*o); !st) fail(*o, "GetOrchestrator: " + st.error().message);
  std::unique_lock lock(mu_);
  // Usable: answered and not suspended. Spread the load first (fewest in flight), then the
  // cheapest, then the fastest to answer.
  int best = -1;
  for (std::size_t i = 0; i < orchs_.size(); ++i) {
    const Orch& o = *orchs_[i];
    if (exclude.count(static_cast<int>(i)) || !o.has_info || o.suspended_until > now) continue;
    if (best < 0) {
      best = static_cast<int>(i);
      continue;
    }
    const Orch& b = *orchs_[static_cast<std::size_t>(best)];
    const auto key = [this](const Orch& x) {
      return std::make_tuple(x.in_flight, per_pixel(x.info), x.latency_ms);
    };
    if (key(o) < key(b)) best = static_cast<int>(i);
  }
  if (best < 0) {
    // None left: suspended orchestrators fill the gap, the one whose suspension ends first
    // (go-livepeer: "used only to fill the gap, lowest penalty first"). Never one this segment
    // already tried (exclude). Without this, one verification failure of a lone orchestrator
    // would skip every segment until its suspension ended.
    int fill = -1;
    for (std::size_t i = 0; i < orchs_.size(); ++i)
      if (!exclude.count(static_cast<int>(i)) &&
          (fill < 0 ||
           orchs_[i]->suspended_until < orchs_[static_cast<std::size_t>(fill)]->suspended_until))
        fill = static_cast<int>(i);
    if (fill < 0) return {};
    Orch& f = *orchs_[static_cast<std::size_t>(fill)];
    if (!f.has_info) {
      lock.unlock();
      auto st = refresh(f);
      lock.lock();
      if (!st) {
        f.last_error = "GetOrchestrator: " + st.error().message;
        return {};
      }
    }
    best = fill;
  }
  Orch& o = *orchs_[static_cast<std::size_t>(best)];
  ++o.in_flight;
  auto place = o.line.join();
  return Placement{best, place.value_or(0)};
}

Result<RemoteOutcome> RemoteTranscoder::attempt(const SourceSegment& segment, Orch& o,
                                                std::uint64_t place) {
  // This orchestrator's uploads go in placement order; the turn passes on when the upload is
  // done (its 200 arrived) or when this attempt fails before that.
  o.line.wait_turn(place);
  bool left = false;
  auto leave = [&] {
    if (!left) o.line.leave();
    left = true;
  };
  struct LeaveGuard {
    std::function<void()> f;
    ~LeaveGuard() { f(); }
  } guard{leave};

  ::net::OrchestratorInfo info;
  Address address{};
  bool fresh = false;
  {
    std::lock_guard lock(mu_);
    // go-livepeer refreshes in the auth token's last 10% of its life (30 min).
    const std::int64_t expiration = o.info.auth_token().expiration();
    fresh = o.has_info &&
            (expiration <= 0 || expiration - static_cast<std::int64_t>(time(nullptr)) >= 180);
  }
  if (!fresh)
    if (auto st = refresh(o); !st) return st.error();
  {
    std::lock_guard lock(mu_);
    info = o.info;
    address = o.address;
  }
  const std::string session = info.auth_token().session_id();
  const Rational price = per_pixel(info);
  // Payment: none when the orchestrator gives no ticket params (price 0, offchain).
  std::string payment_header;
  std::optional<std::uint64_t> grant;
  if (info.has_ticket_params() && payer_) {
    const Rational fee = estimate_fee(boxes_, segment.duration_seconds, price);
    auto payment = payer_->pay(address, session, info.ticket_params(), info.price_info(), fee);
    if (!payment) return payment.error();
    payment_header = payment->header;
    grant = payment->grant;
  }
  auto settle = [&](SettleOutcome outcome, const Rational& debit) {
    if (grant && payer_) payer_->settle(*grant, outcome, debit);
    grant.reset();
  };
  const ::net::SegData seg = net::signed_segdata(
      [&](ByteSpan m) {
        if (payer_) {
          auto s = payer_->sign(m);
          return s ? *s : Signature{};
        }
        return sign_message(*own_key_, m);
      },
      segment.manifest_id, segment.seq, segment.bytes, profiles_, info.auth_token(),
      static_cast<std::int32_t>(std::lround(segment.duration_seconds * 1000.0)));
  // go-livepeer's timeouts: the 200 within max(2 s, segment/2), all within max(8 s, 4 x segment),
  // both times timeoutMultiplier.
  const double k = config_.timeout_multiplier > 0 ? config_.timeout_multiplier : 1.0;
  const auto upload_timeout = ms(k * std::max(2.0, 0.5 * segment.duration_seconds));
  const auto timeout = ms(k * std::max(8.0, 4.0 * segment.duration_seconds));
  const auto t0 = Clock::now();
  auto result = http_->submit(info.transcoder(), payment_header, net::encode_header(seg),
                              segment.bytes, upload_timeout, timeout, leave);
  // The books as go-livepeer keeps them (completeBalanceUpdate): never answered, the credit
  // comes back; answered with anything but transcoded data (an error status, a cut or
  // malformed body, a TranscodeResult error), the credit is spent; data, the change is kept.
  if (!result) {
    settle(net::SegmentClient::answered(result.error()) ? SettleOutcome::sent_no_result
                                                        : SettleOutcome::not_sent,
           0);
    return result.error();
  }
  if (!result->error().empty() || !result->has_data()) {
    settle(SettleOutcome::sent_no_result, 0);
    const std::string& e = result->error();
    const std::string code = e == "OrchestratorBusy"     ? "orchestrator_busy"
                             : e == "OrchestratorCapped" ? "orchestrator_capped"
                                                         : "transcode_error";
    return make_error(ErrorKind::retryable, code,
                      e.empty() ? std::string("no transcoded data") : e);
  }
  const auto& data = result->data();
  RemoteOutcome out;
  out.seq = segment.seq;
  std::uint64_t pixels = 0;
  for (const auto& d : data.segments())
    pixels += static_cast<std::uint64_t>(std::max<std::int64_t>(d.pixels(), 0));
  settle(SettleOutcome::result, price * Rational(pixels));
  if (static_cast<std::size_t>(data.segments_size()) != config_.ladder.size())
    return make_error(ErrorKind::retryable, "mismatched_segments",
                      "MismatchedSegments: " + std::to_string(data.segments_size()) +
                          " renditions for " + std::to_string(config_.ladder.size()) + " profiles");
  for (int i = 0; i < data.segments_size(); ++i) {
    const auto remaining =
        timeout - std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    auto bytes =
        http_->fetch(data.segments(i).url(), std::max(std::chrono::milliseconds(1), remaining));
    if (!bytes)
      return make_error(ErrorKind::retryable,
                        bytes.error().code == "cancelled" ? std::string("cancelled") : "download",
                        "Download: " + bytes.error().message);
    out.renditions.push_back(RemoteRendition{
        config_.ladder[static_cast<std::size_t>(i)].name, std::move(*bytes),
        static_cast<std::uint64_t>(std::max<std::int64_t>(data.segments(i).pixels(), 0))});
  }
  out.ok = true;
  out.orchestrator = address;
  out.orchestrator_target = o.target;
  out.price_per_pixel = to_string(price);
  out.signature = data.sig();
  out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  // Adopt the info that came back (fresh ticket params), keeping the session (go-livepeer
  // updateSession).
  std::lock_guard lock(mu_);
  if (result->has_info() && !result->info().transcoder().empty() &&
      result->info().has_ticket_params()) {
    o.info = result->info();
    if (!o.info.has_auth_token()) *o.info.mutable_auth_token() = info.auth_token();
  }
  ++o.successes;
  o.consecutive_failures = 0;
  o.latency_ms =
      0.8 * o.latency_ms + 0.2 * out.seconds * 1000.0 / std::max(1.5, segment.duration_seconds);
  return out;
}

RemoteOutcome RemoteTranscoder::transcode(const SourceSegment& segment, Placement first,
                                          std::set<int> exclude) {
  RemoteOutcome out;
  out.seq = segment.seq;
  Placement p = first;
  bool need_place = p.index < 0;
  bool params_renewed = false;
  for (int n = 0; n < config_.attempts; ++n) {
    if (need_place) p = place(exclude);
    need_place = true;
    if (p.index < 0) {
      if (out.error.empty()) {
        out.error = "no orchestrator available";
        out.error_code = "no_orchestrator";
      }
      break;
    }
    Orch& o = *orchs_[static_cast<std::size_t>(p.index)];
    ++out.attempts;
    auto r = attempt(segment, o, p.place);
    {
      std::lock_guard lock(mu_);
      --o.in_flight;
    }
    if (r) {
      r->attempts = out.attempts;
      return std::move(*r);
    }
    out.error = o.target + ": " + r.error().message;
    out.error_code = r.error().code;
    if (r.error().code == "cancelled") break;  // stopping: no retry, nobody's fault
    if (r.error().code == "ticket_params_expired") {
      {
        std::lock_guard lock(mu_);
        o.has_info = false;  // fresh params next time; not the orchestrator's fault
      }
      // Params that expired while the stream was idle: the next placement asks for fresh
      // ones (go-livepeer refreshes the session and retries). Once per segment, and not an
      // attempt: the orchestrator did nothing wrong and may be the only one.
      if (!params_renewed) {
        params_renewed = true;
        --n;
        continue;
      }
    } else {
      fail(o, r.error().message);
    }
    exclude.insert(p.index);
  }
  out.census = census_code(make_error(ErrorKind::retryable, out.error_code, out.error));
  return out;
}

std::vector<RemoteTranscoder::OrchestratorState> RemoteTranscoder::state() const {
  std::lock_guard lock(mu_);
  std::vector<OrchestratorState> out;
  const auto now = Clock::now();
  for (const auto& o : orchs_) {
    OrchestratorState s;
    s.target = o->target;
    s.transcoder = o->info.transcoder();
    if (o->address != Address{}) s.address = to_checksum(o->address);
    s.price_per_pixel = to_string(per_pixel(o->info));
    s.latency_ms = o->latency_ms;
    s.successes = o->successes;
    s.failures = o->failures;
    s.suspended = o->suspended_until > now;
    s.last_error = o->last_error;
    out.push_back(s);
  }
  return out;
}

std::vector<std::string> orchestrator_targets(
    const std::string& list, const std::vector<ledger::OrchestratorEntry>& registry) {
  const auto target = [](const std::string& t) {
    return t.rfind("https://", 0) == 0 ? t.substr(8) : t;
  };
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(list);
  while (std::getline(in, item, ','))
    for (std::istringstream words(item); words >> item;) out.push_back(target(item));
  for (const auto& e : registry) {
    const std::string t = target(e.service_uri);
    if (e.active && !t.empty() && std::find(out.begin(), out.end(), t) == out.end())
      out.push_back(t);
  }
  return out;
}

}  // namespace lp::gw
