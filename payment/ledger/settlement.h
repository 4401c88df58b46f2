// SPDX-License-Identifier: LGPL-2.1-or-later
// The settlement seam: a node names its backend with one URI-like setting and every part of
// the process (lpticketpay, lpremote-transcode, the lpnode commands) shares the one handle it
// opens (docs/payment.md, "The settlement seam").
#pragma once

#include <memory>
#include <string>

#include "payment/common/result.h"
#include "payment/ledger/ledger.h"

namespace lp::ledger {

class LocalLedger;

/// A settlement setting read: which backend, and where.
struct SettlementUri {
  enum class Backend {
    local,     ///< the local ledger (SQLite file)
    ethereum,  ///< Ethereum JSON-RPC on Livepeer's contracts
  };
  Backend backend = Backend::local;
  std::string location;  ///< local: the database file as written; ethereum: the endpoint URL
};

/// Reads `file:PATH`, `sqlite:PATH` (also `file:///abs/path`), a plain path (the local ledger)
/// or an `http(s)://` / `ws(s)://` endpoint (Ethereum). Errors: settlement_uri (empty, no path,
/// a file URI naming another host), settlement_scheme (a scheme no backend reads).
Result<SettlementUri> parse_settlement_uri(const std::string& uri);

/// The settlement named by `uri`, shared: while a handle is alive, opening the same backend
/// again (the same file by any spelling of its path) returns the same object. Errors: those
/// of parse_settlement_uri, settlement_unavailable (the Ethereum backend is not built yet),
/// storage (the local ledger's file).
Result<std::shared_ptr<Settlement>> open_settlement(const std::string& uri);

/// The local ledger named by `uri`, from the same shared handles as open_settlement(): for the
/// local ledger's own operations (funding, registration, the block clock). An Ethereum URI is
/// refused with settlement_not_local.
Result<std::shared_ptr<LocalLedger>> open_local_ledger(const std::string& uri);

}  // namespace lp::ledger
