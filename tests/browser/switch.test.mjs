// Browser test of the card network (docs/switch.md): the switch and two banks as its members;
// a shopper on an ICBC merchant's page types a CCB card number on ICBC's card page, gets the
// network card page (他行银联卡, in Chinese; also in English), gives expiry and CVN2, and sees
// the result page: CCB authorized the payment through the switch. Screenshots go to the
// artefacts directory. Needs Chromium and playwright-core (see requireBrowser in servers.mjs).
import fs from 'node:fs';
import http from 'node:http';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  paygate, requireBrowser, tempDir, removeDir, spawnServer, waitFile, stopServer,
} from './servers.mjs';

requireBrowser();
const { launch, shot, expect } = await import('./browser.mjs');
const dir = tempDir('switch-browser');
const CCB_CARD = '6217000000000014'; // CCB's demo card 1 (docs/bank.md)
const run = (args) => execFileSync(paygate, args, { encoding: 'utf8' });

for (const [code, bin] of [['icbc', '622202'], ['ccb', '621700']]) {
  run(['switch', 'member', 'add', '--data-dir', `${dir}/switch`, '--member', code, '--name', code,
    '--roles', 'issuer,acquirer', '--bin', bin, '--funds', '100000000', '--out',
    `${dir}/${code}-member`]);
}
run(['bank', 'merchant', 'add', '--data-dir', `${dir}/icbc`, '--code', 'icbc', '--bin', '622202',
  '--fast-hash', '--mer-id', 'WEB1', '--name', 'Web Shop', '--referrer-domain', '127.0.0.1',
  '--notify-domain', '127.0.0.1', '--out', `${dir}/m`]);
const merchant = JSON.parse(fs.readFileSync(`${dir}/m/merchant.json`, 'utf8'));
const key = fs.readFileSync(`${dir}/m/merchant.key`, 'utf8');
const cert = fs.readFileSync(`${dir}/m/merchant.crt`, 'utf8');

const log = (name) => ['ignore', 'ignore', fs.openSync(`${dir}/${name}.log`, 'w')];
const sw = spawnServer(['switch', 'serve', '--data-dir', `${dir}/switch`, '--print-url-file',
  `${dir}/switch.url`], log('switch'));
const switchUrl = await waitFile(`${dir}/switch.url`, sw);
const bank = (code, bin) => spawnServer(['bank', 'serve', '--data-dir', `${dir}/${code}`,
  '--code', code, '--bin', bin, '--demo-data', '--fast-hash', '--print-url-file',
  `${dir}/${code}.url`, '--switch-url', switchUrl, '--switch-member-dir', `${dir}/${code}-member`],
log(code));
const icbc = bank('icbc', '622202');
const ccb = bank('ccb', '621700');
const icbcUrl = await waitFile(`${dir}/icbc.url`, icbc);
await waitFile(`${dir}/ccb.url`, ccb);
const cards = run(['bank', 'demo-cards', '--data-dir', `${dir}/ccb`]);
const cvn2 = /cvv2 (\d{3})/.exec(cards.split('\n').find((l) => l.includes(CCB_CARD)))[1];

let notified = 0;
const shop = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/notify') {
    req.on('data', () => {});
    req.on('end', () => { notified++; res.end('OK'); });
    return;
  }
  const port = shop.address().port;
  const doc = JSON.stringify({
    interfaceName: 'PAYGATE_B2C_PAY', interfaceVersion: '1.0', orderId: `NET-${Date.now()}`,
    orderDate: '20261125103000', amount: 8800, currency: 'CNY', merID: 'WEB1',
    merAcct: merchant.merAcct, merURL: `http://127.0.0.1:${port}/notify`, notifyType: 'HS',
    resultType: '0', merVAR: 'browser', goodsName: 'Oolong',
    returnURL: `http://127.0.0.1:${port}/done`,
  });
  const sig = crypto.createSign('RSA-SHA256').update(doc).sign(key, 'base64');
  const field = (n, v) => `<input type="hidden" name="${n}" value="${v}">`;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(`<!doctype html><title>Web Shop</title><h1>Oolong — ¥88.00</h1>
<form method="post" action="${icbcUrl}/b2c/pay">
${field('interfaceName', 'PAYGATE_B2C_PAY')}${field('interfaceVersion', '1.0')}
${field('tranData', Buffer.from(doc).toString('base64'))}${field('merSignMsg', sig)}
${field('merCert', Buffer.from(cert).toString('base64'))}
<button id="pay" type="submit">Pay with the bank</button></form>`);
});
await new Promise((r) => shop.listen(0, '127.0.0.1', r));

const browser = await launch();
let failed = false;
try {
  const page = await browser.newPage({ locale: 'zh-CN' });
  await page.goto(`http://127.0.0.1:${shop.address().port}/`);
  await Promise.all([page.waitForNavigation(), page.click('#pay')]);
  expect(await page.getAttribute('body', 'data-page') === 'card', 'ICBC card page');
  await page.fill('#cardNo', CCB_CARD.replace(/(\d{4})/g, '$1 ').trim());
  await Promise.all([page.waitForNavigation(), page.click('#next')]);
  expect(await page.getAttribute('body', 'data-page') === 'net_card', 'the network card page');
  expect((await page.textContent('h2')).includes('他行银联卡'), 'in Chinese');
  await shot(page, 'switch-1-net-card');
  // the language switch brings the same step back in English
  await Promise.all([page.waitForNavigation(), page.click('#lang-en')]);
  expect(await page.getAttribute('html', 'lang') === 'en', 'switched to English');
  await shot(page, 'switch-1-net-card-en');
  await Promise.all([page.waitForNavigation(), page.click('#lang-zh-CN')]);
  if (await page.getAttribute('body', 'data-page') !== 'net_card') { // GET /b2c/page: card step
    await page.fill('#cardNo', CCB_CARD);
    await Promise.all([page.waitForNavigation(), page.click('#next')]);
  }
  expect(await page.getAttribute('body', 'data-page') === 'net_card', 'the network card page');
  await page.fill('#cardNo', CCB_CARD);
  await page.fill('#expiry', '12/30');
  await page.fill('#cvn2', cvn2);
  await Promise.all([page.waitForNavigation(), page.click('#pay')]);
  expect(await page.getAttribute('body', 'data-page') === 'result', 'result page');
  expect(await page.getAttribute('#status', 'data-status') === 'paid', 'paid through the switch');
  expect(await page.getAttribute('#notify', 'data-status') === 'DELIVERED', 'merchant notified');
  expect(notified === 1, `one notification (${notified})`);
  expect(!(await page.content()).includes(CCB_CARD), 'the result page shows no card number');
  await shot(page, 'switch-2-result');
  console.log('switch browser test: ok');
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
  shop.close();
  await stopServer(icbc);
  await stopServer(ccb);
  await stopServer(sw);
  removeDir(dir, failed);
}
process.exit(failed ? 1 : 0);
