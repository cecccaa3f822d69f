#!/usr/bin/env node
// Compile LedgerAnchor.sol with the pinned npm `solc` (standard JSON) and write the artifact
// LedgerAnchor.json that Python loads. The output is deterministic (sorted keys, two-space
// indentation, trailing newline), so it can be committed and checked byte for byte.
//
//   node compile.js           write LedgerAnchor.json
//   node compile.js --check   recompile; exit 1 if the committed artifact differs
//
// Paths are relative to this file, so it runs from any working directory.
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');

const HERE = __dirname;
const SOURCE_NAME = 'LedgerAnchor.sol';
const CONTRACT_NAME = 'LedgerAnchor';
const ARTIFACT = path.join(HERE, 'LedgerAnchor.json');

// Compiler settings recorded in the artifact (outputSelection is added for the compile only).
const SETTINGS = {
  evmVersion: 'paris',
  optimizer: { enabled: true, runs: 200 },
  metadata: { bytecodeHash: 'none' },
};

function fail(message) {
  process.stderr.write(`compile.js: ${message}\n`);
  process.exit(1);
}

// The solc actually loaded must be the exact version pinned in package.json.
function checkPinnedVersion() {
  const pinned = require(path.join(HERE, 'package.json')).dependencies.solc;
  const loaded = require('solc/package.json').version;
  if (loaded !== pinned) {
    fail(`solc ${loaded} is installed but package.json pins ${pinned}: run npm ci`);
  }
}

function compile() {
  const input = {
    language: 'Solidity',
    sources: { [SOURCE_NAME]: { content: fs.readFileSync(path.join(HERE, SOURCE_NAME), 'utf8') } },
    settings: {
      ...SETTINGS,
      outputSelection: {
        [SOURCE_NAME]: {
          [CONTRACT_NAME]: ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'],
        },
      },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const diagnostics = output.errors || [];
  for (const d of diagnostics) process.stderr.write(d.formattedMessage || d.message);
  if (diagnostics.some((d) => d.severity === 'error')) fail('compilation failed');
  if (diagnostics.length > 0) fail('compiler warnings must be fixed, not committed');

  const contract = output.contracts[SOURCE_NAME][CONTRACT_NAME];
  return {
    abi: contract.abi,
    bytecode: '0x' + contract.evm.bytecode.object,
    compiler: { name: 'solc', version: solc.version() },
    contractName: CONTRACT_NAME,
    deployedBytecode: '0x' + contract.evm.deployedBytecode.object,
    settings: SETTINGS,
    sourceName: SOURCE_NAME,
  };
}

// JSON with object keys sorted at every depth (array order is kept: it is meaningful).
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const sorted = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeys(value[key]);
    return sorted;
  }
  return value;
}

function render(artifact) {
  return JSON.stringify(sortKeys(artifact), null, 2) + '\n';
}

function main(argv) {
  const unknown = argv.filter((a) => a !== '--check');
  if (unknown.length > 0) fail(`unknown argument ${unknown[0]} (usage: node compile.js [--check])`);
  checkPinnedVersion();
  const fresh = render(compile());

  if (argv.includes('--check')) {
    if (!fs.existsSync(ARTIFACT)) fail(`${ARTIFACT} is missing: run node compile.js`);
    const committed = fs.readFileSync(ARTIFACT, 'utf8');
    if (committed !== fresh) {
      const a = JSON.parse(committed);
      const b = JSON.parse(fresh);
      const differing = Object.keys({ ...a, ...b })
        .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
      const what = differing.length > 0 ? `fields differ: ${differing.join(', ')}` : 'formatting differs';
      fail(`${path.basename(ARTIFACT)} is not a fresh compile of ${SOURCE_NAME} (${what}): run node compile.js`);
    }
    process.stdout.write(`${path.basename(ARTIFACT)} matches a fresh compile (solc ${solc.version()})\n`);
    return;
  }
  fs.writeFileSync(ARTIFACT, fresh);
  process.stdout.write(`wrote ${path.basename(ARTIFACT)} (solc ${solc.version()})\n`);
}

main(process.argv.slice(2));
