// Browser test of the merchant portal (docs/portal.md) with Chromium: an owner made by the CLI
// logs in with password and TOTP code, walks every portal page in Chinese and in English on a
// phone (390 px) and a desktop (1280 px) — nothing wider than the window, no console errors,
// no failed requests — and refunds part of a trade through the confirmation step. Exit 77
// (skip) when Chromium or playwright-core is missing.
import fs from 'node:fs';
import crypto from 'node:crypto';
import {
  requireBrowser, tempDir, removeDir, run, spawnServer, waitFile, stopServer, platformApi,
} from './servers.mjs';

requireBrowser();
const { launch, shot, expect, consumerLogin } = await import('./browser.mjs');
const dir = tempDir('portal-browser');

// RFC 6238 code of a base32 secret at step offset `ahead` (each login uses a later step).
function totp(secret, ahead) {
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

const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
fs.mkdirSync(`${dir}/pf`);
fs.writeFileSync(`${dir}/m.pub`, publicKey.export({ format: 'der', type: 'spki' }).subarray(-32)
  .toString('base64') + '\n');
fs.writeFileSync(`${dir}/pf/platform.ini`, '[notify]\nallow_private_hosts = true\n');
run(['platform', 'merchant', 'add', '--data-dir', `${dir}/pf`, '--id', 'm_web', '--name',
  '茶馆 Tea House', '--public-key-file', `${dir}/m.pub`, '--notify-host', '127.0.0.1',
  '--allow-private-hosts']);
const out = run(['platform', 'member', 'add', '--data-dir', `${dir}/pf`, '--merchant', 'm_web',
  '--login', 'boss@tea.example', '--role', 'owner', '--password', 'owner-password-1']);
const secret = /totp_secret (\S+)/.exec(out)[1];
run(['platform', 'consumer', 'add', '--data-dir', `${dir}/pf`, '--login', '13800000001',
  '--password', 'correct horse', '--pay-password', '246810']);
run(['platform', 'wallet', 'credit', '--data-dir', `${dir}/pf`, '--consumer', '13800000001',
  '--amount', '500.00']);
const pf = spawnServer(['platform', '--config', `${dir}/pf/platform.ini`, '--data-dir',
  `${dir}/pf`, '--listen', '127.0.0.1:0', '--print-url-file', `${dir}/pf-url`],
['ignore', 'ignore', fs.openSync(`${dir}/pf.log`, 'w')]);
const pfUrl = await waitFile(`${dir}/pf-url`, pf);

const api = platformApi(pfUrl, 'm_web', privateKey);

// Every page: no horizontal overflow at the window's width, then the screenshot.
async function check(page, name, width) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(wide <= width, `${name}: ${wide} px wide in a ${width} px window`);
  await shot(page, name);
}

const browser = await launch();
let failed = false;
try {
  const t = (await api('POST', '/v1/trades', JSON.stringify({
    out_trade_no: 'tea-0001', amount: { value: '68.00', currency: 'CNY' }, subject: '龙井茶 250g',
  }))).json;
  const buyer = await (await browser.newContext({ locale: 'zh-CN' })).newPage();
  await buyer.goto(t.cashier_url);
  await consumerLogin(buyer, '13800000001', 'correct horse');
  await buyer.fill('#wallet-form input[name=pay_password]', '246810');
  await Promise.all([buyer.waitForNavigation(), buyer.click('#wallet-form button')]);
  expect(await buyer.getAttribute('#notice', 'data-notice') === 'paid', 'paid by wallet');

  let ahead = 0;
  for (const [locale, width, tag] of [['zh-CN', 390, 'zh-phone'], ['en-US', 1280, 'en-desk']]) {
    const ctx = await browser.newContext({ locale, viewport: { width, height: 844 },
      isMobile: width < 500, hasTouch: width < 500 });
    const page = await ctx.newPage();
    const problems = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
    await page.goto(`${pfUrl}/portal`);
    await check(page, `portal-${tag}-1-login`, width);
    await page.fill('#portal-login input[name=login]', 'boss@tea.example');
    await page.fill('#portal-login input[name=password]', 'owner-password-1');
    await page.fill('#portal-login input[name=totp]', totp(secret, ahead++));
    await Promise.all([page.waitForNavigation(), page.click('#portal-login button')]);
    expect(await page.getAttribute('body', 'data-page') === 'portal-trades', `${tag}: logged in`);
    expect(await page.getAttribute('html', 'lang') === (locale === 'zh-CN' ? 'zh-CN' : 'en'),
      `${tag}: the page's language`);
    await check(page, `portal-${tag}-2-trades`, width);
    await Promise.all([page.waitForNavigation(), page.click('#trades a.id')]);
    await check(page, `portal-${tag}-3-trade`, width);
    await page.fill('#refund-form input[name=amount]', '8.00');
    await page.fill('#refund-form input[name=reason]', locale === 'zh-CN' ? '少发一盒' : 'one box short');
    await Promise.all([page.waitForNavigation(), page.click('#refund-form button')]);
    await check(page, `portal-${tag}-4-refund-confirm`, width);
    await Promise.all([page.waitForNavigation(), page.click('#refund-confirm button')]);
    expect(await page.getAttribute('#notice', 'data-notice') === 'refunded', `${tag}: refunded`);
    await check(page, `portal-${tag}-5-refunded`, width);
    await page.goto(`${pfUrl}/portal/keys`);
    await check(page, `portal-${tag}-6-keys`, width);
    await page.goto(`${pfUrl}/portal/team`);
    await check(page, `portal-${tag}-7-team`, width);
    await Promise.all([page.waitForNavigation(), page.click('#logout button')]);
    expect(await page.getAttribute('body', 'data-page') === 'portal-login', `${tag}: logged out`);
    expect(problems.length === 0, `${tag}: ${problems.join('; ')}`);
    await ctx.close();
  }
  const s = (await api('GET', `/v1/trades/${t.trade_id}`)).json;
  expect(s.refunded.value === '16.00', `two refunds of 8.00: ${JSON.stringify(s.refunded)}`);
  console.log('portal browser test: ok');
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
  await stopServer(pf);
  if (!failed) {
    try {
      run(['ledger', 'verify', `${dir}/pf/platform.db`]);
    } catch (e) {
      failed = true;
      console.error('ledger verify failed', e.stdout);
    }
  }
  removeDir(dir, failed);
}
process.exit(failed ? 1 : 0);
