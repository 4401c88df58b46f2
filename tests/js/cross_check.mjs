// Cross-checks payment/ against ethers.js, an independent Ethereum implementation:
// 200 random tickets signed by ethers verify with `lpnode pm check-ticket`, 200 signed by
// `lpnode pm sign-ticket` verify with ethers with identical signature bytes, and keystore v3
// files move both ways. Usage: node cross_check.mjs /path/to/lpnode [count]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  Wallet, SigningKey, keccak256, solidityPacked, hashMessage, getBytes, recoverAddress,
  getAddress, hexlify, concat, zeroPadValue, toBeHex, decryptKeystoreJsonSync,
} from 'ethers';

const lpnode = process.argv[2];
const count = Number(process.argv[3] ?? 200);
if (!lpnode) { console.error('usage: node cross_check.mjs LPNODE [count]'); process.exit(2); }
const dir = mkdtempSync(join(tmpdir(), 'lp-ethers-'));
let passed = 0, failed = 0;

function check(cond, what) {
  if (cond) { passed++; return true; }
  failed++; console.error('FAIL: ' + what); return false;
}

function run(args, input, env = {}) {
  const r = spawnSync(lpnode, args, { input, encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const rand256 = () => BigInt(hexlify(randomBytes(32)));
// Mix full-width values with small ones so minimal and padded encodings both get exercised.
const randUint = (i) => (i % 5 === 0 ? BigInt(i) : i % 5 === 1 ? BigInt(hexlify(randomBytes(8))) : rand256());

function randomFields(i) {
  return {
    recipient: getAddress(hexlify(randomBytes(20))),
    faceValue: randUint(i),
    winProb: randUint(i + 1),
    senderNonce: randomBytes(4).readUInt32BE(0),
    recipientRand: rand256(),
    creationRound: BigInt(hexlify(randomBytes(7))) + 1n,
    creationRoundBlockHash: hexlify(randomBytes(32)),
  };
}

function ethersTicket(f, sender) {
  const recipientRandHash = keccak256(zeroPadValue(toBeHex(f.recipientRand), 32));
  const packed = solidityPacked(
    ['address', 'address', 'uint256', 'uint256', 'uint256', 'bytes32', 'uint256', 'bytes32'],
    [f.recipient, sender, f.faceValue, f.winProb, f.senderNonce, recipientRandHash, f.creationRound,
     f.creationRoundBlockHash]);
  return { recipientRandHash, packed, hash: keccak256(packed) };
}

function toJson(f, extra) {
  return JSON.stringify({
    recipient: f.recipient, faceValue: f.faceValue.toString(), winProb: '0x' + f.winProb.toString(16),
    senderNonce: f.senderNonce, recipientRand: zeroPadValue(toBeHex(f.recipientRand), 32),
    creationRound: f.creationRound.toString(), creationRoundBlockHash: f.creationRoundBlockHash, ...extra,
  });
}

function lottery(sig, f) {
  const v = keccak256(concat([sig, zeroPadValue(toBeHex(f.recipientRand), 32)]));
  return { winValue: v, wins: BigInt(v) < f.winProb };
}

try {
  // ethers signs, lpnode checks
  for (let i = 0; i < count; i++) {
    const w = Wallet.createRandom();
    const f = randomFields(i);
    const t = ethersTicket(f, w.address);
    const sig = w.signingKey.sign(hashMessage(getBytes(t.hash))).serialized;
    const r = run(['pm', 'check-ticket'], toJson(f, { sender: w.address, sig }));
    if (!check(r.code === 0, `ethers ticket ${i}: check-ticket exit ${r.code}: ${r.err}${r.out}`)) continue;
    const o = JSON.parse(r.out);
    const l = lottery(sig, f);
    check(o.valid === true && o.signer === w.address && o.ticketHash === t.hash &&
          o.winValue === l.winValue && o.wins === l.wins, `ethers ticket ${i}: ${r.out}`);
  }
  // lpnode signs, ethers checks
  for (let i = 0; i < count; i++) {
    const key = new SigningKey(hexlify(randomBytes(32)));
    const addr = new Wallet(key).address;
    const keyFile = join(dir, `k${i}`);
    writeFileSync(keyFile, key.privateKey.slice(2) + '\n', { mode: 0o600 });
    const f = randomFields(i);
    const r = run(['pm', 'sign-ticket', '--key-file', keyFile], toJson(f, {}));
    if (!check(r.code === 0, `lpnode ticket ${i}: sign-ticket exit ${r.code}: ${r.err}`)) continue;
    const o = JSON.parse(r.out);
    const t = ethersTicket(f, addr);
    const own = key.sign(hashMessage(getBytes(t.hash))).serialized;
    const l = lottery(o.sig, f);
    check(o.sender === addr && o.packed === t.packed && o.ticketHash === t.hash && o.sig === own &&
          recoverAddress(hashMessage(getBytes(o.ticketHash)), o.sig) === addr &&
          o.winValue === l.winValue && o.wins === l.wins, `lpnode ticket ${i}: ${r.out} vs ethers sig ${own}`);
  }
  // keystore v3 both ways
  const w = Wallet.createRandom();
  const ks = join(dir, 'ethers.json');
  writeFileSync(ks, w.encryptSync('s3cret pass'), { mode: 0o600 });
  let r = run(['pm', 'address', '--key-file', ks], '', { LP_PASSPHRASE: 's3cret pass' });
  check(r.code === 0 && r.out.trim() === w.address, `ethers keystore -> lpnode: ${r.code} ${r.out} ${r.err}`);
  r = run(['pm', 'address', '--key-file', ks], '', { LP_PASSPHRASE: 'wrong' });
  check(r.code !== 0 && /passphrase/.test(r.err), `wrong passphrase: ${r.code} ${r.err}`);
  const made = join(dir, 'lpnode.json');
  r = run(['pm', 'keygen', '--key-file', made], '', { LP_PASSPHRASE: 'other pass' });
  if (check(r.code === 0, `lpnode keygen with passphrase: ${r.err}`)) {
    const back = decryptKeystoreJsonSync(readFileSync(made, 'utf8'), 'other pass');
    check(back.address === r.out.trim(), `lpnode keystore -> ethers: ${back.address} vs ${r.out}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
