// Browser test of the payment platform's cashier (docs/platform.md) with Chromium: a consumer
// pays a merchant's trades by wallet balance, by a card bound in the wallet (the bank checks
// it and texts a code), by online banking at a bank (walking the bank's own pages), and by QR
// code confirmed on the mobile wallet page. Screenshots of each step go to the artefacts
// directory. Needs Chromium and playwright-core (see requireBrowser in servers.mjs).
import fs from 'node:fs';
import {
  requireBrowser, tempDir, run, spawnServer, waitFile, stopServer, startPlatform, ledgerClean,
  finish,
} from './servers.mjs';

requireBrowser();
const { launch, shot, expect, consumerLogin } = await import('./browser.mjs');
const dir = tempDir('platform-browser');

// --- a bank ------------------------------------------------------------------------------------
run(['bank', 'merchant', 'add', '--data-dir', `${dir}/bank`, '--code', 'icbc', '--fast-hash',
  '--mer-id', 'PAYGATE', '--name', 'PayGate', '--referrer-domain', '127.0.0.1',
  '--notify-domain', '127.0.0.1', '--allow-no-referer', '--out', `${dir}/mer`]);
const mer = JSON.parse(fs.readFileSync(`${dir}/mer/merchant.json`, 'utf8'));
const bank = spawnServer(['bank', 'serve', '--data-dir', `${dir}/bank`, '--code', 'icbc',
  '--demo-data', '--fast-hash', '--print-url-file', `${dir}/bank-url`],
['ignore', fs.openSync(`${dir}/bank-stdout`, 'w'), fs.openSync(`${dir}/bank.log`, 'w')]);
const bankUrl = await waitFile(`${dir}/bank-url`, bank);
const CARD = '6222020000000015';
const RESERVED = '西湖边的白猫'; // the wallet user's reserved message
const cvv2 = /6222020000000015\s+exp 12\/30\s+cvv2 (\d{3})/.exec(run(['bank', 'demo-cards', '--data-dir', `${dir}/bank`]))[1];

// --- the platform, a merchant (Ed25519 key made here) and a consumer ------------------------------
const { pf, pfUrl, api } = await startPlatform(dir, {
  ini: `[platform]
banks = icbc
sandbox_sms = true
[notify]
allow_private_hosts = true
[bank.icbc]
name = 中国工商银行
name_en = ICBC
gateway_url = ${bankUrl}
mer_id = PAYGATE
mer_acct = ${mer.merAcct}
key_file = ${dir}/mer/merchant.key
cert_file = ${dir}/mer/merchant.crt
bank_cert_file = ${dir}/bank/keys/sign.crt
ca_file = ${dir}/bank/keys/ca.crt
allow_private = true
`,
  merchant: { id: 'm_web', name: 'Tea House' },
  consumers: [['13800000001', '500.00']],
});

let n = 0;
async function trade(amount, product = 'page') {
  const r = await api('POST', '/v1/trades', JSON.stringify({
    out_trade_no: `web-${Date.now()}-${n++}`, amount: { value: amount, currency: 'CNY' },
    subject: 'Green tea', product, return_url: 'http://127.0.0.1:9/back',
  }));
  expect(r.status === 201, `trade created (${r.status} ${JSON.stringify(r.json)})`);
  return r.json;
}
async function state(id) {
  return (await api('GET', `/v1/trades/${id}`)).json;
}
async function sms(browser) {
  const outbox = await browser.newPage();
  await outbox.goto(`${bankUrl}/sandbox/sms`);
  const code = await outbox.getAttribute('#sms tr[data-code]', 'data-code');
  await outbox.close();
  return code;
}

const browser = await launch();
let failed = false;
try {
  // (a) wallet balance
  // desktop browsers that ask for Chinese; the phone asks for English (docs/i18n.md)
  const desk = await browser.newContext({ locale: 'zh-CN' });
  const page = await desk.newPage();
  let t = await trade('12.30');
  const resp = await page.goto(t.cashier_url);
  expect(resp.headers()['x-frame-options'] === 'DENY', 'the cashier cannot be framed');
  await shot(page, 'platform-1-cashier');
  await consumerLogin(page, '13800000001', 'correct horse');
  expect(await page.getAttribute('#reserved', 'data-reserved') === 'none' &&
    await page.getAttribute('#reserved a', 'href') === '/wallet#reserved-form',
  'no reserved message yet: the cashier says where to set one');
  await page.fill('#wallet-form input[name=pay_password]', '246810');
  await shot(page, 'platform-2-wallet-form');
  await Promise.all([page.waitForNavigation(), page.click('#wallet-form button')]);
  expect(await page.getAttribute('#notice', 'data-notice') === 'paid', 'paid by wallet');
  expect((await page.textContent('#notice')).includes('支付成功'), 'told so in Chinese');
  expect(await page.getAttribute('#state', 'data-state') === 'TRADE_SUCCESS', 'state code');
  expect((await page.textContent('#state')) === '已支付', 'the state by name');
  expect((await page.getAttribute('#return', 'href')).includes('sign='), 'signed return link');
  await shot(page, 'platform-3-wallet-paid');
  expect((await state(t.trade_id)).state === 'TRADE_SUCCESS', 'trade paid (wallet)');

  // (b) bind a card in the wallet, then pay with it
  await page.goto(`${pfUrl}/wallet`);
  await page.selectOption('#bind-form select[name=bank]', 'icbc');
  await page.fill('#bind-form input[name=cardNo]', CARD);
  await page.fill('#bind-form input[name=expiry]', '12/30');
  await page.fill('#bind-form input[name=cvv2]', cvv2);
  await Promise.all([page.waitForNavigation(), page.click('#bind-form button')]);
  await page.fill('#confirm-form input[name=smsCode]', await sms(browser));
  await shot(page, 'platform-4-bind-code');
  await Promise.all([page.waitForNavigation(), page.click('#confirm-form button')]);
  expect(await page.getAttribute('#notice', 'data-notice') === 'card-bound', 'card bound');
  expect((await page.textContent('.bound-card')).startsWith('中国工商银行 622202'),
    'the card by its bank\'s name');
  expect(!(await page.content()).includes(CARD), 'no full card number on the page');
  await shot(page, 'platform-5-wallet-card');
  // the reserved message (预留信息): set in the wallet with the payment password (a wrong one
  // sets nothing), then shown by the cashier before it asks for the payment password
  await page.fill('#reserved-form input[name=message]', RESERVED);
  await page.fill('#reserved-form input[name=pay_password]', '135790');
  await Promise.all([page.waitForNavigation(), page.click('#reserved-form button')]);
  expect(await page.$('#error') && await page.$('#reserved-none'), 'a wrong payment password sets nothing');
  await page.fill('#reserved-form input[name=message]', RESERVED);
  await page.fill('#reserved-form input[name=pay_password]', '246810');
  await Promise.all([page.waitForNavigation(), page.click('#reserved-form button')]);
  expect(await page.getAttribute('#notice', 'data-notice') === 'reserved-set', 'reserved message set');
  expect(await page.textContent('#reserved-message') === RESERVED, 'the wallet shows it to its owner');
  t = await trade('45.00');
  await page.goto(t.cashier_url);
  expect(await page.textContent('#reserved-message') === RESERVED, 'the cashier shows it');
  expect(await page.$eval('#reserved', (r) => Boolean(r.compareDocumentPosition(
    document.querySelector('#card-form input[name=pay_password]')) & Node.DOCUMENT_POSITION_FOLLOWING)),
  'before the payment password is asked');
  await shot(page, 'platform-5b-cashier-reserved');
  await page.fill('#card-form input[name=pay_password]', '246810');
  await Promise.all([page.waitForNavigation(), page.click('#pay-card')]);
  const outbox = await (await fetch(`${pfUrl}/sandbox/sms`)).json();
  const pfCode = outbox.messages[0].code;
  expect(outbox.messages[0].text.includes(`验证码为 ${pfCode}`), 'the platform\'s SMS in Chinese');
  await page.fill('#sms-form input[name=smsCode]', pfCode);
  await shot(page, 'platform-6a-card-sms');
  await Promise.all([page.waitForNavigation(), page.click('#confirm-card')]);
  expect(await page.getAttribute('#notice', 'data-notice') === 'paid', 'paid by card');
  await shot(page, 'platform-6-card-paid');
  expect((await state(t.trade_id)).pay_method === 'card', 'trade paid (card)');
  // withdraw to the bound card: chosen from a list, no field for a typed account number
  await page.goto(`${pfUrl}/wallet`);
  expect((await page.$('#withdraw-form input[name=to_account]')) === null, 'no typed account');
  expect((await page.textContent('#withdraw-form select[name=card_id]')).includes('0015'),
    'the bound card is offered');
  await page.fill('#withdraw-form input[name=amount]', '5.00');
  await page.fill('#withdraw-form input[name=pay_password]', '246810');
  await Promise.all([page.waitForNavigation(), page.click('#withdraw-form button')]);
  expect(await page.getAttribute('#notice', 'data-notice') === 'withdrawal-sent', 'withdrawn');
  expect((await page.textContent('#notice')) === '提现已发出。', 'told so in Chinese');
  expect((await page.textContent('#withdrawals')).includes('0015'), 'listed by the last four');

  // (c) online banking: the cashier sends the browser to the bank with a signed order
  const anon = await (await browser.newContext({ locale: 'zh-CN' })).newPage();
  t = await trade('88.00');
  await anon.goto(t.cashier_url);
  expect((await anon.textContent('#bank-icbc')) === '中国工商银行', 'the bank by its name');
  await Promise.all([anon.waitForURL(`${bankUrl}/**`), anon.click('#bank-icbc')]);
  await anon.waitForSelector('body[data-page=card]');
  await shot(anon, 'platform-7-bank-card');
  await anon.fill('#cardNo', CARD);
  await Promise.all([anon.waitForNavigation(), anon.click('#next')]);
  await anon.fill('#password', '123456');
  await Promise.all([anon.waitForNavigation(), anon.click('#send-sms')]);
  await anon.fill('#smsCode', await sms(browser));
  await Promise.all([anon.waitForNavigation(), anon.click('#verify')]);
  await shot(anon, 'platform-8-bank-confirm');
  await Promise.all([anon.waitForNavigation(), anon.click('#confirm')]);
  expect(await anon.getAttribute('body', 'data-page') === 'result', 'bank result page');
  await shot(anon, 'platform-9-bank-result');
  const s = await state(t.trade_id);
  expect(s.state === 'TRADE_SUCCESS' && s.pay_method === 'bank', `trade paid (bank): ${s.state}`);

  // (d) QR: the desktop cashier shows a code; the phone opens it and confirms
  t = await trade('9.90', 'qr');
  const qrDesk = await (await browser.newContext({ locale: 'zh-CN' })).newPage();
  await qrDesk.goto(t.cashier_url);
  expect(await qrDesk.isVisible('svg#qr'), 'QR code shown');
  await shot(qrDesk, 'platform-10-qr');
  const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 },
    isMobile: true, hasTouch: true, locale: 'en-US' })).newPage();
  await phone.goto(await qrDesk.getAttribute('#qr-link', 'href'));
  await consumerLogin(phone, '13800000001', 'correct horse');
  expect(await phone.textContent('#reserved-message') === RESERVED, 'the phone page shows it too');
  await phone.fill('#confirm-form input[name=pay_password]', '246810');
  await shot(phone, 'platform-11-mobile-confirm');
  await Promise.all([phone.waitForNavigation(), phone.click('#confirm')]);
  expect(await phone.getAttribute('#notice', 'data-notice') === 'paid', 'paid by QR');
  expect((await phone.textContent('#notice')).includes('Payment successful'), 'in English');
  await shot(phone, 'platform-12-mobile-paid');
  // the desktop QR page refreshes itself every 3 s (meta refresh) until it shows the payment;
  // a reload of ours could collide with its own navigation, so wait for what it shows
  await qrDesk.waitForSelector('#paid', { timeout: 60000 });
  expect(await qrDesk.isVisible('#paid'), 'the desktop cashier shows the payment');
  expect((await state(t.trade_id)).pay_method === 'qr', 'trade paid (qr)');
  // stored sealed, never logged
  for (const f of ['pf/platform.db', 'pf/platform.db-wal', 'pf.log']) {
    if (fs.existsSync(`${dir}/${f}`)) {
      expect(!fs.readFileSync(`${dir}/${f}`).includes(Buffer.from(RESERVED)),
        `${f} holds the reserved message in clear`);
    }
  }
  console.log('platform browser test: ok');
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
  await stopServer(pf);
  await stopServer(bank);
  finish(dir, failed, [ledgerClean(`${dir}/pf/platform.db`)]);
}
