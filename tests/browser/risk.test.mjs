// Browser test of the risk console (docs/risk.md, "Review"): two consumers pay above the rules'
// review limit at the cashier in Chromium and are told the payment waits for a check, its amount
// held in the wallet (shown as held, not spendable); the operator logs in to the console (the token form), sees both payments held and the
// rules with how often each fired, in Chinese and in English, approves one (paid now: the
// merchant's signed API shows it paid and its balance up by the amount less the fee, the wallet
// down by the amount), posts the same approval again (409 RISK_REVIEW_DECIDED, nothing more
// moves), tries to reject the other without a note (refused), then rejects it with one (the
// trade closed unpaid, close_reason risk_rejected, the held amount back in the wallet). A form without the console's CSRF token is
// refused. The operator's decisions are in the audit trail (/operator/audit); then `paygate
// ledger verify` is clean and `paygate audit verify` intact. Needs Chromium and playwright-core (requireBrowser).
import fs from 'node:fs';
import crypto from 'node:crypto';
import {
  requireBrowser, tempDir, stopServer, startPlatform, stoppedCleanly, ledgerClean, auditIntact,
  finish,
} from './servers.mjs';

requireBrowser();
const { launch, shot, expect, consumerLogin } = await import('./browser.mjs');
const dir = tempDir('risk-browser');

// --- the platform with a rules file and an operator, a merchant, two consumers ----------------
const token = crypto.randomBytes(24).toString('hex');
fs.mkdirSync(`${dir}/pf`);
fs.writeFileSync(`${dir}/pf/risk.rules`, `# the console's test rules
big_single   single 500.00 CNY review
huge_single  single 5000.00 CNY deny
burst        velocity consumer 1m count 20 deny
`);
const { pf, pfUrl, api } = await startPlatform(dir, {
  ini: `[platform]
operator_token = ${token}
risk_rules = ${dir}/pf/risk.rules
[notify]
allow_private_hosts = true
`,
  merchant: { id: 'm_risk', name: 'Tea House' },
  consumers: [['13800000011', '1000.00'], ['13800000012', '1000.00']],
});

let n = 0;
async function trade(amount) {
  const r = await api('POST', '/v1/trades', JSON.stringify({
    out_trade_no: `risk-${Date.now()}-${n++}`, amount: { value: amount, currency: 'CNY' },
    subject: 'Pu-erh cake', product: 'page',
  }));
  expect(r.status === 201, `trade created (${r.status} ${JSON.stringify(r.json)})`);
  return r.json;
}
const tradeOf = async (id) => (await api('GET', `/v1/trades/${id}`)).json;
async function available() {
  const r = await api('GET', '/v1/balance');
  expect(r.status === 200, `balance (${r.status})`);
  return r.json.balances.length ? r.json.balances[0].available.value : '0.00';
}
async function wallet(page) {
  await page.goto(`${pfUrl}/wallet`);
  return page.getAttribute('#balance', 'data-amount');
}
// What reviews hold in the wallet (#held), '0.00' when the page shows none.
async function heldIn(page) {
  await page.goto(`${pfUrl}/wallet`);
  return (await page.$('#held')) ? page.getAttribute('#held', 'data-amount') : '0.00';
}

// A consumer pays t from the wallet at the cashier; the page that answers.
async function payHeld(ctx, login, t) {
  const page = await ctx.newPage();
  await page.goto(t.cashier_url);
  await consumerLogin(page, login, 'correct horse');
  await page.fill('#wallet-form input[name=pay_password]', '246810');
  await Promise.all([page.waitForNavigation(), page.click('#wallet-form button')]);
  return page;
}

const browser = await launch();
let failed = false;
try {
  // (a) two payments held: the consumer is told plainly, never the rule; the amount held
  const before = await available();
  const buyer1 = await browser.newContext({ locale: 'zh-CN' });
  const buyer2 = await browser.newContext({ locale: 'zh-CN' });
  const t1 = await trade('600.00');
  const t2 = await trade('720.50');
  const p1 = await payHeld(buyer1, '13800000011', t1);
  const said = await p1.textContent('body');
  expect(said.includes('冻结') && !said.includes('big_single'),
    `told it waits for a check, not the rule (${said.slice(0, 400)})`);
  await shot(p1, 'risk-1-cashier-held');
  await payHeld(buyer2, '13800000012', t2);
  expect((await tradeOf(t1.trade_id)).state === 'WAIT_BUYER_PAY' &&
    (await tradeOf(t2.trade_id)).state === 'WAIT_BUYER_PAY', 'both trades unpaid');
  expect(await available() === before, 'the merchant got nothing yet');
  expect(await wallet(p1) === '400.00' && await heldIn(p1) === '600.00',
    'the wallet holds 600.00, 400.00 left to spend');
  expect((await p1.textContent('#held')).includes('冻结'), 'the held line, in Chinese');
  expect((await tradeOf(t1.trade_id)).risk_review === 'pending', 'the merchant sees it under review');
  await shot(p1, 'risk-1b-wallet-held');

  // (b) the operator's console, in Chinese: both held, the rule's hits counted
  const opCtx = await browser.newContext({ locale: 'zh-CN' });
  const op = await opCtx.newPage();
  await op.goto(`${pfUrl}/operator/dashboard`);
  await op.fill('#operator-login input[name=token]', token);
  await Promise.all([op.waitForNavigation(), op.click('#operator-login button')]);
  await Promise.all([op.waitForNavigation(), op.click('#risk-link')]);
  expect(await op.getAttribute('body', 'data-page') === 'operator-risk', 'the risk page');
  expect((await op.textContent('h1')) === '风险控制', 'its title in Chinese');
  const held = await op.$$eval('#reviews tr.risk-review', (rows) => rows.map((r) => r.dataset.trade));
  expect(held.includes(t1.trade_id) && held.includes(t2.trade_id), `both held (${held})`);
  expect(await op.getAttribute(`#reviews tr[data-trade="${t1.trade_id}"] td.num`, 'data-amount') ===
    '600.00', 'the held amount');
  expect(await op.textContent('tr[data-rule="big_single"] .hits-all') === '2' &&
    await op.textContent('tr[data-rule="huge_single"] .hits-all') === '0',
  'big_single fired twice, huge_single never');
  expect(await op.textContent('#decisions td[data-decision="review"]') === '2', 'two reviews today');
  await shot(op, 'risk-2-console-zh');

  // (c) a form posted without the console's CSRF token is refused, nothing moves
  const forged = await op.request.post(`${pfUrl}/operator/risk/reviews/${t1.trade_id}/decide`, {
    form: { decision: 'approve' },
  });
  expect(forged.status() === 403 || forged.status() === 400, `no CSRF token: refused (${forged.status()})`);
  expect((await tradeOf(t1.trade_id)).state === 'WAIT_BUYER_PAY', 'still unpaid');

  // (d) approve the first: paid now, the money moved once
  const row1 = `#reviews tr[data-trade="${t1.trade_id}"]`;
  await op.fill(`${row1} input[name=note]`, 'called the buyer: a gift');
  let posted = null;
  op.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/decide')) posted = r.postData();
  });
  await Promise.all([op.waitForNavigation(), op.click(`${row1} button[value=approve]`)]);
  expect(await op.getAttribute('#notice', 'data-notice') === 'approved', 'approved');
  const paid = await tradeOf(t1.trade_id);
  expect(paid.state === 'TRADE_SUCCESS' && paid.pay_method === 'wallet',
    `the merchant sees it paid by wallet (${JSON.stringify(paid)})`);
  const fee = (60000 * 60 + 5000) / 10000 | 0; // 0.6%, minor units
  const afterOne = await available();
  expect(Math.round((Number(afterOne) - Number(before)) * 100) === 60000 - fee,
    `the merchant's balance up by 600.00 less the fee (${before} -> ${afterOne})`);
  expect(await wallet(p1) === '400.00' && await heldIn(p1) === '0.00',
    'the wallet paid exactly 600.00, from the hold');
  expect(await op.$(`#decided tr[data-trade="${t1.trade_id}"][data-status="approved"]`) !== null,
    'listed as approved');
  // the same approval again: decided, nothing more moves
  await op.goto(`${pfUrl}/operator/risk`);
  expect(posted !== null, 'the approval was posted');
  const again = await op.request.post(`${pfUrl}/operator/risk/reviews/${t1.trade_id}/decide`, {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, data: posted,
  });
  expect(again.status() === 409 && (await again.text()).includes('data-code="RISK_REVIEW_DECIDED"'),
    `a second approval refused (${again.status()})`);
  expect(await available() === afterOne, 'no money moved twice');
  expect(await wallet(p1) === '400.00', 'the wallet charged once');

  // (e) in English: reject the second, first without a note (refused), then with one
  const opEn = await browser.newContext({ locale: 'en-US' });
  await opEn.addCookies(await opCtx.cookies());
  const en = await opEn.newPage();
  await en.goto(`${pfUrl}/operator/risk`);
  expect((await en.textContent('h1')) === 'Risk control', 'its title in English');
  const row2 = `#reviews tr[data-trade="${t2.trade_id}"]`;
  await Promise.all([en.waitForNavigation(), en.click(`${row2} button[value=reject]`)]);
  expect(await en.getAttribute('#error', 'data-code') === 'FIELD_MISSING', 'a rejection needs a note');
  expect((await tradeOf(t2.trade_id)).state === 'WAIT_BUYER_PAY', 'still held');
  await en.fill(`${row2} input[name=note]`, 'the card holder says it was not them');
  await Promise.all([en.waitForNavigation(), en.click(`${row2} button[value=reject]`)]);
  expect(await en.getAttribute('#notice', 'data-notice') === 'rejected', 'rejected');
  await shot(en, 'risk-3-console-en');
  const closed = await tradeOf(t2.trade_id);
  expect(closed.state === 'TRADE_CLOSED' && closed.close_reason === 'risk_rejected',
    `closed unpaid (${JSON.stringify(closed)})`);
  expect(await available() === afterOne, 'the merchant got nothing for it');
  const p2 = await buyer2.newPage();
  expect(await wallet(p2) === '1000.00' && await heldIn(p2) === '0.00',
    'the second wallet whole again, nothing held');
  expect(await en.$('#reviews tr.risk-review') === null, 'nothing left to decide');
  // the operator's decisions in the audit trail: the two done, the second approval refused
  await en.goto(`${pfUrl}/operator/audit?action=risk.review_approve`);
  const approvals = await en.$$eval('tr.audit-entry', (rows) =>
    rows.map((r) => `${r.dataset.target}:${r.dataset.outcome}:${r.dataset.actor}`));
  expect(approvals.includes(`${t1.trade_id}:ok:operator`) &&
    approvals.includes(`${t1.trade_id}:RISK_REVIEW_DECIDED:operator`),
  `the approval and the refused second one audited (${approvals})`);
  await en.goto(`${pfUrl}/operator/audit?action=risk.review_reject`);
  const rejections = await en.$$eval('tr.audit-entry', (rows) =>
    rows.map((r) => `${r.dataset.target}:${r.dataset.outcome}`));
  expect(rejections.includes(`${t2.trade_id}:ok`) &&
    rejections.includes(`${t2.trade_id}:FIELD_MISSING`), `the rejections audited (${rejections})`);
  for (const c of [buyer1, buyer2, opCtx, opEn]) await c.close();
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
  finish(dir, failed, [
    stoppedCleanly('the platform', await stopServer(pf)),
    ledgerClean(`${dir}/pf/platform.db`),
    auditIntact(`${dir}/pf/platform.db`),
  ], 'risk browser test: ok');
}
