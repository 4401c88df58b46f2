// SPDX-License-Identifier: LGPL-2.1-or-later
// The lp-payment query protocol (elements/gateway/contracts.h) alone: lpticketpay in a harness,
// asked from its src pad what lpremote-transcode asks ("lp-sign", "lp-payment",
// "lp-payment-settle"), every answer checked: the signature by its key, the payment decoded as
// a Livepeer-Payment header (net.Payment) with tickets the orchestrator accepts and whose EV
// covers the fee, grant ids, the settle outcomes in its balance/ev-sent/tickets-sent properties,
// and refusals typed ("error", "error-code", "error-kind").
#include <gst/check/gstharness.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "elements/common/gst_ptr.h"
#include "elements/gateway/contracts.h"
#include "elements/net/wire.h"
#include "payment/eth/signature.h"
#include "tests/unit/payment_world.h"

namespace lp::gw {
namespace {

struct HarnessDeleter {
  void operator()(GstHarness* h) const { gst_harness_teardown(h); }
};
using HarnessPtr = std::unique_ptr<GstHarness, HarnessDeleter>;

struct StructureFree {
  void operator()(GstStructure* s) const { gst_structure_free(s); }
};
using StructurePtr = std::unique_ptr<GstStructure, StructureFree>;

class TicketPayQuery : public test::PaymentWorld {
 protected:
  void SetUp() override {
    PaymentWorld::SetUp();
    key_file = dir.file("gateway.key");
    std::ofstream(key_file) << to_hex(gw.secret(), false) << "\n";
    chmod(key_file.c_str(), 0600);
    params = recipient->ticket_params(gw.address(), price).value();
    ev = params.expected_value();
    ASSERT_GT(ev, kE);  // 1e12 plus a fraction of a wei (winProb rounds up)
    ASSERT_LT(ev, kE + 1);
  }
  void TearDown() override {
    h.reset();
    element.reset();
  }

  /// lpticketpay on the fixture's ledger, started (READY -> PAUSED) and in a harness.
  void start(guint64 max_price_per_unit = 0, const char* max_total_ev = "20000000000000") {
    element.reset(gst_element_factory_make("lpticketpay", nullptr));
    ASSERT_TRUE(element);
    g_object_ref_sink(element.get());
    g_object_set(element.get(), "key-file", key_file.c_str(), "ledger",
                 dir.file("ledger.db").c_str(), "max-price-per-unit", max_price_per_unit,
                 "max-total-ev", max_total_ev, nullptr);
    bus.reset(gst_bus_new());
    gst_element_set_bus(element.get(), bus.get());
    ASSERT_NE(gst_element_set_state(element.get(), GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
    h.reset(gst_harness_new_with_element(element.get(), "sink", "src"));
  }

  /// Sends a custom query from downstream (as lpremote-transcode does); `answered` is what the
  /// element returned; the structure after the element's answer is returned.
  StructurePtr ask(GstStructure* s, bool* answered = nullptr) {
    GstQuery* q = gst_query_new_custom(GST_QUERY_CUSTOM, s);
    const gboolean ok = gst_pad_peer_query(h->sinkpad, q);
    if (answered)
      *answered = ok;
    else
      EXPECT_TRUE(ok) << gst_structure_get_name(s);
    StructurePtr out(gst_structure_copy(gst_query_get_structure(q)));
    gst_query_unref(q);
    return out;
  }

  StructurePtr pay(const Rational& fee, const std::string& session = "s1",
                   const pm::PriceInfo& asked = {1000, 1}) {
    return pay_with(net::to_proto(params).SerializeAsString(),
                    net::to_proto(asked).SerializeAsString(), to_string(fee), session);
  }
  StructurePtr pay_with(const std::string& params_bytes, const std::string& price_bytes,
                        const std::string& fee, const std::string& session) {
    GBytes* pb = bytes_from(params_bytes);
    GBytes* prb = bytes_from(price_bytes);
    GstStructure* s = gst_structure_new(
        kPaymentQuery, "orchestrator", G_TYPE_STRING, to_checksum(orch.address()).c_str(),
        "session", G_TYPE_STRING, session.c_str(), "ticket-params", G_TYPE_BYTES, pb, "price",
        G_TYPE_BYTES, prb, "fee", G_TYPE_STRING, fee.c_str(), nullptr);
    g_bytes_unref(pb);
    g_bytes_unref(prb);
    return ask(s);
  }

  void settle(guint64 grant, int outcome, const Rational& debit) {
    bool answered = false;
    ask(gst_structure_new(kSettleQuery, "grant", G_TYPE_UINT64, grant, "outcome", G_TYPE_INT,
                          outcome, "debit", G_TYPE_STRING, to_string(debit).c_str(), nullptr),
        &answered);
    EXPECT_TRUE(answered);
  }

  /// The answer's payment, decoded as the orchestrator decodes the Livepeer-Payment header.
  pm::TicketBatch decode_payment(const GstStructure* answer) {
    GBytes* payment = nullptr;
    EXPECT_TRUE(gst_structure_get(answer, "payment", G_TYPE_BYTES, &payment, nullptr));
    if (!payment) return {};
    const std::string header = to_string_bytes(payment);
    g_bytes_unref(payment);
    ::net::Payment msg;
    auto st = net::decode_header(header, &msg);
    EXPECT_TRUE(st) << st.error().to_string();
    EXPECT_TRUE(msg.has_expiration_params());  // go-livepeer's orchestrator dereferences it
    auto batch = net::from_proto(msg);
    EXPECT_TRUE(batch) << batch.error().to_string();
    return batch ? *batch : pm::TicketBatch{};
  }

  std::string string_property(const char* name) {
    gchar* v = nullptr;
    g_object_get(element.get(), name, &v, nullptr);
    std::string out = v ? v : "";
    g_free(v);
    return out;
  }
  guint64 tickets_sent() {
    guint64 v = 0;
    g_object_get(element.get(), "tickets-sent", &v, nullptr);
    return v;
  }
  static guint64 grant_of(const GstStructure* answer) {
    guint64 g = 0;
    EXPECT_TRUE(gst_structure_get_uint64(answer, "grant", &g)) << gst_structure_to_string(answer);
    return g;
  }
  static guint tickets_of(const GstStructure* answer) {
    guint n = 0;
    EXPECT_TRUE(gst_structure_get_uint(answer, "tickets", &n)) << gst_structure_to_string(answer);
    return n;
  }
  /// The refusal carried by an answer, with no payment beside it.
  static Error refusal(const GstStructure* answer) {
    auto e = get_error(answer);
    EXPECT_TRUE(e) << gst_structure_to_string(answer);
    EXPECT_FALSE(gst_structure_has_field(answer, "payment"));
    EXPECT_FALSE(gst_structure_has_field(answer, "grant"));
    EXPECT_TRUE(gst_structure_get_string(answer, "error") &&
                *gst_structure_get_string(answer, "error"));
    return e ? *e : Error{};
  }

  // Fees and debits travel as uint256 fractions ("n" or "n/d"), so the tests use whole wei
  // near the ticket EV rather than multiples of it (whose fractions exceed 256 bits).
  const Rational kE = Rational(1'000'000'000'000);
  const pm::PriceInfo price{1000, 1};
  pm::TicketParams params;
  Rational ev;
  std::string key_file;
  gst::ObjectPtr<GstElement> element;
  gst::ObjectPtr<GstBus> bus;
  HarnessPtr h;
};

TEST_F(TicketPayQuery, Sign_GivenAMessage_AnswersASignatureByItsKey) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string message = "segment flatten bytes \x01\x02";
  GBytes* m = bytes_from(message);
  StructurePtr answer = ask(gst_structure_new(kSignQuery, "message", G_TYPE_BYTES, m, nullptr));
  g_bytes_unref(m);
  GBytes* sig = nullptr;
  ASSERT_TRUE(gst_structure_get(answer.get(), "signature", G_TYPE_BYTES, &sig, nullptr));
  const std::string sig_bytes = to_string_bytes(sig);
  g_bytes_unref(sig);
  ASSERT_EQ(sig_bytes.size(), 65u);
  EXPECT_TRUE(verify_message(gw.address(), as_bytes(message), as_bytes(sig_bytes)));
  const Signature expected = sign_message(gw, as_bytes(message));
  EXPECT_EQ(sig_bytes, std::string(expected.begin(), expected.end()));
  EXPECT_STREQ(gst_structure_get_string(answer.get(), "address"),
               to_checksum(gw.address()).c_str());
  EXPECT_EQ(string_property("address"), to_checksum(gw.address()));
}

TEST_F(TicketPayQuery, Sign_GivenNoMessage_IsNotAnswered) {
  ASSERT_NO_FATAL_FAILURE(start());
  bool answered = true;
  StructurePtr answer = ask(gst_structure_new_empty(kSignQuery), &answered);
  EXPECT_FALSE(answered);
  EXPECT_FALSE(gst_structure_has_field(answer.get(), "signature"));
}

TEST_F(TicketPayQuery, Payment_GivenAFee_AnswersADecodablePaymentWhoseTicketsCoverIt) {
  ASSERT_NO_FATAL_FAILURE(start());
  const Rational fee = kE * 5 / 2;  // 3 tickets
  StructurePtr answer = pay(fee);
  ASSERT_FALSE(get_error(answer.get())) << gst_structure_to_string(answer.get());
  EXPECT_EQ(grant_of(answer.get()), 1u);
  EXPECT_EQ(tickets_of(answer.get()), 3u);

  const pm::TicketBatch batch = decode_payment(answer.get());
  ASSERT_EQ(batch.tickets.size(), 3u);
  EXPECT_EQ(batch.sender, gw.address());
  EXPECT_EQ(batch.params.recipient, orch.address());
  EXPECT_EQ(batch.params.recipient_rand_hash, params.recipient_rand_hash);
  EXPECT_EQ(batch.params.expiration_block, params.expiration_block);
  EXPECT_EQ(batch.expected_price, price);
  EXPECT_GE(batch.params.expected_value() * 3, fee);
  EXPECT_LT(batch.params.expected_value() * 2, fee);
  for (std::size_t i = 0; i < batch.tickets.size(); ++i) {
    EXPECT_EQ(batch.tickets[i].sender_nonce, i + 1);
    EXPECT_EQ(pm::recover_ticket_signer(batch.ticket(i).hash(), batch.tickets[i].sig).value(),
              gw.address());
  }
  // The orchestrator takes every ticket and credits their EV.
  const pm::PaymentOutcome out = recipient->receive_payment(batch, "s1");
  EXPECT_FALSE(out.error) << out.error->to_string();
  EXPECT_EQ(out.accepted, 3u);
  EXPECT_EQ(out.credited, ev * 3);

  // The payment is posted as an element message.
  gst::MessagePtr m(gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ELEMENT));
  ASSERT_TRUE(m);
  const GstStructure* ms = gst_message_get_structure(m.get());
  ASSERT_TRUE(gst_structure_has_name(ms, "lp-payment"));
  EXPECT_STREQ(gst_structure_get_string(ms, "orchestrator"), to_checksum(orch.address()).c_str());
  EXPECT_STREQ(gst_structure_get_string(ms, "session"), "s1");
  EXPECT_STREQ(gst_structure_get_string(ms, "ev"), to_string(ev * 3).c_str());
  EXPECT_STREQ(gst_structure_get_string(ms, "fee"), to_string(fee).c_str());
}

TEST_F(TicketPayQuery, Payment_GivenSeveralPayments_AnswersDistinctGrants) {
  ASSERT_NO_FATAL_FAILURE(start());
  StructurePtr a = pay(kE, "s1");
  StructurePtr b = pay(kE, "s2");
  StructurePtr c = pay(kE * 2, "s1");
  EXPECT_EQ(grant_of(a.get()), 1u);
  EXPECT_EQ(grant_of(b.get()), 2u);
  EXPECT_EQ(grant_of(c.get()), 3u);
  // Same params, same session at the sender: nonces go on across payments.
  EXPECT_EQ(decode_payment(c.get()).tickets.at(0).sender_nonce, 3u);
}

TEST_F(TicketPayQuery, Settle_GivenEachOutcome_MovesBalanceEvSentAndTicketsSentAsTheBooks) {
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(string_property("balance"), "0");
  EXPECT_EQ(string_property("ev-sent"), "0");

  // A result: credit 3 EV - debit stays.
  StructurePtr a = pay(kE * 5 / 2);
  ASSERT_EQ(tickets_of(a.get()), 3u);
  const Rational debit = kE * 3 / 2 + Rational(2, 7);
  settle(grant_of(a.get()), 2, debit);
  const Rational left = ev * 3 - debit;  // 1.5e12 wei and a fraction
  EXPECT_EQ(string_property("balance"), to_string(left));
  EXPECT_EQ(string_property("ev-sent"), to_string(ev * 3));
  EXPECT_EQ(tickets_sent(), 3u);

  // Never sent: the reserved credit comes back, nothing counts as sent.
  StructurePtr b = pay(kE * 3);  // ceil((3e12 - left) / EV) = ceil(1.5 less a little) = 2
  ASSERT_EQ(tickets_of(b.get()), 2u);
  EXPECT_EQ(string_property("balance"), "0");  // reserved while in flight
  settle(grant_of(b.get()), 0, 0);
  EXPECT_EQ(string_property("balance"), to_string(left));
  EXPECT_EQ(string_property("ev-sent"), to_string(ev * 3));
  EXPECT_EQ(tickets_sent(), 3u);

  // Sent without a result: existing and new credit are spent.
  StructurePtr c = pay(kE * 2);  // ceil(0.5 less a little) = 1 ticket
  ASSERT_EQ(tickets_of(c.get()), 1u);
  settle(grant_of(c.get()), 1, 0);
  EXPECT_EQ(string_property("balance"), "0");
  EXPECT_EQ(string_property("ev-sent"), to_string(ev * 4));
  EXPECT_EQ(tickets_sent(), 4u);

  // A debit above the credit leaves the balance negative.
  StructurePtr d = pay(1);
  ASSERT_EQ(tickets_of(d.get()), 1u);
  settle(grant_of(d.get()), 2, kE * 2);
  EXPECT_EQ(string_property("balance"), to_string(ev - kE * 2));
  EXPECT_EQ(string_property("ev-sent"), to_string(ev * 5));

  GstStructure* stats = nullptr;
  g_object_get(element.get(), "stats", &stats, nullptr);
  ASSERT_TRUE(stats);
  guint64 payments = 0;
  EXPECT_TRUE(gst_structure_get_uint64(stats, "payments", &payments));
  EXPECT_EQ(payments, 3u);
  EXPECT_STREQ(gst_structure_get_string(stats, "debited"), to_string(debit + kE * 2).c_str());
  EXPECT_STREQ(gst_structure_get_string(stats, "balance"), to_string(ev - kE * 2).c_str());
  const GValue* list = gst_structure_get_value(stats, "orchestrators");
  ASSERT_TRUE(list);
  ASSERT_EQ(gst_value_array_get_size(list), 1u);
  const GstStructure* o = gst_value_get_structure(gst_value_array_get_value(list, 0));
  EXPECT_STREQ(gst_structure_get_string(o, "address"), to_checksum(orch.address()).c_str());
  EXPECT_STREQ(gst_structure_get_string(o, "ev-sent"), to_string(ev * 5).c_str());
  EXPECT_STREQ(gst_structure_get_string(o, "balance"), to_string(ev - kE * 2).c_str());
  gst_structure_free(stats);
}

TEST_F(TicketPayQuery, Settle_GivenTheSameGrantTwice_CountsItOnce) {
  ASSERT_NO_FATAL_FAILURE(start());
  StructurePtr a = pay(kE);
  settle(grant_of(a.get()), 2, 0);
  settle(grant_of(a.get()), 2, 0);
  EXPECT_EQ(string_property("balance"), to_string(ev));
  EXPECT_EQ(tickets_sent(), 1u);
}

TEST_F(TicketPayQuery, Settle_GivenAnUnknownOutcome_IsNotAnsweredAndChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(start());
  StructurePtr a = pay(kE);
  bool answered = true;
  ask(gst_structure_new(kSettleQuery, "grant", G_TYPE_UINT64, grant_of(a.get()), "outcome",
                        G_TYPE_INT, 3, "debit", G_TYPE_STRING, "0", nullptr),
      &answered);
  EXPECT_FALSE(answered);
  answered = true;
  ask(gst_structure_new(kSettleQuery, "outcome", G_TYPE_INT, 2, nullptr), &answered);
  EXPECT_FALSE(answered);
  EXPECT_EQ(tickets_sent(), 0u);
  // The grant is still open: a valid settle afterwards completes it.
  settle(grant_of(a.get()), 2, kE / 2);
  EXPECT_EQ(string_property("balance"), to_string(ev - kE / 2));
}

TEST_F(TicketPayQuery, Payment_GivenExpiredParams_RefusesRetryableWithTheSendersCode) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(ledger->advance_blocks(1000));
  StructurePtr answer = pay(kE);
  const Error e = refusal(answer.get());
  EXPECT_EQ(e.code, "ticket_params_expired");
  EXPECT_EQ(e.kind, ErrorKind::retryable);
  EXPECT_STREQ(gst_structure_get_string(answer.get(), "error-kind"), "retryable");
  EXPECT_EQ(tickets_sent(), 0u);
}

TEST_F(TicketPayQuery, Payment_GivenAPriceAboveMaxPricePerUnit_RefusesForbidden) {
  ASSERT_NO_FATAL_FAILURE(start(999));
  StructurePtr answer = pay(kE, "s1", {1000, 1});
  const Error e = refusal(answer.get());
  EXPECT_EQ(e.code, "price_too_high");
  EXPECT_EQ(e.kind, ErrorKind::forbidden);
  EXPECT_STREQ(gst_structure_get_string(answer.get(), "error-code"), "price_too_high");
  EXPECT_STREQ(gst_structure_get_string(answer.get(), "error-kind"), "forbidden");
  // At the maximum it pays.
  StructurePtr at_max = pay(kE, "s1", {999, 1});
  EXPECT_FALSE(get_error(at_max.get())) << gst_structure_to_string(at_max.get());
  EXPECT_EQ(tickets_of(at_max.get()), 1u);
}

TEST_F(TicketPayQuery, Payment_GivenAFeeAboveMaxTotalEv_RefusesTotalEvTooHigh) {
  ASSERT_NO_FATAL_FAILURE(start(0, "5000000000000"));  // 4 tickets of just over 1e12 fit, 5 not
  StructurePtr four = pay(kE * 4);
  EXPECT_EQ(tickets_of(four.get()), 4u);
  StructurePtr five = pay(kE * 5, "s2");
  const Error e = refusal(five.get());
  EXPECT_EQ(e.code, "total_ev_too_high");
  EXPECT_EQ(e.kind, ErrorKind::retryable);
}

TEST_F(TicketPayQuery, Payment_GivenMalformedFields_RefusesAsInvalidInput) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string good_params = net::to_proto(params).SerializeAsString();
  const std::string good_price = net::to_proto(price).SerializeAsString();
  struct Case {
    const char* what;
    std::string params, price, fee;
  };
  for (const Case& c : {Case{"not protobuf", "\xff\xff\xff", good_price, "1"},
                        Case{"bad fee", good_params, good_price, "one wei"},
                        Case{"bad price bytes", good_params, "\x08", "1"},
                        Case{"fee beyond 256 bits", good_params, good_price, to_string(ev)}}) {
    StructurePtr answer = pay_with(c.params, c.price, c.fee, "s1");
    const Error e = refusal(answer.get());
    EXPECT_EQ(e.code, "malformed_query") << c.what;
    EXPECT_EQ(e.kind, ErrorKind::invalid_input) << c.what;
  }
  // No orchestrator address.
  GBytes* pb = bytes_from(good_params);
  GBytes* prb = bytes_from(good_price);
  StructurePtr answer = ask(gst_structure_new(
      kPaymentQuery, "session", G_TYPE_STRING, "s1", "ticket-params", G_TYPE_BYTES, pb, "price",
      G_TYPE_BYTES, prb, "fee", G_TYPE_STRING, "1", nullptr));
  g_bytes_unref(pb);
  g_bytes_unref(prb);
  EXPECT_EQ(refusal(answer.get()).code, "malformed_query");
  EXPECT_EQ(tickets_sent(), 0u);
}

TEST_F(TicketPayQuery, Queries_GivenAStoppedElement_AreNotAnswered) {
  element.reset(gst_element_factory_make("lpticketpay", nullptr));
  g_object_ref_sink(element.get());
  GstPad* src = gst_element_get_static_pad(element.get(), "src");
  GBytes* m = bytes_from("x");
  GstQuery* q = gst_query_new_custom(
      GST_QUERY_CUSTOM, gst_structure_new(kSignQuery, "message", G_TYPE_BYTES, m, nullptr));
  g_bytes_unref(m);
  EXPECT_FALSE(gst_pad_query(src, q));
  EXPECT_FALSE(gst_structure_has_field(gst_query_get_structure(q), "signature"));
  gst_query_unref(q);
  gst_object_unref(src);
}

}  // namespace
}  // namespace lp::gw
