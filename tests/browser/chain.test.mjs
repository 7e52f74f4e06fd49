// Browser test of the chain rail (docs/chain.md) with Chromium: a consumer opens the cashier,
// chooses "Pay with a stablecoin", takes the EIP-681 payment request the chain page shows, and
// pays it on the sandbox wallet page of the local node (chain/node.mjs) from a funded test
// account; once the payment has its confirmations (blocks mined, the platform's test clock
// moved: one watcher pass each), the chain page shows it paid and the trade is paid in CNY.
// Needs Chromium and playwright-core (requireBrowser) and the sandbox chain (npm ci in chain/).
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import {
  requireBrowser, tempDir, waitFile, stopServer, startPlatform, ledgerClean, finish,
} from './servers.mjs';

requireBrowser();
const src = process.env.PAYGATE_SOURCE_ROOT || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
if (!fs.existsSync(path.join(src, 'chain', 'node_modules', 'ganache'))) {
  const what = 'the sandbox chain is not installed (`npm ci` in chain/; scripts/deps.sh test does it)';
  if (process.env.PAYGATE_REQUIRE_BROWSER) {
    console.error(`FAIL: ${what}`);
    process.exit(1);
  }
  console.log(`SKIP: ${what}`);
  process.exit(77);
}
const { launch, shot, expect, artifacts } = await import('./browser.mjs');
// the sandbox wallet is the node's test tool, not a paygate page: no languages to check
const walletShot = (page, name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
const dir = tempDir('chain-browser');

// --- the chain ---------------------------------------------------------------------------------
const node = spawn(process.execPath, [path.join(src, 'chain', 'node.mjs'), '--info-file',
  `${dir}/node.json`], { stdio: ['ignore', 'ignore', fs.openSync(`${dir}/node.log`, 'w')] });
const info = JSON.parse(await waitFile(`${dir}/node.json`, node));
async function rpc(method, params = []) {
  const r = await fetch(info.url, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const j = await r.json();
  if (j.error) throw new Error(`${method}: ${j.error.message}`);
  return j.result;
}

// --- the platform on the test clock, with [chain]; a merchant ------------------------------------
// the deposit addresses: children of BIP-32 test vector 1's m/0H (public only)
const { pf, pfUrl, api } = await startPlatform(dir, {
  ini: `[server]
fake_clock = true
[notify]
allow_private_hosts = true
[chain]
rpc_url = ${info.url}
allow_private = true
chain_id = ${info.chain_id}
token = ${info.token}
asset = PTD
decimals = 6
xpub = xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw
confirmations = 2
poll_interval = 1h
rate = 7.25
rate_currency = CNY
`,
  merchant: { id: 'm_web', name: 'Tea House' },
});

// One watcher pass: move the test clock (the watcher is one of its workers), then wait until
// every worker has looked at the new time (GET /sandbox/clock, docs/http.md).
async function pass() {
  const r = await fetch(`${pfUrl}/sandbox/clock`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ advance_ms: 1000 }) });
  expect(r.status === 200, `clock moved (${r.status})`);
  const { moves } = await r.json();
  for (const end = Date.now() + 60000; Date.now() < end; await new Promise((w) => setTimeout(w, 20))) {
    const c = await (await fetch(`${pfUrl}/sandbox/clock`)).json();
    if (c.workers.every((w) => w.seen_moves >= moves)) return;
  }
  throw new Error('the workers did not look at the moved clock');
}

const browser = await launch();
let failed = false;
try {
  await pass(); // the watcher's first pass starts at the node's head
  const t = await api('POST', '/v1/trades', JSON.stringify({ out_trade_no: `chain-${Date.now()}`,
    amount: { value: '72.50', currency: 'CNY' }, subject: 'Green tea', return_url: 'http://127.0.0.1:9/back' }));
  expect(t.status === 201, `trade created (${t.status})`);
  const id = t.json.trade_id;
  const page = await browser.newPage();
  await page.goto(`${pfUrl}/cashier/${id}`);
  await shot(page, 'chain-01-cashier');
  await Promise.all([page.waitForNavigation(), page.click('#pay-chain')]);
  expect(await page.getAttribute('body', 'data-page') === 'cashier-chain', 'the chain page');
  expect(await page.isVisible('#chain-qr svg'), 'a QR code');
  const uri = await page.getAttribute('#chain-pay', 'data-uri');
  expect(await page.getAttribute('#chain-pay', 'data-due') === '10.000000', '10 PTD for 72.50 CNY at 7.25');
  expect(uri.startsWith(`ethereum:`) && uri.includes('/transfer?address=') && uri.endsWith('uint256=10000000'), `EIP-681 URI ${uri}`);
  expect(await page.getAttribute('#chain-uri', 'href') === uri, 'the link is the URI');
  expect(await page.getAttribute('#chain-pay', 'data-status') === 'waiting', 'waiting');
  await shot(page, 'chain-02-deposit');

  // the sandbox wallet, in another tab: the payment request pasted, a funded account chosen
  const wallet = await browser.newPage();
  await wallet.goto(info.wallet_url);
  await wallet.fill('#uri', uri);
  await wallet.selectOption('#from', info.accounts[3]);
  await walletShot(wallet, 'chain-03-wallet');
  await Promise.all([wallet.waitForNavigation(), wallet.click('#pay')]);
  expect(await wallet.isVisible('#paid'), 'the wallet sent it');
  await walletShot(wallet, 'chain-04-wallet-paid');
  // a request for another chain is refused by the wallet
  await wallet.goto(info.wallet_url);
  await wallet.fill('#uri', uri.replace(`@${info.chain_id}/`, '@1/'));
  await Promise.all([wallet.waitForNavigation(), wallet.click('#pay')]);
  expect((await wallet.textContent('#error')).includes('chain 1'), 'another chain refused');

  await pass(); // seen: 1 confirmation of 2
  await page.reload();
  expect(await page.getAttribute('#chain-pay', 'data-status') === 'confirming', 'confirming');
  expect((await api('GET', `/v1/trades/${id}`)).json.state === 'WAIT_BUYER_PAY', 'not paid yet');
  await rpc('evm_mine');
  await pass();
  // the page reloads itself every 5 s until paid: wait for what it shows
  await page.waitForSelector('#chain-pay[data-status=paid]', { timeout: 60000 });
  await shot(page, 'chain-05-paid');
  const s = (await api('GET', `/v1/trades/${id}`)).json;
  expect(s.state === 'TRADE_SUCCESS' && s.pay_method === 'chain', `trade paid on chain (${s.state})`);
  console.log('chain browser test: ok');
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
  await stopServer(pf);
  node.kill('SIGTERM');
  finish(dir, failed, [ledgerClean(`${dir}/pf/platform.db`)]);
}
