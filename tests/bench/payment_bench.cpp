// SPDX-License-Identifier: LGPL-2.1-or-later
// Payment costs against raw libsecp256k1 in the same run. Run: scripts/bench.sh
#include <benchmark/benchmark.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <filesystem>

#include "payment/eth/keccak.h"
#include "payment/ledger/local_ledger.h"
#include "payment/pm/recipient.h"
#include "payment/pm/sender.h"
#include "payment/pm/ticket_queue.h"

namespace {

using namespace lp;

struct Fixture {
  U256 rand = 123456789;
  pm::Ticket ticket;
  secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  Hash digest{};
  PrivateKey key = PrivateKey::generate();
  Signature sig{};
  secp256k1_ecdsa_recoverable_signature raw_sig{};

  Fixture() {
    ticket.recipient = PrivateKey::generate().address();
    ticket.sender = key.address();
    ticket.face_value = U256(1'200'000'000'000'000);
    ticket.win_prob = max_win_prob() / 1000;
    ticket.sender_nonce = 1;
    ticket.recipient_rand_hash = pm::recipient_rand_hash(rand);
    ticket.expiration = {U256(4242), keccak256(as_bytes("block"))};
    sig = pm::sign_ticket(key, ticket);
    digest = eip191_hash(ticket.hash());
    secp256k1_ecdsa_sign_recoverable(ctx, &raw_sig, digest.data(), key.secret().data(), nullptr,
                                     nullptr);
  }
};

Fixture& fx() {
  static Fixture f;
  return f;
}

// Baseline: libsecp256k1 alone, no hashing, no encoding.
void BM_RawSecpSignRecoverable(benchmark::State& state) {
  auto& f = fx();
  secp256k1_ecdsa_recoverable_signature s;
  for ([[maybe_unused]] auto _ : state) {
    secp256k1_ecdsa_sign_recoverable(f.ctx, &s, f.digest.data(), f.key.secret().data(), nullptr,
                                     nullptr);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_RawSecpSignRecoverable);

void BM_RawSecpRecover(benchmark::State& state) {
  auto& f = fx();
  secp256k1_pubkey pub;
  for ([[maybe_unused]] auto _ : state) {
    benchmark::DoNotOptimize(secp256k1_ecdsa_recover(f.ctx, &pub, &f.raw_sig, f.digest.data()));
    benchmark::DoNotOptimize(pub);
  }
}
BENCHMARK(BM_RawSecpRecover);

void BM_Keccak256_232B(benchmark::State& state) {
  Bytes packed = fx().ticket.pack();
  for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(keccak256(packed));
}
BENCHMARK(BM_Keccak256_232B);

// A gateway signing one ticket: pack, hash, EIP-191, sign.
void BM_SignTicket(benchmark::State& state) {
  auto& f = fx();
  for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(pm::sign_ticket(f.key, f.ticket));
}
BENCHMARK(BM_SignTicket);

// An orchestrator checking one ticket: pack, hash, EIP-191, canonical-form checks, recover,
// address, compare, lottery.
void BM_CheckTicket(benchmark::State& state) {
  auto& f = fx();
  for ([[maybe_unused]] auto _ : state) {
    auto signer = pm::recover_ticket_signer(f.ticket.hash(), f.sig);
    bool ok = signer && *signer == f.ticket.sender;
    benchmark::DoNotOptimize(ok && pm::is_winning(f.sig, f.rand, f.ticket.win_prob));
  }
}
BENCHMARK(BM_CheckTicket);

// Ten tickets of one batch checked the same way (per iteration: ten tickets).
void BM_CheckBatch10(benchmark::State& state) {
  auto& f = fx();
  std::vector<pm::Ticket> tickets(10, f.ticket);
  std::vector<Signature> sigs;
  for (std::uint32_t i = 0; i < 10; ++i) {
    tickets[i].sender_nonce = i + 1;
    sigs.push_back(pm::sign_ticket(f.key, tickets[i]));
  }
  for ([[maybe_unused]] auto _ : state) {
    for (std::size_t i = 0; i < 10; ++i) {
      auto signer = pm::recover_ticket_signer(tickets[i].hash(), sigs[i]);
      benchmark::DoNotOptimize(signer && *signer == tickets[i].sender &&
                               pm::is_winning(sigs[i], f.rand, tickets[i].win_prob));
    }
  }
}
BENCHMARK(BM_CheckBatch10);

// The whole recipient path for a batch of 10 on a real local ledger: chain reads once per
// batch, then per ticket everything above plus recipientRand HMAC, nonce set and credit.
void BM_ReceiveBatch10(benchmark::State& state) {
  std::string dir = (std::filesystem::temp_directory_path() / "lpbench-XXXXXX").string();
  if (!mkdtemp(dir.data())) return state.SkipWithError("mkdtemp");
  {
    auto ledger = ledger::LocalLedger::open(dir + "/l.db").value();
    auto queue = pm::TicketQueue::open(dir + "/l.db", *ledger).value();
    PrivateKey gw = PrivateKey::generate(), orch = PrivateKey::generate();
    (void)ledger->register_orchestrator(orch.address(), "https://127.0.0.1:8935");
    (void)ledger->fund(gw.address(), U256(1'000'000'000'000'000'000ull),
                       U256(1'000'000'000'000'000'000ull));
    pm::RecipientConfig rc;
    rc.ticket_ev = 1'000'000'000;  // winProb ~1e-6: the queue stays out of the measurement
    pm::Recipient recipient(orch.address(), *ledger, *queue, rc);
    pm::SenderConfig sc;
    sc.max_total_ev = U256(1'000'000'000'000'000'000ull);
    pm::Sender sender(gw, *ledger, sc);
    for ([[maybe_unused]] auto _ : state) {
      state.PauseTiming();
      auto params = recipient.ticket_params(gw.address(), {1000, 1}).value();
      auto batch = sender.create_ticket_batch(sender.start_session(params, {1000, 1}), 10).value();
      state.ResumeTiming();
      auto out = recipient.receive_payment(batch, "bench");
      if (out.error) state.SkipWithError(out.error->message.c_str());
      benchmark::DoNotOptimize(out);
    }
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ReceiveBatch10)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
