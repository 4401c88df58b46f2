#!/usr/bin/env bash
# The payment layer alone, step by step with lpnode commands (the main demo is scripts/demo.sh):
# a Livepeer micropayment round trip on the embedded local ledger. A gateway signs
# tickets, an orchestrator checks them and queues the winners, and the winners are redeemed
# into the ledger once their params expire. Every step is a real lpnode command; the state
# stays in ./payment-demo-data (or $LP_DEMO_DIR) to inspect with `lpnode ledger --db payment-demo-data/ledger.db ...`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build node/lpnode >/dev/null

L="$root/build/node/lpnode"
work=${LP_DEMO_DIR:-$root/payment-demo-data}
rm -rf "$work"
mkdir -p "$work"
db="$work/ledger.db"
tickets=${LP_DEMO_TICKETS:-20}
step() { printf '\n== %s\n' "$*"; }

step "Keys: a gateway pays, an orchestrator is paid"
GW=$("$L" pm keygen --key-file "$work/gateway.key")
O=$("$L" pm keygen --key-file "$work/orchestrator.key")
echo "gateway      $GW   ($work/gateway.key, mode 0600)"
echo "orchestrator $O   ($work/orchestrator.key)"

step "Local ledger: the orchestrator registers, the gateway funds 1 ETH deposit + 1 ETH reserve"
"$L" ledger --db "$db" register --address "$O" --service-uri https://127.0.0.1:8935
"$L" ledger --db "$db" fund --address "$GW" --deposit 1000000000000000000 --reserve 1000000000000000000
status=$("$L" ledger --db "$db" status)
round=$(jq -r .round <<<"$status"); hash=$(jq -r .roundBlockHash <<<"$status"); block=$(jq -r .block <<<"$status")
echo "block $block, round $round, round block hash $hash"

face=1000000000000000  # 0.001 ETH
winprob=0x3fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff  # 1 in 4
step "Tickets: $tickets tickets of face value $face wei, win probability 1/4 (EV $((face / 4)) wei each)"
winners=0
for nonce in $(seq 1 "$tickets"); do
  rand=0x$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')  # the orchestrator's committed secret
  signed=$(jq -n --arg r "$O" --arg f "$face" --arg w "$winprob" --argjson n "$nonce" --arg rr "$rand" \
                 --arg cr "$round" --arg bh "$hash" \
             '{recipient:$r, faceValue:$f, winProb:$w, senderNonce:$n, recipientRand:$rr,
               creationRound:$cr, creationRoundBlockHash:$bh}' | "$L" pm sign-ticket --key-file "$work/gateway.key")
  checked=$("$L" pm check-ticket <<<"$signed")
  line="nonce $(printf %2d "$nonce")  ticket $(jq -r .ticketHash <<<"$checked" | cut -c1-18)...  valid=$(jq -r .valid <<<"$checked")"
  if [ "$(jq -r .wins <<<"$checked")" = true ]; then
    jq --arg e "$((block + 40))" '. + {paramsExpirationBlock:$e}' <<<"$signed" \
      | "$L" ledger --db "$db" queue-add >/dev/null
    winners=$((winners + 1))
    echo "$line  WINS -> queued"
  else
    echo "$line  loses"
  fi
done

step "Redemption waits for the ticket params to expire (40 blocks)"
"$L" ledger --db "$db" redeem | jq -c .
"$L" ledger --db "$db" advance --blocks 40 | jq -c .
"$L" ledger --db "$db" redeem | jq -c .

step "Balances"
"$L" ledger --db "$db" show --address "$GW" | jq -c '{gateway: .address, deposit, reserve}'
"$L" ledger --db "$db" show --address "$O" | jq -c '{orchestrator: .address, balance}'
echo "$winners winners x $face wei = $((winners * face)) wei redeemed; expected value of $tickets tickets: $((tickets * face / 4)) wei"

step "Replay: another queue submits the same winners again; the ledger pays nothing twice"
"$L" ledger --db "$db" queue --state redeemed | jq -c '.[]' | while read -r w; do
  "$L" ledger --db "$db" --queue-db "$work/replay-queue.db" queue-add <<<"$w" >/dev/null
done
"$L" ledger --db "$db" --queue-db "$work/replay-queue.db" redeem | jq -c .
"$L" ledger --db "$db" --queue-db "$work/replay-queue.db" queue | jq -c '.[] | {ticketHash, state, lastError}'
"$L" ledger --db "$db" show --address "$O" | jq -c '{orchestrator: .address, balance}'
echo
echo "Done. Inspect: $L ledger --db $db queue | jq ."
