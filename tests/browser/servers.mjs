// Shared server plumbing for the browser tests (bank, platform, demo): the check that the
// browser is there, the paygate binary, temp dirs, starting `paygate` server processes,
// waiting for the URL file they write once they listen (`--print-url-file`, the demo's
// `--urls-file`), stopping them with SIGTERM. Only Node's own modules here, so it loads even
// when playwright-core is missing (the check needs it).
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

// What a test that ends early (an exception before its finally) leaves: servers still
// running, which are stopped here, and temp dirs, which are kept and named.
const children = new Set();
const liveDirs = new Set();
process.on('exit', (code) => {
  for (const c of children) c.kill('SIGTERM');
  for (const d of liveDirs) console.error(`kept ${d} for a post-mortem (exit ${code})`);
});

// The binary under test: $PAYGATE_BIN, else `paygate` on PATH.
export const paygate = process.env.PAYGATE_BIN || 'paygate';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Checks that Chromium and node_modules/playwright-core are there; call it before importing
// browser.mjs. When one is missing: with PAYGATE_REQUIRE_BROWSER set (scripts/test.sh, so
// `make test` and CI) the test fails (exit 1) naming what is missing; without it (a
// developer's plain `meson test`) it is skipped (77, meson's "skipped").
export function requireBrowser() {
  const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
  const missing = [];
  if (!fs.existsSync(chromium)) missing.push(`Chromium (${chromium}; Debian package chromium)`);
  if (!fs.existsSync(path.join(here, 'node_modules', 'playwright-core'))) {
    missing.push(`playwright-core (${path.join(here, 'node_modules')}; \`npm ci\` in tests/browser)`);
  }
  if (missing.length === 0) return;
  const what = `the browser test cannot run: missing ${missing.join(' and ')}; ` +
    '`make test` installs both (scripts/deps.sh test, then npm ci)';
  if (process.env.PAYGATE_REQUIRE_BROWSER) {
    console.error(`FAIL: ${what}`);
    process.exit(1);
  }
  console.log(`SKIP: ${what}`);
  process.exit(77);
}

// A fresh directory paygate-<name>-XXXXXX under $PAYGATE_TMP (the suite's own <build>/tmp,
// tests/meson.build), else the OS temp dir; removeDir deletes it.
export function tempDir(name) {
  const root = process.env.PAYGATE_TMP || os.tmpdir();
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  const dir = fs.mkdtempSync(path.join(root, `paygate-${name}-`));
  liveDirs.add(dir);
  return dir;
}

// The end of a test's temp dir: deleted after a pass unless $PAYGATE_KEEP_TMP is set; kept
// after a failure (failed true), with its path printed, so the server logs in it can be read.
export function removeDir(dir, failed = false) {
  liveDirs.delete(dir);
  if (failed) console.error(`kept ${dir} for a post-mortem (the test failed; server logs in it)`);
  else if (process.env.PAYGATE_KEEP_TMP) console.log(`kept ${dir} (PAYGATE_KEEP_TMP)`);
  else fs.rmSync(dir, { recursive: true, force: true });
}

// Runs `paygate <args>` to completion and returns its stdout (throws when it fails).
export function run(args) {
  return execFileSync(paygate, args, { encoding: 'utf8' });
}

// Starts `paygate <args>` as a child process; stdio as for child_process.spawn. Stop it with
// stopServer.
export function spawnServer(args, stdio) {
  const child = spawn(paygate, args, { stdio });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

// Waits until file f exists and is not empty (what `--print-url-file` and the demo's
// `--urls-file` write, atomically, once the server listens) and returns its text; throws when
// child (a spawnServer process) exits first, or after ms (generous: a loaded machine, a
// sanitizer build).
export async function waitFile(f, child, ms = 240000) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) {
    if (fs.existsSync(f) && fs.statSync(f).size > 0) return fs.readFileSync(f, 'utf8');
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${child.spawnargs.slice(1, 3).join(' ')} exited (${child.exitCode ?? child.signalCode}) before writing ${f}`);
    }
  }
  throw new Error(`no ${f} after ${ms} ms`);
}

// Sends SIGTERM to the child (when it still runs) and resolves with its exit code.
export async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  return exited;
}

// The open API as a merchant calls it (docs/protocol.md): api(method, target, body) signs the
// request with the merchant's Ed25519 privateKey under keyId, adds an Idempotency-Key to a
// POST, and resolves to { status, json }.
export function platformApi(baseUrl, keyId, privateKey) {
  return async (method, target, body) => {
    const ts = Math.floor(Date.now() / 1000).toString();
    const nonce = crypto.randomBytes(16).toString('base64url');
    const hash = crypto.createHash('sha256').update(body || '').digest('hex');
    const canon = `${method}\n${target}\n${ts}\n${nonce}\n${hash}\n`;
    const sig = crypto.sign(null, Buffer.from(canon), privateKey).toString('base64url');
    const headers = {
      Authorization: `PAYGATE-ED25519 keyId="${keyId}", ts="${ts}", nonce="${nonce}", sig="${sig}"`,
      'Content-Type': 'application/json',
    };
    if (method === 'POST') headers['Idempotency-Key'] = crypto.randomUUID();
    const r = await fetch(baseUrl + target, { method, headers, body });
    return { status: r.status, json: await r.json() };
  };
}

// The card network of the switch's browser tests (docs/switch.md): the switch in dir/switch with
// ICBC (BIN 622202) and CCB (621700) as members, each issuer and acquirer, and both banks with
// their demo data in dir/icbc and dir/ccb joined to it. beforeServe(): what goes into the data
// dirs before the servers start (a bank's merchant); stdio(name): each server's ('switch',
// 'icbc', 'ccb'). Resolves to { sw, icbc, ccb (the children), switchUrl, icbcUrl, ccbUrl }.
export async function startCardNetwork(dir, { beforeServe = () => {}, stdio }) {
  const banks = [['icbc', '622202'], ['ccb', '621700']];
  for (const [code, bin] of banks) {
    run(['switch', 'member', 'add', '--data-dir', `${dir}/switch`, '--member', code, '--name', code,
      '--roles', 'issuer,acquirer', '--bin', bin, '--funds', '100000000', '--out',
      `${dir}/${code}-member`]);
  }
  beforeServe();
  const sw = spawnServer(['switch', 'serve', '--data-dir', `${dir}/switch`, '--print-url-file',
    `${dir}/switch.url`], stdio('switch'));
  const switchUrl = await waitFile(`${dir}/switch.url`, sw);
  const [icbc, ccb] = banks.map(([code, bin]) => spawnServer(['bank', 'serve', '--data-dir',
    `${dir}/${code}`, '--code', code, '--bin', bin, '--demo-data', '--fast-hash',
    '--print-url-file', `${dir}/${code}.url`, '--switch-url', switchUrl, '--switch-member-dir',
    `${dir}/${code}-member`], stdio(code)));
  const icbcUrl = await waitFile(`${dir}/icbc.url`, icbc);
  const ccbUrl = await waitFile(`${dir}/ccb.url`, ccb);
  return { sw, icbc, ccb, switchUrl, icbcUrl, ccbUrl };
}

// A bank merchant's web shop on a free loopback port, for the bank's B2C pages: its page (GET
// anything) is a product with a Pay button, the order (orderId `${order}-<ms>`, amount in fen,
// goods) signed with the merchant's key from merchantDir (what `bank merchant add --out` wrote)
// as the bank's form posts it to bankUrl/b2c/pay; POST /notify counts the bank's
// notifications. Resolves to { url, notified() (how many), close() }.
export async function startWebShop(merchantDir, bankUrl, { order, amount, goods }) {
  const merchant = JSON.parse(fs.readFileSync(`${merchantDir}/merchant.json`, 'utf8'));
  const key = fs.readFileSync(`${merchantDir}/merchant.key`, 'utf8');
  const cert = fs.readFileSync(`${merchantDir}/merchant.crt`, 'utf8');
  let notified = 0;
  const shop = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/notify') {
      req.on('data', () => {});
      req.on('end', () => { notified++; res.end('OK'); });
      return;
    }
    const port = shop.address().port;
    const doc = JSON.stringify({
      interfaceName: 'PAYGATE_B2C_PAY', interfaceVersion: '1.0', orderId: `${order}-${Date.now()}`,
      orderDate: '20261125103000', amount, currency: 'CNY', merID: merchant.merID,
      merAcct: merchant.merAcct, merURL: `http://127.0.0.1:${port}/notify`, notifyType: 'HS',
      resultType: '0', merVAR: 'browser', goodsName: goods,
      returnURL: `http://127.0.0.1:${port}/done`,
    });
    const sig = crypto.createSign('RSA-SHA256').update(doc).sign(key, 'base64');
    const field = (n, v) => `<input type="hidden" name="${n}" value="${v}">`;
    const price = `¥${Math.floor(amount / 100)}.${String(amount % 100).padStart(2, '0')}`;
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><title>Web Shop</title><h1>${goods} — ${price}</h1>
<form method="post" action="${bankUrl}/b2c/pay">
${field('interfaceName', 'PAYGATE_B2C_PAY')}${field('interfaceVersion', '1.0')}
${field('tranData', Buffer.from(doc).toString('base64'))}${field('merSignMsg', sig)}
${field('merCert', Buffer.from(cert).toString('base64'))}
<button id="pay" type="submit">Pay with the bank</button></form>`);
  });
  await new Promise((r) => shop.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${shop.address().port}/`,
    notified: () => notified,
    close: () => shop.close(),
  };
}

// Starts `paygate demo` in dir/data on free ports and waits until it is ready; resolves to
// { demo (the child), urls ({ shop, platform, 'bank-icbc', … } from its --urls-file), log()
// (what it printed so far) }. Exits the test (1) with that output when it does not start.
export async function startDemo(dir) {
  let out = '';
  const demo = spawnServer(['demo', '--data-dir', `${dir}/data`, '--base-port', '0',
    '--urls-file', `${dir}/urls`], ['ignore', 'pipe', 'pipe']);
  demo.stdout.on('data', (c) => { out += c; });
  demo.stderr.on('data', (c) => { out += c; });
  try {
    const urls = Object.fromEntries((await waitFile(`${dir}/urls`, demo)).trim().split('\n')
      .map((line) => line.split(' ')));
    return { demo, urls, log: () => out };
  } catch (e) {
    console.error(`the demo did not get ready: ${e.message}\n${out}`);
    process.exit(1);
  }
}

// RFC 6238 code of a base32 secret at step offset `ahead` (each login uses a later step).
export function totp(secret, ahead) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const step = Buffer.alloc(8);
  step.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000) + ahead));
  const h = crypto.createHmac('sha1', key).update(step).digest();
  const o = h[h.length - 1] & 15;
  return ((h.readUInt32BE(o) & 0x7fffffff) % 1000000).toString().padStart(6, '0');
}

// The platform of a browser test in dir/pf, started on a free port: its platform.ini (`ini`),
// a merchant (`merchant`: { id, name }) with an Ed25519 key made here (public key in dir/m.pub),
// its `members` ([login, role, password]: their TOTP secrets by login), its `consumers`
// ([login, amount]: password "correct horse", payment password 246810, the amount in the
// wallet). stdio: the platform's (default: its stderr to dir/pf.log). Resolves to { pf (the
// child), pfUrl, privateKey, api (platformApi as the merchant), secrets }.
export async function startPlatform(dir, { ini, merchant, members = [], consumers = [], stdio }) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  fs.writeFileSync(`${dir}/m.pub`,
    publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64') + '\n');
  fs.mkdirSync(`${dir}/pf`, { recursive: true }); // a test may have put files there first
  fs.writeFileSync(`${dir}/pf/platform.ini`, ini);
  run(['platform', 'merchant', 'add', '--data-dir', `${dir}/pf`, '--id', merchant.id, '--name',
    merchant.name, '--public-key-file', `${dir}/m.pub`, '--notify-host', '127.0.0.1',
    '--allow-private-hosts']);
  const secrets = {};
  for (const [login, role, password] of members) {
    const out = run(['platform', 'member', 'add', '--data-dir', `${dir}/pf`, '--merchant',
      merchant.id, '--login', login, '--role', role, '--password', password]);
    secrets[login] = /totp_secret (\S+)/.exec(out)[1];
  }
  for (const [login, amount] of consumers) {
    run(['platform', 'consumer', 'add', '--data-dir', `${dir}/pf`, '--login', login,
      '--password', 'correct horse', '--pay-password', '246810']);
    run(['platform', 'wallet', 'credit', '--data-dir', `${dir}/pf`, '--consumer', login,
      '--amount', amount]);
  }
  const pf = spawnServer(['platform', '--config', `${dir}/pf/platform.ini`, '--data-dir',
    `${dir}/pf`, '--listen', '127.0.0.1:0', '--print-url-file', `${dir}/pf-url`],
  stdio || ['ignore', 'ignore', fs.openSync(`${dir}/pf.log`, 'w')]);
  const pfUrl = (await waitFile(`${dir}/pf-url`, pf)).trim();
  return { pf, pfUrl, privateKey, api: platformApi(pfUrl, merchant.id, privateKey), secrets };
}

// `paygate ledger verify` of a database clean (a check for finish).
export const ledgerClean = (db) => () => {
  const out = run(['ledger', 'verify', db]);
  if (!out.includes('is clean')) throw new Error(`ledger verify ${db}: ${out}`);
};

// `paygate audit verify` of a database intact (a check for finish).
export const auditIntact = (db) => () => {
  const out = run(['audit', 'verify', '--database', db]);
  if (!out.includes('is intact')) throw new Error(`audit verify ${db}: ${out}`);
};

// A server's exit code 0 after stopServer (a check for finish).
export const stoppedCleanly = (what, code) => () => {
  if (code !== 0) throw new Error(`${what} did not stop cleanly (exit ${code})`);
};

// The end of a browser test, once its browser is closed and its servers are stopped: after a
// pass, each of `checks` (functions that throw, e.g. ledgerClean: one that does fails the test)
// and then `ok` printed; the temp dir removed (kept after a failure); the exit, 0 or 1.
export function finish(dir, failed, checks = [], ok = '') {
  if (!failed) {
    try {
      for (const check of checks) check();
    } catch (e) {
      failed = true;
      console.error(e.stdout || e);
    }
  }
  if (!failed && ok) console.log(ok);
  removeDir(dir, failed);
  process.exit(failed ? 1 : 0);
}
