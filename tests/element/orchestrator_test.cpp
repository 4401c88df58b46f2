// SPDX-License-Identifier: LGPL-2.1-or-later
// The orchestrator's protocol logic with real pieces: a real local ledger and ticket queue, the
// real recipient and sender, real segments of the gop2 clip through the real transcoder.
#include "node/orchestrator/orchestrator.h"

#include <arpa/inet.h>
#include <libsoup/soup.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <thread>

#include "elements/lpmeta.h"
#include "elements/net/client.h"
#include "elements/net/segment_client.h"
#include "elements/net/segment_line.h"
#include "elements/net/tls.h"
#include "elements/net/wire.h"
#include "node/orchestrator/capabilities.h"
#include "node/orchestrator/http_server.h"
#include "payment/eth/keccak.h"
#include "tests/element/fake_transcoder.h"
#include "tests/element/media_util.h"
#include "tests/element/object_store.h"
#include "tests/unit/payment_world.h"

namespace lp::orch {
namespace {

std::string bytes_of(ByteSpan b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string buffer_bytes(GstBuffer* b) {
  GstMapInfo map;
  EXPECT_TRUE(gst_buffer_map(b, &map, GST_MAP_READ));
  std::string s(reinterpret_cast<const char*>(map.data), map.size);
  gst_buffer_unmap(b, &map);
  return s;
}

class OrchestratorTest : public test::PaymentWorld {
 protected:
  void SetUp() override {
    PaymentWorld::SetUp();
    config.price = {1000, 1};
    config.max_sessions = 2;
    make_orchestrator();
  }

  void make_orchestrator(std::shared_ptr<Transcoder> transcoder = test::cpu_transcoder()) {
    o = std::make_unique<Orchestrator>(config, orch, *recipient, std::move(transcoder),
                                       [this] { return now; });
  }

  ::net::OrchestratorRequest request(const PrivateKey& key) {
    ::net::OrchestratorRequest r;
    r.set_address(bytes_of(key.address()));
    const std::string msg = to_checksum(key.address());
    r.set_sig(bytes_of(sign_message(key, as_bytes(msg))));
    return r;
  }

  static ::net::VideoProfile rung(const char* name, int w, int h, int bitrate) {
    ::net::VideoProfile p;
    p.set_name(name);
    p.set_width(w);
    p.set_height(h);
    p.set_bitrate(bitrate);
    p.set_profile(::net::VideoProfile::H264_CONSTRAINED_HIGH);
    p.set_gop(1000);
    return p;
  }

  /// A segment as a gateway submits it: SegData signed by the gateway, and a payment.
  struct Submission {
    std::string payment;
    std::string segment;
    std::string body;
  };

  Submission submission(const ::net::OrchestratorInfo& info, std::int64_t seq,
                        const std::string& body, std::size_t tickets) {
    const ::net::SegData s = net::signed_segdata(
        gw, "abcdef", seq, body, {rung("240p0", 426, 240, 250000), rung("360p0", 640, 360, 800000)},
        info.auth_token(), 2000);
    Submission out;
    out.segment = net::encode_header(s);
    out.body = body;
    if (tickets > 0) {
      pm::TicketBatch b = batch(tickets, config.price);
      out.payment = net::encode_header(net::to_proto(b));
      last_batch = b;
    }
    return out;
  }

  SegmentReply serve(const Submission& s) { return o->serve_segment(s.payment, s.segment, s.body); }

  std::vector<std::string> segments() {
    if (clip.segments.empty())
      clip = test::segment_file(test::media("live-1080p30-h264-aac-16s-gop2.ts"), true);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < 3; ++i) out.push_back(buffer_bytes(clip.segments[i].get()));
    return out;
  }

  OrchestratorConfig config;
  std::int64_t now = 1'700'000'000;
  std::unique_ptr<Orchestrator> o;
  std::optional<pm::TicketBatch> last_batch;
  test::ClipRun clip;
};

TEST_F(OrchestratorTest, GetOrchestrator_GivenSignedRequest_InfoWithParamsPriceCapsAndToken) {
  auto info = o->get_orchestrator(request(gw));
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->transcoder(), "https://127.0.0.1:8935");
  EXPECT_EQ(info->address(), bytes_of(orch.address()));
  EXPECT_EQ(info->price_info().priceperunit(), 1000);
  EXPECT_EQ(info->ticket_params().recipient(), bytes_of(orch.address()));
  EXPECT_FALSE(info->ticket_params().face_value().empty());
  EXPECT_TRUE(info->ticket_params().has_expiration_params());
  EXPECT_TRUE(
      has({info->capabilities().mandatories().begin(), info->capabilities().mandatories().end()},
          kAuthToken));
  EXPECT_EQ(info->auth_token().session_id().size(), 8u);
  EXPECT_EQ(info->auth_token().expiration(), now + AuthTokens::kValidSeconds);
}

TEST_F(OrchestratorTest, GetOrchestrator_GivenLowercaseOrForeignSignature_Refused) {
  auto r = request(gw);
  const std::string lower = "0x" + to_hex(gw.address(), false);
  r.set_sig(bytes_of(sign_message(gw, as_bytes(lower))));
  EXPECT_EQ(o->get_orchestrator(r).error().code, "invalid_signature");
  auto other = request(gw);
  other.set_address(bytes_of(orch.address()));  // someone else's address with gw's signature
  EXPECT_EQ(o->get_orchestrator(other).error().code, "invalid_signature");
  other.set_address("short");
  EXPECT_FALSE(o->get_orchestrator(other));
}

TEST_F(OrchestratorTest, Segment_GivenPaidSegments_RenditionsSignedAndFeesAddUp) {
  auto info = o->get_orchestrator(request(gw)).value();
  const std::string session = info.auth_token().session_id();
  Rational credited = 0;
  std::uint64_t pixels = 0;
  auto segs = segments();
  for (std::int64_t seq = 0; seq < 3; ++seq) {
    SCOPED_TRACE("seq " + std::to_string(seq));
    Submission sub = submission(info, seq, segs[seq], 2);
    for (std::size_t i = 0; i < last_batch->tickets.size(); ++i)
      credited += last_batch->ticket(i).expected_value();
    SegmentReply reply = serve(sub);
    ASSERT_EQ(reply.status, 200) << reply.body;
    ::net::TranscodeResult result;
    ASSERT_TRUE(result.ParseFromString(reply.body));
    ASSERT_TRUE(result.has_data()) << result.error();
    EXPECT_EQ(result.seq(), seq);
    EXPECT_EQ(result.info().auth_token().SerializeAsString(),
              info.auth_token().SerializeAsString());
    ASSERT_EQ(result.data().segments_size(), 2);
    Bytes hashes;
    const int sizes[2][2] = {{426, 240}, {640, 360}};
    const char* names[2] = {"240p0", "360p0"};
    for (int r = 0; r < 2; ++r) {
      const auto& d = result.data().segments(r);
      EXPECT_EQ(d.url(), "https://127.0.0.1:8935/stream/" + session + "/" + names[r] + "/" +
                             std::to_string(seq) + ".ts");
      auto bytes = o->rendition(session, names[r], seq);
      ASSERT_TRUE(bytes);
      const Hash h = keccak256(as_bytes(*bytes));
      hashes.insert(hashes.end(), h.begin(), h.end());
      const auto frames = lp_buffer_get_segment_meta(clip.segments[seq].get())->video_frames;
      EXPECT_EQ(d.pixels(), static_cast<std::int64_t>(frames) * sizes[r][0] * sizes[r][1]);
      pixels += static_cast<std::uint64_t>(d.pixels());
    }
    EXPECT_TRUE(verify_message(orch.address(), hashes, as_bytes(result.data().sig())));
  }
  // Credit is the tickets' EV, debit the encoded pixels at the price.
  EXPECT_EQ(o->balance(gw.address(), session), credited - Rational(pixels) * Rational(1000));
  EXPECT_FALSE(o->rendition(session, "240p0", 99));
  // The counters behind /metrics say the same.
  const OrchestratorStats st = o->stats();
  EXPECT_EQ(st.segments_transcoded, 3u);
  EXPECT_EQ(st.transcode_failed, 0u);
  EXPECT_EQ(st.segments_refused, 0u);
  EXPECT_EQ(st.pixels, pixels);
  EXPECT_EQ(st.tickets_recv, 6u);
  EXPECT_EQ(st.ticket_value_recv, credited);
  EXPECT_GT(st.transcode_seconds, 0);
}

TEST_F(OrchestratorTest, Segment_GivenHostileRequests_GoLivepeerStatusAndNoSideEffect) {
  auto info = o->get_orchestrator(request(gw)).value();
  const std::string session = info.auth_token().session_id();
  auto segs = segments();
  Submission good = submission(info, 0, segs[0], 2);
  struct Case {
    const char* what;
    Submission sub;
    int status;
    std::string says;
  };
  std::vector<Case> cases;
  Submission s = good;
  s.payment = "%%%";
  cases.push_back(
      {"bad base64 payment", s, 402, "base64 decode error: illegal base64 data at input byte 0"});
  s.payment = good.payment + "A";  // a quantum cut short
  cases.push_back({"payment not padded", s, 402,
                   "base64 decode error: illegal base64 data at input byte " +
                       std::to_string(good.payment.size())});
  s = good;
  s.payment = net::base64_encode("\xff\xff\xff");
  cases.push_back({"bad protobuf payment", s, 402,
                   "protobuf unmarshal error: proto: cannot parse invalid wire-format data"});
  s = good;
  s.segment = "!!";
  cases.push_back({"bad base64 segment", s, 403, "ErrorSegEncoding"});
  s.segment = "";  // absent: an empty SegData, whose signature cannot verify
  cases.push_back({"no segment header", s, 403, "ErrSegSig"});
  s = good;
  s.body = segs[1];  // another segment's bytes under this SegData
  cases.push_back({"body hash differs", s, 403, "Forbidden"});
  {
    ::net::SegData d;
    ASSERT_TRUE(net::decode_header(good.segment, &d));
    d.set_seq(7);  // signed as seq 0
    s = good;
    s.segment = net::encode_header(d);
    cases.push_back({"forged segment signature", s, 403, "ErrSegSig"});
    d.set_seq(0);
    d.mutable_auth_token()->set_token(std::string(32, 'x'));
    s.segment = net::encode_header(d);
    cases.push_back({"forged auth token", s, 403, "invalid auth token"});
    d = ::net::SegData();
    ASSERT_TRUE(net::decode_header(good.segment, &d));
    d.mutable_capabilities()->set_bitstring(0, d.capabilities().bitstring(0) | (1ull << kMp4));
    s.segment = net::encode_header(d);
    cases.push_back({"capability not offered", s, 403, "incompatible capabilities"});
    d = ::net::SegData();
    ASSERT_TRUE(net::decode_header(good.segment, &d));
    d.set_duration(301'000);  // go-livepeer allows 0 to 5 minutes
    s.segment = net::encode_header(d);
    cases.push_back({"segment of 301 s", s, 403, "invalid duration"});
  }
  s = good;
  s.payment = "";  // go-livepeer: the zero-address sender, whose segment signature fails
  cases.push_back({"no payment at a price", s, 403, "ErrSegSig"});
  {
    // A payment without tickets on a session with no credit (go-livepeer's gateway sends none
    // when it believes its credit covers the fee).
    ::net::Payment ticketless;
    ticketless.set_sender(bytes_of(gw.address()));
    *ticketless.mutable_expected_price() = net::to_proto(config.price);
    s = good;
    s.payment = net::encode_header(ticketless);
    cases.push_back({"no tickets and no credit", s, 400, "Insufficient balance"});
  }
  {
    // Tickets: signed by someone else, for another recipient, with a forged face value.
    pm::TicketBatch b = *last_batch;
    const PrivateKey mallory = PrivateKey::generate();
    for (std::size_t i = 0; i < b.tickets.size(); ++i) resign(b, i, mallory, [](pm::Ticket&) {});
    s = good;
    s.payment = net::encode_header(net::to_proto(b));
    cases.push_back({"ticket signed by another key", s, 400, "invalid ticket signature"});
    b = *last_batch;
    b.params.recipient = mallory.address();
    for (std::size_t i = 0; i < b.tickets.size(); ++i) resign(b, i, gw, [](pm::Ticket&) {});
    s.payment = net::encode_header(net::to_proto(b));
    cases.push_back({"ticket for another recipient", s, 400, "invalid ticket recipient"});
    b = *last_batch;
    b.params.face_value =
        b.params.face_value * U256(2);  // the sender's signature no longer covers it
    s.payment = net::encode_header(net::to_proto(b));
    cases.push_back({"face value raised after signing", s, 400, "invalid ticket signature"});
  }
  for (const auto& c : cases) {  // go-livepeer's status and body (http.Error: text, newline)
    SegmentReply r = serve(c.sub);
    EXPECT_EQ(r.status, c.status) << c.what << ": " << r.body;
    EXPECT_EQ(r.body, c.says + "\n") << c.what;
    EXPECT_EQ(r.content_type, "text/plain; charset=utf-8") << c.what;
  }
  // None of them moved money or created renditions.
  EXPECT_EQ(o->balance(gw.address(), session), 0);
  EXPECT_EQ(o->stats().segments_refused, cases.size());
  EXPECT_EQ(o->stats().tickets_recv, 0u);
  EXPECT_FALSE(o->rendition(session, "240p0", 0));
  // The good one passes; replaying its payment is refused (nonces seen) and not credited twice.
  ASSERT_EQ(serve(good).status, 200);
  const Rational after = o->balance(gw.address(), session);
  SegmentReply replay = serve(good);
  EXPECT_EQ(replay.status, 400) << replay.body;
  EXPECT_EQ(replay.body,
            "invalid ticket senderNonce: already seen sender=" + to_checksum(gw.address()) +
                " nonce=" + std::to_string(last_batch->tickets.front().sender_nonce) + "\n");
  EXPECT_EQ(o->balance(gw.address(), session), after);
  // Params past their expiration block: refused, nothing credited.
  Submission late = submission(info, 1, segs[1], 2);
  ASSERT_TRUE(ledger->advance_blocks(41));
  SegmentReply expired = serve(late);
  EXPECT_EQ(expired.status, 400) << expired.body;
  EXPECT_EQ(expired.body, "TicketParams expired\n");
  EXPECT_EQ(o->balance(gw.address(), session), after);
  EXPECT_FALSE(o->rendition(session, "240p0", 1));
}

TEST_F(OrchestratorTest, Segment_GivenTicketlessPaymentCoveredByCredit_TranscodedAndDebited) {
  // go-livepeer's gateway stops attaching tickets once its credit here covers a segment (by
  // the third segment of a plain run): the payment carries the sender and price only.
  auto info = o->get_orchestrator(request(gw)).value();
  const std::string session = info.auth_token().session_id();
  auto segs = segments();
  ASSERT_EQ(serve(submission(info, 0, segs[0], 6)).status, 200);
  const Rational credit = o->balance(gw.address(), session);
  ASSERT_GE(credit, Rational(1'000'000'000'000)) << "the fixture leaves a ticket's EV of credit";
  Submission next = submission(info, 1, segs[1], 0);
  pm::TicketBatch none;
  none.sender = gw.address();
  none.expected_price = config.price;
  next.payment = net::encode_header(net::to_proto(none));
  const SegmentReply r = serve(next);
  ASSERT_EQ(r.status, 200) << r.body;
  ::net::TranscodeResult result;
  ASSERT_TRUE(result.ParseFromString(r.body));
  ASSERT_TRUE(result.has_data()) << result.error();
  std::uint64_t pixels = 0;
  for (const auto& d : result.data().segments()) pixels += static_cast<std::uint64_t>(d.pixels());
  EXPECT_EQ(o->balance(gw.address(), session), credit - Rational(pixels) * Rational(1000));
  EXPECT_EQ(o->stats().tickets_recv, 6u);  // nothing new was received
}

TEST_F(OrchestratorTest, Sessions_GivenExpiredTokenCapacityAndEnd_AsGoLivepeer) {
  auto info = o->get_orchestrator(request(gw)).value();
  auto segs = segments();
  now += AuthTokens::kValidSeconds + 1;
  SegmentReply r = serve(submission(info, 0, segs[0], 2));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "expired auth token\n");
  // Capacity: two sessions, then OrchestratorCapped, whatever ignoreCapacityCheck says (go-livepeer
  // checks it in verifyOrchestratorReq); a token issued before the orchestrator filled up gets
  // 403 on its first segment.
  auto spare = o->get_orchestrator(request(gw)).value();
  std::vector<::net::OrchestratorInfo> open;
  for (int i = 0; i < 2; ++i) {
    open.push_back(o->get_orchestrator(request(gw)).value());
    ASSERT_EQ(serve(submission(open.back(), 0, segs[0], 2)).status, 200);
  }
  EXPECT_EQ(o->sessions(), 2u);
  auto third = o->get_orchestrator(request(gw));
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().message, "Invalid orchestrator request: OrchestratorCapped");
  auto req = request(gw);
  req.set_ignorecapacitycheck(true);
  auto ignored = o->get_orchestrator(req);
  ASSERT_FALSE(ignored);
  EXPECT_EQ(ignored.error().message, "Invalid orchestrator request: OrchestratorCapped");
  r = serve(submission(spare, 0, segs[0], 2));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "OrchestratorCapped\n");
  // EndTranscodingSession checks the token's MAC only: a forged token is refused, an expired
  // one still ends its session and frees the slot.
  ::net::AuthToken forged = open[0].auth_token();
  forged.set_token(std::string(32, 'x'));
  auto refused = o->end_session(forged);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "Invalid auth token");
  now += AuthTokens::kValidSeconds + 1;
  EXPECT_TRUE(o->end_session(open[0].auth_token()));
  EXPECT_EQ(o->sessions(), 1u);
  // Idle sessions are reaped.
  now += 71;
  EXPECT_EQ(o->reap_idle(), 1u);
  EXPECT_EQ(o->sessions(), 0u);
}

TEST_F(OrchestratorTest, Segment_GivenGarbageBody_ResultErrorNotCrash) {
  auto info = o->get_orchestrator(request(gw)).value();
  std::string junk(std::size_t{188} * 40, '\x47');
  SegmentReply r = serve(submission(info, 0, junk, 2));
  ASSERT_EQ(r.status, 200);  // paid and authentic: the error comes in the result
  ::net::TranscodeResult result;
  ASSERT_TRUE(result.ParseFromString(r.body));
  EXPECT_FALSE(result.error().empty());
  EXPECT_FALSE(result.has_data());
}

TEST_F(OrchestratorTest, Segment_GivenTranscoderFailing_ResultErrorNoFeeThenAFreshSession) {
  // The first segment's transcode dies; the second gets a transcoder session of its own and
  // the real renditions; the third reuses that session.
  auto transcoder = std::make_shared<test::FakeTranscoder>(
      [](const SegmentIn& in,
         const test::FakeTranscoder::Real& real) -> test::FakeTranscoder::Renditions {
        if (in.seq == 0) return make_error(ErrorKind::fatal, "transcode_failed", "decoder died");
        return real();
      });
  make_orchestrator(transcoder);
  auto info = o->get_orchestrator(request(gw)).value();
  const std::string session = info.auth_token().session_id();
  auto segs = segments();
  Rational credited = 0;
  std::uint64_t pixels = 0;
  for (std::int64_t seq = 0; seq < 3; ++seq) {
    SCOPED_TRACE("seq " + std::to_string(seq));
    SegmentReply reply = serve(submission(info, seq, segs[seq], 2));
    for (std::size_t i = 0; i < last_batch->tickets.size(); ++i)
      credited += last_batch->ticket(i).expected_value();
    ASSERT_EQ(reply.status, 200) << reply.body;
    ::net::TranscodeResult result;
    ASSERT_TRUE(result.ParseFromString(reply.body));
    EXPECT_EQ(result.seq(), seq);
    if (seq == 0) {
      EXPECT_EQ(result.error(), "decoder died");
      EXPECT_FALSE(result.has_data());
      EXPECT_FALSE(o->rendition(session, "240p0", 0));
      EXPECT_EQ(o->balance(gw.address(), session), credited);  // paid, nothing billed
      continue;
    }
    ASSERT_TRUE(result.has_data()) << result.error();
    ASSERT_EQ(result.data().segments_size(), 2);
    for (const auto& d : result.data().segments()) pixels += static_cast<std::uint64_t>(d.pixels());
  }
  EXPECT_EQ(transcoder->sessions_opened, 2);
  EXPECT_EQ(transcoder->segments, 3);
  EXPECT_EQ(o->balance(gw.address(), session), credited - Rational(pixels) * Rational(1000));
  const OrchestratorStats st = o->stats();
  EXPECT_EQ(st.transcode_failed, 1u);
  EXPECT_EQ(st.segments_transcoded, 2u);
  EXPECT_EQ(st.pixels, pixels);
}

TEST_F(OrchestratorTest, Segment_GivenTranscoderReturningTooFewRenditions_ResultErrorNoFee) {
  auto transcoder = std::make_shared<test::FakeTranscoder>(
      [](const SegmentIn&, const test::FakeTranscoder::Real&) -> test::FakeTranscoder::Renditions {
        return std::vector<RenditionOut>{{"not a rendition", 1'000'000}};
      });
  make_orchestrator(transcoder);
  auto info = o->get_orchestrator(request(gw)).value();
  const std::string session = info.auth_token().session_id();
  SegmentReply reply = serve(submission(info, 0, segments()[0], 2));
  ASSERT_EQ(reply.status, 200) << reply.body;
  ::net::TranscodeResult result;
  ASSERT_TRUE(result.ParseFromString(reply.body));
  EXPECT_EQ(result.error(), "the transcoder returned 1 renditions for 2 profiles");
  EXPECT_FALSE(result.has_data());
  EXPECT_FALSE(o->rendition(session, "240p0", 0));
  EXPECT_EQ(o->stats().pixels, 0u);
  EXPECT_EQ(o->stats().transcode_failed, 1u);
}

TEST_F(OrchestratorTest, Sessions_GivenTranscoderCapacityAndCapabilities_OfferedAsItSays) {
  // A transcoder that holds one session: the orchestrator takes one session (not its own limit
  // of two). One that writes no MPEG-TS: the orchestrator does not offer it (auth tokens it
  // still asks for), and a gateway's H.264-in-MPEG-TS job is refused.
  auto transcoder = std::make_shared<test::FakeTranscoder>(
      [](const SegmentIn& in,
         const test::FakeTranscoder::Real&) -> test::FakeTranscoder::Renditions {
        return std::vector<RenditionOut>{{"a" + std::to_string(in.seq), 1}, {"b", 1}};
      });
  transcoder->capacity_ = 1;
  transcoder->capabilities_ = {kH264};
  make_orchestrator(transcoder);
  auto info = o->get_orchestrator(request(gw)).value();
  const std::vector<std::uint64_t> offered(info.capabilities().bitstring().begin(),
                                           info.capabilities().bitstring().end());
  EXPECT_EQ(offered, bitstring({kH264, kAuthToken}));
  EXPECT_EQ(info.capabilities().mandatories(0), bitstring({kAuthToken})[0]);
  SegmentReply refused = serve(submission(info, 0, segments()[0], 2));
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.body, "incompatible capabilities\n");
  transcoder->capabilities_ = h264_transcoding_capabilities();
  make_orchestrator(transcoder);
  info = o->get_orchestrator(request(gw)).value();
  SegmentReply reply = serve(submission(info, 0, segments()[0], 2));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(o->rendition(info.auth_token().session_id(), "240p0", 0), "a0");
  EXPECT_EQ(o->sessions(), 1u);
  auto second = o->get_orchestrator(request(gw));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message, "Invalid orchestrator request: OrchestratorCapped");
  transcoder->capacity_ = 2;  // a worker came
  EXPECT_TRUE(o->get_orchestrator(request(gw)));
}

// Over real gRPC with TLS on loopback (gRPC C++'s client against the service port's HTTP/2):
// a self-signed certificate made at start, a client that does not verify it (as go-livepeer's
// gateway), go-livepeer's error text in the status.
TEST_F(OrchestratorTest, Grpc_GivenLoopbackTls_GetOrchestratorPingAndEnd) {
  auto tls = net::self_signed_cert("127.0.0.1");
  ASSERT_TRUE(tls) << tls.error().message;
  EXPECT_NE(tls->cert_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  HttpServer server(*o, *tls);
  auto port = server.start("127.0.0.1", 0);
  ASSERT_TRUE(port) << port.error().message;
  net::OrchestratorClient client("127.0.0.1:" + std::to_string(*port));
  auto info = client.get_orchestrator(request(gw));
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->address(), bytes_of(orch.address()));
  EXPECT_EQ(info->ticket_params().recipient(), bytes_of(orch.address()));
  // Ping: the orchestrator signs the value; the caller checks who answered.
  auto pong = client.ping("hello");
  ASSERT_TRUE(pong) << pong.error().message;
  EXPECT_TRUE(verify_message(orch.address(), as_bytes("hello"), as_bytes(*pong)));
  // Errors keep go-livepeer's text.
  auto bad = request(gw);
  bad.set_sig(std::string(65, '\1'));
  auto refused = client.get_orchestrator(bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "Invalid orchestrator request: orchestrator req sig check failed");
  EXPECT_EQ(refused.error().code, "grpc_2");  // UNKNOWN, as a Go error from a gRPC handler
  EXPECT_TRUE(client.end_session(info->auth_token()));
  ::net::AuthToken forged = info->auth_token();
  forged.set_token(std::string(32, 'x'));
  EXPECT_FALSE(client.end_session(forged));
  server.stop();
  net::OrchestratorClient gone("127.0.0.1:" + std::to_string(*port),
                               std::chrono::milliseconds(500));
  auto down = gone.get_orchestrator(request(gw));
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().kind, ErrorKind::retryable);
}

/// One HTTPS request through the gateway's client (which accepts self-signed certificates).
net::SegmentClient::Response https(
    const char* method, const std::string& url,
    const std::vector<std::pair<std::string, std::string>>& headers = {},
    const std::string& body = {}) {
  static net::SegmentClient client;
  auto r = client.request(method, url, headers, body, std::chrono::seconds(60));
  EXPECT_EQ(r.error, "") << url;
  return r;
}

// POST /segment and GET /stream over real HTTPS on loopback.
TEST_F(OrchestratorTest, Https_GivenSegmentOverLoopback_ResultAndRenditionDownload) {
  auto tls = net::self_signed_cert("127.0.0.1");
  ASSERT_TRUE(tls);
  HttpServer http(*o, *tls, {.max_body = 20'000'000, .front = {}});
  auto port = http.start("127.0.0.1", 0);
  ASSERT_TRUE(port) << port.error().message;
  const std::string base = "https://127.0.0.1:" + std::to_string(*port);
  auto info = o->get_orchestrator(request(gw)).value();
  auto segs = segments();
  Submission sub = submission(info, 0, segs[0], 2);
  auto r = https("POST", base + "/segment",
                 {{"Livepeer-Payment", sub.payment}, {"Livepeer-Segment", sub.segment}}, sub.body);
  ASSERT_EQ(r.status, 200u) << r.body;
  ::net::TranscodeResult result;
  ASSERT_TRUE(result.ParseFromString(r.body));
  ASSERT_TRUE(result.has_data()) << result.error();
  ASSERT_EQ(result.data().segments_size(), 2);
  // The URLs point at our service URI; fetch the same paths from this server.
  const std::string session = info.auth_token().session_id();
  auto rendition = https("GET", base + "/stream/" + session + "/360p0/0.ts");
  EXPECT_EQ(rendition.status, 200u);
  EXPECT_EQ(rendition.body, o->rendition(session, "360p0", 0).value());
  EXPECT_EQ(https("GET", base + "/stream/" + session + "/360p0/9.ts").status, 404u);
  EXPECT_EQ(https("GET", base + "/stream/../../etc/passwd").status, 404u);
  // Hostile: a bad payment header, a body over the limit (refused from its Content-Length), GET.
  EXPECT_EQ(https("POST", base + "/segment",
                  {{"Livepeer-Payment", "%%"}, {"Livepeer-Segment", sub.segment}}, sub.body)
                .status,
            402u);
  // (The client waits for "100 Continue" before sending its body, as Go's and curl's do for
  // large bodies: the refusal comes instead, and the body is never sent or read.)
  EXPECT_EQ(
      // NOLINTNEXTLINE(bugprone-string-constructor): over the 20 MB limit on purpose
      https("POST", base + "/segment", {{"Expect", "100-continue"}}, std::string(20'000'001, 'x'))
          .status,
      413u);
  EXPECT_EQ(https("GET", base + "/segment").status, 405u);
  // The same refusals as the logic tests, through the server: a replayed payment, a body whose
  // hash differs, a forged auth token. None of them moves the session's balance.
  const Rational balance = o->balance(gw.address(), session);
  auto replay =
      https("POST", base + "/segment",
            {{"Livepeer-Payment", sub.payment}, {"Livepeer-Segment", sub.segment}}, sub.body);
  EXPECT_EQ(replay.status, 400u);
  EXPECT_NE(replay.body.find("senderNonce"), std::string::npos) << replay.body;
  Submission next = submission(info, 1, segs[1], 2);
  EXPECT_EQ(https("POST", base + "/segment",
                  {{"Livepeer-Payment", next.payment}, {"Livepeer-Segment", next.segment}}, segs[2])
                .status,
            403u);
  ::net::SegData forged;
  ASSERT_TRUE(net::decode_header(next.segment, &forged));
  forged.mutable_auth_token()->set_session_id("not-a-session");
  EXPECT_EQ(
      https("POST", base + "/segment",
            {{"Livepeer-Payment", next.payment}, {"Livepeer-Segment", net::encode_header(forged)}},
            next.body)
          .status,
      403u);
  EXPECT_EQ(o->balance(gw.address(), session), balance);
  // 64 idle connections (TCP open, no TLS handshake) and 16 that stop halfway through their
  // headers do not keep a valid client waiting.
  std::vector<int> idle;
  for (int i = 0; i < 80; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(*port));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    if (i >= 64) {
      const char hello[] = "\x16\x03\x01\x00\xff";  // the start of a TLS ClientHello, then nothing
      ASSERT_EQ(write(fd, hello, sizeof hello - 1), static_cast<ssize_t>(sizeof hello - 1));
    }
    idle.push_back(fd);
  }
  rendition = https("GET", base + "/stream/" + session + "/240p0/0.ts");
  EXPECT_EQ(rendition.status, 200u);
  for (int fd : idle) close(fd);
  http.stop();
}

// go-livepeer's gateway with object storage posts the segment's URL (Content-Type
// application/vnd+livepeer.uri): the orchestrator takes the payment, downloads the segment,
// checks its hash, then answers 200 and transcodes; a failed download is 400 BadRequest, other
// bytes 403 Forbidden. URLs into the operator's own network are refused unless allowed.
TEST_F(OrchestratorTest, Https_GivenSegmentUri_PaidDownloadedCheckedAndTranscoded) {
  auto tls = net::self_signed_cert("127.0.0.1");
  ASSERT_TRUE(tls);
  HttpServer open(
      *o, *tls,
      {.max_body = 20'000'000, .allow_private_uris = true, .uri_timeout_ms = 1500, .front = {}});
  HttpServer strict(*o, *tls);  // the default: loopback refused
  auto open_port = open.start("127.0.0.1", 0);
  auto strict_port = strict.start("127.0.0.1", 0);
  ASSERT_TRUE(open_port && strict_port);
  const std::string open_base = "https://127.0.0.1:" + std::to_string(*open_port);
  const std::string strict_base = "https://127.0.0.1:" + std::to_string(*strict_port);
  test::ObjectStore store;
  auto segs = segments();
  store.put("s0.ts", segs[0]);
  store.put("s1.ts", segs[1]);
  // NOLINTNEXTLINE(bugprone-string-constructor): over the 20 MB limit on purpose
  store.put("big.ts", std::string(20'000'001, 'x'));
  auto info = o->get_orchestrator(request(gw)).value();
  const std::string session = info.auth_token().session_id();
  std::int64_t seq = 0;
  auto post = [&](const std::string& base, const std::string& segment, const std::string& uri) {
    Submission sub = submission(info, seq++, segment, 2);
    return https("POST", base + "/segment",
                 {{"Livepeer-Payment", sub.payment},
                  {"Livepeer-Segment", sub.segment},
                  {"Content-Type", net::kSegmentUriContentType}},
                 uri);
  };

  auto r = post(open_base, segs[0], store.url("s0.ts"));
  ASSERT_EQ(r.status, 200u) << r.body;
  ::net::TranscodeResult result;
  ASSERT_TRUE(result.ParseFromString(r.body));
  ASSERT_TRUE(result.has_data()) << result.error();
  EXPECT_EQ(result.data().segments_size(), 2);
  EXPECT_TRUE(o->rendition(session, "360p0", 0));
  EXPECT_EQ(store.requests(), 1);

  // The default server: a URL to loopback (by address or by name) is refused before any
  // request reaches the store.
  const std::string by_name =
      "http://localhost:" + store.url("s1.ts").substr(std::string("http://127.0.0.1:").size());
  for (const std::string& url : {store.url("s1.ts"), by_name}) {
    r = post(strict_base, segs[1], url);
    EXPECT_EQ(r.status, 400u) << url;
    EXPECT_EQ(r.body, "BadRequest\n") << url;
  }
  EXPECT_EQ(store.requests(), 1);

  // Other bytes than SegData.hash: 403 Forbidden. Not http(s), missing, too large, too slow: 400.
  r = post(open_base, segs[2], store.url("s1.ts"));
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(r.body, "Forbidden\n");
  for (const std::string& url : {std::string("file:///etc/passwd"), store.url("absent.ts"),
                                 store.url("big.ts"), store.url("slow.ts"), std::string("x")}) {
    r = post(open_base, segs[2], url);
    EXPECT_EQ(r.status, 400u) << url;
    EXPECT_EQ(r.body, "BadRequest\n") << url;
  }
  EXPECT_EQ(o->stats().segments_transcoded, 1u);
  open.stop();
  strict.stop();
}

TEST(SegmentClient, PrivateAddress_GivenEachRange_Classified) {
  for (const char* ip : {"127.0.0.1",
                         "127.255.0.9",
                         "10.1.2.3",
                         "172.16.0.1",
                         "172.31.255.255",
                         "192.168.1.1",
                         "169.254.169.254",
                         "100.64.0.1",
                         "0.0.0.0",
                         "224.0.0.1",
                         "255.255.255.255",
                         "::1",
                         "::",
                         "fe80::1",
                         "fd00::5",
                         "fc00::1",
                         "ff02::1",
                         "::ffff:127.0.0.1",
                         "::ffff:10.0.0.1",
                         "not an address",
                         ""})
    EXPECT_TRUE(net::is_private_address(ip)) << ip;
  for (const char* ip : {"8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255", "100.128.0.1",
                         "169.253.0.1", "192.169.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"})
    EXPECT_FALSE(net::is_private_address(ip)) << ip;
}

TEST(Capabilities, Compatible_GivenGoLivepeerRule_MandatoriesSubsetAndLength) {
  const ::net::Capabilities o = orchestrator_capabilities("0.1.0");
  auto job = [](const std::vector<std::uint32_t>& caps) {
    ::net::Capabilities c;
    for (std::uint64_t w : bitstring(caps)) c.add_bitstring(w);
    return c;
  };
  EXPECT_TRUE(compatible(job({kH264, kMpegTs, kAuthToken}), o));
  EXPECT_EQ(job({kH264, kMpegTs, kAuthToken}).bitstring(0),
            0x1003u);                                           // the reference's plain H.264 job
  EXPECT_FALSE(compatible(job({kH264, kMpegTs}), o));           // AuthToken is mandatory
  EXPECT_FALSE(compatible(job({kH264, kMp4, kAuthToken}), o));  // MP4 output not offered
  EXPECT_FALSE(compatible(job({kH264, kAuthToken, 70}), o));    // a longer bitstring
  EXPECT_FALSE(compatible(::net::Capabilities(), o));           // no capabilities at all
}

TEST(SegmentLine, Order_GivenLaterThreadsStartingFirst_AcceptanceOrderAndBound) {
  net::SegmentLine line(2);
  const auto a = line.join(), b = line.join(), c = line.join();
  ASSERT_TRUE(a && b && c);
  EXPECT_FALSE(line.join());  // one holding the turn and two waiting: the third waiter is busy
  std::mutex mu;
  std::vector<int> order;
  // c's thread starts before b's; turns still go by place in line.
  std::thread tc([&] {
    line.wait_turn(*c);
    std::lock_guard lock(mu);
    order.push_back(3);
    line.leave();
  });
  std::thread tb([&] {
    line.wait_turn(*b);
    std::lock_guard lock(mu);
    order.push_back(2);
    line.leave();
  });
  line.wait_turn(*a);
  {
    std::lock_guard lock(mu);
    order.push_back(1);
  }
  line.leave();
  tb.join();
  tc.join();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(line.size(), 0u);
  EXPECT_TRUE(line.join());
}

TEST(AuthTokens, Verify_GivenTamperedFields_Invalid) {
  AuthTokens tokens;
  ::net::AuthToken t = tokens.issue("deadbeef", 1000);
  EXPECT_TRUE(tokens.verify(t, 1000));
  EXPECT_TRUE(tokens.verify(t, 1000 + AuthTokens::kValidSeconds));
  EXPECT_EQ(tokens.verify(t, 1001 + AuthTokens::kValidSeconds).error().message,
            "expired auth token");
  ::net::AuthToken longer = t;
  longer.set_expiration(t.expiration() + 3600);  // extending the expiry breaks the HMAC
  EXPECT_EQ(tokens.verify(longer, 1000).error().message, "invalid auth token");
  ::net::AuthToken other = t;
  other.set_session_id("deadbeee");
  EXPECT_EQ(tokens.verify(other, 1000).error().message, "invalid auth token");
  EXPECT_EQ(AuthTokens().verify(t, 1000).error().message,
            "invalid auth token");  // another process's secret
  EXPECT_EQ(tokens.verify(::net::AuthToken(), 1000).error().message, "missing auth token");
}

}  // namespace
}  // namespace lp::orch
