// SPDX-License-Identifier: LGPL-2.1-or-later
#include "payment/ledger/local_ledger.h"

#include <openssl/rand.h>

#include "payment/eth/keccak.h"

namespace lp::ledger {

namespace {

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rounds(round INTEGER PRIMARY KEY, block_hash BLOB NOT NULL,
  start_block INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS senders(address BLOB PRIMARY KEY, deposit TEXT NOT NULL,
  reserve TEXT NOT NULL, withdraw_round INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS reserve_claims(sender BLOB NOT NULL, round INTEGER NOT NULL,
  claimant BLOB NOT NULL, amount TEXT NOT NULL, PRIMARY KEY(sender, round, claimant));
CREATE TABLE IF NOT EXISTS orchestrators(address BLOB PRIMARY KEY, service_uri TEXT NOT NULL,
  active INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS used_tickets(ticket_hash BLOB PRIMARY KEY, sender BLOB NOT NULL,
  recipient BLOB NOT NULL, face_value TEXT NOT NULL, paid TEXT NOT NULL, block INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS accounts(address BLOB PRIMARY KEY, balance TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY AUTOINCREMENT, block INTEGER NOT NULL,
  name TEXT NOT NULL, data TEXT NOT NULL);
)sql";

U256 dec(const std::string& s) { return parse_u256(s).value(); }

// A contract revert: trying the same call again cannot succeed.
Error revert(const std::string& reason) { return make_error(ErrorKind::fatal, "reverted", reason); }

}  // namespace

LocalLedger::LocalLedger(std::unique_ptr<sql::Db> db, std::string path)
    : path_(std::move(path)), db_(std::move(db)) {}

Result<std::unique_ptr<LocalLedger>> LocalLedger::open(const std::string& path,
                                                       const LocalLedgerConfig& config) {
  if (config.round_length <= 0 || config.unlock_period < 0 || config.ticket_validity_period <= 0)
    return make_error(ErrorKind::invalid_input, "bad_config",
                      "round length and validity period must be positive");
  try {
    std::unique_ptr<LocalLedger> l(new LocalLedger(sql::Db::open(path), path));
    l->migrate(config);
    return l;
  } catch (const sql::SqliteError& e) {
    return make_error(ErrorKind::fatal, "storage", std::string("local ledger: ") + e.what());
  }
}

void LocalLedger::migrate(const LocalLedgerConfig& config) {
  sql::Transaction tx(*db_);
  db_->exec(kSchema);
  auto st = db_->prepare("SELECT value FROM meta WHERE key='schema'");
  if (!st.step()) {
    set_meta("schema", "1");
    Hash salt{};
    RAND_bytes(salt.data(), static_cast<int>(salt.size()));
    set_meta("salt", to_hex(salt));
    set_meta("round_length", std::to_string(config.round_length));
    set_meta("unlock_period", std::to_string(config.unlock_period));
    set_meta("ticket_validity_period", std::to_string(config.ticket_validity_period));
    set_meta("gas_price", to_dec(config.gas_price));
    // Genesis at the start of round 1, so that no ticket has the empty auxData of round 0.
    set_meta("block", std::to_string(config.round_length));
    initialize_round(1, config.round_length);
  }
  tx.commit();
}

std::int64_t LocalLedger::meta_int(const char* key) {
  auto st = db_->prepare("SELECT value FROM meta WHERE key=?");
  st.bind(1, std::string(key));
  if (!st.step()) throw sql::SqliteError(SQLITE_CORRUPT, std::string("meta key missing: ") + key);
  return std::stoll(st.text(0));
}

void LocalLedger::set_meta(const char* key, const std::string& value) {
  db_->prepare(
         "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET "
         "value=excluded.value")
      .bind(1, std::string(key))
      .bind(2, value)
      .run();
}

std::int64_t LocalLedger::current_round() { return meta_int("block") / meta_int("round_length"); }

Hash LocalLedger::round_hash(std::int64_t round) {
  auto st = db_->prepare("SELECT block_hash FROM rounds WHERE round=?");
  st.bind(1, round);
  Hash h{};
  if (st.step()) {
    Bytes b = st.blob(0);
    if (b.size() == h.size()) std::copy(b.begin(), b.end(), h.begin());
  }
  return h;
}

void LocalLedger::initialize_round(std::int64_t round, std::int64_t block) {
  // The block hash of a local block: keccak256(salt || block number), unpredictable before then.
  auto st = db_->prepare("SELECT value FROM meta WHERE key='salt'");
  st.step();
  Bytes seed = from_hex(st.text(0)).value_or(Bytes{});
  Hash h = Keccak256().update(seed).update(to_be32(U256(block))).finish();
  db_->prepare("INSERT OR IGNORE INTO rounds(round, block_hash, start_block) VALUES(?, ?, ?)")
      .bind(1, round)
      .bind(2, ByteSpan(h))
      .bind(3, block)
      .run();
  log_event("NewRound",
            "{\"round\":" + std::to_string(round) + ",\"blockHash\":\"" + to_hex(h) + "\"}");
}

SenderInfo LocalLedger::load_sender(const Address& sender) {
  SenderInfo info;
  auto st = db_->prepare("SELECT deposit, reserve, withdraw_round FROM senders WHERE address=?");
  st.bind(1, ByteSpan(sender));
  if (st.step()) {
    info.deposit = dec(st.text(0));
    info.reserve = dec(st.text(1));
    info.withdraw_round = static_cast<std::uint64_t>(st.i64(2));
  }
  info.reserve_claimed_in_current_round = claimed_for_round(sender, current_round());
  return info;
}

void LocalLedger::store_sender(const Address& sender, const SenderInfo& info) {
  db_->prepare(
         "INSERT INTO senders(address, deposit, reserve, withdraw_round) VALUES(?, ?, ?, ?) "
         "ON CONFLICT(address) DO UPDATE SET deposit=excluded.deposit, reserve=excluded.reserve, "
         "withdraw_round=excluded.withdraw_round")
      .bind(1, ByteSpan(sender))
      .bind(2, to_dec(info.deposit))
      .bind(3, to_dec(info.reserve))
      .bind(4, static_cast<std::int64_t>(info.withdraw_round))
      .run();
}

U256 LocalLedger::claimed_by(const Address& sender, std::int64_t round, const Address& claimant) {
  auto st =
      db_->prepare("SELECT amount FROM reserve_claims WHERE sender=? AND round=? AND claimant=?");
  st.bind(1, ByteSpan(sender)).bind(2, round).bind(3, ByteSpan(claimant));
  return st.step() ? dec(st.text(0)) : U256(0);
}

U256 LocalLedger::claimed_for_round(const Address& sender, std::int64_t round) {
  auto st = db_->prepare("SELECT amount FROM reserve_claims WHERE sender=? AND round=?");
  st.bind(1, ByteSpan(sender)).bind(2, round);
  U256 sum = 0;
  while (st.step()) sum += dec(st.text(0));
  return sum;
}

void LocalLedger::credit_account(const Address& addr, const U256& amount) {
  auto st = db_->prepare("SELECT balance FROM accounts WHERE address=?");
  st.bind(1, ByteSpan(addr));
  U256 bal = st.step() ? dec(st.text(0)) : U256(0);
  db_->prepare(
         "INSERT INTO accounts(address, balance) VALUES(?, ?) ON CONFLICT(address) DO UPDATE SET "
         "balance=excluded.balance")
      .bind(1, ByteSpan(addr))
      .bind(2, to_dec(bal + amount))
      .run();
}

void LocalLedger::log_event(const std::string& name, const std::string& data) {
  db_->prepare(
         "INSERT INTO events(block, name, data) VALUES((SELECT CAST(value AS INTEGER) FROM meta "
         "WHERE key='block'), ?, ?)")
      .bind(1, name)
      .bind(2, data)
      .run();
}

Result<U256> LocalLedger::block_number() {
  std::lock_guard lock(mu_);
  return sql::guarded("block_number", [&]() -> Result<U256> { return U256(meta_int("block")); });
}

Result<RoundInfo> LocalLedger::last_initialized_round() {
  std::lock_guard lock(mu_);
  return sql::guarded("last_initialized_round", [&]() -> Result<RoundInfo> {
    auto st = db_->prepare("SELECT round, block_hash FROM rounds ORDER BY round DESC LIMIT 1");
    RoundInfo r;
    if (st.step()) {
      r.round = static_cast<std::uint64_t>(st.i64(0));
      Bytes b = st.blob(1);
      std::copy(b.begin(), b.end(), r.block_hash.begin());
    }
    return r;
  });
}

Result<Hash> LocalLedger::block_hash_for_round(const U256& round) {
  std::lock_guard lock(mu_);
  if (round > U256(INT64_MAX)) return Hash{};
  return sql::guarded("block_hash_for_round", [&]() -> Result<Hash> {
    return round_hash(round.convert_to<std::int64_t>());
  });
}

Result<SenderInfo> LocalLedger::sender_info(const Address& sender) {
  std::lock_guard lock(mu_);
  return sql::guarded("sender_info", [&]() -> Result<SenderInfo> { return load_sender(sender); });
}

Result<U256> LocalLedger::claimed_reserve(const Address& sender, const Address& claimant) {
  std::lock_guard lock(mu_);
  return sql::guarded("claimed_reserve", [&]() -> Result<U256> {
    return claimed_by(sender, current_round(), claimant);
  });
}

Result<U256> LocalLedger::transcoder_pool_size() {
  std::lock_guard lock(mu_);
  return sql::guarded("transcoder_pool_size", [&]() -> Result<U256> {
    auto st = db_->prepare("SELECT COUNT(*) FROM orchestrators WHERE active=1");
    st.step();
    return U256(st.i64(0));
  });
}

Result<bool> LocalLedger::is_active_transcoder(const Address& addr) {
  std::lock_guard lock(mu_);
  return sql::guarded("is_active_transcoder", [&]() -> Result<bool> {
    auto st = db_->prepare("SELECT active FROM orchestrators WHERE address=?");
    st.bind(1, ByteSpan(addr));
    return st.step() && st.i64(0) == 1;
  });
}

Result<bool> LocalLedger::is_used_ticket(const Hash& ticket_hash) {
  std::lock_guard lock(mu_);
  return sql::guarded("is_used_ticket", [&]() -> Result<bool> {
    auto st = db_->prepare("SELECT 1 FROM used_tickets WHERE ticket_hash=?");
    st.bind(1, ByteSpan(ticket_hash));
    return st.step();
  });
}

Result<U256> LocalLedger::gas_price() {
  std::lock_guard lock(mu_);
  return sql::guarded("gas_price", [&]() -> Result<U256> {
    auto st = db_->prepare("SELECT value FROM meta WHERE key='gas_price'");
    st.step();
    return dec(st.text(0));
  });
}

Result<Redemption> LocalLedger::redeem_winning_ticket(const pm::Ticket& ticket, ByteSpan sig,
                                                      const U256& recipient_rand) {
  std::lock_guard lock(mu_);
  return sql::guarded("redeem_winning_ticket", [&]() -> Result<Redemption> {
    sql::Transaction tx(*db_);
    auto r = redeem_locked(ticket, sig, recipient_rand);
    if (r) tx.commit();
    return r;
  });
}

Result<Redemption> LocalLedger::redeem_locked(const pm::Ticket& t, ByteSpan sig, const U256& rand) {
  const std::int64_t round = current_round();
  if (is_zero(round_hash(round)))
    return make_error(ErrorKind::retryable, "round_not_initialized",
                      "current round is not initialized");
  // requireValidWinningTicket, in the contract's order
  if (is_zero(t.recipient)) return revert("ticket recipient is null address");
  if (is_zero(t.sender)) return revert("ticket sender is null address");
  if (t.expiration.aux_empty())
    return revert("invalid length for ticket auxData: must be 64 bytes");
  if (t.expiration.creation_round > U256(INT64_MAX))
    return revert("ticket creationRound does not have a block hash");
  const std::int64_t creation = t.expiration.creation_round.convert_to<std::int64_t>();
  const Hash block_hash = round_hash(creation);
  if (is_zero(block_hash)) return revert("ticket creationRound does not have a block hash");
  if (block_hash != t.expiration.creation_round_block_hash)
    return revert("ticket creationRoundBlockHash invalid for creationRound");
  if (creation + meta_int("ticket_validity_period") <= round) return revert("ticket is expired");
  if (pm::recipient_rand_hash(rand) != t.recipient_rand_hash)
    return revert("recipientRand does not match recipientRandHash");
  const Hash hash = t.hash();
  {
    auto st = db_->prepare("SELECT 1 FROM used_tickets WHERE ticket_hash=?");
    st.bind(1, ByteSpan(hash));
    if (st.step()) return revert("ticket is used");
  }
  auto signer = pm::recover_ticket_signer(hash, sig);
  if (!signer || *signer != t.sender) return revert("invalid signature over ticket hash");
  if (!pm::is_winning(sig, rand, t.win_prob)) return revert("ticket did not win");
  // redeemWinningTicket's own checks
  SenderInfo sender = load_sender(t.sender);
  if (sender.unlock_in_progress() && U256(round) >= sender.withdraw_round)
    return revert("sender is unlocked");
  if (sender.deposit == 0 && sender.reserve == 0)
    return revert("sender deposit and reserve are zero");
  {
    auto st = db_->prepare("SELECT 1 FROM orchestrators WHERE address=?");
    st.bind(1, ByteSpan(t.recipient));
    if (!st.step()) return revert("transcoder must be registered");
  }

  Redemption out;
  out.ticket_hash = hash;
  if (t.face_value > sender.deposit) {
    out.from_deposit = sender.deposit;
    // claimFromReserve: an active recipient may take its equal share of the reserve this round
    U256 claimable = 0;
    auto active = db_->prepare("SELECT active FROM orchestrators WHERE address=?");
    active.bind(1, ByteSpan(t.recipient));
    auto pool = db_->prepare("SELECT COUNT(*) FROM orchestrators WHERE active=1");
    pool.step();
    const std::int64_t pool_size = pool.i64(0);
    if (active.step() && active.i64(0) == 1 && pool_size > 0) {
      U256 share = (sender.reserve + claimed_for_round(t.sender, round)) / U256(pool_size);
      U256 mine = claimed_by(t.sender, round, t.recipient);
      claimable = share > mine ? share - mine : U256(0);
    }
    const U256 want = t.face_value - sender.deposit;
    out.from_reserve = want < claimable ? want : claimable;
    sender.deposit = 0;
    if (out.from_reserve > 0) {
      sender.reserve -= out.from_reserve;
      db_->prepare(
             "INSERT INTO reserve_claims(sender, round, claimant, amount) VALUES(?, ?, ?, ?) "
             "ON CONFLICT(sender, round, claimant) DO UPDATE SET amount=excluded.amount")
          .bind(1, ByteSpan(t.sender))
          .bind(2, round)
          .bind(3, ByteSpan(t.recipient))
          .bind(4, to_dec(claimed_by(t.sender, round, t.recipient) + out.from_reserve))
          .run();
      log_event("ReserveClaimed", "{\"reserveHolder\":\"" + to_checksum(t.sender) +
                                      "\",\"claimant\":\"" + to_checksum(t.recipient) +
                                      "\",\"amount\":\"" + to_dec(out.from_reserve) + "\"}");
    }
  } else {
    out.from_deposit = t.face_value;
    sender.deposit -= t.face_value;
  }
  store_sender(t.sender, sender);
  db_->prepare(
         "INSERT INTO used_tickets(ticket_hash, sender, recipient, face_value, paid, block) "
         "VALUES(?, ?, ?, ?, ?, ?)")
      .bind(1, ByteSpan(hash))
      .bind(2, ByteSpan(t.sender))
      .bind(3, ByteSpan(t.recipient))
      .bind(4, to_dec(t.face_value))
      .bind(5, to_dec(out.total()))
      .bind(6, meta_int("block"))
      .run();
  if (out.total() > 0) credit_account(t.recipient, out.total());
  log_event("WinningTicketRedeemed", "{\"sender\":\"" + to_checksum(t.sender) +
                                         "\",\"recipient\":\"" + to_checksum(t.recipient) +
                                         "\",\"faceValue\":\"" + to_dec(t.face_value) +
                                         "\",\"paid\":\"" + to_dec(out.total()) +
                                         "\",\"ticketHash\":\"" + to_hex(hash) + "\"}");
  return out;
}

Status LocalLedger::fund(const Address& sender, const U256& deposit, const U256& reserve) {
  std::lock_guard lock(mu_);
  return sql::guarded("fund", [&]() -> Status {
    if (is_zero(sender)) return revert("cannot fund the null address");
    sql::Transaction tx(*db_);
    SenderInfo info = load_sender(sender);
    if (BigInt(info.deposit) + BigInt(deposit) > BigInt(max_win_prob()) ||
        BigInt(info.reserve) + BigInt(reserve) > BigInt(max_win_prob()))
      return revert("funding overflows uint256");
    info.deposit += deposit;
    info.reserve += reserve;
    if (info.unlock_in_progress()) {
      info.withdraw_round = 0;
      log_event("UnlockCancelled", "{\"sender\":\"" + to_checksum(sender) + "\"}");
    }
    store_sender(sender, info);
    if (deposit > 0)
      log_event("DepositFunded", "{\"sender\":\"" + to_checksum(sender) + "\",\"amount\":\"" +
                                     to_dec(deposit) + "\"}");
    if (reserve > 0)
      log_event("ReserveFunded", "{\"reserveHolder\":\"" + to_checksum(sender) +
                                     "\",\"amount\":\"" + to_dec(reserve) + "\"}");
    tx.commit();
    return ok_status();
  });
}

Status LocalLedger::unlock(const Address& sender) {
  std::lock_guard lock(mu_);
  return sql::guarded("unlock", [&]() -> Status {
    sql::Transaction tx(*db_);
    SenderInfo info = load_sender(sender);
    if (info.deposit == 0 && info.reserve == 0)
      return revert("sender deposit and reserve are zero");
    if (info.unlock_in_progress()) return revert("unlock already initiated");
    info.withdraw_round = static_cast<std::uint64_t>(current_round() + meta_int("unlock_period"));
    store_sender(sender, info);
    log_event("Unlock", "{\"sender\":\"" + to_checksum(sender) +
                            "\",\"withdrawRound\":" + to_dec(info.withdraw_round) + "}");
    tx.commit();
    return ok_status();
  });
}

Status LocalLedger::cancel_unlock(const Address& sender) {
  std::lock_guard lock(mu_);
  return sql::guarded("cancel_unlock", [&]() -> Status {
    sql::Transaction tx(*db_);
    SenderInfo info = load_sender(sender);
    if (!info.unlock_in_progress()) return revert("no unlock request in progress");
    info.withdraw_round = 0;
    store_sender(sender, info);
    log_event("UnlockCancelled", "{\"sender\":\"" + to_checksum(sender) + "\"}");
    tx.commit();
    return ok_status();
  });
}

Result<U256> LocalLedger::withdraw(const Address& sender) {
  std::lock_guard lock(mu_);
  return sql::guarded("withdraw", [&]() -> Result<U256> {
    sql::Transaction tx(*db_);
    SenderInfo info = load_sender(sender);
    if (info.deposit == 0 && info.reserve == 0)
      return revert("sender deposit and reserve are zero");
    if (!info.unlock_in_progress() || U256(current_round()) < info.withdraw_round)
      return revert("account is locked");
    const U256 amount = info.deposit + info.reserve;
    store_sender(sender, SenderInfo{});
    credit_account(sender, amount);
    log_event("Withdrawal", "{\"sender\":\"" + to_checksum(sender) + "\",\"deposit\":\"" +
                                to_dec(info.deposit) + "\",\"reserve\":\"" + to_dec(info.reserve) +
                                "\"}");
    tx.commit();
    return amount;
  });
}

Status LocalLedger::register_orchestrator(const Address& addr, const std::string& service_uri,
                                          bool active) {
  std::lock_guard lock(mu_);
  return sql::guarded("register_orchestrator", [&]() -> Status {
    if (is_zero(addr)) return revert("cannot register the null address");
    sql::Transaction tx(*db_);
    db_->prepare(
           "INSERT INTO orchestrators(address, service_uri, active) VALUES(?, ?, ?) "
           "ON CONFLICT(address) DO UPDATE SET service_uri=excluded.service_uri, "
           "active=excluded.active")
        .bind(1, ByteSpan(addr))
        .bind(2, service_uri)
        .bind(3, active ? 1 : 0)
        .run();
    log_event("ServiceURIUpdate",
              "{\"addr\":\"" + to_checksum(addr) + "\",\"serviceURI\":\"" + service_uri + "\"}");
    tx.commit();
    return ok_status();
  });
}

Result<std::vector<OrchestratorEntry>> LocalLedger::orchestrators() {
  std::lock_guard lock(mu_);
  return sql::guarded("orchestrators", [&]() -> Result<std::vector<OrchestratorEntry>> {
    std::vector<OrchestratorEntry> out;
    auto st = db_->prepare("SELECT address, service_uri, active FROM orchestrators ORDER BY rowid");
    while (st.step()) {
      OrchestratorEntry e;
      Bytes a = st.blob(0);
      std::copy(a.begin(), a.end(), e.address.begin());
      e.service_uri = st.text(1);
      e.active = st.i64(2) == 1;
      out.push_back(std::move(e));
    }
    return out;
  });
}

Status LocalLedger::advance_blocks(std::int64_t blocks) {
  std::lock_guard lock(mu_);
  return sql::guarded("advance_blocks", [&]() -> Status {
    if (blocks < 0)
      return make_error(ErrorKind::invalid_input, "bad_blocks",
                        "the block clock only moves forward");
    sql::Transaction tx(*db_);
    add_blocks(blocks);
    tx.commit();
    return ok_status();
  });
}

void LocalLedger::add_blocks(std::int64_t blocks) {
  const std::int64_t before = current_round();
  set_meta("block", std::to_string(meta_int("block") + blocks));
  const std::int64_t round = current_round();
  // Several rounds may pass at once: the latest one is initialized, as a keeper would.
  if (round != before) initialize_round(round, round * meta_int("round_length"));
}

Result<std::int64_t> LocalLedger::tick(std::int64_t now_ms, std::int64_t block_ms, bool resume) {
  std::lock_guard lock(mu_);
  return sql::guarded("tick", [&]() -> Result<std::int64_t> {
    if (block_ms <= 0)
      return make_error(ErrorKind::invalid_input, "bad_block_time",
                        "the block time must be positive");
    sql::Transaction tx(*db_);
    auto st = db_->prepare("SELECT value FROM meta WHERE key='clock_ms'");
    const bool running = st.step();
    const std::int64_t last = running ? std::stoll(st.text(0)) : 0;
    // A resume only restarts the clock when it stood still for a while: a second process
    // joining a running one keeps the shared clock (its last tick is recent).
    if (!running || (resume && now_ms - last > 10 * block_ms)) {
      set_meta("clock_ms", std::to_string(now_ms));
      tx.commit();
      return std::int64_t{0};
    }
    const std::int64_t blocks = now_ms > last ? (now_ms - last) / block_ms : 0;
    if (blocks == 0) return std::int64_t{0};
    add_blocks(blocks);
    set_meta("clock_ms", std::to_string(last + blocks * block_ms));
    tx.commit();
    return blocks;
  });
}

Result<U256> LocalLedger::account_balance(const Address& addr) {
  std::lock_guard lock(mu_);
  return sql::guarded("account_balance", [&]() -> Result<U256> {
    auto st = db_->prepare("SELECT balance FROM accounts WHERE address=?");
    st.bind(1, ByteSpan(addr));
    return st.step() ? dec(st.text(0)) : U256(0);
  });
}

Result<LedgerStatus> LocalLedger::status() {
  std::lock_guard lock(mu_);
  return sql::guarded("status", [&]() -> Result<LedgerStatus> {
    LedgerStatus s;
    s.block = meta_int("block");
    s.round = current_round();
    s.round_block_hash = round_hash(s.round);
    s.config.round_length = meta_int("round_length");
    s.config.unlock_period = meta_int("unlock_period");
    s.config.ticket_validity_period = meta_int("ticket_validity_period");
    auto st = db_->prepare("SELECT value FROM meta WHERE key='gas_price'");
    st.step();
    s.config.gas_price = dec(st.text(0));
    return s;
  });
}

}  // namespace lp::ledger
