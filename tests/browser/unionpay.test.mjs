// Browser test of the card network's online payment page (银联在线支付, docs/switch.md) from the
// platform's cashier, end to end in Chromium: the switch with ICBC and CCB as members; ICBC is the
// platform's bank and acquires for the network ([bank.icbc] unionpay). A shopper opens a
// trade's cashier, picks 银联卡支付, is taken through ICBC's gateway to the switch's page, types
// a CCB card with its expiry, CVN2, name and phone, gets a code by SMS from CCB (read from CCB's
// sandbox outbox, GET /sandbox/sms?format=json), types a wrong code first (refused, tries
// counted), then the right one; ICBC authorizes with the verified card and the trade is paid.
// Then the money: the CCB card debited and CCB's interbank payable credited, ICBC's interbank
// receivable debited and the platform's reserve at ICBC credited, the switch's clearing moved
// from clear:ccb to clear:icbc with its fees; `ledger verify` clean on all four databases; no card number,
// CVN2 or SMS code in any server's log. Screenshots go to the artefacts directory. Needs
// Chromium and playwright-core (see requireBrowser in servers.mjs).
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import {
  requireBrowser, tempDir, run, stopServer, startCardNetwork, startPlatform, ledgerClean, finish,
} from './servers.mjs';

requireBrowser();
const { launch, shot, expect } = await import('./browser.mjs');
const dir = tempDir('unionpay-browser');
const CCB_CARD = '6217000000000014'; // CCB's demo card 1 (docs/bank.md), phone 13800000001
const AMOUNT = 6600; // fen

// --- the network: a switch, ICBC (the platform's bank, an acquirer) and CCB (the card's bank) --
const logs = {};
const log = (name) => ['ignore', 'ignore', fs.openSync(logs[name] = `${dir}/${name}.log`, 'w')];
const { sw, icbc, ccb, switchUrl, icbcUrl, ccbUrl } = await startCardNetwork(dir, {
  beforeServe: () => run(['bank', 'merchant', 'add', '--data-dir', `${dir}/icbc`, '--code', 'icbc',
    '--bin', '622202', '--fast-hash', '--mer-id', 'PAYGATE', '--name', 'PayGate',
    '--referrer-domain', '127.0.0.1', '--notify-domain', '127.0.0.1', '--allow-no-referer',
    '--out', `${dir}/mer`]),
  stdio: log,
});
const mer = JSON.parse(fs.readFileSync(`${dir}/mer/merchant.json`, 'utf8'));
const cvn2 = /cvv2 (\d{3})/.exec(run(['bank', 'demo-cards', '--data-dir', `${dir}/ccb`])
  .split('\n').find((l) => l.includes(CCB_CARD)))[1];

// --- the platform with ICBC as its bank, a merchant (Ed25519 key made here) ---------------------
const { pf, pfUrl, api } = await startPlatform(dir, {
  ini: `[platform]
banks = icbc
[notify]
allow_private_hosts = true
[bank.icbc]
name = 中国工商银行
name_en = ICBC
gateway_url = ${icbcUrl}
mer_id = PAYGATE
mer_acct = ${mer.merAcct}
key_file = ${dir}/mer/merchant.key
cert_file = ${dir}/mer/merchant.crt
bank_cert_file = ${dir}/icbc/keys/sign.crt
ca_file = ${dir}/icbc/keys/ca.crt
allow_private = true
unionpay = true
`,
  merchant: { id: 'm_web', name: 'Tea House' },
  stdio: log('platform'),
});

// CCB's sandbox outbox (docs/bank.md): the newest text to the card's phone
async function smsCodes() {
  const r = await (await fetch(`${ccbUrl}/sandbox/sms?format=json`)).json();
  return r.messages.filter((m) => m.phone === '13800000001');
}
// one account's four balances from a server's database (sqlite3, read while it runs)
function balances(db, id) {
  const out = execFileSync('sqlite3', [db, 'SELECT debits_pending, debits_posted, '
    + `credits_pending, credits_posted FROM ledger_accounts WHERE id = '${id}'`],
  { encoding: 'utf8' }).trim();
  const [dp, dpo, cp, cpo] = (out || '0|0|0|0').split('|').map(Number);
  return { dp, dpo, cp, cpo };
}
const ccbCardAccount = execFileSync('sqlite3', [`${dir}/ccb/bank.db`, 'SELECT c.account_id FROM '
  + "bank_cards c JOIN bank_customers u ON u.id = c.customer_id WHERE u.phone = '13800000001'"],
{ encoding: 'utf8' }).trim();
const watch = () => ({
  card: balances(`${dir}/ccb/bank.db`, ccbCardAccount),
  payable: balances(`${dir}/ccb/bank.db`, 'ccb:net:payable'),
  receivable: balances(`${dir}/icbc/bank.db`, 'icbc:net:receivable'),
  reserve: balances(`${dir}/icbc/bank.db`, mer.merAcct),
  clearCcb: balances(`${dir}/switch/switch.db`, 'clear:ccb'),
  clearIcbc: balances(`${dir}/switch/switch.db`, 'clear:icbc'),
  fees: balances(`${dir}/switch/switch.db`, 'cup:fees'),
});

const browser = await launch();
let failed = false;
let code = '';
try {
  const before = watch();
  const r = await api('POST', '/v1/trades', JSON.stringify({
    out_trade_no: `upop-${Date.now()}`, amount: { value: '66.00', currency: 'CNY' },
    subject: 'Oolong', product: 'page', return_url: 'http://127.0.0.1:9/back',
  }));
  expect(r.status === 201, `trade created (${r.status} ${JSON.stringify(r.json)})`);
  const page = await (await browser.newContext({ locale: 'zh-CN' })).newPage();
  await page.goto(r.json.cashier_url);
  expect((await page.textContent('#unionpay h2')).includes('银联卡支付'), 'the cashier entry');
  await shot(page, 'unionpay-1-cashier');
  // the cashier's form goes to ICBC, which opens the switch's session and sends us there
  await Promise.all([page.waitForURL(`${switchUrl}/upop/**`), page.click('#pay-unionpay')]);
  await page.waitForSelector('body[data-page=upop_card]');
  expect((await page.textContent('h2')).includes('银联卡'), 'the switch\'s page in Chinese');
  expect((await page.textContent('#amount')).includes('66.00'), 'the amount');
  await shot(page, 'unionpay-2-card');
  await Promise.all([page.waitForNavigation(), page.click('#lang-en')]);
  expect(await page.getAttribute('html', 'lang') === 'en', 'the same page in English');
  await shot(page, 'unionpay-2-card-en');
  await Promise.all([page.waitForNavigation(), page.click('#lang-zh-CN')]);

  // a wrong phone: the card's bank refuses (N7), nothing is texted
  const fill = async (phone) => {
    await page.fill('#cardNo', CCB_CARD.replace(/(\d{4})/g, '$1 ').trim());
    await page.fill('#expiry', '12/30');
    await page.fill('#cvn2', cvn2);
    await page.fill('#name', '张三');
    await page.fill('#phone', phone);
    await Promise.all([page.waitForNavigation(), page.click('#next')]);
  };
  await fill('13900000000');
  expect(await page.getAttribute('#error', 'data-rc') === 'N7', 'a wrong phone is refused');
  expect((await smsCodes()).length === 0, 'no code for a wrong phone');
  await fill('13800000001');
  expect(await page.getAttribute('body', 'data-page') === 'upop_sms', 'the code step');
  expect((await page.textContent('#card')).includes('0014'), 'the card by its last four');
  await shot(page, 'unionpay-3-sms');
  const texts = await smsCodes();
  expect(texts.length === 1, `one code texted (${texts.length})`);
  code = texts[0].code;
  expect(/^\d{6}$/.test(code) && texts[0].text.includes(code), 'a 6-digit code in the text');

  // a wrong code is refused and counted; the right one completes the payment at ICBC
  await page.fill('#smsCode', code === '000000' ? '111111' : '000000');
  await Promise.all([page.waitForNavigation(), page.click('#pay')]);
  expect(await page.getAttribute('#error', 'data-rc') === '55', 'a wrong code is refused');
  expect((await page.textContent('#error')).includes('4'), `tries left: ${await page.textContent('#error')}`);
  await page.fill('#smsCode', code);
  await Promise.all([page.waitForURL(`${icbcUrl}/**`), page.click('#pay')]);
  await page.waitForSelector('body[data-page=result]');
  expect(await page.getAttribute('#status', 'data-status') === 'paid', 'paid at ICBC');
  expect(!(await page.content()).includes(CCB_CARD), 'no card number on the result page');
  await shot(page, 'unionpay-4-result');
  const t = (await api('GET', `/v1/trades/${r.json.trade_id}`)).json;
  expect(t.state === 'TRADE_SUCCESS' && t.pay_method === 'bank', `the trade is paid: ${t.state}`);

  // the money, on both banks' ledgers and the switch's (the capture was sent before the page)
  const after = watch();
  const moved = (k, f) => after[k][f] - before[k][f];
  expect(moved('card', 'dpo') === AMOUNT && moved('payable', 'cpo') === AMOUNT,
    `CCB: the card debited, its interbank payable credited (${JSON.stringify(after.card)})`);
  expect(moved('card', 'dp') === 0, 'no hold left on the card');
  expect(moved('receivable', 'dpo') === AMOUNT && moved('reserve', 'cpo') === AMOUNT,
    'ICBC: its interbank receivable debited, the platform\'s reserve credited');
  // the switch: the amount cleared from clear:ccb to clear:icbc, less the interchange (50 bp:
  // 33) ICBC pays CCB and the network's fee (5 bp: 3) each side pays it (docs/switch.md)
  const net = (k) => moved(k, 'cpo') - moved(k, 'dpo');
  expect(net('clearIcbc') === AMOUNT - 33 - 3 && net('clearCcb') === -AMOUNT + 33 - 3
    && net('fees') === 6, `the switch: cleared with its fees (${net('clearIcbc')}, ${net('clearCcb')})`);
  console.log('unionpay browser test: ok');
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
  for (const s of [pf, icbc, ccb, sw]) await stopServer(s);
  finish(dir, failed, [
    ...['pf/platform.db', 'icbc/bank.db', 'ccb/bank.db', 'switch/switch.db']
      .map((db) => ledgerClean(`${dir}/${db}`)),
    () => {
      for (const [name, file] of Object.entries(logs)) {
        const text = fs.readFileSync(file, 'utf8');
        expect(!text.includes(CCB_CARD), `no card number in the ${name} log`);
        expect(!text.includes(`cvn2=${cvn2}`) && !text.includes(`"${cvn2}"`), `no CVN2 in ${name}`);
        // the code as a number of its own (a 6-digit run inside a hash or a time is not it)
        expect(!code || !new RegExp(`(?<![0-9A-Za-z])${code}(?![0-9A-Za-z])`).test(text),
          `no SMS code in the ${name} log`);
      }
    },
  ]);
}
