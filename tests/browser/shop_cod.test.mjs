// Browser test of cash on delivery (货到付款, docs/shop.md) on `paygate demo`, in Chinese: a
// shopper orders tea paying the courier in cash; the order goes to fulfilment unpaid (no trade
// at the platform: the signed API finds none, the shop's platform balance does not move) and
// the shop's books owe ¥68.00; the admin ships it; the courier records the cash collected: the
// order is received, the books show ¥68.00 collected and nothing owed. A second order (a fan) is
// refused at the door: closed, nothing owed, the sale reversed. The courier cannot record a
// delivery twice.
import crypto from 'node:crypto';
import fs from 'node:fs';
import {
  requireBrowser, tempDir, startDemo, stopServer, platformApi, stoppedCleanly, finish,
} from './servers.mjs';

requireBrowser();
const { launch, shot, expect, shopStaffGoto } = await import('./browser.mjs');
const dir = tempDir('shop-cod');
const { demo, urls, log } = await startDemo(dir);
const SHOP = urls.shop;
const api = platformApi(urls.platform, 'shop',
  crypto.createPrivateKey(fs.readFileSync(`${dir}/data/shop/shop.key`)));

async function platformBalance() {
  const r = await api('GET', '/v1/balance?currency=CNY');
  expect(r.status === 200, `GET /v1/balance: ${r.status}`);
  return r.json.balances[0].available.value;
}

// The books as the admin's books page shows them: { cod_receivable, cash, sales }.
async function books(page, name) {
  await shopStaffGoto(page, `${SHOP}/admin/books`, `${dir}/data`);
  if (name) await shot(page, name);
  const rows = await page.$$eval('#books-balances tr[data-account]', (trs) => trs.map((tr) =>
    [tr.dataset.account, tr.querySelector('.balance').dataset.amount]));
  return Object.fromEntries(rows);
}

async function orderCod(page, product, name) {
  await page.goto(`${SHOP}/`);
  await Promise.all([page.waitForNavigation(), page.click(`#add-${product}`)]);
  await page.check('#pay-cod');
  if (name) await shot(page, name);
  await Promise.all([page.waitForNavigation(), page.click('#checkout')]);
  expect(page.url().startsWith(`${SHOP}/orders/`), `the order's page: ${page.url()}`);
  return page.url().split('/').pop();
}

const browser = await launch();
let failed = false;
try {
  const page = await browser.newPage({ locale: 'zh-CN' });
  const before = await platformBalance();
  const o1 = await orderCod(page, 'tea', 'shop-cod-01-cart');
  expect(await page.getAttribute('#order-state', 'data-state') === 'cod', 'unpaid, to deliver');
  expect((await page.textContent('#order-state')) === '货到付款，待送达', 'the state by name');
  await shot(page, 'shop-cod-02-order');
  const none = await api('GET', `/v1/trades?out_trade_no=${o1}`);
  expect(none.status === 404, `no trade at the platform for a COD order (${none.status})`);
  let b = await books(page, 'shop-cod-03-books-owed');
  expect(b.cod_receivable === '68.00' && b.sales === '-68.00' && b.cash === '0.00',
    `COD owed 68.00: ${JSON.stringify(b)}`);

  // the admin ships it; the courier takes the cash at the door
  await shopStaffGoto(page, `${SHOP}/admin`, `${dir}/data`);
  await page.fill(`#ship-form-${o1} input[name=logistics_company]`, '中通快递');
  await page.fill(`#ship-form-${o1} input[name=tracking_no]`, 'ZTO778899');
  await Promise.all([page.waitForNavigation(), page.click(`#ship-${o1}`)]);
  expect(await page.getAttribute(`#row-${o1}`, 'data-state') === 'shipped', 'shipped');
  await Promise.all([page.waitForNavigation(), page.click('#courier-link')]);
  expect((await page.textContent(`#row-${o1} .collect`)) === '¥68.00', 'collect ¥68.00');
  const o2 = await orderCod(page, 'fan');
  await page.goto(`${SHOP}/courier`);
  await shot(page, 'shop-cod-04-courier');
  await Promise.all([page.waitForNavigation(), page.click(`#collect-${o1}`)]);
  expect(!(await page.$(`#row-${o1}`)), 'delivered: off the courier\'s list');
  // the same record posted again is refused: the cash is booked once
  const csrf = await page.getAttribute('#logout input[name=csrf]', 'value');
  const again = await page.request.post(`${SHOP}/courier/orders/${o1}/delivered`,
    { form: { collected: '68.00', csrf }, headers: { Origin: SHOP }, maxRedirects: 0 });
  expect(again.status() === 409, `a second delivery record: ${again.status()}`);
  await Promise.all([page.waitForNavigation(), page.click(`#refuse-${o2}`)]);
  expect(await page.$('#no-deliveries'), 'nothing left to deliver');

  await page.goto(`${SHOP}/orders/${o1}`);
  expect(await page.getAttribute('#order-state', 'data-state') === 'received', 'received');
  await page.goto(`${SHOP}/orders/${o2}`);
  expect(await page.getAttribute('#order-state', 'data-state') === 'closed', 'refused: closed');
  await shot(page, 'shop-cod-05-order-refused');
  b = await books(page, 'shop-cod-06-books-collected');
  expect(b.cod_receivable === '0.00' && b.cash === '68.00' && b.sales === '-68.00',
    `collected 68.00, nothing owed: ${JSON.stringify(b)}`);
  const kinds = await page.$$eval('#books-entries tr[data-kind]', (trs) => trs.map((tr) =>
    `${tr.dataset.order}:${tr.dataset.kind}`));
  expect(kinds.sort().join(' ') === [`${o1}:collected`, `${o1}:owed`, `${o2}:owed`,
    `${o2}:refused`].sort().join(' '), `one entry per event: ${kinds}`);
  expect(await platformBalance() === before, 'cash never passes through the platform');
  console.log('shop cash-on-delivery browser test: ok');
} catch (e) {
  failed = true;
  console.error(e);
  console.error(log());
} finally {
  await browser.close();
  finish(dir, failed, [stoppedCleanly('the demo', await stopServer(demo))]);
}
