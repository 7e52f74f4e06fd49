// Shared server plumbing for the browser tests (bank, platform, demo): the check that the
// browser is there, the paygate binary, temp dirs, starting `paygate` server processes,
// waiting for the URL file they write once they listen (`--print-url-file`, the demo's
// `--urls-file`), stopping them with SIGTERM. Only Node's own modules here, so it loads even
// when playwright-core is missing (the check needs it).
import crypto from 'node:crypto';
import fs from 'node:fs';
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
