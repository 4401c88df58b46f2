// SPDX-License-Identifier: LGPL-2.1-or-later
// `lpnode pm`: keys and tickets, for operators diagnosing payments.
#include <iostream>

#include "node/lpnode/cli_util.h"
#include "node/pm/ticket_json.h"
#include "payment/eth/keystore.h"
#include "payment/pm/ticket.h"

namespace lp::node {

namespace {

using json = nlohmann::json;

const char* kPmHelp = R"(Usage: lpnode pm <command> [flags]

Keys and Livepeer tickets, byte-compatible with go-livepeer and the TicketBroker contract.
Tickets are JSON with the fields recipient, sender, faceValue, winProb, senderNonce,
recipientRandHash (or recipientRand), creationRound, creationRoundBlockHash and sig; big
integers are decimal or 0x-hex strings, bytes and addresses 0x hex.

Commands:
  keygen --key-file F        make a new key; writes raw hex (mode 0600), or an encrypted
                             keystore v3 file when a passphrase is given; never overwrites
  address --key-file F       print the key's EIP-55 address
  sign-ticket --key-file F   ticket JSON on stdin -> the ticket with ticketHash and sig
                             (and winValue/wins when recipientRand is given)
  sign-message --key-file F  one 0x-hex message per line on stdin -> one 0x-hex signature per
                             line, printed as each line arrives (a signing oracle for test
                             peers): go-livepeer's Sign, the EIP-191 hash of keccak256(message),
                             v 27/28 (a ticket's sig is EIP-191 of its hash: use sign-ticket)
  check-ticket               ticket JSON with sender and sig on stdin ->
                             {valid, signer, ticketHash, wins?, winValue?, error?}
                             exit 0 valid, 1 invalid, 2 malformed input

Flags:
  --key-file F         raw hex private key or keystore v3 JSON (env LP_KEY_FILE)
  --passphrase-file F  first line is the keystore passphrase (env LP_PASSPHRASE_FILE);
                       or put the passphrase itself in LP_PASSPHRASE

Examples:
  lpnode pm keygen --key-file gateway.key
  echo '{"recipient":"0x73AEd7b5dEb30222fa896f399d46cC99c7BEe57F","faceValue":"1000000000000000",
         "winProb":"0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
         "senderNonce":1,"recipientRand":"0x1234","creationRound":"10",
         "creationRoundBlockHash":"0x41b1a0649752af1b28b3dc29a1556eee781e4a4c3a1f7f53f90fa834de098c4d"}' \
    | lpnode pm sign-ticket --key-file gateway.key | lpnode pm check-ticket
)";

int keygen(const Args& args) {
  auto path = args.get("key-file");
  if (!path) return fail("pm keygen", "--key-file is required", kExitUsage);
  auto pass = passphrase_from(args);
  if (!pass) return fail("pm keygen", pass.error());
  PrivateKey key = PrivateKey::generate();
  std::string data =
      pass->has_value() ? encrypt_keystore(key, **pass) : to_hex(key.secret(), false) + "\n";
  if (auto st = write_secret_file(*path, data); !st) return fail("pm keygen", st.error());
  std::cout << to_checksum(key.address()) << "\n";
  return kExitOk;
}

int address(const Args& args) {
  auto key = key_from(args);
  if (!key) return fail("pm address", key.error());
  std::cout << to_checksum(key->address()) << "\n";
  return kExitOk;
}

void add_lottery(json& out, ByteSpan sig, const U256& rand, const U256& win_prob) {
  out["recipientRand"] = to_hex(to_be32(rand));
  out["winValue"] = to_hex(pm::lottery_value(sig, rand));
  out["wins"] = pm::is_winning(sig, rand, win_prob);
}

int sign_ticket(const Args& args) {
  auto key = key_from(args);
  if (!key) return fail("pm sign-ticket", key.error());
  std::string why;
  auto doc = read_stdin_json(&why);
  if (!doc) return fail("pm sign-ticket", why, kExitUsage);
  auto parsed = parse_ticket_json(*doc, false, false);
  if (!parsed) return fail("pm sign-ticket", parsed.error().message, kExitUsage);
  pm::Ticket& t = parsed->ticket;
  if (parsed->has_sender && t.sender != key->address())
    return fail("pm sign-ticket",
                "field 'sender': " + to_checksum(t.sender) + " is not the key's address " +
                    to_checksum(key->address()),
                kExitUsage);
  t.sender = key->address();
  if (parsed->recipient_rand &&
      pm::recipient_rand_hash(*parsed->recipient_rand) != t.recipient_rand_hash)
    return fail("pm sign-ticket", "field 'recipientRand': does not hash to recipientRandHash",
                kExitUsage);
  Signature sig = pm::sign_ticket(*key, t);
  json out = ticket_to_json(t);
  out["packed"] = to_hex(t.pack());
  out["ticketHash"] = to_hex(t.hash());
  out["sig"] = to_hex(sig);
  if (parsed->recipient_rand) add_lottery(out, sig, *parsed->recipient_rand, t.win_prob);
  print_json(out);
  return kExitOk;
}

int sign_messages(const Args& args) {
  auto key = key_from(args);
  if (!key) return fail("pm sign-message", key.error());
  std::string line;
  for (int n = 1; std::getline(std::cin, line); ++n) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    auto bytes = from_hex(line);
    if (!bytes)
      return fail("pm sign-message", "line " + std::to_string(n) + ": not hex", kExitUsage);
    std::cout << to_hex(sign_message(*key, *bytes)) << std::endl;  // flushed: an oracle
  }
  return kExitOk;
}

int check_ticket(const Args&) {
  std::string why;
  auto doc = read_stdin_json(&why);
  if (!doc) return fail("pm check-ticket", why, kExitUsage);
  auto parsed = parse_ticket_json(*doc, true, true);
  if (!parsed) return fail("pm check-ticket", parsed.error().message, kExitUsage);
  const pm::Ticket& t = parsed->ticket;
  const Hash hash = t.hash();
  json out{{"ticketHash", to_hex(hash)}, {"valid", false}, {"signer", nullptr}};
  auto signer = pm::recover_ticket_signer(hash, *parsed->sig);
  if (!signer) {
    out["error"] = signer.error().code + ": " + signer.error().message;
  } else {
    out["signer"] = to_checksum(*signer);
    if (*signer != t.sender) {
      out["error"] = "sig_wrong_signer: signed by " + to_checksum(*signer) + ", not the sender " +
                     to_checksum(t.sender);
    } else if (parsed->recipient_rand &&
               pm::recipient_rand_hash(*parsed->recipient_rand) != t.recipient_rand_hash) {
      out["error"] = "bad_recipient_rand: recipientRand does not match recipientRandHash";
    } else {
      out["valid"] = true;
    }
  }
  if (parsed->recipient_rand && out["valid"] == true)
    add_lottery(out, *parsed->sig, *parsed->recipient_rand, t.win_prob);
  print_json(out);
  return out["valid"] == true ? kExitOk : kExitFailed;
}

}  // namespace

int pm_main(const std::vector<std::string>& argv) {
  Args args(argv, {"key-file", "passphrase-file"}, {"help"});
  if (!args.error().empty())
    return fail("pm", args.error() + " (see lpnode pm --help)", kExitUsage);
  const auto& pos = args.positional();
  if (args.flag("help") || pos.empty() || pos[0] == "help") {
    std::cout << kPmHelp;
    return pos.empty() && !args.flag("help") ? kExitUsage : kExitOk;
  }
  if (pos.size() > 1) return fail("pm", "unexpected argument '" + pos[1] + "'", kExitUsage);
  const std::string& cmd = pos[0];
  if (cmd == "keygen") return keygen(args);
  if (cmd == "address") return address(args);
  if (cmd == "sign-ticket") return sign_ticket(args);
  if (cmd == "sign-message") return sign_messages(args);
  if (cmd == "check-ticket") return check_ticket(args);
  return fail("pm", "unknown command '" + cmd + "' (see lpnode pm --help)", kExitUsage);
}

}  // namespace lp::node
