// The walk of every page of the demo (docs/hacking.md, "Every page in a browser"): Chromium
// goes through `paygate demo` as its people do — a shopper (shop, cashier, the bank's payment
// pages, a refused card), a wallet user, the merchant's staff in the portal, an applicant, the
// operator's console, the banks' sandbox pages — and then follows every link it finds, in
// Chinese and in English. Every page it reaches, at 390 px (a phone) and 1280 px wide:
//   - answers below 400 (or is an error page the walk asked for on purpose),
//   - offers a way onward: a link that leaves the page (back to the merchant, retry, home, …);
//     a form alone is not one, a person may want to give up,
//   - is no wider than the window (no sideways scrolling),
//   - has no console errors and no failed requests,
//   - has no axe-core (npm axe-core) violation of serious or critical impact;
// and every link on it answers below 400. Screenshots of each page at each width and language go
// to <build>/walk/ ($PAYGATE_WALK_DIR), which is not committed; the docs' screenshots are copied
// from there (scripts/doc-screenshots.sh): each page docs/img/walk-labels.txt lists must have
// been taken in each language, else a finding. Fails listing every finding.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import {
  requireBrowser, tempDir, stopServer, startDemo, totp, stoppedCleanly, finish,
} from './servers.mjs';

requireBrowser();
const { launch, expect } = await import('./browser.mjs');
const axeSource = createRequire(import.meta.url)('axe-core').source;
const dir = tempDir('walk');
const outDir = process.env.PAYGATE_WALK_DIR ||
  path.join(process.env.PAYGATE_BUILD_ROOT || path.join(dir, '..', '..'), 'walk');
fs.mkdirSync(outDir, { recursive: true });
const WIDTHS = [390, 1280];
const LANGS = ['zh-CN', 'en'];
const MAX_PAGES = 120; // per language: the demo has about 40 kinds of page
// the pages the docs show (scripts/doc-screenshots.sh copies them into docs/img/<lang>/)
const DOC_LABELS = fs.readFileSync(path.join(process.env.PAYGATE_SOURCE_ROOT ||
  path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..'), 'docs', 'img',
'walk-labels.txt'), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));

const { demo, urls, log: demoLog } = await startDemo(dir);
const SHOP = urls.shop;
const PLATFORM = urls.platform;
const BANKS = Object.keys(urls).filter((k) => k.startsWith('bank-')).map((k) => urls[k]);
const ORIGINS = new Set(Object.values(urls).map((u) => new URL(u).origin));

// each login takes a later TOTP step: a code is accepted once
let totpStep = 0;

const findings = [];
const problem = (where, what) => findings.push(`${where}: ${what}`);

// One kind of page is checked once per language: ids in paths and query values stand for any.
function kindOf(u) {
  const url = new URL(u);
  const p = url.pathname.split('/').map((s) => (/\d/.test(s) && s.length > 6 ? '{id}' : s))
    .join('/');
  return `${url.origin}${p}?${[...url.searchParams.keys()].sort().join('&')}`;
}

// Links a walk must not follow: other sites, downloads, the language switch (it changes the
// context's language; it is checked by its status only), ends of sessions.
function followable(href) {
  let u;
  try { u = new URL(href); } catch { return false; }
  return ORIGINS.has(u.origin) && !/\/lang\/|logout|\.csv|\.pem|\/static\/|\/healthz|\/metrics/
    .test(u.pathname);
}

function nameOf(u) {
  const url = new URL(u);
  const server = Object.entries(urls).find(([, v]) => new URL(v).origin === url.origin);
  return `${server ? server[0] : url.host}${url.pathname}`.replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/_+$/, '') || 'root';
}

class Walker {
  constructor(context, lang) {
    this.context = context;
    this.lang = lang;
    this.kinds = new Set();
    this.links = new Map(); // link -> the page it was found on
    this.queue = [];
    this.errors = [];
    this.count = 0;
    this.taken = new Set(); // the labels of this run's screenshots
  }

  // Watches a page for console errors and failed requests (a 4xx/5xx the walk did not ask for).
  watch(page) {
    // a document's own status is checked by check() (error pages the walk asks for answer 4xx)
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
        this.errors.push(`console: ${m.text()}`);
      }
    });
    page.on('pageerror', (e) => this.errors.push(`script error: ${e.message}`));
    page.on('requestfailed', (r) => this.errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      const t = r.request().resourceType();
      if (r.status() >= 400 && t !== 'document') this.errors.push(`${r.status()} for ${r.url()}`);
    });
    return page;
  }

  // Checks the page as it is now (after a GET, or the answer to a form the journey sent).
  async check(page, label, { status = 200, expectStatus } = {}) {
    const where = `${this.lang} ${label} (${page.url()})`;
    if (expectStatus ? status !== expectStatus : status >= 400) problem(where, `status ${status}`);
    this.count++;
    const here = new URL(page.url());
    here.hash = '';
    const anchors = await page.$$eval('a[href]', (as) => as.map((a) => ({
      href: a.href, download: a.hasAttribute('download'),
    })));
    const hrefs = anchors.map((a) => a.href);
    // a download (a CSV, a receipt file) is no page to walk; its link is still checked below
    const downloads = new Set(anchors.filter((a) => a.download).map((a) => a.href));
    const onward = hrefs.filter((h) => {
      try {
        const u = new URL(h);
        u.hash = '';
        return !/\/lang\//.test(u.pathname) && u.href !== here.href && /^https?:|^mailto:/.test(u.href);
      } catch { return false; }
    });
    if (onward.length === 0) problem(where, 'no way onward: no link that leaves the page');
    for (const h of hrefs) {
      // the language switch of an error page the walk asked for leads back to that error
      if (expectStatus && /\/lang\//.test(h)) continue;
      if (!this.links.has(h)) this.links.set(h, where);
      if (followable(h) && !downloads.has(h) && !this.kinds.has(kindOf(h))) this.queue.push(h);
    }
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      if (wide > width) problem(where, `${wide} px wide in a ${width} px window`);
      await page.evaluate(axeSource);
      const axe = await page.evaluate(() => window.axe.run(document, {
        resultTypes: ['violations'],
      }));
      for (const v of axe.violations) {
        if (v.impact !== 'serious' && v.impact !== 'critical') continue;
        const nodes = v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ');
        problem(where, `axe ${v.impact} ${v.id} at ${width} px: ${v.help} (${nodes})`);
      }
      await page.screenshot({
        path: path.join(outDir, `${this.lang}-${width}-${label}.png`), fullPage: true,
      });
    }
    this.taken.add(label);
    for (const e of this.errors.splice(0)) problem(where, e);
  }

  async visit(page, url, label, expectStatus) {
    this.kinds.add(kindOf(url));
    const resp = await page.goto(url);
    await this.check(page, label || nameOf(url), { status: resp ? resp.status() : 0, expectStatus });
  }

  // Follows the links found so far, one page of each kind.
  async crawl(page) {
    while (this.queue.length > 0 && this.count < MAX_PAGES) {
      const url = this.queue.shift();
      if (this.kinds.has(kindOf(url))) continue;
      await this.visit(page, url);
    }
    if (this.queue.length > 0) problem(this.lang, `more than ${MAX_PAGES} pages: raise MAX_PAGES`);
  }

  // Every link seen answers below 400, asked with the context's cookies in a request context of
  // its own (following a language link there does not change the browser's language).
  async checkLinks() {
    const state = await this.context.storageState();
    const { request } = await import('playwright-core');
    const api = await request.newContext({ storageState: state });
    for (const [href, where] of this.links) {
      let u;
      try { u = new URL(href); } catch { problem(where, `bad link ${href}`); continue; }
      if (!ORIGINS.has(u.origin) || /logout/.test(u.pathname)) continue;
      const r = await api.get(href, { maxRedirects: 5 });
      if (r.status() >= 400) problem(where, `link ${href} answers ${r.status()}`);
    }
    await api.dispose();
  }
}

const click = (page, sel) => Promise.all([page.waitForNavigation(), page.click(sel)]);
const submitted = async (page, sel) => {
  const [resp] = await Promise.all([page.waitForNavigation(), page.click(sel)]);
  return resp ? resp.status() : 0;
};

// The shopper: the shop, the cashier (logged out, logged in, paid), the bank's pages, a card
// the bank refuses, the error page of each server.
async function shopper(w, page, browser) {
  await w.visit(page, `${SHOP}/`, 'shop-catalogue');
  await click(page, '#add-tea');
  await w.check(page, 'shop-cart');
  await page.check('#pay-platform');
  await click(page, '#checkout');
  await w.check(page, 'cashier-login');
  await page.fill('#login-form input[name=login]', '13800000001');
  await page.fill('#login-form input[name=password]', 'wrong-password');
  await w.check(page, 'cashier-login-refused', { status: await submitted(page, '#login-form button'), expectStatus: 401 });
  await page.fill('#login-form input[name=login]', '13800000001');
  await page.fill('#login-form input[name=password]', 'demo-pass-1');
  await w.check(page, 'cashier-pay', { status: await submitted(page, '#login-form button') });
  await page.fill('#wallet-form input[name=pay_password]', '123456');
  await w.check(page, 'cashier-paid', { status: await submitted(page, '#wallet-form button') });
  await click(page, '#receipt-link');
  await w.check(page, 'cashier-receipt');
  expect(await page.getAttribute('body', 'data-page') === 'receipt', 'the receipt page');
  expect(await page.textContent('#amount') === '¥68.00', 'the receipt says what was paid');
  await page.emulateMedia({ media: 'print' });
  expect(!(await page.isVisible('#print')) && !(await page.isVisible('#lang-switch')),
    'on paper: no buttons, no language switch');
  await page.screenshot({ path: path.join(outDir, `${w.lang}-print-receipt.png`), fullPage: true });
  await page.emulateMedia({ media: 'screen' });
  for (const [card, label] of [['6222020000000023', 'no-funds'], ['6222020000000015', 'paid']]) {
    await page.goto(`${SHOP}/`);
    await click(page, '#add-pot');
    await page.check('#pay-bank');
    await Promise.all([page.waitForURL(/\/b2c\/pay$/), page.click('#checkout')]);
    await page.waitForSelector('body[data-page="card"]');
    await w.check(page, `bank-card-${label}`);
    if (label === 'paid') {
      await page.fill('#cardNo', '1234 5678 9012 3456');
      await w.check(page, 'bank-card-refused', { status: await submitted(page, '#next'), expectStatus: 400 });
    }
    await page.fill('#cardNo', card);
    await w.check(page, `bank-password-${label}`, { status: await submitted(page, '#next') });
    await page.fill('#password', '123456');
    await w.check(page, `bank-sms-${label}`, { status: await submitted(page, '#send-sms') });
    const outbox = w.watch(await w.context.newPage());
    await outbox.goto(`${page.url().replace(/\/b2c\/.*$/, '')}/sandbox/sms?format=json`);
    const code = JSON.parse(await outbox.textContent('body')).messages[0].code;
    await outbox.close();
    await page.fill('#smsCode', code);
    await w.check(page, `bank-confirm-${label}`, { status: await submitted(page, '#verify') });
    const st = await submitted(page, '#confirm');
    await w.check(page, `bank-result-${label}`, { status: st, expectStatus: label === 'paid' ? 200 : 402 });
    if (label === 'paid') { // back at the shop: the order, paid
      await w.check(page, 'shop-order-paid', { status: await submitted(page, '#back') });
    }
    if (label === 'no-funds') { // refused: the reason, another card, and the way back
      expect(await page.$('#error') && await page.$('#other-card') && await page.$('#cancel'),
        'after a refusal: the reason, another card, cancel');
      await w.check(page, 'bank-card-again', { status: await submitted(page, '#other-card') });
      expect(await page.getAttribute('body', 'data-page') === 'card', 'back at the card number');
    }
  }
  await shopAdmin(w, page);
  for (const base of [SHOP, PLATFORM, ...BANKS]) {
    await w.visit(page, `${base}/no-such-page`, `${nameOf(base)}-not-found`, 404);
  }
}

// The shop's own staff: my orders; the staff login (docs/shop.md "Staff login": the admin's
// page leads to it, a wrong password says the tries left, the demo's first admin's password is
// in its 0600 file); the admin with a refund up to its confirmation, a cash-on-delivery order,
// the courier's page and the books, each with the logout; then the logout.
async function shopAdmin(w, page) {
  await w.visit(page, `${SHOP}/orders`, 'shop-my-orders');
  await w.visit(page, `${SHOP}/admin`, 'shop-login');
  expect(page.url() === `${SHOP}/admin/login`, `the admin without a session: ${page.url()}`);
  await page.fill('#login', 'admin');
  await page.fill('#password', 'wrong-password');
  await w.check(page, 'shop-login-refused', { status: await submitted(page, '#login-button'), expectStatus: 401 });
  expect(/\d/.test(await page.textContent('#error')), 'a wrong password says how many tries are left');
  const password = /^password (\S+)$/m.exec(
    fs.readFileSync(`${dir}/data/shop/shop-admin.txt`, 'utf8'))[1];
  await page.fill('#login', 'admin');
  await page.fill('#password', password);
  await w.check(page, 'shop-admin', { status: await submitted(page, '#login-button') });
  expect(page.url() === `${SHOP}/admin`, `logged in: the admin (${page.url()})`);
  const refund = '#all-orders tr:has(td[data-method="platform"]) form.refund button';
  if (await page.$(refund)) {
    await w.check(page, 'shop-refund-confirm', { status: await submitted(page, refund) });
  }
  await page.goto(`${SHOP}/`);
  await click(page, '#add-fan');
  await page.check('#pay-cod');
  await w.check(page, 'shop-order-cod', { status: await submitted(page, '#checkout') });
  await w.visit(page, `${SHOP}/courier`, 'shop-courier');
  await w.visit(page, `${SHOP}/admin/books`, 'shop-books');
  for (const p of ['/admin', '/courier', '/admin/books']) {
    await page.goto(`${SHOP}${p}`);
    expect(await page.$('#logout-button'), `${p}: the logout`);
  }
  await w.check(page, 'shop-logged-out', { status: await submitted(page, '#logout-button') });
  expect(page.url() === `${SHOP}/admin/login`, `logged out: the login page (${page.url()})`);
  await page.goto(`${SHOP}/admin`);
  expect(page.url() === `${SHOP}/admin/login`, 'after the logout the admin asks for the login again');
}

// The wallet user, the merchant's owner in the portal (a refund up to its confirmation), an
// applicant for a merchant account, the operator.
async function staff(w, page) {
  await w.visit(page, `${PLATFORM}/wallet`, 'wallet-login');
  if (await page.$('#login-form')) {
    await page.fill('#login-form input[name=login]', '13800000001');
    await page.fill('#login-form input[name=password]', 'demo-pass-1');
    await w.check(page, 'wallet', { status: await submitted(page, '#login-form button') });
  } else { // logged in at the cashier already: the wallet itself (the docs show it)
    await w.check(page, 'wallet');
  }
  // an after-sales request of the paid tea, for the merchant's refund requests below
  const paid = await page.getAttribute('#trades tr.trade[data-state="TRADE_SUCCESS"]', 'data-trade');
  if (paid) {
    await w.visit(page, `${PLATFORM}/wallet/trades/${paid}`, 'wallet-trade');
    if (await page.$('#refund-request-form')) {
      await page.fill('#refund-request-form input[name=amount]', '10.00');
      await page.fill('#refund-request-form input[name=reason]', w.lang === 'en' ? 'a damp tin' : '茶叶受潮');
      await w.check(page, 'wallet-trade-requested', { status: await submitted(page, '#refund-request-form button') });
    }
  }
  await w.visit(page, `${PLATFORM}/portal/login`, 'portal-login');
  const secret = /totp_secret (\S+)/.exec(
    fs.readFileSync(`${dir}/data/platform/portal-owner-totp`, 'utf8'))[1];
  await page.fill('input[name=login]', 'owner@shop.example');
  await page.fill('input[name=password]', 'demo-portal-1');
  await page.fill('input[name=totp]', totp(secret, totpStep++));
  await w.check(page, 'portal-trades', { status: await submitted(page, '#portal-login button') });
  await page.goto(`${PLATFORM}/portal/trades?state=TRADE_SUCCESS`);
  const trade = await page.getAttribute('tr[data-trade]', 'data-trade');
  if (trade) {
    await w.visit(page, `${PLATFORM}/portal/trades/${trade}`, 'portal-trade');
    if (await page.$('#refund-form')) {
      await page.fill('#refund-form input[name=amount]', '1.00');
      await w.check(page, 'portal-refund-confirm', { status: await submitted(page, '#refund-form button') });
    }
  }
  await w.visit(page, `${PLATFORM}/portal/refund-requests`, 'portal-refund-requests');
  await w.visit(page, `${PLATFORM}/portal/keys`, 'portal-keys');
  await page.fill('#notify-test-form input[name=url]', `${SHOP}/notify/platform`);
  await w.check(page, 'portal-notify-test', { status: await submitted(page, '#notify-test-form button') });
  expect(await page.$('#test-result'), 'the test notification\'s answer is shown');
  await w.visit(page, `${PLATFORM}/portal/overview`, 'portal-overview');
  expect(await page.$$eval('#chart-paid rect.bar', (b) => b.length) === 14, '14 days of bars');
  await w.visit(page, `${PLATFORM}/portal/apply`, 'portal-apply');
  const stamp = `${w.lang.replace(/\W/g, '')}${Date.now() % 100000}`;
  const fill = {
    company: '西湖茶叶有限公司', contact: '王芳', email: `apply-${stamp}@tea.example`,
    phone: '13900000001', website: 'https://tea.example', settle_bank: 'icbc',
    settle_account: '6222020000000015', volume: '50000', password: 'applicant-pass-1',
    password2: 'applicant-pass-1',
  };
  for (const [k, v] of Object.entries(fill)) {
    const el = await page.$(`[name=${k}]`);
    if (el) await (await el.evaluate((e) => e.tagName) === 'SELECT' ? el.selectOption(v) : el.fill(v));
  }
  await w.check(page, 'portal-applied', { status: await submitted(page, '#apply-form button') });
  await w.visit(page, `${PLATFORM}/operator/dashboard`, 'operator-login', 401);
  if (await page.$('#operator-login')) {
    const token = fs.readFileSync(`${dir}/data/platform/operator-token`, 'utf8').trim();
    await page.fill('#operator-login input[name=token]', token);
    await w.check(page, 'operator-dashboard', { status: await submitted(page, '#operator-login button') });
  }
  for (const b of BANKS) {
    await w.visit(page, `${b}/admin`, `${nameOf(b)}-admin`);
    await w.visit(page, `${b}/sandbox/sms`, `${nameOf(b)}-sms`);
  }
}

const browser = await launch();
let failed = false;
try {
  for (const lang of LANGS) {
    const context = await browser.newContext({ locale: lang });
    const w = new Walker(context, lang);
    const page = w.watch(await context.newPage());
    await shopper(w, page, browser);
    await staff(w, page);
    await w.crawl(page);
    await w.checkLinks();
    for (const label of DOC_LABELS) {
      if (!w.taken.has(label)) problem(lang, `the docs' screenshot ${label} was not taken (docs/img/walk-labels.txt)`);
    }
    console.log(`${lang}: ${w.count} pages, ${w.kinds.size} kinds, ${w.links.size} links`);
    await context.close();
  }
  if (findings.length > 0) {
    failed = true;
    console.error(`${findings.length} findings:\n${findings.join('\n')}`);
  } else {
    console.log(`walk: ok (screenshots in ${outDir})`);
  }
} catch (e) {
  failed = true;
  console.error(e);
  if (findings.length > 0) console.error(`findings so far:\n${findings.join('\n')}`);
  console.error(demoLog().slice(-4000));
} finally {
  await browser.close();
  finish(dir, failed, [stoppedCleanly('the demo', await stopServer(demo))]);
}
