import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as artifacts from '@medbloc/contracts';
import { ARTIFACTS_FILE, compileContracts, renderArtifacts } from '../scripts/solc.ts';

test('the committed artifacts match a fresh compilation of contracts/src (run `npm run build:contracts`)', () => {
  const compilation = compileContracts();
  const names = compilation.contracts.map((c) => c.name);
  // Subfolders (certification/, ...) are compiled too; other contracts may join the list.
  for (const name of [
    'AccountRegistry',
    'RecordRegistry',
    'MedToken',
    'MPPoints',
    'AuthorityCouncil',
    'PeerReview',
  ]) {
    assert.ok(names.includes(name), `${name} is compiled`);
  }
  const exported = artifacts as unknown as Record<string, unknown>;
  for (const c of compilation.contracts) {
    const id = c.name.charAt(0).toLowerCase() + c.name.slice(1);
    assert.equal(exported[`${id}Bytecode`], c.bytecode, `${c.name} bytecode is stale`);
    assert.deepEqual(exported[`${id}Abi`], c.abi, `${c.name} ABI is stale`);
  }
  assert.equal(artifacts.contractsSourceHash, compilation.sourceHash);
  assert.equal(readFileSync(ARTIFACTS_FILE, 'utf8'), renderArtifacts(compilation));
});
