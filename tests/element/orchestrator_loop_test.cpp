// SPDX-License-Identifier: LGPL-2.1-or-later
// The orchestrator loop on loopback, every piece real: the gRPC and HTTPS servers with a
// self-signed certificate, the gateway's clients, tickets from the payment library on a SQLite
// local ledger, the gop2 clip's segments through the transcoder, renditions downloaded and
// judged by ffprobe, winners redeemed after their params expire.
#include <gtest/gtest.h>

#include <map>

#include "elements/lpmeta.h"
#include "elements/net/client.h"
#include "elements/net/segment_client.h"
#include "elements/net/tls.h"
#include "elements/net/wire.h"
#include "node/orchestrator/capabilities.h"
#include "node/orchestrator/http_server.h"
#include "node/orchestrator/orchestrator.h"
#include "payment/eth/keccak.h"
#include "tests/element/fake_transcoder.h"
#include "tests/element/media_util.h"
#include "tests/unit/payment_world.h"

namespace lp::orch {
namespace {

std::string bytes_of(ByteSpan b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

class OrchestratorLoop : public test::PaymentWorld {
 protected:
  pm::RecipientConfig recipient_config() override {
    pm::RecipientConfig c = PaymentWorld::recipient_config();
    // Face value = EV: every ticket wins. The face value must cover the redemption's gas.
    c.ticket_ev = U256(10'000'000'000'000'000ull);
    c.max_face_value = c.ticket_ev;
    return c;
  }
  pm::SenderConfig sender_config() override {
    pm::SenderConfig c = PaymentWorld::sender_config();
    c.max_ticket_ev = U256(100'000'000'000'000'000ull);
    return c;
  }
};

TEST_F(OrchestratorLoop, Gop2Clip_GivenTwoRungs_PaidTranscodedDownloadedAndRedeemed) {
  test::ClipRun clip = test::segment_file(test::media("live-1080p30-h264-aac-16s-gop2.ts"), true);
  ASSERT_EQ(clip.error, "");
  ASSERT_GE(clip.segments.size(), 8u);

  OrchestratorConfig config;
  config.price = {3, 2};  // 1.5 wei per pixel
  Orchestrator o(config, orch, *recipient, test::cpu_transcoder(),
                 [] { return std::int64_t{1'700'000'000}; });
  auto tls = net::self_signed_cert("127.0.0.1").value();
  HttpServer http(o, tls);
  const int http_port = http.start("127.0.0.1", 0).value();
  o.set_service_uri("https://127.0.0.1:" + std::to_string(http_port));

  // The gateway: OrchestratorInfo over gRPC (HTTP/2 on the one port), a PM session on its
  // ticket params.
  net::OrchestratorClient client("127.0.0.1:" + std::to_string(http_port));
  ::net::OrchestratorRequest req;
  req.set_address(bytes_of(gw.address()));
  req.set_sig(bytes_of(sign_message(gw, as_bytes(to_checksum(gw.address())))));
  auto info = client.get_orchestrator(req);
  ASSERT_TRUE(info) << info.error().message;
  auto params = net::from_proto(info->ticket_params());
  ASSERT_TRUE(params) << params.error().message;
  const pm::PriceInfo price = net::from_proto(info->price_info());
  EXPECT_EQ(params->win_prob, max_win_prob());
  const std::string pm_session = sender->start_session(*params, price);
  const std::string session = info->auth_token().session_id();
  auto orch_address = net::address_field(info->address(), "address").value();

  const int sizes[2][2] = {{426, 240}, {640, 360}};
  const char* names[2] = {"240p0", "360p0"};
  std::vector<::net::VideoProfile> ladder(2);
  for (int r = 0; r < 2; ++r) {
    ladder[r].set_name(names[r]);
    ladder[r].set_width(sizes[r][0]);
    ladder[r].set_height(sizes[r][1]);
    ladder[r].set_bitrate(r == 0 ? 250000 : 800000);
    ladder[r].set_profile(::net::VideoProfile::H264_CONSTRAINED_HIGH);
    ladder[r].set_gop(1000);
  }
  net::SegmentClient segments;
  test::TempDir renditions;
  Rational sent_ev = 0;
  U256 face_values = 0;
  std::uint64_t pixels = 0;
  std::size_t tickets = 0;
  for (std::size_t seq = 0; seq < clip.segments.size(); ++seq) {
    SCOPED_TRACE("seq " + std::to_string(seq));
    GstBuffer* buf = clip.segments[seq].get();
    GstMapInfo map;
    ASSERT_TRUE(gst_buffer_map(buf, &map, GST_MAP_READ));
    const std::string body(reinterpret_cast<const char*>(map.data), map.size);
    gst_buffer_unmap(buf, &map);
    const unsigned frames = lp_buffer_get_segment_meta(buf)->video_frames;

    const ::net::SegData s = net::signed_segdata(gw, "gop2clip", static_cast<std::int64_t>(seq),
                                                 body, ladder, info->auth_token(), 2000);
    auto batch = sender->create_ticket_batch(pm_session, 1);
    ASSERT_TRUE(batch) << batch.error().message;
    for (std::size_t i = 0; i < batch->tickets.size(); ++i) {
      sent_ev += batch->ticket(i).expected_value();
      face_values += batch->ticket(i).face_value;
      ++tickets;
    }
    auto result = segments.submit(info->transcoder(), net::encode_header(net::to_proto(*batch)),
                                  net::encode_header(s), body, std::chrono::seconds(60));
    ASSERT_TRUE(result) << result.error().message;
    ASSERT_TRUE(result->has_data()) << result->error();
    ASSERT_EQ(result->data().segments_size(), 2);
    Bytes hashes;
    for (int r = 0; r < 2; ++r) {
      const auto& d = result->data().segments(r);
      auto ts = segments.fetch(d.url(), std::chrono::seconds(10));
      ASSERT_TRUE(ts) << ts.error().message;
      const Hash rh = keccak256(as_bytes(*ts));
      hashes.insert(hashes.end(), rh.begin(), rh.end());
      const std::string f =
          renditions.file(std::string(names[r]) + "-" + std::to_string(seq) + ".ts");
      std::ofstream(f, std::ios::binary) << *ts;
      const std::string probe = test::ffprobe(
          "-select_streams v:0 -show_entries stream=codec_name,width,height -of csv=p=0 \"" + f +
          "\"");
      EXPECT_EQ(probe.substr(0, probe.find('\n')),
                "h264," + std::to_string(sizes[r][0]) + "," + std::to_string(sizes[r][1]));
      EXPECT_EQ(test::count_frames(f, "v:0"), static_cast<int>(frames));
      EXPECT_GT(test::count_frames(f, "a:0"), 0);
      EXPECT_EQ(d.pixels(), static_cast<std::int64_t>(frames) * sizes[r][0] * sizes[r][1]);
      pixels += static_cast<std::uint64_t>(d.pixels());
    }
    // The result is signed by the orchestrator's address over the renditions' hashes.
    EXPECT_TRUE(verify_message(orch_address, hashes, as_bytes(result->data().sig())));
  }
  // Credit = the received tickets' EV; debit = encoded pixels x price.
  EXPECT_EQ(o.balance(gw.address(), session), sent_ev - Rational(pixels) * Rational(3, 2));

  // Every ticket won; after the params expire the queue redeems them on the local ledger and
  // the balances move by exactly their face values.
  const U256 deposit_before = ledger->sender_info(gw.address()).value().deposit;
  const U256 paid_before = ledger->account_balance(orch.address()).value();
  auto pending = queue->list("pending");
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->size(), tickets);
  ASSERT_TRUE(ledger->advance_blocks(41));
  auto run = queue->process();
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(queue->list("redeemed")->size(), tickets);
  EXPECT_EQ(ledger->account_balance(orch.address()).value() - paid_before, face_values);
  EXPECT_EQ(deposit_before - ledger->sender_info(gw.address()).value().deposit, face_values);
  http.stop();
}

}  // namespace
}  // namespace lp::orch
