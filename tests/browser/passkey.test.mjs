// Browser test of passkeys (指纹/人脸, WebAuthn; docs/platform.md "Passkeys") in Chromium with a
// virtual authenticator (Chrome DevTools Protocol WebAuthn.addVirtualAuthenticator: internal,
// with user verification, as a phone's fingerprint reader): a consumer registers a passkey in
// the wallet and pays a trade at the cashier with it instead of the payment password. The money
// is checked: the trade paid by wallet (the merchant's signed API), the wallet down by exactly
// the amount, `paygate ledger verify` clean, the authenticator's counter moved. Then what must
// fail fails and moves no money: the same answer posted again (its challenge is used), a
// challenge answered after the platform's test clock moved past its 5 minutes, an
// authenticator that cannot verify the user, a copy of the passkey whose counter starts again;
// a removed passkey is offered no more. `paygate audit verify` finds the log intact, with
// the passkey's entries. Needs Chromium and playwright-core (see requireBrowser in servers.mjs).
import {
  requireBrowser, tempDir, stopServer, startPlatform, stoppedCleanly, ledgerClean, auditIntact,
  finish,
} from './servers.mjs';

requireBrowser();
const { launch, shot, expect, consumerLogin } = await import('./browser.mjs');
const dir = tempDir('passkey-browser');

// --- the platform (on its test clock, RP ID localhost), a merchant and a consumer --------------
const { pf, pfUrl, api } = await startPlatform(dir, {
  ini: `[server]
fake_clock = true
[platform]
passkey_rp_id = localhost
[notify]
allow_private_hosts = true
`,
  merchant: { id: 'm_key', name: 'Tea House' },
  consumers: [['13800000002', '100.00']],
});
// WebAuthn needs a host name (an IP address is no RP ID): the pages are opened on localhost.
const site = pfUrl.replace('127.0.0.1', 'localhost');

let n = 0;
async function trade(amount) {
  const r = await api('POST', '/v1/trades', JSON.stringify({
    out_trade_no: `key-${Date.now()}-${n++}`, amount: { value: amount, currency: 'CNY' },
    subject: 'Oolong', product: 'page',
  }));
  expect(r.status === 201, `trade created (${r.status} ${JSON.stringify(r.json)})`);
  return r.json;
}
const state = async (id) => (await api('GET', `/v1/trades/${id}`)).json;
async function balance(page) {
  await page.goto(`${site}/wallet`);
  return page.getAttribute('#balance', 'data-amount');
}

const browser = await launch();
let failed = false;
try {
  const ctx = await browser.newContext({ locale: 'zh-CN' });
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });

  // (a) log in to the wallet and register a passkey
  await page.goto(`${site}/wallet`);
  await consumerLogin(page, '13800000002', 'correct horse');
  expect(await page.$('#no-passkeys') !== null, 'no passkey before');
  // a name longer than 64 bytes (past the field's maxlength) is refused, nothing stored
  await page.$eval('#passkey-register-form input[name=name]', (i) => i.removeAttribute('maxlength'));
  await page.fill('#passkey-register-form input[name=name]', 'x'.repeat(65));
  await Promise.all([page.waitForNavigation(), page.click('#passkey-register')]);
  expect(await page.textContent('#code') === 'FIELD_TOO_LONG' &&
    await page.textContent('#field') === 'name', `a long name refused (${await page.textContent('body')})`);
  await cdp.send('WebAuthn.clearCredentials', { authenticatorId });
  await page.goto(`${site}/wallet`);
  expect(await page.$('#no-passkeys') !== null, 'still no passkey');
  await page.fill('#passkey-register-form input[name=name]', 'My phone');
  await Promise.all([page.waitForNavigation(), page.click('#passkey-register')]);
  const li = await page.$('li.passkey');
  expect(li !== null, `a passkey listed (${await page.textContent('body')})`);
  expect(await li.getAttribute('data-alg') === 'ES256', 'an ES256 passkey');
  expect((await li.textContent()).startsWith('My phone'), 'by its name');
  await shot(page, 'passkey-1-registered');
  let creds = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  expect(creds.length === 1, 'one credential in the authenticator');
  expect(await li.getAttribute('data-id') === Buffer.from(creds[0].credentialId, 'base64')
    .toString('base64url'), 'the platform holds that credential');
  expect(await balance(page) === '100.00', 'the wallet holds 100.00');

  // (b) pay with it instead of the payment password
  const t = await trade('12.30');
  await page.goto(t.cashier_url.replace('127.0.0.1', 'localhost'));
  await shot(page, 'passkey-2-cashier');
  let posted = null;
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/pay/passkey')) posted = r.postData();
  });
  await Promise.all([page.waitForNavigation(), page.click('#pay-passkey')]);
  expect(await page.getAttribute('#state', 'data-state') === 'TRADE_SUCCESS',
    `paid (${await page.textContent('body')})`);
  await shot(page, 'passkey-3-paid');
  const paid = await state(t.trade_id);
  expect(paid.state === 'TRADE_SUCCESS' && paid.pay_method === 'wallet',
    `the merchant sees it paid by wallet (${JSON.stringify(paid)})`);
  expect(await balance(page) === '87.70', 'the wallet paid exactly 12.30');
  creds = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  expect(creds[0].signCount >= 1, 'the authenticator counted the signature');

  // (c) the same answer again: its challenge was used
  expect(posted !== null, 'the answer was posted');
  const again = await page.request.post(`${site}/cashier/${t.trade_id}/pay/passkey`, {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, data: posted,
  });
  const body = await again.text();
  expect(again.status() === 401 && body.includes('id="code">PASSKEY_INVALID') &&
    body.includes('id="field">challenge'), `a replay refused (${again.status()})`);

  // (d) a challenge answered after its 5 minutes (the test clock moved meanwhile)
  const t2 = await trade('5.00');
  await page.goto(t2.cashier_url.replace('127.0.0.1', 'localhost'));
  await page.route('**/passkey/options', async (route) => {
    const resp = await route.fetch();
    const moved = await fetch(`${pfUrl}/sandbox/clock`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ advance_ms: 5 * 60 * 1000 + 1000 }),
    });
    expect(moved.status === 200, 'the clock moved');
    await route.fulfill({ response: resp });
  });
  await Promise.all([page.waitForNavigation(), page.click('#pay-passkey')]);
  expect(await page.textContent('#code') === 'PASSKEY_INVALID' &&
    await page.textContent('#field') === 'challenge', 'an expired challenge refused');
  await shot(page, 'passkey-4-expired');
  await page.unroute('**/passkey/options');
  expect((await state(t2.trade_id)).state === 'WAIT_BUYER_PAY', 'that trade is unpaid');

  // (e) an authenticator that cannot verify the user (no fingerprint): nothing is paid
  await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
  await page.goto(t2.cashier_url.replace('127.0.0.1', 'localhost'));
  await page.click('#pay-passkey');
  await page.waitForSelector('#passkey-error:not([hidden])');
  expect((await state(t2.trade_id)).state === 'WAIT_BUYER_PAY', 'still unpaid without UV');

  // (f) a copy of the passkey (its private key moved to another authenticator, its counter
  // starting again): the counter did not go up, so the platform refuses it
  await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
  const copy = (await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  })).authenticatorId;
  await cdp.send('WebAuthn.addCredential', {
    authenticatorId: copy,
    credential: { ...creds[0], signCount: 0 },
  });
  await page.goto(t2.cashier_url.replace('127.0.0.1', 'localhost'));
  await Promise.all([page.waitForNavigation(), page.click('#pay-passkey')]);
  expect(await page.textContent('#code') === 'PASSKEY_INVALID' &&
    await page.textContent('#field') === 'authenticatorData', 'a copied passkey refused');
  expect((await state(t2.trade_id)).state === 'WAIT_BUYER_PAY', 'still unpaid with a copy');
  expect(await balance(page) === '87.70', 'no money moved by the refusals');

  // (g) the passkey removed in the wallet (a lost phone): the cashier offers it no more
  await Promise.all([page.waitForNavigation(), page.click('li.passkey form.passkey-remove button')]);
  expect(await page.$('li.passkey') === null && await page.$('#no-passkeys') !== null,
    'the passkey removed');
  await page.goto(t2.cashier_url.replace('127.0.0.1', 'localhost'));
  expect(await page.$('#pay-passkey') === null, 'no passkey payment without a passkey');
  await ctx.close();
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
  finish(dir, failed, [
    stoppedCleanly('the platform', await stopServer(pf)),
    ledgerClean(`${dir}/pf/platform.db`),
    auditIntact(`${dir}/pf/platform.db`),
  ], 'passkey browser test: ok');
}
