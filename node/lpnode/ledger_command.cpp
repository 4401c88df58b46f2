// SPDX-License-Identifier: LGPL-2.1-or-later
// `lpnode ledger`: the embedded local ledger and the winning-ticket queue.
#include <iostream>

#include "node/lpnode/cli_util.h"
#include "node/pm/ticket_json.h"
#include "payment/ledger/local_ledger.h"
#include "payment/pm/ticket_queue.h"

namespace lp::node {

namespace {

using json = nlohmann::json;

const char* kLedgerHelp = R"(Usage: lpnode ledger --db FILE <command> [flags]

The embedded local ledger: a SQLite model of Livepeer's TicketBroker and RoundsManager on a
local block clock (deposits, reserves, unlock/withdraw, rounds and block hashes, an
orchestrator registry, used tickets) and the persistent winning-ticket queue.
The database is created on first use.

Commands:
  status                              block, round, its block hash and the ledger's parameters
  fund --address A [--deposit W] [--reserve W]
                                      add to a sender's deposit and reserve (wei); cancels an unlock
  unlock --address A                  start the unlock period of a sender's funds
  cancel-unlock --address A           stop it
  withdraw --address A                pay out an unlocked sender's deposit and reserve
  show --address A                    a sender's funds, account balance and registry entry
  register --address A --service-uri URI [--inactive]
                                      add or update an orchestrator in the registry
  orchestrators                       list the registry
  advance [--blocks N] [--rounds N]   move the block clock forward (new rounds are initialized)
  queue [--state S]                   list queued winning tickets (pending, submitting, redeemed, dropped)
  queue-add                           queue a winning ticket: ticket JSON with sig, recipientRand
                                      and paramsExpirationBlock on stdin
  redeem                              redeem every queued ticket whose params have expired

Flags:
  --db FILE            the ledger database (env LP_DB)
  --queue-db FILE      the winning-ticket queue (default: the ledger database; env LP_QUEUE_DB)
  --round-length N     blocks per round, for a new database (default 100)
  --unlock-period N    rounds from unlock to withdraw, for a new database (default 2)

Examples:
  lpnode ledger --db demo.db fund --address 0x2c7536E3605D9C16a7a3D7b1898e529396a65c23 \
      --deposit 1000000000000000000 --reserve 1000000000000000000
  lpnode ledger --db demo.db register --address 0x73AEd7b5dEb30222fa896f399d46cC99c7BEe57F \
      --service-uri https://127.0.0.1:8935
  lpnode ledger --db demo.db advance --blocks 41 && lpnode ledger --db demo.db redeem
)";

Result<Address> address_flag(const Args& args) {
  auto a = args.get("address");
  if (!a) return make_error(ErrorKind::invalid_input, "usage", "--address is required");
  return parse_address(*a);
}

Result<U256> amount_flag(const Args& args, const char* name) {
  auto v = args.get(name);
  if (!v) return U256(0);
  auto r = parse_u256(*v);
  if (!r)
    return make_error(ErrorKind::invalid_input, "usage",
                      std::string("--") + name + ": " + r.error().message);
  return r;
}

Result<std::int64_t> count_flag(const Args& args, const char* name, std::int64_t fallback) {
  auto v = args.get(name);
  if (!v) return fallback;
  try {
    std::size_t used = 0;
    long long n = std::stoll(*v, &used);
    if (used == v->size() && n >= 0) return static_cast<std::int64_t>(n);
  } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): reported below
  }
  return make_error(ErrorKind::invalid_input, "usage",
                    std::string("--") + name + " must be a non-negative integer");
}

json queued_to_json(const pm::QueuedTicket& q) {
  json j = ticket_to_json(q.winner.ticket);
  j["ticketHash"] = to_hex(q.ticket_hash);
  j["sig"] = to_hex(q.winner.sig);
  j["recipientRand"] = to_hex(to_be32(q.winner.recipient_rand));
  j["paramsExpirationBlock"] = to_dec(q.winner.params_expiration_block);
  j["state"] = q.state;
  j["attempts"] = q.attempts;
  j["nextAttemptBlock"] = q.next_attempt_block;
  if (!q.last_error.empty()) j["lastError"] = q.last_error;
  if (q.state == "redeemed") j["paid"] = to_dec(q.paid);
  return j;
}

int run(const std::string& cmd, const Args& args, ledger::LocalLedger& ledger,
        const std::string& queue_path) {
  const std::string name = "ledger " + cmd;
  auto need_addr = [&](auto&& fn) -> int {
    auto a = address_flag(args);
    if (!a) return fail(name, a.error().message, kExitUsage);
    return fn(*a);
  };
  auto done = [&](const Status& st) { return st ? kExitOk : fail(name, st.error()); };

  if (cmd == "status") {
    auto s = ledger.status();
    if (!s) return fail(name, s.error());
    auto orchs = ledger.orchestrators();
    if (!orchs) return fail(name, orchs.error());
    print_json({{"block", s->block},
                {"round", s->round},
                {"roundBlockHash", to_hex(s->round_block_hash)},
                {"roundLength", s->config.round_length},
                {"unlockPeriod", s->config.unlock_period},
                {"ticketValidityPeriod", s->config.ticket_validity_period},
                {"gasPrice", to_dec(s->config.gas_price)},
                {"orchestrators", orchs->size()}});
    return kExitOk;
  }
  if (cmd == "fund")
    return need_addr([&](const Address& a) {
      auto d = amount_flag(args, "deposit");
      auto r = amount_flag(args, "reserve");
      if (!d) return fail(name, d.error());
      if (!r) return fail(name, r.error());
      return done(ledger.fund(a, *d, *r));
    });
  if (cmd == "unlock") return need_addr([&](const Address& a) { return done(ledger.unlock(a)); });
  if (cmd == "cancel-unlock")
    return need_addr([&](const Address& a) { return done(ledger.cancel_unlock(a)); });
  if (cmd == "withdraw")
    return need_addr([&](const Address& a) {
      auto r = ledger.withdraw(a);
      if (!r) return fail(name, r.error());
      print_json({{"address", to_checksum(a)}, {"withdrawn", to_dec(*r)}});
      return kExitOk;
    });
  if (cmd == "show")
    return need_addr([&](const Address& a) {
      auto info = ledger.sender_info(a);
      auto bal = ledger.account_balance(a);
      auto orchs = ledger.orchestrators();
      if (!info) return fail(name, info.error());
      if (!bal) return fail(name, bal.error());
      if (!orchs) return fail(name, orchs.error());
      json j{{"address", to_checksum(a)},
             {"deposit", to_dec(info->deposit)},
             {"reserve", to_dec(info->reserve)},
             {"withdrawRound", to_dec(info->withdraw_round)},
             {"unlockInProgress", info->unlock_in_progress()},
             {"reserveClaimedInCurrentRound", to_dec(info->reserve_claimed_in_current_round)},
             {"balance", to_dec(*bal)},
             {"orchestrator", nullptr}};
      for (const auto& o : *orchs)
        if (o.address == a)
          j["orchestrator"] = {{"serviceUri", o.service_uri}, {"active", o.active}};
      print_json(j);
      return kExitOk;
    });
  if (cmd == "register")
    return need_addr([&](const Address& a) {
      auto uri = args.get("service-uri");
      if (!uri || uri->empty()) return fail(name, "--service-uri is required", kExitUsage);
      return done(ledger.register_orchestrator(a, *uri, !args.flag("inactive")));
    });
  if (cmd == "orchestrators") {
    auto orchs = ledger.orchestrators();
    if (!orchs) return fail(name, orchs.error());
    json list = json::array();
    for (const auto& o : *orchs)
      list.push_back({{"address", to_checksum(o.address)},
                      {"serviceUri", o.service_uri},
                      {"active", o.active}});
    print_json(list);
    return kExitOk;
  }
  if (cmd == "advance") {
    auto blocks = count_flag(args, "blocks", 0);
    auto rounds = count_flag(args, "rounds", 0);
    if (!blocks) return fail(name, blocks.error());
    if (!rounds) return fail(name, rounds.error());
    auto s = ledger.status();
    if (!s) return fail(name, s.error());
    std::int64_t n = *blocks;
    if (*rounds > 0)
      n += (s->round + *rounds) * s->config.round_length - s->block;  // to the start of that round
    if (auto st = ledger.advance_blocks(n); !st) return fail(name, st.error());
    s = ledger.status();
    if (!s) return fail(name, s.error());
    print_json({{"block", s->block},
                {"round", s->round},
                {"roundBlockHash", to_hex(s->round_block_hash)}});
    return kExitOk;
  }

  auto queue = pm::TicketQueue::open(queue_path, ledger);
  if (!queue) return fail(name, queue.error());
  if (cmd == "queue") {
    auto list = (*queue)->list(args.get("state"));
    if (!list) return fail(name, list.error());
    json out = json::array();
    for (const auto& q : *list) out.push_back(queued_to_json(q));
    print_json(out);
    return kExitOk;
  }
  if (cmd == "queue-add") {
    std::string why;
    auto doc = read_stdin_json(&why);
    if (!doc) return fail(name, why, kExitUsage);
    auto parsed = parse_ticket_json(*doc, true, true);
    if (!parsed) return fail(name, parsed.error().message, kExitUsage);
    if (!parsed->recipient_rand) return fail(name, "field 'recipientRand': missing", kExitUsage);
    if (!parsed->params_expiration_block)
      return fail(name, "field 'paramsExpirationBlock': missing", kExitUsage);
    pm::WinningTicket w{parsed->ticket, *parsed->sig, *parsed->recipient_rand,
                        *parsed->params_expiration_block};
    if (!pm::is_winning(w.sig, w.recipient_rand, w.ticket.win_prob))
      return fail(name, "the ticket did not win; only winning tickets are queued", kExitFailed);
    if (auto st = (*queue)->add_winner(w); !st) return fail(name, st.error());
    print_json({{"queued", to_hex(w.ticket.hash())}});
    return kExitOk;
  }
  if (cmd == "redeem") {
    auto r = (*queue)->process();
    if (!r) return fail(name, r.error());
    auto block = ledger.block_number();
    print_json({{"redeemed", r->redeemed},
                {"retried", r->retried},
                {"dropped", r->dropped},
                {"valueRedeemed", to_dec(r->value_redeemed)},
                {"block", block ? json(block->convert_to<std::int64_t>()) : json(nullptr)}});
    return kExitOk;
  }
  return fail("ledger", "unknown command '" + cmd + "' (see lpnode ledger --help)", kExitUsage);
}

}  // namespace

int ledger_main(const std::vector<std::string>& argv) {
  Args args(argv,
            {"db", "queue-db", "address", "deposit", "reserve", "service-uri", "blocks", "rounds",
             "state", "round-length", "unlock-period"},
            {"help", "inactive"});
  if (!args.error().empty())
    return fail("ledger", args.error() + " (see lpnode ledger --help)", kExitUsage);
  const auto& pos = args.positional();
  if (args.flag("help") || pos.empty() || pos[0] == "help") {
    std::cout << kLedgerHelp;
    return pos.empty() && !args.flag("help") ? kExitUsage : kExitOk;
  }
  if (pos.size() > 1) return fail("ledger", "unexpected argument '" + pos[1] + "'", kExitUsage);
  auto db = args.get("db");
  if (!db) return fail("ledger", "--db is required (see lpnode ledger --help)", kExitUsage);
  ledger::LocalLedgerConfig config;
  auto rl = count_flag(args, "round-length", config.round_length);
  auto up = count_flag(args, "unlock-period", config.unlock_period);
  if (!rl) return fail("ledger", rl.error());
  if (!up) return fail("ledger", up.error());
  config.round_length = *rl;
  config.unlock_period = *up;
  auto ledger = ledger::LocalLedger::open(*db, config);
  if (!ledger) return fail("ledger", ledger.error());
  return run(pos[0], args, **ledger, args.get("queue-db").value_or(*db));
}

}  // namespace lp::node
