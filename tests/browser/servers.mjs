// Shared server plumbing for the browser tests (bank, platform, demo): the skip check, the
// paygate binary, temp dirs, starting `paygate` server processes, waiting for the URL they
// print (to a file or to stdout) or a line of output, stopping them with SIGTERM. Only Node's
// own modules here, so it loads even when playwright-core is missing (the skip check needs it).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

// The binary under test: $PAYGATE_BIN, else `paygate` on PATH.
export const paygate = process.env.PAYGATE_BIN || 'paygate';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Exits 77 (meson's "skipped") when Chromium or node_modules/playwright-core is missing; call
// it before importing browser.mjs.
export function skipWithoutBrowser() {
  const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(chromium) || !fs.existsSync(path.join(here, 'node_modules', 'playwright-core'))) {
    console.log('SKIP: chromium or node_modules/playwright-core missing');
    process.exit(77);
  }
}

// A fresh directory under the OS temp dir, named paygate-<name>-XXXXXX; removeDir deletes it.
export function tempDir(name) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `paygate-${name}-`));
}

// Deletes dir, unless $PAYGATE_KEEP_TMP is set (kept for a post-mortem).
export function removeDir(dir) {
  if (!process.env.PAYGATE_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
}

// Runs `paygate <args>` to completion and returns its stdout (throws when it fails).
export function run(args) {
  return execFileSync(paygate, args, { encoding: 'utf8' });
}

// Starts `paygate <args>` as a child process; stdio as for child_process.spawn. Stop it with
// stopServer.
export function spawnServer(args, stdio) {
  return spawn(paygate, args, { stdio });
}

// Waits (polling every 50 ms, up to tries times) until file f exists and is not empty, e.g.
// what `--print-url-file` writes; returns its text or throws.
export async function waitFile(f, tries = 300) {
  for (let i = 0; i < tries; i++) {
    if (fs.existsSync(f) && fs.readFileSync(f, 'utf8')) return fs.readFileSync(f, 'utf8');
    await sleep(50);
  }
  throw new Error(`no ${f}`);
}

// Resolves with the first http:// URL the child prints on stdout (spawned with stdout 'pipe');
// rejects after ms.
export function waitPrintedUrl(child, ms = 15000) {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /(http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    setTimeout(() => reject(new Error('the server did not print its URL')), ms);
  });
}

// Sends SIGTERM to the child (when it still runs) and resolves with its exit code.
export async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  return exited;
}
