/**
 * Social recovery against a real node and chain: a patient splits its recovery secret 2-of-3 among guardians (each
 * share sealed to one guardian, the node keeping ciphertext only, the chain a salted hash of the set); after losing
 * the device, a new one asks, two guardians release their shares to its one-time key, and `medbloc recover` rebuilds
 * the identity — which reads the patient's records. One share is not enough, and the node never holds the mnemonic.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { delegationAbi } from '@medbloc/contracts';
import {
  decryptKeystore,
  encryptKeystore,
  generateMnemonic,
  guardianSetHash,
  identityFromMnemonic,
} from '@medbloc/core';
import {
  createClient,
  createRecoveryKey,
  type MedblocClient,
  RecoveryError,
  recoverIdentity,
  requestRecovery,
} from '@medbloc/sdk';
import { mnemonicToEntropy } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { createPublicClient, http } from 'viem';
import {
  assertAbsent,
  cli,
  fileHaystacks,
  filesUnder,
  newIdentity,
  startTestNode,
  tempDir,
} from './support/harness.ts';

describe('social recovery: k of n guardians restore a patient’s keys', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let patient: MedblocClient;
  let guardians: MedblocClient[];
  const mnemonic = generateMnemonic(256);
  const patientId = identityFromMnemonic(mnemonic);
  const note = {
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'resting heart rate' },
    valueQuantity: { value: 61, unit: '/min' },
  };
  let recordId: `0x${string}`;

  before(async () => {
    t = await startTestNode();
    patient = createClient({ node: t.node.url, identity: patientId });
    guardians = [0, 1, 2].map(() => createClient({ node: t.node.url, identity: newIdentity() }));
    await patient.register();
    for (const g of guardians) await g.register();
    recordId = (await patient.addRecord({ resource: note })).recordId;
  });
  after(() => t.stop());

  test('the patient splits its secret among three guardians; the chain holds only the set’s hash', async () => {
    await patient.setRecoveryGuardians({ guardians: guardians.map((g) => g.address), threshold: 2 });
    const chain = createPublicClient({ transport: http(t.node.rpcUrl) });
    const [hash, threshold] = (await chain.readContract({
      address: t.node.deployment.delegation,
      abi: delegationAbi,
      functionName: 'recoveryGuardiansOf',
      args: [patient.address],
    })) as readonly [`0x${string}`, number, bigint];
    assert.equal(threshold, 2);
    const res = await fetch(`${t.node.url}/v1/recovery/${patient.address}/guardians`, {
      headers: { authorization: `Bearer ${await patient.login()}` },
    });
    const mine = (await res.json()) as { salt: `0x${string}`; guardians: `0x${string}`[] };
    assert.equal(guardianSetHash(mine.guardians, mine.salt), hash);
    // Anyone may learn the threshold, not who the guardians are.
    const status = (await (await fetch(`${t.node.url}/v1/recovery/${patient.address}`)).json()) as Record<
      string,
      unknown
    >;
    assert.deepEqual([status.threshold, status.guardians, 'salt' in status], [2, 3, false]);
  });

  test('one released share does not recover; a guardian cannot release another’s share', async () => {
    const key = createRecoveryKey();
    await requestRecovery({ node: t.node.url, patient: patient.address, recoveryKey: key.publicKeyHex });
    assert.deepEqual(
      (await guardians[0]!.recoveryRequests(patient.address)).map((r) => r.recoveryKey),
      [key.publicKeyHex],
    );
    await guardians[0]!.releaseRecoveryShare({ patient: patient.address, recoveryKey: key.publicKeyHex });
    await assert.rejects(
      recoverIdentity({ node: t.node.url, patient: patient.address, recoveryKey: key }),
      (err: unknown) => err instanceof RecoveryError && err.code === 'NOT_ENOUGH_SHARES',
    );
    // A stranger holds no share; a release to a key nobody asked for is refused.
    const stranger = createClient({ node: t.node.url, identity: newIdentity() });
    await stranger.register();
    await assert.rejects(
      stranger.releaseRecoveryShare({ patient: patient.address, recoveryKey: key.publicKeyHex }),
      { code: 'FORBIDDEN' },
    );
    await assert.rejects(
      guardians[1]!.releaseRecoveryShare({
        patient: patient.address,
        recoveryKey: createRecoveryKey().publicKeyHex,
      }),
      { code: 'REQUEST_NOT_FOUND' },
    );
  });

  test('`medbloc recover` with two guardians’ shares writes a keystore of the patient that reads its records', async () => {
    const dir = await tempDir('medbloc-recover-');
    const env = {
      MEDBLOC_NODE: t.node.url,
      MEDBLOC_KEYS_DIR: dir,
      MEDBLOC_PASSPHRASE: 'new device passphrase',
    };
    const first = await cli(['recover', patient.address, '--json'], env);
    assert.equal(first.code, 0, first.stderr);
    const { recoveryKey, threshold } = JSON.parse(first.stdout) as {
      recoveryKey: `0x${string}`;
      threshold: number;
    };
    assert.equal(threshold, 2);
    // Not enough yet: the command says so and fails.
    const early = await cli(['recover', patient.address], env);
    assert.notEqual(early.code, 0);
    assert.match(early.stderr, /0 of the 2 guardian shares/);
    // Two guardians release (one through the CLI, as a guardian would).
    const gdir = await tempDir('medbloc-guardian-');
    const gMnemonic = generateMnemonic();
    const gClient = createClient({ node: t.node.url, identity: identityFromMnemonic(gMnemonic) });
    await gClient.register();
    await writeFile(
      path.join(gdir, 'default.json'),
      JSON.stringify(await encryptKeystore(gMnemonic, 'guardian pass')),
    );
    // (the CLI guardian is not one of this patient's; it is refused)
    const refused = await cli(['recovery', 'release', patient.address, '--key', recoveryKey], {
      MEDBLOC_NODE: t.node.url,
      MEDBLOC_KEYS_DIR: gdir,
      MEDBLOC_PASSPHRASE: 'guardian pass',
    });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /FORBIDDEN/);
    await guardians[1]!.releaseRecoveryShare({ patient: patient.address, recoveryKey });
    await guardians[2]!.releaseRecoveryShare({ patient: patient.address, recoveryKey });
    const done = await cli(['recover', patient.address, '--json'], env);
    assert.equal(done.code, 0, done.stderr);
    const out = JSON.parse(done.stdout) as { address: string; keystore: string; guardians: string[] };
    assert.equal(out.address, patient.address);
    assert.equal(out.guardians.length, 2);
    const recovered = identityFromMnemonic(
      await decryptKeystore(await readFile(out.keystore, 'utf8'), 'new device passphrase'),
    );
    assert.equal(recovered.address, patient.address);
    const listed = await cli(['record', 'get', recordId, '--json'], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /resting heart rate/);
  });

  test('the node’s data never contains the mnemonic or its entropy', async () => {
    const words = mnemonic.split(' ');
    const haystacks = await fileHaystacks(await filesUnder(t.home));
    assert.ok(haystacks.some(([f]) => f.endsWith('index.sqlite') || f.endsWith('index.sqlite-wal')));
    assertAbsent([mnemonic, words.slice(0, 6).join(' '), words.slice(-6).join(' ')], haystacks);
    const entropy = Buffer.from(mnemonicToEntropy(mnemonic, wordlist));
    for (const [where, text] of haystacks) {
      assert.ok(!text.includes(entropy.toString('latin1')), `raw entropy in ${where}`);
      assert.ok(!text.toLowerCase().includes(entropy.toString('hex')), `hex entropy in ${where}`);
      assert.ok(!text.includes(entropy.toString('base64url').slice(0, 20)), `base64 entropy in ${where}`);
    }
  });
});
