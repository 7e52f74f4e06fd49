// The sandbox wallet (docs/chain.md, "The sandbox wallet"): a page on the sandbox chain's node
// where a tester pays an EIP-681 payment request (the URI the cashier shows and its QR code
// holds) from one of the node's funded test accounts, as a consumer's wallet app would. It is
// served by chain/node.mjs on a port of its own and is for the sandbox only: the accounts are
// the node's unlocked ones.
import http from 'node:http';

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const word = (hex) => hex.replace(/^0x/, '').padStart(64, '0');

// ethereum:<token>@<chain id>/transfer?address=<to>&uint256=<amount> (EIP-681, ERC-20 form)
export function parseUri(uri, token, chainId) {
  const m = /^ethereum:(0x[0-9a-fA-F]{40})@(\d+)\/transfer\?(.*)$/.exec(uri.trim());
  if (!m) throw new Error('not an EIP-681 token transfer request (ethereum:TOKEN@CHAIN/transfer?...)');
  if (m[1].toLowerCase() !== token.toLowerCase()) throw new Error(`token ${m[1]} is not this chain's PTD`);
  if (Number(m[2]) !== chainId) throw new Error(`the request is for chain ${m[2]}, this is ${chainId}`);
  const q = new URLSearchParams(m[3]);
  const to = q.get('address') || '';
  const amount = q.get('uint256') || '';
  if (!/^0x[0-9a-fA-F]{40}$/.test(to)) throw new Error('address: not an address');
  if (!/^[1-9][0-9]{0,30}$/.test(amount)) throw new Error('uint256: not a positive whole number');
  return { to, amount: BigInt(amount) };
}

async function balances(p, token, accounts) {
  const out = [];
  for (const a of accounts) {
    const data = '0x70a08231' + word(a);
    const r = await p.request({ method: 'eth_call', params: [{ to: token, data }, 'latest'] });
    out.push({ address: a, ptd: (BigInt(r) / 1000000n).toString() });
  }
  return out;
}

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title>
<style>body{font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
textarea,select,button{width:100%;margin:.4rem 0;font-size:1rem}code{word-break:break-all}</style>
</head><body>${body}</body></html>`;
}

async function form(p, token, accounts, uri) {
  const opts = (await balances(p, token, accounts)).map((b) =>
    `<option value="${esc(b.address)}">${esc(b.address)} — ${esc(b.ptd)} PTD</option>`).join('');
  return page('Sandbox wallet', `<h1>Sandbox wallet</h1>
<p>Pay a payment request (EIP-681) from a test account of the sandbox chain.</p>
<form method="post" action="/pay" id="pay-form">
<label>Payment request<textarea name="uri" id="uri" rows="4" required>${esc(uri || '')}</textarea></label>
<label>Pay from<select name="from" id="from">${opts}</select></label>
<button type="submit" id="pay">Pay</button></form>`);
}

async function pay(p, token, chainId, accounts, body) {
  const f = new URLSearchParams(body);
  const from = f.get('from') || '';
  if (!accounts.includes(from)) throw new Error('from: not a test account of this node');
  const { to, amount } = parseUri(f.get('uri') || '', token, chainId);
  const data = '0xa9059cbb' + word(to) + word(amount.toString(16));
  const hash = await p.request({ method: 'eth_sendTransaction', params: [{ from, to: token, data, gas: '0x30000' }] });
  const r = await p.request({ method: 'eth_getTransactionReceipt', params: [hash] });
  if (!r || r.status !== '0x1') throw new Error(`the transaction ${hash} failed`);
  return page('Paid', `<h1>Paid</h1><p id="paid" data-tx="${esc(hash)}" data-block="${esc(BigInt(r.blockNumber).toString())}">
Sent ${esc((Number(amount) / 1e6).toFixed(6))} PTD to <code>${esc(to)}</code> in transaction <code>${esc(hash)}</code>.</p>
<p><a href="/">Pay another</a></p>`);
}

// Serves the wallet on 127.0.0.1:port (0: any free port); resolves with the bound port.
export async function serveWallet(p, token, chainId, accounts, port = 0) {
  const server = http.createServer((req, res) => {
    const send = (status, html) => {
      res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(html);
    };
    const url = new URL(req.url, 'http://wallet');
    if (req.method === 'GET' && url.pathname === '/') {
      form(p, token, accounts, url.searchParams.get('uri')).then((h) => send(200, h), (e) => send(500, esc(e.message)));
      return;
    }
    if (req.method === 'POST' && url.pathname === '/pay') {
      let body = '';
      req.on('data', (c) => { body += c; if (body.length > 4096) req.destroy(); });
      req.on('end', () => pay(p, token, chainId, accounts, body).then((h) => send(200, h),
        (e) => send(400, page('Not paid', `<h1>Not paid</h1><p id="error">${esc(e.message)}</p><p><a href="/">Back</a></p>`))));
      return;
    }
    send(404, page('Not found', '<h1>Not found</h1>'));
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}
