// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <string>
#include <vector>

#include "payment/common/bytes.h"
#include "payment/common/result.h"
#include "payment/common/u256.h"
#include "payment/pm/ticket.h"

namespace lp::ledger {

/// A sender's funds as TicketBroker's getSenderInfo returns them.
struct SenderInfo {
  U256 deposit = 0;
  U256 withdraw_round = 0;  ///< 0 while locked; else the round from which withdraw() works
  U256 reserve = 0;         ///< reserve funds remaining
  U256 reserve_claimed_in_current_round = 0;

  bool unlock_in_progress() const { return withdraw_round != 0; }
};

struct RoundInfo {
  U256 round = 0;
  Hash block_hash{};
};

/// What a winning-ticket redemption paid out.
struct Redemption {
  Hash ticket_hash{};
  U256 from_deposit = 0;
  U256 from_reserve = 0;
  U256 total() const { return from_deposit + from_reserve; }
};

/// The reads a payment node needs from the chain (TicketBroker, RoundsManager, BondingManager).
class ChainReader {
 public:
  virtual ~ChainReader() = default;
  /// The latest block number ("last seen L1 block" in go-livepeer).
  virtual Result<U256> block_number() = 0;
  virtual Result<RoundInfo> last_initialized_round() = 0;
  /// Zero hash when the round was never initialized.
  virtual Result<Hash> block_hash_for_round(const U256& round) = 0;
  virtual Result<SenderInfo> sender_info(const Address& sender) = 0;
  /// What claimant already claimed from sender's reserve in the current round.
  virtual Result<U256> claimed_reserve(const Address& sender, const Address& claimant) = 0;
  virtual Result<U256> transcoder_pool_size() = 0;
  virtual Result<bool> is_active_transcoder(const Address& addr) = 0;
  virtual Result<bool> is_used_ticket(const Hash& ticket_hash) = 0;
  /// Wei per gas for redemption cost estimates.
  virtual Result<U256> gas_price() = 0;
};

/// A ledger that can also settle: the TicketBroker's state-changing calls.
class Ledger : public ChainReader {
 public:
  /// redeemWinningTicket with every check of the contract; an error names the failed check
  /// and is retryable only when trying again later can succeed.
  virtual Result<Redemption> redeem_winning_ticket(const pm::Ticket& ticket, ByteSpan sig,
                                                   const U256& recipient_rand) = 0;
};

/// An orchestrator as discovery sees it: its address, where it serves, whether it may work now.
struct OrchestratorEntry {
  Address address{};
  std::string service_uri;  ///< ServiceRegistry's URI, e.g. "https://host:8935"
  bool active = false;      ///< in the current round's active set (BondingManager)
};

/// The orchestrator registry: who may be paid for work and where to reach them
/// (BondingManager's transcoder pool and ServiceRegistry's URIs).
class OrchestratorRegistry {
 public:
  virtual ~OrchestratorRegistry() = default;
  /// The known orchestrators with their service URIs; discovery uses the active ones.
  virtual Result<std::vector<OrchestratorEntry>> orchestrators() = 0;
};

/// One settlement backend, as a process opens it once and shares it (ledger/settlement.h):
/// the chain reads, redemption and the registry. Implementations are thread-safe.
class Settlement : public Ledger, public OrchestratorRegistry {
 public:
  /// The backend and its location, for logs ("local ledger /var/lib/lp/ledger.db").
  virtual std::string describe() const = 0;
};

}  // namespace lp::ledger
