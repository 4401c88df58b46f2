// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-lpticketpay
 * @title: lpticketpay
 *
 * The gateway's wallet in the pipeline. Segments pass through untouched; downstream elements
 * (lpremote-transcode) ask it, with custom upstream queries, to sign their requests and to pay
 * an orchestrator for a segment: it answers with a signed batch of Livepeer probabilistic
 * micropayment tickets that covers the fee asked, keeps the PM sender state (nonces per
 * ticket params) and the credit per orchestrator session, and refuses what exceeds the limits
 * (#LpTicketPay:max-price-per-unit, #LpTicketPay:max-ticket-ev, #LpTicketPay:max-total-ev).
 * Each payment is posted as an element message named "lp-payment" (orchestrator, session,
 * tickets, ev, fee in wei).
 *
 * The key is a raw hex private key file or an Ethereum keystore v3 file (with
 * #LpTicketPay:password); the deposit and reserve are read from the settlement named by
 * #LpTicketPay:ledger (a local ledger file funded with `lpnode ledger fund`), which every element
 * and command of the process naming the same ledger shares (docs/payment.md).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -e srtsrc uri="srt://:9000?mode=listener" ! tsdemux ! h264parse ! lpsegmenter \
 *   ! lpticketpay key-file=gateway.key ledger=ledger.db max-price-per-unit=1000 \
 *   ! lpremote-transcode orchestrators=127.0.0.1:8935 ! lpverify ! lphlssink location=hls
 * ]|
 */
#include "elements/gstlpticketpay.h"

#include <memory>
#include <mutex>
#include <string>

#include "elements/gateway/contracts.h"
#include "elements/gateway/wallet.h"
#include "elements/net/wire.h"
#include "payment/eth/keystore.h"
#include "payment/ledger/settlement.h"

GST_DEBUG_CATEGORY_STATIC(lp_ticket_pay_debug);
#define GST_CAT_DEFAULT lp_ticket_pay_debug

enum {
  PROP_0,
  PROP_KEY_FILE,
  PROP_PASSWORD,
  PROP_LEDGER,
  PROP_MAX_PRICE_PER_UNIT,
  PROP_PIXELS_PER_UNIT,
  PROP_MAX_TICKET_EV,
  PROP_MAX_TOTAL_EV,
  PROP_ADDRESS,
  PROP_TICKETS_SENT,
  PROP_EV_SENT,
  PROP_BALANCE,
  PROP_STATS,
};

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

namespace {

struct Settings {
  std::string key_file;
  std::string password;
  std::string ledger;
  guint64 max_price_per_unit = 0;
  guint64 pixels_per_unit = 1;
  std::string max_ticket_ev = "3000000000000";
  std::string max_total_ev = "20000000000000";
};

}  // namespace

struct LpTicketPayPriv {
  std::mutex lock;
  Settings settings;                       // guarded by lock
  std::unique_ptr<lp::gw::Wallet> wallet;  // guarded by lock (the pointer); kept after stop, so
                                           // that its totals stay readable; holds the settlement
};

struct _LpTicketPay {
  GstBaseTransform parent;
  LpTicketPayPriv* priv;
};

G_DEFINE_TYPE(LpTicketPay, lp_ticket_pay, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE(lpticketpay, "lpticketpay", GST_RANK_NONE, LP_TYPE_TICKET_PAY);

static void lp_ticket_pay_finalize(GObject* object) {
  delete LP_TICKET_PAY(object)->priv;
  G_OBJECT_CLASS(lp_ticket_pay_parent_class)->finalize(object);
}

static void lp_ticket_pay_set_property(GObject* object, guint id, const GValue* value,
                                       GParamSpec* pspec) {
  auto* self = LP_TICKET_PAY(object);
  std::lock_guard lock(self->priv->lock);
  Settings& s = self->priv->settings;
  auto str = [&] {
    return std::string(g_value_get_string(value) ? g_value_get_string(value) : "");
  };
  switch (id) {
    case PROP_KEY_FILE:
      s.key_file = str();
      break;
    case PROP_PASSWORD:
      s.password = str();
      break;
    case PROP_LEDGER:
      s.ledger = str();
      break;
    case PROP_MAX_PRICE_PER_UNIT:
      s.max_price_per_unit = g_value_get_uint64(value);
      break;
    case PROP_PIXELS_PER_UNIT:
      s.pixels_per_unit = std::max<guint64>(1, g_value_get_uint64(value));
      break;
    case PROP_MAX_TICKET_EV:
      s.max_ticket_ev = str();
      break;
    case PROP_MAX_TOTAL_EV:
      s.max_total_ev = str();
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

/// The stats property: the totals, and per orchestrator tickets, EV sent, fees debited and credit.
static GstStructure* make_stats(const lp::gw::Wallet* w) {
  const lp::gw::WalletTotals t = w ? w->totals() : lp::gw::WalletTotals{};
  GstStructure* st = gst_structure_new(
      "lpticketpay-stats", "payments", G_TYPE_UINT64, static_cast<guint64>(t.payments),
      "tickets-sent", G_TYPE_UINT64, static_cast<guint64>(t.tickets_sent), "ev-sent", G_TYPE_STRING,
      lp::to_string(t.ev_sent).c_str(), "debited", G_TYPE_STRING, lp::to_string(t.debited).c_str(),
      "balance", G_TYPE_STRING, lp::to_string(w ? w->total_balance() : lp::Rational(0)).c_str(),
      nullptr);
  const auto balances = w ? w->balance_by_orchestrator() : std::map<lp::Address, lp::Rational>{};
  GValue list = G_VALUE_INIT;
  gst_value_array_init(&list, 0);
  for (const auto& [addr, o] : t.by_orchestrator) {
    auto b = balances.find(addr);
    GValue v = G_VALUE_INIT;
    g_value_init(&v, GST_TYPE_STRUCTURE);
    GstStructure* os = gst_structure_new(
        "orchestrator", "address", G_TYPE_STRING, lp::to_checksum(addr).c_str(), "payments",
        G_TYPE_UINT64, static_cast<guint64>(o.payments), "tickets-sent", G_TYPE_UINT64,
        static_cast<guint64>(o.tickets_sent), "ev-sent", G_TYPE_STRING,
        lp::to_string(o.ev_sent).c_str(), "debited", G_TYPE_STRING,
        lp::to_string(o.debited).c_str(), "balance", G_TYPE_STRING,
        lp::to_string(b == balances.end() ? lp::Rational(0) : b->second).c_str(), nullptr);
    gst_value_set_structure(&v, os);
    gst_structure_free(os);
    gst_value_array_append_and_take_value(&list, &v);
  }
  gst_structure_take_value(st, "orchestrators", &list);
  return st;
}

static void lp_ticket_pay_get_property(GObject* object, guint id, GValue* value,
                                       GParamSpec* pspec) {
  auto* self = LP_TICKET_PAY(object);
  std::lock_guard lock(self->priv->lock);
  const Settings& s = self->priv->settings;
  const lp::gw::Wallet* w = self->priv->wallet.get();
  switch (id) {
    case PROP_KEY_FILE:
      g_value_set_string(value, s.key_file.c_str());
      break;
    case PROP_PASSWORD:
      g_value_set_string(value, s.password.empty() ? nullptr : "********");
      break;
    case PROP_LEDGER:
      g_value_set_string(value, s.ledger.c_str());
      break;
    case PROP_MAX_PRICE_PER_UNIT:
      g_value_set_uint64(value, s.max_price_per_unit);
      break;
    case PROP_PIXELS_PER_UNIT:
      g_value_set_uint64(value, s.pixels_per_unit);
      break;
    case PROP_MAX_TICKET_EV:
      g_value_set_string(value, s.max_ticket_ev.c_str());
      break;
    case PROP_MAX_TOTAL_EV:
      g_value_set_string(value, s.max_total_ev.c_str());
      break;
    case PROP_ADDRESS:
      g_value_set_string(value, w ? lp::to_checksum(w->address()).c_str() : nullptr);
      break;
    case PROP_TICKETS_SENT:
      g_value_set_uint64(value, w ? w->totals().tickets_sent : 0);
      break;
    case PROP_EV_SENT:
      g_value_set_string(value, w ? lp::to_string(w->totals().ev_sent).c_str() : "0");
      break;
    case PROP_BALANCE:
      g_value_set_string(value, w ? lp::to_string(w->total_balance()).c_str() : "0");
      break;
    case PROP_STATS:
      g_value_take_boxed(value, make_stats(w));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

/// Opens the key and the settlement and makes the wallet (may throw: allocation, big numbers).
static gboolean start_wallet(LpTicketPay* self) {
  Settings s;
  {
    std::lock_guard lock(self->priv->lock);
    s = self->priv->settings;
  }
  if (s.key_file.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("lpticketpay needs key-file (the gateway's key)"),
                      (nullptr));
    return FALSE;
  }
  if (s.ledger.empty()) {
    GST_ELEMENT_ERROR(
        self, RESOURCE, NOT_FOUND,
        ("lpticketpay needs ledger (the settlement with the gateway's deposit: a local ledger "
         "file)"),
        (nullptr));
    return FALSE;
  }
  auto key = lp::load_key_file(
      s.key_file, s.password.empty() ? std::nullopt : std::optional<std::string>(s.password));
  if (!key) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ,
                      ("%s: %s", s.key_file.c_str(), key.error().message.c_str()), (nullptr));
    return FALSE;
  }
  auto settlement = lp::ledger::open_settlement(s.ledger);
  if (!settlement) {
    const lp::Error& e = settlement.error();
    GST_ELEMENT_ERROR_WITH_DETAILS(self, RESOURCE, OPEN_READ,
                                   ("ledger %s: %s", s.ledger.c_str(), e.message.c_str()),
                                   (nullptr),
                                   ("error-code", G_TYPE_STRING, e.code.c_str(), "error-kind",
                                    G_TYPE_STRING, lp::error_kind_name(e.kind), nullptr));
    return FALSE;
  }
  auto ticket_ev = lp::parse_u256(s.max_ticket_ev);
  auto total_ev = lp::parse_u256(s.max_total_ev);
  if (!ticket_ev || !total_ev) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS,
                      ("max-ticket-ev and max-total-ev are wei amounts (decimal)"), (nullptr));
    return FALSE;
  }
  lp::gw::WalletConfig config;
  config.sender.max_ticket_ev = *ticket_ev;
  config.sender.max_total_ev = *total_ev;
  config.max_price_per_pixel = lp::Rational(s.max_price_per_unit) / lp::Rational(s.pixels_per_unit);
  std::lock_guard lock(self->priv->lock);
  GST_INFO_OBJECT(self, "gateway %s, %s", lp::to_checksum(key->address()).c_str(),
                  (*settlement)->describe().c_str());
  self->priv->wallet = std::make_unique<lp::gw::Wallet>(*key, std::move(*settlement), config);
  return TRUE;
}

static gboolean lp_ticket_pay_start(GstBaseTransform* trans) noexcept {
  auto* self = LP_TICKET_PAY(trans);
  try {
    return start_wallet(self);
  } catch (const std::exception& e) {  // never through GStreamer's C frames
    GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("lpticketpay cannot start: %s", e.what()), (nullptr));
    return FALSE;
  }
}

static lp::gw::Wallet* wallet_of(LpTicketPay* self) {
  std::lock_guard lock(self->priv->lock);
  return self->priv->wallet.get();
}

/// The refusal travels typed (contracts.h), so that lpremote-transcode decides on its code.
static void answer_error(GstStructure* s, const lp::Error& error) { lp::gw::set_error(s, error); }

static void handle_payment(LpTicketPay* self, lp::gw::Wallet& w, GstStructure* s) {
  const char* orchestrator_text = gst_structure_get_string(s, "orchestrator");
  auto orchestrator = lp::parse_address(orchestrator_text ? orchestrator_text : "");
  const char* session = gst_structure_get_string(s, "session");
  GBytes* params_bytes = nullptr;
  GBytes* price_bytes = nullptr;
  gst_structure_get(s, "ticket-params", G_TYPE_BYTES, &params_bytes, "price", G_TYPE_BYTES,
                    &price_bytes, nullptr);
  ::net::TicketParams params_msg;
  ::net::PriceInfo price_msg;
  const bool parsed = params_bytes && price_bytes &&
                      params_msg.ParseFromString(lp::gw::to_string_bytes(params_bytes)) &&
                      price_msg.ParseFromString(lp::gw::to_string_bytes(price_bytes));
  if (params_bytes) g_bytes_unref(params_bytes);
  if (price_bytes) g_bytes_unref(price_bytes);
  auto fee = lp::gw::parse_rational(gst_structure_get_string(s, "fee"));
  if (!orchestrator || !session || !parsed || !fee)
    return answer_error(s, lp::make_error(lp::ErrorKind::invalid_input, "malformed_query",
                                          "malformed lp-payment query"));
  auto params = lp::net::from_proto(params_msg);
  if (!params) return answer_error(s, params.error());
  auto grant = w.pay(*orchestrator, session, *params, lp::net::from_proto(price_msg), *fee);
  if (!grant) {
    GST_WARNING_OBJECT(self, "no payment for %s: %s", lp::to_checksum(*orchestrator).c_str(),
                       grant.error().message.c_str());
    return answer_error(s, grant.error());
  }
  const std::string header = lp::net::encode_header(lp::net::to_proto(grant->batch));
  GBytes* payment = lp::gw::bytes_from(header);
  gst_structure_set(s, "payment", G_TYPE_BYTES, payment, "grant", G_TYPE_UINT64, grant->id,
                    "tickets", G_TYPE_UINT, static_cast<guint>(grant->batch.tickets.size()),
                    nullptr);
  g_bytes_unref(payment);
  GST_DEBUG_OBJECT(self, "paid %s session %s: %zu tickets, EV %s wei, fee %s wei",
                   lp::to_checksum(*orchestrator).c_str(), session, grant->batch.tickets.size(),
                   lp::to_string(grant->new_credit).c_str(), lp::to_string(*fee).c_str());
  gst_element_post_message(
      GST_ELEMENT(self),
      gst_message_new_element(
          GST_OBJECT(self),
          gst_structure_new("lp-payment", "orchestrator", G_TYPE_STRING,
                            lp::to_checksum(*orchestrator).c_str(), "session", G_TYPE_STRING,
                            session, "tickets", G_TYPE_UINT,
                            static_cast<guint>(grant->batch.tickets.size()), "ev", G_TYPE_STRING,
                            lp::to_string(grant->new_credit).c_str(), "fee", G_TYPE_STRING,
                            lp::to_string(*fee).c_str(), nullptr)));
}

static gboolean lp_ticket_pay_query(GstBaseTransform* trans, GstPadDirection direction,
                                    GstQuery* query) noexcept {
  auto* self = LP_TICKET_PAY(trans);
  if (direction == GST_PAD_SRC && (lp::gw::is_custom_query(query, lp::gw::kSignQuery) ||
                                   lp::gw::is_custom_query(query, lp::gw::kPaymentQuery) ||
                                   lp::gw::is_custom_query(query, lp::gw::kSettleQuery))) {
    lp::gw::Wallet* w = wallet_of(self);
    if (!w) return FALSE;
    GstStructure* s = gst_query_writable_structure(query);
    if (gst_structure_has_name(s, lp::gw::kSignQuery)) {
      GBytes* message = nullptr;
      if (!gst_structure_get(s, "message", G_TYPE_BYTES, &message, nullptr)) return FALSE;
      const std::string m = lp::gw::to_string_bytes(message);
      g_bytes_unref(message);
      const lp::Signature sig = w->sign(lp::as_bytes(m));
      GBytes* out = g_bytes_new(sig.data(), sig.size());
      gst_structure_set(s, "signature", G_TYPE_BYTES, out, "address", G_TYPE_STRING,
                        lp::to_checksum(w->address()).c_str(), nullptr);
      g_bytes_unref(out);
    } else if (gst_structure_has_name(s, lp::gw::kPaymentQuery)) {
      handle_payment(self, *w, s);
    } else {
      guint64 grant = 0;
      gint outcome = 0;
      auto debit = lp::gw::parse_rational(gst_structure_get_string(s, "debit"));
      if (!gst_structure_get(s, "grant", G_TYPE_UINT64, &grant, "outcome", G_TYPE_INT, &outcome,
                             nullptr) ||
          outcome < 0 || outcome > 2)
        return FALSE;
      w->settle(grant, static_cast<lp::gw::SettleOutcome>(outcome), debit.value_or(0));
    }
    return TRUE;
  }
  return GST_BASE_TRANSFORM_CLASS(lp_ticket_pay_parent_class)->query(trans, direction, query);
}

static void lp_ticket_pay_class_init(LpTicketPayClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  gobject_class->finalize = lp_ticket_pay_finalize;
  gobject_class->set_property = lp_ticket_pay_set_property;
  gobject_class->get_property = lp_ticket_pay_get_property;
  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                           GST_PARAM_MUTABLE_READY);
  const auto ro = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property(
      gobject_class, PROP_KEY_FILE,
      g_param_spec_string(
          "key-file", "Key file",
          "The gateway's key: a raw hex private key file (mode 0600) or a keystore v3 JSON file",
          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_PASSWORD,
      g_param_spec_string("password", "Password", "Passphrase of a keystore key file", nullptr,
                          rw));
  g_object_class_install_property(
      gobject_class, PROP_LEDGER,
      g_param_spec_string(
          "ledger", "Ledger",
          "The settlement holding the gateway's deposit and reserve: a local ledger file (a path, "
          "file:PATH or sqlite:PATH), shared with the process's other elements on it",
          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_MAX_PRICE_PER_UNIT,
      g_param_spec_uint64(
          "max-price-per-unit", "Max price per unit",
          "Refuse orchestrators asking more wei than this per pixels-per-unit pixels (0: any), "
          "as go-livepeer's -maxPricePerUnit",
          0, G_MAXUINT64, 0, rw));
  g_object_class_install_property(
      gobject_class, PROP_PIXELS_PER_UNIT,
      g_param_spec_uint64("pixels-per-unit", "Pixels per unit",
                          "The unit of max-price-per-unit, in pixels", 1, G_MAXUINT64, 1, rw));
  g_object_class_install_property(
      gobject_class, PROP_MAX_TICKET_EV,
      g_param_spec_string("max-ticket-ev", "Max ticket EV",
                          "Largest expected value of one ticket, wei (-maxTicketEV)",
                          "3000000000000", rw));
  g_object_class_install_property(
      gobject_class, PROP_MAX_TOTAL_EV,
      g_param_spec_string("max-total-ev", "Max total EV",
                          "Largest expected value of one segment's batch, wei (-maxTotalEV)",
                          "20000000000000", rw));
  g_object_class_install_property(
      gobject_class, PROP_ADDRESS,
      g_param_spec_string("address", "Address", "The gateway's address (EIP-55), once started",
                          nullptr, ro));
  g_object_class_install_property(
      gobject_class, PROP_TICKETS_SENT,
      g_param_spec_uint64("tickets-sent", "Tickets sent", "Tickets sent to orchestrators", 0,
                          G_MAXUINT64, 0, ro));
  g_object_class_install_property(
      gobject_class, PROP_EV_SENT,
      g_param_spec_string("ev-sent", "EV sent",
                          "Expected value of the tickets sent, wei (\"n\" or \"n/d\")", "0", ro));
  g_object_class_install_property(
      gobject_class, PROP_BALANCE,
      g_param_spec_string("balance", "Balance",
                          "Credit left with orchestrators over all sessions, wei", "0", ro));
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed(
          "stats", "Statistics",
          "Payments, tickets, EV sent, fees debited and credit left, in total and per orchestrator",
          GST_TYPE_STRUCTURE, ro));

  gst_element_class_set_static_metadata(
      element_class, "Livepeer ticket payer", "Filter/Network",
      "Pays orchestrators with Livepeer probabilistic micropayment tickets "
      "when downstream asks",
      "livepeer-gst");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  trans_class->start = lp_ticket_pay_start;
  trans_class->query = lp_ticket_pay_query;
  trans_class->passthrough_on_same_caps = TRUE;
  GST_DEBUG_CATEGORY_INIT(lp_ticket_pay_debug, "lpticketpay", 0, "Livepeer ticket payer");
}

static void lp_ticket_pay_init(LpTicketPay* self) {
  self->priv = new LpTicketPayPriv();
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
}
