// Browser test of the sandbox bank's B2C payment pages (docs/bank.md): a consumer on a
// merchant's page presses Pay, enters the card number, the card password, the SMS code read
// from the sandbox outbox, confirms, and sees the result page after the bank notified the
// merchant. Screenshots of each page go to the artefacts directory. Needs Chromium and
// playwright-core (see requireBrowser in servers.mjs).
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import {
  paygate, requireBrowser, tempDir, spawnServer, waitFile, stopServer, startWebShop, finish,
} from './servers.mjs';

requireBrowser();
const { launch, shot, expect } = await import('./browser.mjs');
const dir = tempDir('bank-browser');
const CARD = '6222020000000015';

execFileSync(paygate, ['bank', 'merchant', 'add', '--data-dir', `${dir}/data`, '--code', 'web',
  '--fast-hash', '--mer-id', 'WEB1', '--name', 'Web Shop', '--referrer-domain', '127.0.0.1',
  '--notify-domain', '127.0.0.1', '--out', `${dir}/m`], { stdio: 'ignore' });

const bank = spawnServer(['bank', 'serve', '--data-dir', `${dir}/data`, '--demo-data',
  '--fast-hash', '--print-url-file', `${dir}/url`],
['ignore', 'ignore', fs.openSync(`${dir}/bank.log`, 'w')]);
const bankUrl = await waitFile(`${dir}/url`, bank);
expect(bankUrl, 'the bank printed its URL');

// The merchant: a shop page with the signed order form, and the notification endpoint.
const shop = await startWebShop(`${dir}/m`, bankUrl,
  { order: 'WEB', amount: 12300, goods: 'Green tea' });

const browser = await launch();
let failed = false;
try {
  // a shopper whose browser asks for Chinese (the bank's pages would be Chinese anyway)
  const page = await browser.newPage({ locale: 'zh-CN' });
  await page.goto(shop.url);
  const [resp] = await Promise.all([page.waitForNavigation(), page.click('#pay')]);
  expect(resp.status() === 200, `order accepted (status ${resp.status()})`);
  expect(resp.headers()['x-frame-options'] === 'DENY', 'the payment page cannot be framed');
  expect(await page.getAttribute('body', 'data-page') === 'card', 'card page');
  await shot(page, 'bank-1-card');
  await page.fill('#cardNo', CARD.replace(/(\d{4})/g, '$1 ').trim());
  await Promise.all([page.waitForNavigation(), page.click('#next')]);
  expect(await page.getAttribute('body', 'data-page') === 'password', 'password page');
  expect(!(await page.content()).includes(CARD), 'the page shows no full card number');
  // the reserved message (预留信息) the demo customer set, after the card number and before the
  // password is asked: a phishing copy of this page cannot show it
  expect(await page.textContent('#reserved-message') === '春眠不觉晓',
    `the customer's reserved message (${await page.textContent('#reserved')})`);
  expect(await page.$eval('#reserved', (r) => Boolean(r.compareDocumentPosition(
    document.querySelector('#password')) & Node.DOCUMENT_POSITION_FOLLOWING)),
  'the reserved message comes before the password field');
  expect(await page.isVisible('#reserved-message'), 'and is visible');
  await shot(page, 'bank-2-password');
  await page.fill('#password', '123456');
  await Promise.all([page.waitForNavigation(), page.click('#send-sms')]);
  expect(await page.getAttribute('body', 'data-page') === 'sms', 'SMS code page');
  await shot(page, 'bank-3-sms');
  const outbox = await browser.newPage();
  await outbox.goto(`${bankUrl}/sandbox/sms`);
  await shot(outbox, 'bank-4-sms-outbox');
  const text = await outbox.textContent('#sms td.text');
  const code = await outbox.getAttribute('#sms tr[data-code]', 'data-code');
  expect(/^\d{6}$/.test(code) && text.includes(code), `the SMS holds the code (${text})`);
  expect(text.startsWith('【Sandbox Bank】验证码'),
    `the SMS is signed with the bank's name (${text})`);
  await page.fill('#smsCode', code);
  await Promise.all([page.waitForNavigation(), page.click('#verify')]);
  expect(await page.getAttribute('body', 'data-page') === 'confirm', 'confirmation page');
  await shot(page, 'bank-5-confirm');
  await Promise.all([page.waitForNavigation(), page.click('#confirm')]);
  expect(await page.getAttribute('body', 'data-page') === 'result', 'result page');
  expect(await page.getAttribute('#status', 'data-status') === 'paid', 'payment successful');
  expect((await page.textContent('#status')).includes('支付成功'), 'in Chinese');
  expect(await page.getAttribute('#notify', 'data-status') === 'DELIVERED',
    'merchant notified first');
  expect((await page.textContent('#order-amount')).includes('¥123.00'), 'the amount as ¥123.00');
  expect(shop.notified() === 1, `one notification (${shop.notified()})`);
  expect((await page.getAttribute('#back', 'href')).endsWith('/done'), 'link back to the shop');
  await shot(page, 'bank-6-result');
  // the switch on a page a POST made: back to the same step (GET /b2c/page), in English
  await Promise.all([page.waitForNavigation(), page.click('#lang-en')]);
  expect(await page.getAttribute('html', 'lang') === 'en', 'switched to English');
  expect(await page.getAttribute('body', 'data-page') === 'result', 'still the result page');
  expect((await page.textContent('#status')).includes('Payment successful'), 'in English');
  await shot(page, 'bank-6-result-en');
  // the sandbox admin forms: customer -> account -> card (shown once) -> deposit
  const admin = await browser.newPage();
  await admin.goto(`${bankUrl}/admin`);
  const submit = (form) => Promise.all([admin.waitForNavigation(), admin.click(`${form} button`)]);
  await admin.fill('#form-customer input[name=name]', 'Han Meimei');
  await admin.fill('#form-customer input[name=phone]', '13800000088');
  await submit('#form-customer');
  const cus = await admin.textContent('#done-id');
  expect(cus.startsWith('cus_'), `customer created (${cus})`);
  expect(await admin.getAttribute(`#customers tr:has(td:text-is("${cus}")) td[data-reserved]`,
    'data-reserved') === 'false', 'a new customer has no reserved message');
  await admin.fill('#form-reserved input[name=customer]', cus);
  await admin.fill('#form-reserved input[name=message]', '窗外的梧桐树');
  await submit('#form-reserved');
  expect(await admin.getAttribute('#done', 'data-done') === 'reserved', 'reserved message set');
  expect(await admin.getAttribute(`#customers tr:has(td:text-is("${cus}")) td[data-reserved]`,
    'data-reserved') === 'true', 'the customer has a reserved message now');
  expect(!(await admin.content()).includes('窗外的梧桐树'), 'the admin page never shows it');
  await admin.fill('#form-account input[name=customer]', cus);
  await submit('#form-account');
  const acct = await admin.textContent('#done-id');
  expect(acct.startsWith('acct_'), `account opened (${acct})`);
  await admin.fill('#form-card input[name=account]', acct);
  await submit('#form-card');
  expect(await admin.getAttribute('body', 'data-page') === 'admin-card', 'card result page');
  const pan = await admin.textContent('#card-number');
  expect(/^622202\d{10}$/.test(pan), 'the new card number is shown');
  await shot(admin, 'bank-7-admin-card');
  await admin.reload();
  expect(!(await admin.content()).includes(pan), 'the card number is shown only once');
  await admin.goto(`${bankUrl}/admin`);
  await admin.fill('#form-deposit input[name=account]', acct);
  await admin.fill('#form-deposit input[name=amount]', '88.80');
  await submit('#form-deposit');
  expect(await admin.getAttribute('body', 'data-page') === 'admin-movements', 'movements page');
  expect(await admin.getAttribute('#balance', 'data-amount') === '88.80',
    'the deposit is on the account');
  expect((await admin.textContent('#balance')) === '¥88.80', 'shown as ¥88.80');
  await shot(admin, 'bank-8-admin-movements');
  // reserved messages are stored sealed and never logged: not in the database, its WAL, the log
  for (const f of ['data/bank.db', 'data/bank.db-wal', 'bank.log']) {
    if (!fs.existsSync(`${dir}/${f}`)) continue;
    const bytes = fs.readFileSync(`${dir}/${f}`);
    for (const m of ['春眠不觉晓', '窗外的梧桐树']) {
      expect(!bytes.includes(Buffer.from(m)), `${f} holds the reserved message ${m} in clear`);
    }
  }
  console.log('bank browser test: ok');
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
  shop.close();
  await stopServer(bank);
  finish(dir, failed);
}
