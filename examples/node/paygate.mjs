// A merchant's integration with the paygate platform in Node.js (18 or later), with nothing
// but node:crypto, node:http and fetch: sign requests, verify answers, verify notifications.
// docs/integration.md explains each step; docs/protocol.md is the specification.
//
//   node paygate.mjs selftest                          signs the test vector of docs/protocol.md
//   node paygate.mjs create PLATFORM_URL MERCHANT_ID KEY_FILE OUT_TRADE_NO AMOUNT [NOTIFY_URL]
//                                                      creates a trade, prints it (verified)
//   node paygate.mjs notify-server PLATFORM_URL MERCHANT_ID URL_FILE
//                                                      a notify_url endpoint on 127.0.0.1:<any>;
//                                                      writes its URL to URL_FILE
//
// KEY_FILE is the merchant's Ed25519 private key: PEM (`paygate platform keygen`, `openssl
// genpkey -algorithm ed25519`) or the standard base64 of its raw 32-byte seed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

// Node reads Ed25519 keys as DER: a raw 32-byte seed becomes PKCS#8 by this fixed prefix, a
// raw 32-byte public key SPKI by that one (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const WINDOW_S = 300; // the replay window of docs/protocol.md
const PLATFORM_KEY_ID = 'paygate-platform';

export function privateKeyFromSeed(seed) {
  if (seed.length !== 32) throw new Error('an Ed25519 seed has 32 bytes');
  return crypto.createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function publicKeyFromRaw(raw) {
  if (raw.length !== 32) throw new Error('an Ed25519 public key has 32 bytes');
  return crypto.createPublicKey({
    key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function loadPrivateKey(path) {
  const text = fs.readFileSync(path, 'utf8').trim();
  return text.startsWith('-----BEGIN')
    ? crypto.createPrivateKey(text)
    : privateKeyFromSeed(Buffer.from(text, 'base64'));
}

const unixSeconds = () => Math.floor(Date.now() / 1000); // seconds, never milliseconds
const newNonce = () => crypto.randomBytes(16).toString('base64url'); // 22 characters
const sha256Hex = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');

// The Authorization value of a request: Ed25519 over METHOD \n TARGET \n TS \n NONCE \n
// hex(sha256(body)) \n, sig in base64url without padding. body: the exact bytes sent.
export function signRequest(key, keyId, method, target, body, ts = unixSeconds(), nonce = newNonce()) {
  const canonical = `${method}\n${target}\n${ts}\n${nonce}\n${sha256Hex(body)}\n`;
  const sig = crypto.sign(null, Buffer.from(canonical), key).toString('base64url');
  return { header: `PAYGATE-ED25519 keyId="${keyId}", ts="${ts}", nonce="${nonce}", sig="${sig}"`,
           nonce };
}

// The four parameters of a PAYGATE-ED25519 header, or null.
export function parseSignature(header) {
  const m = /^PAYGATE-ED25519 (.*)$/.exec(header || '');
  if (!m) return null;
  const p = {};
  for (const part of m[1].split(/, ?/)) {
    const kv = /^(keyId|ts|nonce|sig)="([^"\\]*)"$/.exec(part);
    if (!kv || kv[1] in p) return null;
    p[kv[1]] = kv[2];
  }
  return p.keyId && /^(0|[1-9][0-9]{0,17})$/.test(p.ts || '') && p.nonce && p.sig ? p : null;
}

function verifyCanonical(publicKey, p, canonical, now) {
  if (!p || p.keyId !== PLATFORM_KEY_ID) return false;
  if (Math.abs(now - Number(p.ts)) > WINDOW_S) return false;
  const sig = Buffer.from(p.sig, 'base64url');
  return sig.length === 64 && crypto.verify(null, Buffer.from(canonical), publicKey, sig);
}

// An answer's Paygate-Signature over STATUS \n TS \n NONCE \n REQUEST_NONCE \n hash \n, checked
// over the raw body bytes before they are parsed.
export function verifyAnswer(publicKey, header, status, requestNonce, body, now = unixSeconds()) {
  const p = parseSignature(header);
  return verifyCanonical(publicKey, p,
    `${status}\n${p && p.ts}\n${p && p.nonce}\n${requestNonce}\n${sha256Hex(body)}\n`, now);
}

// A notification: the request grammar over POST, the target as received (path and query,
// undecoded: req.url) and the raw body; each nonce once.
export function verifyNotification(publicKey, header, target, body, seen, now = unixSeconds()) {
  const p = parseSignature(header);
  const ok = verifyCanonical(publicKey, p,
    `POST\n${target}\n${p && p.ts}\n${p && p.nonce}\n${sha256Hex(body)}\n`, now);
  if (!ok || seen.has(p.nonce)) return false;
  seen.add(p.nonce);
  return true;
}

export async function platformKey(platformUrl) {
  const r = await fetch(`${platformUrl}/.well-known/paygate-platform-key`);
  const j = await r.json(); // pin this key in production instead of fetching it
  return publicKeyFromRaw(Buffer.from(j.public_key, 'base64'));
}

// One API call: the body serialised once, those bytes signed and sent, the answer verified
// over its raw bytes. Throws on an unverified answer (treat it as a network error). A retry
// must send the same bytes with the same Idempotency-Key, under a new signature.
export async function call(cfg, method, target, payload, idempotencyKey) {
  const body = payload === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(payload));
  const { header, nonce } = signRequest(cfg.key, cfg.merchantId, method, target, body);
  const headers = { Authorization: header };
  if (body.length) headers['Content-Type'] = 'application/json';
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  const r = await fetch(cfg.platformUrl + target,
    { method, headers, body: body.length ? body : undefined });
  const raw = Buffer.from(await r.arrayBuffer());
  if (!verifyAnswer(cfg.platformKey, r.headers.get('paygate-signature'), r.status, nonce, raw))
    throw new Error(`unverified answer ${r.status}`);
  return { status: r.status, json: JSON.parse(raw.toString('utf8')) };
}

function selftest() { // docs/protocol.md, "Test vectors"
  const seed = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
  const body = Buffer.from('{"out_trade_no":"T1001","amount":{"value":"12.50","currency":"CNY"}}');
  const { header } = signRequest(privateKeyFromSeed(seed), 'm_123', 'POST', '/v1/trades?lang=en',
    body, 1764000000, 'n0nce-0123456789abcdef');
  const want = 'kEVDFhGsAYxhp-azC5aETaZq8JH6-CXujkfPBuP1fC43SvuWeks1f_RSgwyf4MuCHwnFKYJuZOw2n-Ku5ue5BA';
  if (parseSignature(header).sig !== want) throw new Error('the test vector does not match');
  console.log('selftest ok');
}

async function create([platformUrl, merchantId, keyFile, outTradeNo, amount, notifyUrl]) {
  const cfg = { platformUrl, merchantId, key: loadPrivateKey(keyFile),
                platformKey: await platformKey(platformUrl) };
  const trade = { out_trade_no: outTradeNo, amount: { value: amount, currency: 'CNY' },
                  subject: 'Node.js example' };
  if (notifyUrl) trade.notify_url = notifyUrl;
  const r = await call(cfg, 'POST', '/v1/trades', trade, `create-${outTradeNo}`);
  console.log(JSON.stringify(r));
  if (r.status !== 201) process.exitCode = 1;
}

async function notifyServer([platformUrl, merchantId, urlFile]) {
  const key = await platformKey(platformUrl);
  const seen = new Set(); // nonces; a real shop also de-duplicates by notify_id, in its database
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks); // raw bytes: verify before parsing
      const ok = req.method === 'POST' &&
        verifyNotification(key, req.headers['paygate-signature'], req.url, body, seen);
      const n = ok ? JSON.parse(body.toString('utf8')) : null;
      if (!ok || n.trade.merchant_id !== merchantId) {
        console.log(`refused ${req.url}`);
        res.writeHead(400).end('bad signature');
        return;
      }
      console.log(`verified ${n.event} ${n.notify_id} ${n.trade.out_trade_no} ${n.trade.state}`);
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('success');
    });
  });
  server.listen(0, '127.0.0.1', () =>
    fs.writeFileSync(urlFile, `http://127.0.0.1:${server.address().port}`));
}

const [cmd, ...args] = process.argv.slice(2);
const commands = { selftest, create, 'notify-server': notifyServer };
if (import.meta.url === `file://${process.argv[1]}`) {
  if (!commands[cmd]) {
    console.error('usage: node paygate.mjs selftest | create ... | notify-server ...');
    process.exit(2);
  }
  Promise.resolve(commands[cmd](args)).catch((e) => { console.error(e.message); process.exit(1); });
}
