#!/usr/bin/env bash
# lpnode pm and lpnode ledger as an operator uses them: exit codes, messages that name the
# problem, key files, and a whole ticket round trip through the local ledger.
# Usage: cli_test.sh /path/to/lpnode
set -u
LPNODE=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
passed=0 failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
# expect CODE DESCRIPTION -- command...; output in $out, stderr in $err
expect() {
  local want=$1 what=$2; shift 3
  out=$("$@" 2>"$dir/stderr"); local code=$?
  err=$(cat "$dir/stderr")
  if [ "$code" -eq "$want" ]; then ok; else bad "$what: exit $code, wanted $want; stderr: $err"; fi
}
contains() { case "$1" in *"$2"*) ok ;; *) bad "$3: '$1' lacks '$2'" ;; esac; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# --- keys
expect 0 "keygen" -- "$LPNODE" pm keygen --key-file gw.key
GW=$out
[ "$(stat -c %a gw.key)" = 600 ] && ok || bad "key file mode $(stat -c %a gw.key)"
expect 2 "keygen refuses to overwrite" -- "$LPNODE" pm keygen --key-file gw.key
contains "$err" "refusing to overwrite" "keygen overwrite message"
expect 0 "address" -- "$LPNODE" pm address --key-file gw.key
[ "$out" = "$GW" ] && ok || bad "address $out != $GW"
LP_KEY_FILE=gw.key expect 0 "key file from LP_KEY_FILE" -- "$LPNODE" pm address
[ "$out" = "$GW" ] && ok || bad "env address $out"
echo 4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318 > open.key; chmod 644 open.key
expect 2 "world-readable raw key" -- "$LPNODE" pm address --key-file open.key
contains "$err" "chmod 600" "world-readable message"
expect 2 "missing key file" -- "$LPNODE" pm address --key-file nope.key
expect 2 "unknown flag" -- "$LPNODE" pm address --key-fil gw.key
contains "$err" "unknown flag --key-fil" "unknown flag message"
expect 0 "pm help" -- "$LPNODE" pm --help
contains "$out" "check-ticket" "pm help lists commands"
expect 2 "no command" -- "$LPNODE"

# --- sign and check
expect 0 "keygen orchestrator" -- "$LPNODE" pm keygen --key-file o.key
O=$out
expect 0 "ledger register" -- "$LPNODE" ledger --db l.db register --address "$O" --service-uri https://127.0.0.1:8935
expect 0 "ledger fund" -- "$LPNODE" ledger --db l.db fund --address "$GW" --deposit 1000000000000000000 --reserve 1000000000000000000
expect 0 "ledger status" -- "$LPNODE" ledger --db l.db status
ROUND=$(echo "$out" | field '["round"]'); BH=$(echo "$out" | field '["roundBlockHash"]'); BLOCK=$(echo "$out" | field '["block"]')
ticket() {  # nonce winProb
  printf '{"recipient":"%s","faceValue":"1000000000000000","winProb":"%s","senderNonce":%s,"recipientRand":"0x%064x","creationRound":"%s","creationRoundBlockHash":"%s"}' \
    "$O" "$2" "$1" "$((7000 + $1))" "$ROUND" "$BH"
}
MAX=0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
expect 0 "sign-ticket" -- bash -c "$(printf '%q ' echo "$(ticket 1 $MAX)") | $LPNODE pm sign-ticket --key-file gw.key"
signed=$out
[ "$(echo "$signed" | field '["wins"]')" = True ] && ok || bad "a max-winProb ticket must win"
expect 0 "check-ticket valid" -- bash -c "$(printf '%q ' echo "$signed") | $LPNODE pm check-ticket"
[ "$(echo "$out" | field '["signer"]')" = "$GW" ] && ok || bad "signer"
tampered=$(echo "$signed" | python3 -c "import json,sys; d=json.load(sys.stdin); d['faceValue']='1'; print(json.dumps(d))")
expect 1 "check-ticket tampered" -- bash -c "$(printf '%q ' echo "$tampered") | $LPNODE pm check-ticket"
[ "$(echo "$out" | field '["valid"]')" = False ] && ok || bad "tampered ticket valid"
contains "$out" "sig_wrong_signer" "tampered error"
highs=$(echo "$signed" | python3 -c "
import json,sys; d=json.load(sys.stdin); s=bytes.fromhex(d['sig'][2:]); n=0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141
v=n-int.from_bytes(s[32:64],'big'); d['sig']='0x'+(s[:32]+v.to_bytes(32,'big')+bytes([55-s[64]])).hex(); print(json.dumps(d))")
expect 1 "check-ticket high-s twin" -- bash -c "$(printf '%q ' echo "$highs") | $LPNODE pm check-ticket"
contains "$out" "sig_high_s" "high-s error"
compact=$(echo "$signed" | python3 -c "import json,sys; d=json.load(sys.stdin); d['sig']=d['sig'][:130]; print(json.dumps(d))")
expect 1 "check-ticket 64-byte sig" -- bash -c "$(printf '%q ' echo "$compact") | $LPNODE pm check-ticket"
contains "$out" "sig_length" "compact error"
expect 2 "check-ticket bad field" -- bash -c "echo '{\"recipient\":\"0x12\",\"sender\":\"$GW\"}' | $LPNODE pm check-ticket"
contains "$err" "field 'recipient'" "malformed names the field"
expect 2 "check-ticket no sig" -- bash -c "$(printf '%q ' echo "$(ticket 2 1)") | $LPNODE pm check-ticket"
contains "$err" "field 'sender'" "missing sender named"
expect 2 "check-ticket not json" -- bash -c "echo 'garbage' | $LPNODE pm check-ticket"

# --- round trip: a winner goes through the queue into the ledger, once
queue_add() { echo "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); d['paramsExpirationBlock']=str($BLOCK+40); print(json.dumps(d))"; }
expect 0 "queue-add winner" -- bash -c "$(printf '%q ' echo "$(queue_add "$signed")") | $LPNODE ledger --db l.db queue-add"
expect 0 "redeem before expiry" -- "$LPNODE" ledger --db l.db redeem
[ "$(echo "$out" | field '["redeemed"]')" = 0 ] && ok || bad "redeemed before params expiry"
expect 0 "advance" -- "$LPNODE" ledger --db l.db advance --blocks 40
expect 0 "redeem" -- "$LPNODE" ledger --db l.db redeem
[ "$(echo "$out" | field '["valueRedeemed"]')" = 1000000000000000 ] && ok || bad "redeem value: $out"
expect 0 "redeem again" -- "$LPNODE" ledger --db l.db redeem
[ "$(echo "$out" | field '["redeemed"]')" = 0 ] && ok || bad "redeemed twice"
expect 0 "show orchestrator" -- "$LPNODE" ledger --db l.db show --address "$O"
[ "$(echo "$out" | field '["balance"]')" = 1000000000000000 ] && ok || bad "orchestrator balance: $out"
expect 0 "show sender" -- "$LPNODE" ledger --db l.db show --address "$GW"
[ "$(echo "$out" | field '["deposit"]')" = 999000000000000000 ] && ok || bad "sender deposit: $out"
expect 1 "queue-add a loser" -- bash -c "$(printf '%q ' echo "$(queue_add "$(echo "$(ticket 3 1)" | $LPNODE pm sign-ticket --key-file gw.key)")") | $LPNODE ledger --db l.db queue-add"
contains "$err" "did not win" "loser message"

# --- ledger errors
expect 1 "withdraw while locked" -- "$LPNODE" ledger --db l.db withdraw --address "$GW"
contains "$err" "account is locked" "locked message"
expect 0 "unlock" -- "$LPNODE" ledger --db l.db unlock --address "$GW"
expect 0 "advance rounds" -- "$LPNODE" ledger --db l.db advance --rounds 2
expect 0 "withdraw" -- "$LPNODE" ledger --db l.db withdraw --address "$GW"
[ "$(echo "$out" | field '["withdrawn"]')" = 1999000000000000000 ] && ok || bad "withdrawn: $out"
expect 2 "bad amount" -- "$LPNODE" ledger --db l.db fund --address "$GW" --deposit 1e18
contains "$err" "--deposit" "bad amount names the flag"
expect 2 "bad address" -- "$LPNODE" ledger --db l.db show --address 0x1234
expect 2 "no db" -- "$LPNODE" ledger status
expect 1 "unwritable db" -- "$LPNODE" ledger --db /nonexistent/x.db status
expect 2 "unknown ledger command" -- "$LPNODE" ledger --db l.db frobnicate

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
