// SPDX-License-Identifier: LGPL-2.1-or-later
#include "payment/pm/ticket_queue.h"

#include "payment/common/log.h"

namespace lp::pm {

namespace {

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS winning_tickets(
  ticket_hash BLOB PRIMARY KEY,
  recipient BLOB NOT NULL, sender BLOB NOT NULL,
  face_value TEXT NOT NULL, win_prob TEXT NOT NULL, sender_nonce INTEGER NOT NULL,
  recipient_rand_hash BLOB NOT NULL, creation_round TEXT NOT NULL, creation_round_block_hash BLOB NOT NULL,
  sig BLOB NOT NULL, recipient_rand TEXT NOT NULL, params_expiration_block INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_block INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',
  paid TEXT NOT NULL DEFAULT '0');
CREATE INDEX IF NOT EXISTS winning_tickets_state ON winning_tickets(state, params_expiration_block);
)sql";

const char* kColumns =
    "ticket_hash, recipient, sender, face_value, win_prob, sender_nonce, recipient_rand_hash, "
    "creation_round, creation_round_block_hash, sig, recipient_rand, params_expiration_block, "
    "state, attempts, next_attempt_block, last_error, paid";

template <std::size_t N>
void copy_blob(const Bytes& b, std::array<std::uint8_t, N>& out) {
  if (b.size() == N) std::copy(b.begin(), b.end(), out.begin());
}

QueuedTicket read_row(const sql::Stmt& st) {
  QueuedTicket q;
  copy_blob(st.blob(0), q.ticket_hash);
  Ticket& t = q.winner.ticket;
  copy_blob(st.blob(1), t.recipient);
  copy_blob(st.blob(2), t.sender);
  t.face_value = parse_u256(st.text(3)).value();
  t.win_prob = parse_u256(st.text(4)).value();
  t.sender_nonce = static_cast<std::uint32_t>(st.i64(5));
  copy_blob(st.blob(6), t.recipient_rand_hash);
  t.expiration.creation_round = parse_u256(st.text(7)).value();
  copy_blob(st.blob(8), t.expiration.creation_round_block_hash);
  q.winner.sig = st.blob(9);
  q.winner.recipient_rand = parse_u256(st.text(10)).value();
  q.winner.params_expiration_block = static_cast<std::uint64_t>(st.i64(11));
  q.state = st.text(12);
  q.attempts = st.i64(13);
  q.next_attempt_block = st.i64(14);
  q.last_error = st.text(15);
  q.paid = parse_u256(st.text(16)).value();
  return q;
}

}  // namespace

TicketQueue::TicketQueue(std::unique_ptr<sql::Db> db, ledger::Ledger& ledger)
    : db_(std::move(db)), ledger_(ledger) {}

Result<std::unique_ptr<TicketQueue>> TicketQueue::open(const std::string& path,
                                                       ledger::Ledger& ledger) {
  try {
    auto db = sql::Db::open(path);
    db->exec(kSchema);
    return std::unique_ptr<TicketQueue>(new TicketQueue(std::move(db), ledger));
  } catch (const sql::SqliteError& e) {
    return make_error(ErrorKind::fatal, "storage", std::string("ticket queue: ") + e.what());
  }
}

Status TicketQueue::add_winner(const WinningTicket& w) {
  if (w.params_expiration_block > U256(INT64_MAX))
    return make_error(ErrorKind::invalid_input, "bad_expiration",
                      "params expiration block out of range");
  std::lock_guard lock(mu_);
  return sql::guarded("queue winner", [&]() -> Status {
    const Hash hash = w.ticket.hash();
    const Ticket& t = w.ticket;
    db_->prepare(
           "INSERT OR IGNORE INTO winning_tickets(ticket_hash, recipient, sender, face_value, "
           "win_prob, "
           "sender_nonce, recipient_rand_hash, creation_round, creation_round_block_hash, sig, "
           "recipient_rand, params_expiration_block) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(1, ByteSpan(hash))
        .bind(2, ByteSpan(t.recipient))
        .bind(3, ByteSpan(t.sender))
        .bind(4, to_dec(t.face_value))
        .bind(5, to_dec(t.win_prob))
        .bind(6, static_cast<std::int64_t>(t.sender_nonce))
        .bind(7, ByteSpan(t.recipient_rand_hash))
        .bind(8, to_dec(t.expiration.creation_round))
        .bind(9, ByteSpan(t.expiration.creation_round_block_hash))
        .bind(10, ByteSpan(w.sig))
        .bind(11, to_dec(w.recipient_rand))
        .bind(12, w.params_expiration_block.convert_to<std::int64_t>())
        .run();
    return ok_status();
  });
}

Result<U256> TicketQueue::pending_face_value(const Address& sender) {
  std::lock_guard lock(mu_);
  return sql::guarded("pending face value", [&]() -> Result<U256> {
    auto st = db_->prepare(
        "SELECT face_value FROM winning_tickets WHERE sender=? AND state IN "
        "('pending','submitting')");
    st.bind(1, ByteSpan(sender));
    U256 sum = 0;
    while (st.step()) sum += parse_u256(st.text(0)).value();
    return sum;
  });
}

Result<std::vector<QueuedTicket>> TicketQueue::list(const std::optional<std::string>& state) {
  std::lock_guard lock(mu_);
  return sql::guarded("list queue", [&]() -> Result<std::vector<QueuedTicket>> {
    std::string q = std::string("SELECT ") + kColumns + " FROM winning_tickets" +
                    (state ? " WHERE state=?" : "") + " ORDER BY rowid";
    auto st = db_->prepare(q.c_str());
    if (state) st.bind(1, *state);
    std::vector<QueuedTicket> out;
    while (st.step()) out.push_back(read_row(st));
    return out;
  });
}

void TicketQueue::set_state(const Hash& hash, const char* state, std::int64_t attempts,
                            std::int64_t next_block, const std::string& error, const U256& paid) {
  db_->prepare(
         "UPDATE winning_tickets SET state=?, attempts=?, next_attempt_block=?, last_error=?, "
         "paid=? WHERE ticket_hash=?")
      .bind(1, std::string(state))
      .bind(2, attempts)
      .bind(3, next_block)
      .bind(4, error)
      .bind(5, to_dec(paid))
      .bind(6, ByteSpan(hash))
      .run();
}

Result<QueueRun> TicketQueue::process() {
  std::lock_guard pass(process_mu_);
  auto block_r = ledger_.block_number();
  if (!block_r) return block_r.error();
  if (*block_r > U256(INT64_MAX))
    return make_error(ErrorKind::fatal, "bad_block", "block number out of range");
  const std::int64_t block = block_r->convert_to<std::int64_t>();

  std::vector<QueuedTicket> due;
  {
    std::lock_guard lock(mu_);
    auto r = sql::guarded("select due tickets", [&]() -> Status {
      std::string q = std::string("SELECT ") + kColumns +
                      " FROM winning_tickets WHERE state IN ('pending','submitting') AND "
                      "params_expiration_block <= ? AND next_attempt_block <= ? ORDER BY rowid";
      auto st = db_->prepare(q.c_str());
      st.bind(1, block).bind(2, block);
      while (st.step()) due.push_back(read_row(st));
      return ok_status();
    });
    if (!r) return r.error();
  }

  QueueRun run;
  for (QueuedTicket& q : due) {
    const bool resumed = q.state == "submitting";
    {
      std::lock_guard lock(mu_);
      auto r = sql::guarded("mark submitting", [&]() -> Status {
        set_state(q.ticket_hash, "submitting", q.attempts, q.next_attempt_block, q.last_error, 0);
        return ok_status();
      });
      if (!r) return r.error();
    }
    // Never submit a ticket the ledger already has: after a crash between the ledger's commit
    // and ours, the ticket is ours and redeemed.
    auto used = ledger_.is_used_ticket(q.ticket_hash);
    if (!used) return used.error();
    Result<ledger::Redemption> res = ledger::Redemption{};
    if (*used) {
      res = resumed ? Result<ledger::Redemption>(ledger::Redemption{q.ticket_hash, 0, 0})
                    : Result<ledger::Redemption>(
                          make_error(ErrorKind::fatal, "reverted", "ticket is used"));
    } else {
      res = ledger_.redeem_winning_ticket(q.winner.ticket, q.winner.sig, q.winner.recipient_rand);
    }
    if (observer_) observer_(q.ticket_hash, res.ok());

    std::lock_guard lock(mu_);
    auto r = sql::guarded("record redemption", [&]() -> Status {
      if (res) {
        set_state(q.ticket_hash, "redeemed", q.attempts + 1, q.next_attempt_block,
                  *used ? "found redeemed on the ledger after a restart" : "", res->total());
        ++run.redeemed;
        run.value_redeemed += res->total();
        log::info("redeemed winning ticket " + to_hex(q.ticket_hash) + " for " +
                  to_dec(res->total()) + " wei");
      } else if (res.error().kind == ErrorKind::retryable) {
        const std::int64_t attempts = q.attempts + 1;
        const std::int64_t backoff = std::min<std::int64_t>(
            kMaxBackoffBlocks, std::int64_t{1} << std::min<std::int64_t>(attempts, 20));
        set_state(q.ticket_hash, "pending", attempts, block + backoff, res.error().message, 0);
        ++run.retried;
        log::warning("redeeming winning ticket " + to_hex(q.ticket_hash) + " failed (" +
                     res.error().message + "); retrying in " + std::to_string(backoff) + " blocks");
      } else {
        set_state(q.ticket_hash, "dropped", q.attempts + 1, q.next_attempt_block,
                  res.error().message, 0);
        ++run.dropped;
        log::warning("dropping winning ticket " + to_hex(q.ticket_hash) + ": " +
                     res.error().message);
      }
      return ok_status();
    });
    if (!r) return r.error();
  }
  return run;
}

}  // namespace lp::pm
