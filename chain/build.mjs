// Compiles contracts/PayToken.sol with the pinned solc (package.json) into
// build/PayToken.json: its ABI and creation bytecode, committed so that the platform and the
// tests need no compiler. usage: npm run build (in chain/)
import fs from 'node:fs';
import path from 'node:path';
import solc from 'solc';

const here = path.dirname(new URL(import.meta.url).pathname);
const file = 'PayToken.sol';
const input = {
  language: 'Solidity',
  sources: { [file]: { content: fs.readFileSync(path.join(here, 'contracts', file), 'utf8') } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'shanghai',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter((e) => e.severity === 'error');
if (errors.length) {
  for (const e of errors) console.error(e.formattedMessage);
  process.exit(1);
}
const c = out.contracts[file].PayToken;
const doc = { compiler: solc.version(), abi: c.abi, bytecode: '0x' + c.evm.bytecode.object };
fs.mkdirSync(path.join(here, 'build'), { recursive: true });
fs.writeFileSync(path.join(here, 'build', 'PayToken.json'), JSON.stringify(doc, null, 1) + '\n');
console.log(`build/PayToken.json: ${c.evm.bytecode.object.length / 2} bytes (${doc.compiler})`);
