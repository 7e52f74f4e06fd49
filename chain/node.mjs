// The sandbox chain (docs/chain.md): a local EVM node (ganache, pinned in package.json) on
// 127.0.0.1, with the sandbox token PayToken deployed and test accounts funded with it.
// It also serves the sandbox wallet page (wallet.mjs) on a port of its own. Once both listen
// it writes a JSON file {url, chain_id, token, accounts, wallet_url, pid} (written whole, then
// renamed), so tests wait for that file, never for a time.
//
// usage: node node.mjs --info-file F [--port N] [--wallet-port N] [--db DIR] [--chain-id N]
//   --port 0 (the default) lets the system choose a free port; a restart of a killed node
//   passes the port it had, with the same --db, to come back where it was. --wallet-port: the
//   wallet page's (0, the default: any free one).
//   --db keeps the chain in DIR (a restart finds its blocks and the token there).
// Accounts come from ganache's deterministic wallet: each holds 1000 ETH and, but for the
// deployer (accounts[0]), 1,000,000 PTD. Mining is instant: one block per transaction;
// tests mine empty blocks with evm_mine and reorganise with evm_snapshot / evm_revert.
import fs from 'node:fs';
import path from 'node:path';
import ganache from 'ganache';
import { serveWallet } from './wallet.mjs';

function args() {
  const a = { port: 0, walletPort: 0, db: '', infoFile: '', chainId: 1337 };
  const v = process.argv.slice(2);
  for (let i = 0; i < v.length; i += 2) {
    const [k, x] = [v[i], v[i + 1]];
    if (x === undefined) fail(`${k} needs a value`);
    if (k === '--port') a.port = Number(x);
    else if (k === '--wallet-port') a.walletPort = Number(x);
    else if (k === '--db') a.db = x;
    else if (k === '--info-file') a.infoFile = x;
    else if (k === '--chain-id') a.chainId = Number(x);
    else fail(`unknown option ${k}`);
  }
  if (!a.infoFile) fail('--info-file is required');
  for (const [k, n] of [['--port', a.port], ['--wallet-port', a.walletPort]]) {
    if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`${k}: 0..65535`);
  }
  return a;
}

function fail(msg) {
  console.error(`chain node: ${msg}`);
  process.exit(2);
}

const here = path.dirname(new URL(import.meta.url).pathname);
const token = JSON.parse(fs.readFileSync(path.join(here, 'build', 'PayToken.json'), 'utf8'));
const SUPPLY = 10n ** 15n * 10n ** 6n; // 10^15 PTD of 6 decimals
const FUNDED = 1000000n * 10n ** 6n;

async function send(p, tx) {
  const hash = await p.request({ method: 'eth_sendTransaction', params: [tx] });
  const r = await p.request({ method: 'eth_getTransactionReceipt', params: [hash] });
  if (!r || r.status !== '0x1') fail(`transaction ${hash} failed`);
  return r;
}

function word(hex) {
  return hex.replace(/^0x/, '').padStart(64, '0');
}

// Deploys PayToken and funds accounts 1..9, unless the chain in --db already has it.
async function deploy(p, accounts, db) {
  const saved = db ? path.join(db, 'paygate-token.json') : '';
  if (saved && fs.existsSync(saved)) return JSON.parse(fs.readFileSync(saved, 'utf8')).token;
  const data = token.bytecode + word(SUPPLY.toString(16));
  const r = await send(p, { from: accounts[0], data, gas: '0x200000' });
  const addr = r.contractAddress;
  for (const to of accounts.slice(1)) {
    const call = '0xa9059cbb' + word(to) + word(FUNDED.toString(16)); // transfer(to, value)
    await send(p, { from: accounts[0], to: addr, data: call, gas: '0x100000' });
  }
  if (saved) fs.writeFileSync(saved, JSON.stringify({ token: addr }));
  return addr;
}

const a = args();
const opts = {
  logging: { quiet: true },
  chain: { chainId: a.chainId },
  wallet: { deterministic: true, totalAccounts: 10 },
  miner: { instamine: 'eager' },
};
if (a.db) opts.database = { dbPath: a.db };
const server = ganache.server(opts);
await server.listen(a.port, '127.0.0.1');
const { port } = server.address();
const p = server.provider;
const accounts = await p.request({ method: 'eth_accounts', params: [] });
const addr = await deploy(p, accounts, a.db);
const wallet = await serveWallet(p, addr, a.chainId, accounts.slice(1), a.walletPort);
const walletUrl = `http://127.0.0.1:${wallet.address().port}/`;
const info = { url: `http://127.0.0.1:${port}/`, chain_id: a.chainId, token: addr, accounts,
  wallet_url: walletUrl, pid: process.pid };
fs.writeFileSync(a.infoFile + '.tmp', JSON.stringify(info) + '\n');
fs.renameSync(a.infoFile + '.tmp', a.infoFile);
const stop = async () => {
  wallet.close();
  await server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
