// Browser test of the whole chain started by `paygate demo` (README's first command): a
// consumer buys two products in the shop and pays on the platform's cashier with the wallet,
// buys again and pays directly through the shop's bank (card, password, SMS code from the
// sandbox outbox, confirm); both orders show "paid" in the shop; the wallet, the card
// account and the shop's balance at the platform show the right amounts; one order is refunded
// from the shop's admin page (through its confirmation page) and the refund shows in the shop
// and in the wallet. Then, on the sandbox chain the demo starts (docs/chain.md), an order is
// paid in PTD: the cashier's stablecoin page, its payment request paid from the sandbox wallet
// page, the order paid in the shop, the shop credited in CNY; the platform publishes where its
// payment log is anchored. Screenshots go to the artefacts directory
// ($PAYGATE_ARTIFACTS). Needs Chromium and playwright-core (see requireBrowser in servers.mjs).
// The demo runs on free ports (--base-port 0) and says where in its --urls-file.
import fs from 'node:fs';
import path from 'node:path';
import {
  requireBrowser, tempDir, startDemo, stopServer, stoppedCleanly, finish,
} from './servers.mjs';

requireBrowser();
const {
  launch, shot, expect, consumerLogin, artifacts, shopStaffGoto,
} = await import('./browser.mjs');
// the sandbox wallet is the chain node's test tool, not a paygate page: no languages to check
const walletShot = (page, name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
const src = process.env.PAYGATE_SOURCE_ROOT || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
// with the chain's npm packages installed, the demo must start the chain
const chainInstalled = fs.existsSync(path.join(src, 'chain', 'node_modules', 'ganache', 'package.json'));
const dir = tempDir('demo-browser');
const digits = (s) => s.replace(/[^0-9.]/g, '');

const { demo, urls, log } = await startDemo(dir);
const BANK = urls['bank-icbc'];
const PLATFORM = urls.platform;
const SHOP = urls.shop;

// The shop's balance at the platform, as its admin page shows it (the shop asks the platform
// through the SDK: GET /v1/balance).
async function merchantBalance(page, name) {
  await shopStaffGoto(page, `${SHOP}/admin`, `${dir}/data`);
  await shot(page, name);
  return digits(await page.textContent('#platform-balance tr[data-currency="CNY"] .available'));
}

async function orderState(page, id, want) {
  for (let i = 0; i < 50; i++) {
    await page.goto(`${SHOP}/orders/${id}`);
    if (await page.getAttribute('#order-state', 'data-state') === want) return;
    await page.waitForTimeout(200);
  }
  throw new Error(`order ${id} is not ${want}`);
}

async function newestOrder(page) {
  await page.goto(`${SHOP}/orders`);
  const id = await page.getAttribute('#my-orders tr[id^="row-"]', 'id');
  return id.slice(4);
}

async function walletBalance(page, name) {
  await page.goto(`${PLATFORM}/wallet`);
  await consumerLogin(page, '13800000001', 'demo-pass-1', { ifAsked: true });
  await shot(page, name);
  return digits(await page.textContent('#balance'));
}

async function payByWallet(page) {
  await page.goto(`${SHOP}/`);
  await Promise.all([page.waitForNavigation(), page.click('#add-tea')]);
  await page.goto(`${SHOP}/`);
  await shot(page, 'demo-01-catalogue');
  expect((await page.textContent('h1')) === '商品目录', 'the shop speaks Chinese');
  expect((await page.textContent('#product-tea .price')) === '¥68.00', 'prices as ¥68.00');
  // the switch: English, and it sticks across the chain (one cookie on 127.0.0.1)
  await Promise.all([page.waitForNavigation(), page.click('#lang-en')]);
  expect((await page.textContent('h1')) === 'Catalogue', 'switched to English');
  await shot(page, 'demo-01b-catalogue-en');
  await page.goto(`${BANK}/admin`);
  expect(await page.getAttribute('html', 'lang') === 'en', 'the bank\'s pages follow the choice');
  await page.goto(`${SHOP}/`);
  await Promise.all([page.waitForNavigation(), page.click('#lang-zh-CN')]);
  expect((await page.textContent('h1')) === '商品目录', 'back to Chinese');
  await Promise.all([page.waitForNavigation(), page.click('#add-cup')]);
  expect(digits(await page.textContent('#cart-total')) === '103.00', 'cart total 103.00');
  await page.check('#pay-platform');
  await shot(page, 'demo-02-cart');
  await Promise.all([page.waitForNavigation(), page.click('#checkout')]);
  expect(page.url().startsWith(`${PLATFORM}/cashier/`), `on the cashier: ${page.url()}`);
  await shot(page, 'demo-03-cashier');
  await consumerLogin(page, '13800000001', 'demo-pass-1', { ifAsked: true });
  await page.fill('#wallet-form input[name=pay_password]', '123456');
  await shot(page, 'demo-04-cashier-wallet');
  await Promise.all([page.waitForNavigation(), page.click('#wallet-form button')]);
  expect(await page.$('#paid'), 'the cashier says paid');
  await shot(page, 'demo-05-cashier-paid');
  const id = await newestOrder(page);
  await orderState(page, id, 'paid');
  await shot(page, 'demo-06-order-paid-platform');
  return id;
}

async function payAtBank(browser, page) {
  await page.goto(`${SHOP}/`);
  await Promise.all([page.waitForNavigation(), page.click('#add-pot')]);
  await page.check('#pay-bank');
  await Promise.all([page.waitForURL(`${BANK}/b2c/pay`), page.click('#checkout')]);
  await page.waitForSelector('body[data-page="card"]');
  expect((await page.textContent('#bank-name')) === '中国工商银行', 'the bank by its name');
  await shot(page, 'demo-07-bank-card');
  await page.fill('#cardNo', '6222 0200 0000 0015');
  await Promise.all([page.waitForNavigation(), page.click('#next')]);
  await page.fill('#password', '123456');
  await Promise.all([page.waitForNavigation(), page.click('#send-sms')]);
  const outbox = await browser.newPage();
  await outbox.goto(`${BANK}/sandbox/sms`);
  await shot(outbox, 'demo-08-bank-sms-outbox');
  const code = await outbox.getAttribute('#sms tr[data-code]', 'data-code');
  expect((await outbox.textContent('#sms td.text')).startsWith('【中国工商银行】验证码'),
    'the SMS is signed with the bank\'s name, in Chinese');
  await outbox.close();
  await page.fill('#smsCode', code);
  await Promise.all([page.waitForNavigation(), page.click('#verify')]);
  await shot(page, 'demo-09-bank-confirm');
  await Promise.all([page.waitForNavigation(), page.click('#confirm')]);
  expect(await page.getAttribute('body', 'data-page') === 'result', 'bank result page');
  await shot(page, 'demo-10-bank-result');
  await Promise.all([page.waitForNavigation(), page.click('#back')]);
  expect(page.url().startsWith(`${SHOP}/orders/`), `back at the shop: ${page.url()}`);
  const id = page.url().split('/').pop();
  await orderState(page, id, 'paid');
  await shot(page, 'demo-11-order-paid-bank');
  return id;
}

// The sandbox chain: the tea (68.00 CNY, 9.379311 PTD at 7.25) paid from the sandbox wallet.
async function payOnChain(browser, page) {
  await page.goto(`${SHOP}/`);
  await Promise.all([page.waitForNavigation(), page.click('#add-tea')]);
  await page.check('#pay-platform');
  await Promise.all([page.waitForNavigation(), page.click('#checkout')]);
  expect(page.url().startsWith(`${PLATFORM}/cashier/`), `on the cashier: ${page.url()}`);
  await Promise.all([page.waitForNavigation(), page.click('#pay-chain')]);
  expect(await page.getAttribute('body', 'data-page') === 'cashier-chain', 'the chain page');
  await shot(page, 'demo-20-cashier-chain');
  const uri = await page.getAttribute('#chain-pay', 'data-uri');
  expect(await page.getAttribute('#chain-pay', 'data-due') === '9.379311', '68.00 CNY is 9.379311 PTD');
  expect(await page.getAttribute('#chain-pay', 'data-status') === 'waiting', 'waiting');
  const wallet = await browser.newPage();
  await wallet.goto(`${urls.wallet}?uri=${encodeURIComponent(uri)}`);
  await walletShot(wallet, 'demo-21-sandbox-wallet');
  await Promise.all([wallet.waitForNavigation(), wallet.click('#pay')]);
  expect(await wallet.isVisible('#paid'), 'the sandbox wallet sent it');
  await walletShot(wallet, 'demo-22-sandbox-wallet-paid');
  await wallet.close();
  // the platform's watcher credits it at its next look (1 s); the page reloads itself
  await page.waitForSelector('#chain-pay[data-status=paid]', { timeout: 60000 });
  await shot(page, 'demo-23-cashier-chain-paid');
  const id = await newestOrder(page);
  await orderState(page, id, 'paid');
  await shot(page, 'demo-24-order-paid-chain');
  return id;
}

const browser = await launch();
let failed = false;
try {
  const page = await browser.newPage({ locale: 'zh-CN' }); // a shopper in China
  expect(await walletBalance(page, 'demo-00-wallet-before') === '10000.00', 'wallet starts at 10000.00');
  const o1 = await payByWallet(page);
  const o2 = await payAtBank(browser, page);
  await page.goto(`${SHOP}/orders`);
  await shot(page, 'demo-12-my-orders');
  for (const o of [o1, o2]) {
    expect(await page.getAttribute(`#row-${o}`, 'data-state') === 'paid', `${o} paid in my orders`);
    expect((await page.textContent(`#row-${o} .state`)) === '已支付', 'the state by name');
  }
  expect(await walletBalance(page, 'demo-13-wallet-after-pay') === '9897.00', 'wallet paid 103.00');
  const mb = await merchantBalance(page, 'demo-13b-shop-platform-balance'); // 103.00 less the 0.60% fee (0.62, half-even)
  expect(mb === '102.38', `merchant balance 102.38 at the platform (${mb})`);
  await page.goto(`${BANK}/admin`);
  await shot(page, 'demo-14-bank-admin');
  expect(digits(await page.textContent('body')).includes('99712.00'), 'card account paid 288.00');
  await shopStaffGoto(page, `${SHOP}/admin`, `${dir}/data`);
  await shot(page, 'demo-15-shop-admin');
  for (const o of [o1, o2]) {
    expect((await page.textContent(`#row-${o} .fulfilments`)).trim() === '1', `${o} fulfilled once`);
  }
  await Promise.all([page.waitForNavigation(), page.click(`#refund-${o1}`)]);
  expect(await page.getAttribute('#refund-amount', 'data-amount') === '103.00', 'confirm 103.00');
  await shot(page, 'demo-15b-shop-refund-confirm');
  await Promise.all([page.waitForNavigation(), page.click('#confirm-refund')]);
  expect(await page.getAttribute(`#row-${o1}`, 'data-state') === 'refunded', 'refunded in admin');
  await shot(page, 'demo-16-shop-admin-refunded');
  await orderState(page, o1, 'refunded');
  await shot(page, 'demo-17-order-refunded');
  expect(await walletBalance(page, 'demo-18-wallet-after-refund') === '10000.00', 'refund back in the wallet');
  const mb2 = await merchantBalance(page, 'demo-19-shop-platform-balance'); // a full refund returns the fee too
  expect(mb2 === '0.00', `merchant balance 0.00 after the refund (${mb2})`);
  expect(!chainInstalled || urls.chain, `chain/ is installed but the demo did not start the chain:\n${log()}`);
  if (urls.chain) {
    await payOnChain(browser, page);
    const mb3 = await merchantBalance(page, 'demo-25-shop-platform-balance'); // 68.00 less 0.41
    expect(mb3 === '67.59', `merchant balance 67.59 after the chain payment (${mb3})`);
    const key = await (await fetch(`${PLATFORM}/.well-known/paygate-platform-key`)).json();
    expect(/^0x[0-9a-fA-F]{40}$/.test(key.anchor?.address || '') && key.anchor.chain_id === 1337,
      `the anchor address published with the key (${JSON.stringify(key.anchor)})`);
    expect(log().includes(key.anchor.address), 'the demo names the anchor address');
  }
  console.log('demo browser test: ok');
} catch (e) {
  failed = true;
  console.error(e);
  console.error(log());
} finally {
  await browser.close();
  finish(dir, failed, [stoppedCleanly('the demo', await stopServer(demo))]);
}
