// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "payment/common/sqlite.h"
#include "payment/ledger/ledger.h"

namespace lp::ledger {

/// Parameters of a new local ledger; an existing database keeps the ones it was made with.
struct LocalLedgerConfig {
  std::int64_t round_length = 100;          ///< blocks per round
  std::int64_t unlock_period = 2;           ///< rounds between unlock() and withdraw()
  std::int64_t ticket_validity_period = 2;  ///< rounds a ticket stays redeemable
  U256 gas_price = 10'000'000;              ///< wei per gas (0.01 gwei, Arbitrum-like)
};

struct LedgerStatus {
  std::int64_t block = 0;
  std::int64_t round = 0;
  Hash round_block_hash{};
  LocalLedgerConfig config;
};

/// An embedded ledger on SQLite that models TicketBroker, RoundsManager and the orchestrator
/// registry on a local block clock, so that the whole payment loop runs on one machine.
/// Every call is one atomic transaction; committed state survives a crash. Thread-safe.
class LocalLedger final : public Settlement {
 public:
  /// A handle of its own on the file. Inside a node process, open_local_ledger() or
  /// open_settlement() (ledger/settlement.h) share one handle per file instead.
  static Result<std::unique_ptr<LocalLedger>> open(const std::string& path,
                                                   const LocalLedgerConfig& config = {});

  /// The database file as it was given to open().
  const std::string& path() const { return path_; }
  std::string describe() const override { return "local ledger " + path_; }

  // ChainReader
  Result<U256> block_number() override;
  Result<RoundInfo> last_initialized_round() override;
  Result<Hash> block_hash_for_round(const U256& round) override;
  Result<SenderInfo> sender_info(const Address& sender) override;
  Result<U256> claimed_reserve(const Address& sender, const Address& claimant) override;
  Result<U256> transcoder_pool_size() override;
  Result<bool> is_active_transcoder(const Address& addr) override;
  Result<bool> is_used_ticket(const Hash& ticket_hash) override;
  Result<U256> gas_price() override;

  // Ledger
  Result<Redemption> redeem_winning_ticket(const pm::Ticket& ticket, ByteSpan sig,
                                           const U256& recipient_rand) override;

  // OrchestratorRegistry
  Result<std::vector<OrchestratorEntry>> orchestrators() override;

  /// fundDepositAndReserveFor: adds funds; funding cancels an unlock in progress.
  Status fund(const Address& sender, const U256& deposit, const U256& reserve);
  /// unlock(): withdraw becomes possible unlock_period rounds from now.
  Status unlock(const Address& sender);
  Status cancel_unlock(const Address& sender);
  /// withdraw(): pays deposit and remaining reserve to the sender's account; returns the amount.
  Result<U256> withdraw(const Address& sender);

  /// Adds or updates an orchestrator in the registry; active ones share senders' reserves.
  Status register_orchestrator(const Address& addr, const std::string& service_uri,
                               bool active = true);

  /// Moves the block clock forward; a new round is initialized when one starts.
  Status advance_blocks(std::int64_t blocks);
  /// The block clock on wall time: advances one block per `block_ms` elapsed since the clock
  /// was last ticked (the first tick only starts it) and returns the blocks added. The last
  /// tick time is stored in the ledger, so several processes ticking one ledger share one
  /// clock rather than adding their blocks up. `resume`: a process's first tick; the time
  /// since the last tick of any process is not counted (the local chain stands still while no
  /// node runs, so that winners queued at a stop are still redeemable at the next start).
  Result<std::int64_t> tick(std::int64_t now_ms, std::int64_t block_ms, bool resume = false);
  /// Wei paid to an address: redeemed face values and withdrawals.
  Result<U256> account_balance(const Address& addr);
  Result<LedgerStatus> status();

 private:
  LocalLedger(std::unique_ptr<sql::Db> db, std::string path);
  void migrate(const LocalLedgerConfig& config);
  std::int64_t meta_int(const char* key);
  void set_meta(const char* key, const std::string& value);
  std::int64_t current_round();
  Hash round_hash(std::int64_t round);
  SenderInfo load_sender(const Address& sender);
  void store_sender(const Address& sender, const SenderInfo& info);
  U256 claimed_by(const Address& sender, std::int64_t round, const Address& claimant);
  U256 claimed_for_round(const Address& sender, std::int64_t round);
  void credit_account(const Address& addr, const U256& amount);
  void log_event(const std::string& name, const std::string& data);
  void initialize_round(std::int64_t round, std::int64_t block);
  /// Moves the block clock inside a transaction, initializing a new round when one starts.
  void add_blocks(std::int64_t blocks);
  Result<Redemption> redeem_locked(const pm::Ticket& ticket, ByteSpan sig,
                                   const U256& recipient_rand);

  const std::string path_;
  std::mutex mu_;
  std::unique_ptr<sql::Db> db_;  // guarded by mu_
};

}  // namespace lp::ledger
