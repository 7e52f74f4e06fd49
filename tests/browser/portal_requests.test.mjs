// Browser test of refund requests in the merchant portal (docs/portal.md "Refund requests"),
// with Chromium: a consumer pays two trades and asks in the wallet for a refund of each; a
// support member sees the requests but no buttons, and a forged accept from their session is
// refused (403) with nothing moved; a finance member accepts the first through its confirmation
// page — the money goes back once (the signed API shows the request APPROVED and the trade
// refunded; accepting again is 409 and moves nothing; the wallet has it back) — and refuses the
// second with a note the consumer reads in the wallet. ledger verify passes at the end.
import {
  requireBrowser, tempDir, stopServer, startPlatform, totp, ledgerClean, finish,
} from './servers.mjs';

requireBrowser();
const { launch, shot, expect, consumerLogin } = await import('./browser.mjs');
const dir = tempDir('portal-requests');

const started = await startPlatform(dir, {
  ini: '[notify]\nallow_private_hosts = true\n',
  merchant: { id: 'm_web', name: '茶馆 Tea House' },
  members: [['help@tea.example', 'support', 'support-password-1'],
    ['money@tea.example', 'finance', 'finance-password-1']],
  consumers: [['13800000001', '500.00']],
});
const { pf, pfUrl, api } = started;
const secrets = { support: started.secrets['help@tea.example'],
  finance: started.secrets['money@tea.example'] };

// A trade paid by the consumer on the cashier, then a refund of `amount` asked in the wallet.
async function paidAndRequested(buyer, no, amount, reason) {
  const t = (await api('POST', '/v1/trades', JSON.stringify({
    out_trade_no: no, amount: { value: '68.00', currency: 'CNY' }, subject: '龙井茶 250g',
  }))).json;
  await buyer.goto(t.cashier_url);
  await consumerLogin(buyer, '13800000001', 'correct horse', { ifAsked: true });
  await buyer.fill('#wallet-form input[name=pay_password]', '246810');
  await Promise.all([buyer.waitForNavigation(), buyer.click('#wallet-form button')]);
  expect(await buyer.getAttribute('#notice', 'data-notice') === 'paid', 'paid by wallet');
  await buyer.goto(`${pfUrl}/wallet/trades/${t.trade_id}`);
  await buyer.fill('#refund-request-form input[name=amount]', amount);
  await buyer.fill('#refund-request-form input[name=reason]', reason);
  await Promise.all([buyer.waitForNavigation(), buyer.click('#refund-request-form button')]);
  expect(await buyer.getAttribute('#notice', 'data-notice') === 'refund-requested', 'requested');
  const list = (await api('GET', `/v1/trades/${t.trade_id}/refund_requests`)).json;
  return { trade: t.trade_id, request: list.refund_requests[0].request_id };
}

let ahead = 0;
async function portalLogin(ctx, login, role) {
  const page = await ctx.newPage();
  await page.goto(`${pfUrl}/portal`);
  await page.fill('#portal-login input[name=login]', login);
  await page.fill('#portal-login input[name=password]', `${role}-password-1`);
  await page.fill('#portal-login input[name=totp]', totp(secrets[role], ahead++));
  await Promise.all([page.waitForNavigation(), page.click('#portal-login button')]);
  expect(await page.getAttribute('#who', 'data-role') === role, `${role} logged in`);
  return page;
}

async function walletBalance(buyer) {
  await buyer.goto(`${pfUrl}/wallet`);
  return buyer.getAttribute('#balance', 'data-amount');
}

const browser = await launch();
let failed = false;
try {
  const buyer = await (await browser.newContext({ locale: 'zh-CN' })).newPage();
  const a = await paidAndRequested(buyer, 'tea-0001', '68.00', '茶叶受潮');
  const b = await paidAndRequested(buyer, 'tea-0002', '20.00', '少了一包');
  expect(await walletBalance(buyer) === '364.00', 'the wallet paid 2 × 68.00');

  // support: sees both requests, may not decide
  const support = await portalLogin(await browser.newContext({ locale: 'zh-CN' }),
    'help@tea.example', 'support');
  await Promise.all([support.waitForNavigation(), support.click('#nav-requests')]);
  expect(await support.getAttribute('body', 'data-page') === 'portal-requests', 'the list');
  expect(await support.getAttribute('#open-count', 'data-open') === '2', 'two open requests');
  expect(await support.$(`#request-${a.request}[data-status="WAIT_MERCHANT"]`), 'request a');
  expect(!(await support.$(`#accept-${a.request}`)), 'no accept button for support');
  expect(await support.$('#decide-not-allowed'), 'support is told who decides');
  await shot(support, 'portal-requests-1-support');
  const csrf = await support.getAttribute('#logout input[name=csrf]', 'value');
  const forged = await support.request.post(`${pfUrl}/portal/refund-requests/${a.request}/accept`,
    { form: { csrf, confirm: 'yes' }, maxRedirects: 0 });
  expect(forged.status() === 403, `support's accept: ${forged.status()}`);
  let t = (await api('GET', `/v1/trades/${a.trade}`)).json;
  expect(t.refunded.value === '0.00', 'nothing refunded by support');

  // finance: accepts the first through the confirmation page
  const fin = await portalLogin(await browser.newContext({ locale: 'zh-CN' }),
    'money@tea.example', 'finance');
  await fin.goto(`${pfUrl}/portal/refund-requests`);
  await shot(fin, 'portal-requests-2-finance');
  await Promise.all([fin.waitForNavigation(), fin.click(`#accept-${a.request}`)]);
  expect(await fin.getAttribute('body', 'data-page') === 'portal-request-accept', 'confirm page');
  expect(await fin.getAttribute('#refund-amount', 'data-amount') === '68.00', 'it says 68.00');
  await shot(fin, 'portal-requests-3-accept-confirm');
  t = (await api('GET', `/v1/trades/${a.trade}`)).json;
  expect(t.refunded.value === '0.00', 'nothing moved before the confirmation');
  const confirmForm = Object.fromEntries(await fin.$$eval('#accept-confirm input',
    (inputs) => inputs.map((i) => [i.name, i.value])));
  await Promise.all([fin.waitForNavigation(), fin.click('#accept-confirm button')]);
  expect(await fin.getAttribute('#notice', 'data-notice') === 'request_accepted', 'accepted');
  expect(await fin.$(`#request-${a.request}[data-status="APPROVED"]`), 'shown approved');
  // the same confirmation again: refused, nothing moves twice
  const again = await fin.request.post(`${pfUrl}/portal/refund-requests/${a.request}/accept`,
    { form: confirmForm, maxRedirects: 0 });
  expect(again.status() === 409, `a second acceptance: ${again.status()}`);
  const ra = (await api('GET', `/v1/trades/${a.trade}/refund_requests`)).json.refund_requests[0];
  expect(ra.status === 'APPROVED' && ra.decided_by === 'merchant' && ra.refund_id.startsWith('rf_'),
    `approved by the merchant: ${JSON.stringify(ra)}`);
  t = (await api('GET', `/v1/trades/${a.trade}`)).json;
  expect(t.refunded.value === '68.00', `refunded 68.00 once (${t.refunded.value})`);
  expect(await walletBalance(buyer) === '432.00', 'the wallet has 68.00 back');

  // finance refuses the second with a note the consumer reads
  await fin.fill(`#refuse-form-${b.request} input[name=note]`, '包裹签收时完好，请联系客服');
  await Promise.all([fin.waitForNavigation(), fin.click(`#refuse-${b.request}`)]);
  expect(await fin.getAttribute('#notice', 'data-notice') === 'request_refused', 'refused');
  expect(await fin.getAttribute('#open-count', 'data-open') === '0', 'nothing open');
  await shot(fin, 'portal-requests-4-decided');
  const rb = (await api('GET', `/v1/trades/${b.trade}/refund_requests`)).json.refund_requests[0];
  expect(rb.status === 'REJECTED' && rb.reject_reason === '包裹签收时完好，请联系客服',
    `rejected with the note: ${JSON.stringify(rb)}`);
  t = (await api('GET', `/v1/trades/${b.trade}`)).json;
  expect(t.refunded.value === '0.00', 'nothing refunded on a refusal');
  await buyer.goto(`${pfUrl}/wallet/trades/${b.trade}`);
  expect((await buyer.textContent(`.refund-request[data-request="${b.request}"]`))
    .includes('包裹签收时完好'), 'the consumer reads the note');
  expect(await walletBalance(buyer) === '432.00', 'the wallet as before the refusal');
  console.log('portal refund requests browser test: ok');
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
  await stopServer(pf);
  finish(dir, failed, [ledgerClean(`${dir}/pf/platform.db`)]);
}
