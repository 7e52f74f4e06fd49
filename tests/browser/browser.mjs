// Shared launcher for the browser tests: Debian's Chromium driven by playwright-core,
// headless, with the flags this closed network needs. Screenshots go to $PAYGATE_ARTIFACTS
// (default tests/browser/artifacts).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

export const artifacts = process.env.PAYGATE_ARTIFACTS ||
  path.join(path.dirname(new URL(import.meta.url).pathname), 'artifacts');

export async function launch() {
  fs.mkdirSync(artifacts, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return browser;
}

// Every page is in a language it says (<html lang>), Chinese pages read as Chinese, and the
// language switch (中文 / English, docs/i18n.md) is on it; then the screenshot.
export async function shot(page, name) {
  const lang = await page.getAttribute('html', 'lang');
  expect(lang === 'zh-CN' || lang === 'en', `${name}: <html lang="${lang}">`);
  expect(await page.$('#lang-switch') !== null, `${name}: no language switch`);
  const text = await page.textContent('body');
  if (lang === 'zh-CN') expect(/[\u4e00-\u9fff]/.test(text), `${name}: no Chinese text`);
  const file = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// Logs a consumer in through the page's #login-form (the cashier, its mobile page, the wallet)
// and waits for the page it leads to. With ifAsked, a page without the form (the consumer is
// logged in already) is left as it is.
export async function consumerLogin(page, login, password, { ifAsked = false } = {}) {
  if (ifAsked && !(await page.$('#login-form'))) return;
  await page.fill('#login-form input[name=login]', login);
  await page.fill('#login-form input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('#login-form button')]);
}

// A tiny assertion helper that fails the process with a clear message.
export function expect(cond, message) {
  if (!cond) {
    throw new Error(`expectation failed: ${message}`);
  }
}

// Opens url, a page of the shop's back office (docs/shop.md "Staff login"): when the shop asks
// for the staff login, logs in — as the demo's first admin by default, whose password the shop
// wrote to <dataDir>/shop/shop-admin.txt — and opens url again.
export async function shopStaffGoto(page, url, dataDir, { login = 'admin', password } = {}) {
  await page.goto(url);
  if (!(await page.$('#login-form[action="/admin/login"]'))) return;
  const pw = password || /^password (\S+)$/m.exec(
    fs.readFileSync(`${dataDir}/shop/shop-admin.txt`, 'utf8'))[1];
  await page.fill('#login', login);
  await page.fill('#password', pw);
  await Promise.all([page.waitForNavigation(), page.click('#login-button')]);
  expect(!(await page.$('#login-form[action="/admin/login"]')), `the staff login as ${login} failed`);
  if (page.url() !== url) await page.goto(url);
}
