// Browser test of the merchant portal (docs/portal.md) with Chromium: an owner made by the CLI
// logs in with password and TOTP code, walks every portal page in Chinese and in English on a
// phone (390 px) and a desktop (1280 px) — nothing wider than the window, no console errors,
// no failed requests — and refunds part of a trade through the confirmation step. Exit 77
// (skip) when Chromium or playwright-core is missing.
import {
  requireBrowser, tempDir, stopServer, startPlatform, totp, ledgerClean, finish,
} from './servers.mjs';

requireBrowser();
const { launch, shot, expect, consumerLogin } = await import('./browser.mjs');
const dir = tempDir('portal-browser');

const { pf, pfUrl, api, secrets } = await startPlatform(dir, {
  ini: '[notify]\nallow_private_hosts = true\n',
  merchant: { id: 'm_web', name: '茶馆 Tea House' },
  members: [['boss@tea.example', 'owner', 'owner-password-1']],
  consumers: [['13800000001', '500.00']],
});
const secret = secrets['boss@tea.example'];

// Every page: no horizontal overflow at the window's width, then the screenshot.
async function check(page, name, width) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(wide <= width, `${name}: ${wide} px wide in a ${width} px window`);
  await shot(page, name);
}

const browser = await launch();
let failed = false;
try {
  const t = (await api('POST', '/v1/trades', JSON.stringify({
    out_trade_no: 'tea-0001', amount: { value: '68.00', currency: 'CNY' }, subject: '龙井茶 250g',
  }))).json;
  const buyer = await (await browser.newContext({ locale: 'zh-CN' })).newPage();
  await buyer.goto(t.cashier_url);
  await consumerLogin(buyer, '13800000001', 'correct horse');
  await buyer.fill('#wallet-form input[name=pay_password]', '246810');
  await Promise.all([buyer.waitForNavigation(), buyer.click('#wallet-form button')]);
  expect(await buyer.getAttribute('#notice', 'data-notice') === 'paid', 'paid by wallet');

  let ahead = 0;
  for (const [locale, width, tag] of [['zh-CN', 390, 'zh-phone'], ['en-US', 1280, 'en-desk']]) {
    const ctx = await browser.newContext({ locale, viewport: { width, height: 844 },
      isMobile: width < 500, hasTouch: width < 500 });
    const page = await ctx.newPage();
    const problems = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
    await page.goto(`${pfUrl}/portal`);
    await check(page, `portal-${tag}-1-login`, width);
    await page.fill('#portal-login input[name=login]', 'boss@tea.example');
    await page.fill('#portal-login input[name=password]', 'owner-password-1');
    await page.fill('#portal-login input[name=totp]', totp(secret, ahead++));
    await Promise.all([page.waitForNavigation(), page.click('#portal-login button')]);
    expect(await page.getAttribute('body', 'data-page') === 'portal-trades', `${tag}: logged in`);
    expect(await page.getAttribute('html', 'lang') === (locale === 'zh-CN' ? 'zh-CN' : 'en'),
      `${tag}: the page's language`);
    await check(page, `portal-${tag}-2-trades`, width);
    await Promise.all([page.waitForNavigation(), page.click('#trades a.id')]);
    await check(page, `portal-${tag}-3-trade`, width);
    await page.fill('#refund-form input[name=amount]', '8.00');
    await page.fill('#refund-form input[name=reason]', locale === 'zh-CN' ? '少发一盒' : 'one box short');
    await Promise.all([page.waitForNavigation(), page.click('#refund-form button')]);
    await check(page, `portal-${tag}-4-refund-confirm`, width);
    await Promise.all([page.waitForNavigation(), page.click('#refund-confirm button')]);
    expect(await page.getAttribute('#notice', 'data-notice') === 'refunded', `${tag}: refunded`);
    await check(page, `portal-${tag}-5-refunded`, width);
    await page.goto(`${pfUrl}/portal/keys`);
    await check(page, `portal-${tag}-6-keys`, width);
    await page.goto(`${pfUrl}/portal/team`);
    await check(page, `portal-${tag}-7-team`, width);
    await Promise.all([page.waitForNavigation(), page.click('#logout button')]);
    expect(await page.getAttribute('body', 'data-page') === 'portal-login', `${tag}: logged out`);
    expect(problems.length === 0, `${tag}: ${problems.join('; ')}`);
    await ctx.close();
  }
  const s = (await api('GET', `/v1/trades/${t.trade_id}`)).json;
  expect(s.refunded.value === '16.00', `two refunds of 8.00: ${JSON.stringify(s.refunded)}`);
  console.log('portal browser test: ok');
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
  await stopServer(pf);
  finish(dir, failed, [ledgerClean(`${dir}/pf/platform.db`)]);
}
