// SPDX-License-Identifier: LGPL-2.1-or-later
// lpticketpay on its own: the settlement it opens from its ledger property, and the lp-payment
// query answered as lpremote-transcode asks it (contracts.h), refusals typed.
#include <gst/check/gstharness.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "elements/common/gst_ptr.h"
#include "elements/gateway/contracts.h"
#include "elements/net/wire.h"
#include "tests/unit/payment_world.h"

namespace lp::gw {
namespace {

struct HarnessDeleter {
  void operator()(GstHarness* h) const { gst_harness_teardown(h); }
};
using HarnessPtr = std::unique_ptr<GstHarness, HarnessDeleter>;

class TicketPay : public test::PaymentWorld {
 protected:
  void SetUp() override {
    PaymentWorld::SetUp();
    key_file = dir.file("gateway.key");
    std::ofstream(key_file) << to_hex(gw.secret(), false) << "\n";
    chmod(key_file.c_str(), 0600);
  }

  /// lpticketpay on `ledger_setting`, its start (READY -> PAUSED) tried; errors go to `bus`.
  gst::ObjectPtr<GstElement> make(const std::string& ledger_setting,
                                  guint64 max_price_per_unit = 0) {
    gst::ObjectPtr<GstElement> e(gst_element_factory_make("lpticketpay", nullptr));
    g_object_ref_sink(e.get());
    g_object_set(e.get(), "key-file", key_file.c_str(), "ledger", ledger_setting.c_str(),
                 "max-price-per-unit", max_price_per_unit, nullptr);
    bus.reset(gst_bus_new());
    gst_element_set_bus(e.get(), bus.get());
    return e;
  }

  /// lpticketpay started and in a harness; null when the start failed.
  HarnessPtr start(const std::string& ledger_setting, guint64 max_price_per_unit = 0) {
    auto e = make(ledger_setting, max_price_per_unit);
    if (gst_element_set_state(e.get(), GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE) {
      gst_element_set_state(e.get(), GST_STATE_NULL);
      return nullptr;
    }
    return HarnessPtr(gst_harness_new_with_element(e.get(), "sink", "src"));
  }

  /// The lp-payment query from downstream, as lpremote-transcode sends it; returns its answer.
  GstStructure* pay(GstHarness* h, const pm::TicketParams& params, const pm::PriceInfo& price) {
    const std::string p = net::to_proto(params).SerializeAsString();
    const std::string pr = net::to_proto(price).SerializeAsString();
    GBytes* pb = bytes_from(p);
    GBytes* prb = bytes_from(pr);
    GstQuery* q = gst_query_new_custom(
        GST_QUERY_CUSTOM,
        gst_structure_new(kPaymentQuery, "orchestrator", G_TYPE_STRING,
                          to_checksum(orch.address()).c_str(), "session", G_TYPE_STRING, "s1",
                          "ticket-params", G_TYPE_BYTES, pb, "price", G_TYPE_BYTES, prb, "fee",
                          G_TYPE_STRING, "1000", nullptr));
    g_bytes_unref(pb);
    g_bytes_unref(prb);
    EXPECT_TRUE(gst_pad_peer_query(h->sinkpad, q));
    GstStructure* answer = gst_structure_copy(gst_query_get_structure(q));
    gst_query_unref(q);
    return answer;
  }

  std::string key_file;
  gst::ObjectPtr<GstBus> bus;
};

TEST_F(TicketPay, Payment_GivenParamsFromTheOrchestrator_AnswersWithTickets) {
  auto h = start("file:" + dir.file("ledger.db"));
  ASSERT_TRUE(h);
  const pm::PriceInfo price{1, 1};
  auto params = recipient->ticket_params(gw.address(), price).value();
  GstStructure* answer = pay(h.get(), params, price);
  EXPECT_FALSE(get_error(answer)) << gst_structure_to_string(answer);
  EXPECT_TRUE(gst_structure_has_field_typed(answer, "payment", G_TYPE_BYTES));
  guint tickets = 0;
  EXPECT_TRUE(gst_structure_get_uint(answer, "tickets", &tickets));
  EXPECT_GT(tickets, 0u);
  gst_structure_free(answer);
}

TEST_F(TicketPay, Payment_GivenExpiredParams_AnswersTheWalletsCodeAndKind) {
  auto h = start(dir.file("ledger.db"));
  ASSERT_TRUE(h);
  const pm::PriceInfo price{1, 1};
  auto params = recipient->ticket_params(gw.address(), price).value();
  ASSERT_TRUE(ledger->advance_blocks(1000));  // past the params' expiration block
  GstStructure* answer = pay(h.get(), params, price);
  auto e = get_error(answer);
  ASSERT_TRUE(e) << gst_structure_to_string(answer);
  EXPECT_EQ(e->code, "ticket_params_expired");
  EXPECT_EQ(e->kind, ErrorKind::retryable);
  EXPECT_FALSE(gst_structure_has_field(answer, "payment"));
  gst_structure_free(answer);
}

TEST_F(TicketPay, Payment_GivenPriceAboveTheMaximum_AnswersForbiddenPriceTooHigh) {
  auto h = start("sqlite:" + dir.file("ledger.db"), 10);
  ASSERT_TRUE(h);
  const pm::PriceInfo price{1000, 1};
  auto params = recipient->ticket_params(gw.address(), price).value();
  GstStructure* answer = pay(h.get(), params, price);
  auto e = get_error(answer);
  ASSERT_TRUE(e) << gst_structure_to_string(answer);
  EXPECT_EQ(e->code, "price_too_high");
  EXPECT_EQ(e->kind, ErrorKind::forbidden);
  gst_structure_free(answer);
}

TEST_F(TicketPay, Start_GivenAnEthereumEndpoint_FailsWithTheSettlementCode) {
  auto e = make("https://arb1.arbitrum.io/rpc");
  EXPECT_EQ(gst_element_set_state(e.get(), GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  gst_element_set_state(e.get(), GST_STATE_NULL);
  gst::MessagePtr m(gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR));
  ASSERT_TRUE(m);
  GError* err = nullptr;
  gst_message_parse_error(m.get(), &err, nullptr);
  ASSERT_TRUE(err);
  EXPECT_NE(std::string(err->message).find("not built yet"), std::string::npos) << err->message;
  g_error_free(err);
  const GstStructure* details = nullptr;
  gst_message_parse_error_details(m.get(), &details);
  ASSERT_TRUE(details);
  EXPECT_STREQ(gst_structure_get_string(details, "error-code"), "settlement_unavailable");
  EXPECT_STREQ(gst_structure_get_string(details, "error-kind"), "fatal");
}

}  // namespace
}  // namespace lp::gw
