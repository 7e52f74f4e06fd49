// Browser test of the shop's after-sales (docs/shop.md) on `paygate demo`, in Chinese as a
// shopper in China sees it, with every amount checked through the platform's signed open API
// (the shop's own key, GET /v1/trades, /v1/balance):
//   1. an escrow order (担保交易): paid on the cashier, the money held (in_escrow); the admin
//      ships it with a tracking number (the trade WAIT_BUYER_CONFIRM_GOODS on the platform); the
//      shopper, logged out of the wallet, clicks "confirm receipt" in My orders, logs in, lands
//      on the trade's wallet page, confirms with the payment password: the order is received,
//      the trade TRADE_FINISHED, the money the shop's (available, less the fee);
//   2. an escrow order the shopper asks to refund from My orders (the platform's after-sales
//      request); the shop approves it through the API: the money goes back, the order refunded;
//   3. a plain order refunded in part from the admin: the confirmation page shows the amount and
//      moves nothing until confirmed; a second post of the same confirmation refunds nothing more.
import fs from 'node:fs';
import crypto from 'node:crypto';
import {
  requireBrowser, tempDir, startDemo, stopServer, platformApi, stoppedCleanly, finish,
} from './servers.mjs';

requireBrowser();
const { launch, shot, expect, consumerLogin, shopStaffGoto } = await import('./browser.mjs');
const dir = tempDir('shop-aftersales');
const digits = (s) => s.replace(/[^0-9.]/g, '');

const { demo, urls, log } = await startDemo(dir);
const PLATFORM = urls.platform;
const SHOP = urls.shop;
// the shop's merchant key (the demo made it): the API as the shop itself calls it
const api = platformApi(PLATFORM, 'shop',
  crypto.createPrivateKey(fs.readFileSync(`${dir}/data/shop/shop.key`)));

async function trade(order) {
  const r = await api('GET', `/v1/trades?out_trade_no=${order}`);
  expect(r.status === 200, `GET /v1/trades ${order}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

async function balance() {
  const r = await api('GET', '/v1/balance?currency=CNY');
  expect(r.status === 200, `GET /v1/balance: ${r.status}`);
  const b = r.json.balances[0];
  return { available: b.available.value, escrow: b.in_escrow.value };
}

// Waits until the shop's order has state `want` (the platform's notification reached the
// shop); each look is a real page load.
async function orderState(page, id, want) {
  let state;
  for (let i = 0; i < 300; i++) {
    await page.goto(`${SHOP}/orders/${id}`);
    state = await page.getAttribute('#order-state', 'data-state');
    if (state === want) return;
    await page.waitForTimeout(100);
  }
  throw new Error(`order ${id} is ${state}, not ${want}`);
}

async function walletBalance(page) {
  await page.goto(`${PLATFORM}/wallet`);
  await consumerLogin(page, '13800000001', 'demo-pass-1', { ifAsked: true });
  return digits(await page.textContent('#balance'));
}

// Buys `product` with `method` (escrow, platform) and pays with the wallet; the order's id.
async function buy(page, product, method, name) {
  await page.goto(`${SHOP}/`);
  await Promise.all([page.waitForNavigation(), page.click(`#add-${product}`)]);
  await page.check(`#pay-${method}`);
  if (name) await shot(page, name);
  await Promise.all([page.waitForNavigation(), page.click('#checkout')]);
  expect(page.url().startsWith(`${PLATFORM}/cashier/`), `on the cashier: ${page.url()}`);
  await consumerLogin(page, '13800000001', 'demo-pass-1', { ifAsked: true });
  await page.fill('#wallet-form input[name=pay_password]', '123456');
  await Promise.all([page.waitForNavigation(), page.click('#wallet-form button')]);
  expect(await page.$('#paid'), 'the cashier says paid');
  await page.goto(`${SHOP}/orders`);
  const id = (await page.getAttribute('#my-orders tr[id^="row-"]', 'id')).slice(4);
  await orderState(page, id, 'paid');
  return id;
}

async function escrowConfirmed(page) {
  const before = await balance();
  const id = await buy(page, 'tea', 'escrow', 'shop-aftersales-01-cart-escrow');
  let t = await trade(id);
  expect(t.product === 'escrow' && t.state === 'WAIT_SELLER_SEND_GOODS', `escrow trade ${t.state}`);
  let b = await balance();
  expect(b.escrow === (Number(before.escrow) + 68).toFixed(2), `68.00 in escrow (${b.escrow})`);
  expect(b.available === before.available, 'nothing available before receipt');
  await page.goto(`${SHOP}/orders`);
  expect(await page.$(`#request-${id}`), 'a paid order can ask for a refund');
  expect(!(await page.$(`#confirm-${id}`)), 'no receipt to confirm before shipping');

  // the admin ships it with a tracking number
  await shopStaffGoto(page, `${SHOP}/admin`, `${dir}/data`);
  await page.fill(`#ship-form-${id} input[name=logistics_company]`, '顺丰速运');
  await page.fill(`#ship-form-${id} input[name=tracking_no]`, 'SF1234567890');
  await shot(page, 'shop-aftersales-02-admin-ship');
  await Promise.all([page.waitForNavigation(), page.click(`#ship-${id}`)]);
  expect(await page.getAttribute(`#row-${id}`, 'data-state') === 'shipped', 'shipped in admin');
  t = await trade(id);
  expect(t.state === 'WAIT_BUYER_CONFIRM_GOODS' && t.tracking_no === 'SF1234567890' &&
    t.logistics_company === '顺丰速运', `shipped on the platform: ${JSON.stringify(t)}`);

  // the shopper, logged out of the wallet, confirms receipt from My orders
  await page.context().clearCookies({ name: 'pf_session' });
  await page.goto(`${PLATFORM}/wallet?next=https://evil.example/`);
  expect(!(await page.$('#login-form input[name=next]')), 'the login goes on only to a trade');
  await page.goto(`${SHOP}/orders`);
  expect((await page.textContent(`#row-${id} .state`)) === '已发货', 'shipped, by name');
  expect((await page.textContent(`#row-${id} .shipment`)).includes('SF1234567890'), 'tracking no');
  await shot(page, 'shop-aftersales-03-my-orders-shipped');
  await Promise.all([page.waitForNavigation(), page.click(`#confirm-${id}`)]);
  expect(await page.$('#login-form'), 'the wallet asks to log in');
  await consumerLogin(page, '13800000001', 'demo-pass-1');
  expect(page.url() === `${PLATFORM}/wallet/trades/${t.trade_id}`, `back at the trade: ${page.url()}`);
  await page.fill('#confirm-form input[name=pay_password]', '123456');
  await shot(page, 'shop-aftersales-04-wallet-confirm');
  await Promise.all([page.waitForNavigation(), page.click('#confirm-form button')]);
  expect(await page.getAttribute('#notice', 'data-notice') === 'receipt-confirmed', 'confirmed');
  await orderState(page, id, 'received');
  await shot(page, 'shop-aftersales-05-order-received');
  t = await trade(id);
  expect(t.state === 'TRADE_FINISHED', `TRADE_FINISHED (${t.state})`);
  b = await balance();
  expect(b.escrow === before.escrow, `escrow released (${b.escrow})`);
  const fee = Number(t.fee.value);
  expect(fee > 0, `a fee is taken at release (${t.fee.value})`);
  expect(b.available === (Number(before.available) + 68 - fee).toFixed(2),
    `available ${before.available} + 68.00 - ${t.fee.value} = ${b.available}`);
}

async function escrowRefundRequested(page) {
  const before = await balance();
  const wallet = Number(await walletBalance(page));
  const id = await buy(page, 'cup', 'escrow');
  await page.goto(`${SHOP}/orders`);
  await Promise.all([page.waitForNavigation(), page.click(`#request-${id}`)]);
  let t = await trade(id);
  expect(page.url().startsWith(`${PLATFORM}/wallet/trades/${t.trade_id}`), `the trade: ${page.url()}`);
  await page.fill('#refund-request-form input[name=amount]', '35.00');
  await page.fill('#refund-request-form [name=reason]', '杯子有裂纹');
  await shot(page, 'shop-aftersales-06-wallet-refund-request');
  await Promise.all([page.waitForNavigation(), page.click('#refund-request-form button')]);
  expect(await page.getAttribute('#notice', 'data-notice') === 'refund-requested', 'requested');
  // the shop approves it through the open API
  const list = await api('GET', `/v1/trades/${t.trade_id}/refund_requests`);
  const rq = list.json.refund_requests.at(-1);
  expect(rq.status === 'WAIT_MERCHANT' && rq.amount.value === '35.00', JSON.stringify(rq));
  const ok = await api('POST', `/v1/trades/${t.trade_id}/refund_requests/${rq.request_id}/approve`, '{}');
  expect(ok.status === 200 && ok.json.status === 'APPROVED', `approve: ${JSON.stringify(ok.json)}`);
  await orderState(page, id, 'refunded');
  await shot(page, 'shop-aftersales-07-order-refunded');
  t = await trade(id);
  expect(t.refunded.value === '35.00', `refunded 35.00 on the platform (${t.refunded.value})`);
  const b = await balance();
  expect(b.escrow === before.escrow && b.available === before.available,
    `the shop's money as before (${JSON.stringify(b)} vs ${JSON.stringify(before)})`);
  expect(await walletBalance(page) === wallet.toFixed(2), 'the wallet has its 35.00 back');
}

async function partialRefund(page) {
  const id = await buy(page, 'fan', 'platform');
  const wallet = Number(await walletBalance(page));
  await shopStaffGoto(page, `${SHOP}/admin`, `${dir}/data`);
  await page.fill(`#refund-amount-${id}`, '20.00');
  await Promise.all([page.waitForNavigation(), page.click(`#refund-${id}`)]);
  expect(await page.getAttribute('body', 'data-page') === 'refund_confirm', 'a confirmation page');
  expect(await page.getAttribute('#refund-amount', 'data-amount') === '20.00', 'it shows 20.00');
  await shot(page, 'shop-aftersales-08-refund-confirm');
  let t = await trade(id);
  expect(t.refunded.value === '0.00', 'nothing refunded before the confirmation');
  const form = Object.fromEntries(await page.$$eval('#confirm-refund-form input',
    (inputs) => inputs.map((i) => [i.name, i.value])));
  await Promise.all([page.waitForNavigation(), page.click('#confirm-refund')]);
  expect(page.url() === `${SHOP}/admin`, `back at the admin: ${page.url()}`);
  expect(await page.getAttribute(`#row-${id}`, 'data-state') === 'paid', 'still paid');
  await shot(page, 'shop-aftersales-09-admin-partly-refunded');
  // the same confirmation posted again (a double click, a reload) refunds nothing more
  const again = await page.request.post(`${SHOP}/admin/orders/${id}/refund`,
    { form, headers: { Origin: SHOP }, maxRedirects: 0 });
  expect(again.status() === 303, `the confirmation again: ${again.status()}`);
  t = await trade(id);
  expect(t.refunded.value === '20.00', `refunded 20.00 once (${t.refunded.value})`);
  const r = await api('GET', `/v1/trades/${t.trade_id}/refunds?out_refund_no=R${id}N1`);
  expect(r.status === 200 && r.json.amount.value === '20.00', `the refund: ${JSON.stringify(r.json)}`);
  expect(await walletBalance(page) === (wallet + 20).toFixed(2), 'the wallet has 20.00 back');
  await page.goto(`${SHOP}/orders/${id}`);
  expect(await page.getAttribute('#order-refunded', 'data-amount') === '20.00', 'order shows 20.00');
}

const browser = await launch();
let failed = false;
try {
  const page = await browser.newPage({ locale: 'zh-CN' });
  expect(await walletBalance(page) === '10000.00', 'the wallet starts at 10000.00');
  await escrowConfirmed(page);
  await escrowRefundRequested(page);
  await partialRefund(page);
  // 10000 - 68 (received) - 35 + 35 (refunded) - 45 + 20 (partly refunded)
  expect(await walletBalance(page) === '9907.00', 'the wallet at 9907.00');
  console.log('shop after-sales browser test: ok');
} catch (e) {
  failed = true;
  console.error(e);
  console.error(log());
} finally {
  await browser.close();
  finish(dir, failed, [stoppedCleanly('the demo', await stopServer(demo))]);
}
