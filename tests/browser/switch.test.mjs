// Browser test of the card network (docs/switch.md): the switch and two banks as its members;
// a shopper on an ICBC merchant's page types a CCB card number on ICBC's card page, gets the
// network card page (他行银联卡, in Chinese; also in English), gives expiry and CVN2, and sees
// the result page: CCB authorized the payment through the switch. Screenshots go to the
// artefacts directory. Needs Chromium and playwright-core (see requireBrowser in servers.mjs).
import fs from 'node:fs';
import {
  requireBrowser, tempDir, run, stopServer, startCardNetwork, startWebShop, finish,
} from './servers.mjs';

requireBrowser();
const { launch, shot, expect } = await import('./browser.mjs');
const dir = tempDir('switch-browser');
const CCB_CARD = '6217000000000014'; // CCB's demo card 1 (docs/bank.md)

const { sw, icbc, ccb, icbcUrl } = await startCardNetwork(dir, {
  beforeServe: () => run(['bank', 'merchant', 'add', '--data-dir', `${dir}/icbc`, '--code', 'icbc',
    '--bin', '622202', '--fast-hash', '--mer-id', 'WEB1', '--name', 'Web Shop',
    '--referrer-domain', '127.0.0.1', '--notify-domain', '127.0.0.1', '--out', `${dir}/m`]),
  stdio: (name) => ['ignore', 'ignore', fs.openSync(`${dir}/${name}.log`, 'w')],
});
const cards = run(['bank', 'demo-cards', '--data-dir', `${dir}/ccb`]);
const cvn2 = /cvv2 (\d{3})/.exec(cards.split('\n').find((l) => l.includes(CCB_CARD)))[1];

const shop = await startWebShop(`${dir}/m`, icbcUrl,
  { order: 'NET', amount: 8800, goods: 'Oolong' });

const browser = await launch();
let failed = false;
try {
  const page = await browser.newPage({ locale: 'zh-CN' });
  await page.goto(shop.url);
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
  expect(shop.notified() === 1, `one notification (${shop.notified()})`);
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
  finish(dir, failed);
}
