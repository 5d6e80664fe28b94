/**
 * Social recovery from the command line. The patient: `medbloc recovery setup --guardian A B C --threshold 2`. A
 * guardian: `medbloc recovery requests <patient>` and `medbloc recovery release <patient> --key <recoveryKey>`. The
 * patient's new device: `medbloc recover <patient>` — the first run makes a one-time recovery key (kept beside the
 * keystore-to-be, mode 0600) and asks the guardians; a later run, once enough of them released their shares,
 * rebuilds the identity, checks it is the patient's and writes a new passphrase-encrypted keystore.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encryptKeystore } from '@medbloc/core';
import { createRecoveryKey, RecoveryError, recoverIdentity, requestRecovery } from '@medbloc/sdk';
import { type Address, bytesToHex, getAddress, type Hex, hexToBytes, isAddress, isHex } from 'viem';
import {
  CliError,
  clientFor,
  type GlobalOptions,
  keystorePath,
  nodeUrl,
  passphrase,
  print,
} from '../context.ts';

function accountOf(a: string): Address {
  if (!isAddress(a)) throw new CliError(`"${a}" is not an address`, 'INVALID_ADDRESS');
  return getAddress(a);
}

export async function setup(o: GlobalOptions & { guardian?: string[]; threshold?: string }) {
  const guardians = (o.guardian ?? []).map(accountOf);
  const threshold = Number(o.threshold);
  if (guardians.length < 2) throw new CliError('name at least two --guardian accounts', 'INVALID_GUARDIANS');
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > guardians.length)
    throw new CliError('--threshold must be from 2 to the number of guardians', 'INVALID_THRESHOLD');
  const client = await clientFor(o);
  const out = await client.setRecoveryGuardians({ guardians, threshold });
  print(
    o,
    { patient: client.address, threshold, ...out, guardians },
    `Any ${threshold} of your ${guardians.length} guardians can now restore your keys (tx ${out.txHash})`,
  );
}

export async function requests(patient: string, o: GlobalOptions) {
  const client = await clientFor(o);
  const rows = await client.recoveryRequests(accountOf(patient));
  print(o, rows, () =>
    rows.length === 0
      ? 'No recovery requested.'
      : rows.map((r) => `${r.recoveryKey}  ${new Date(r.requestedAt).toISOString()}`).join('\n'),
  );
}

export async function release(patient: string, o: GlobalOptions & { key?: string }) {
  if (!o.key || !isHex(o.key) || o.key.length !== 66)
    throw new CliError('--key must be the 32-byte recovery key the patient gave you', 'INVALID_KEY');
  const client = await clientFor(o);
  const out = await client.releaseRecoveryShare({ patient: accountOf(patient), recoveryKey: o.key as Hex });
  print(o, out, `Released your share of ${out.patient} to recovery key ${out.recoveryKey.slice(0, 18)}…`);
}

export async function recover(patientArg: string, o: GlobalOptions & { force?: boolean }) {
  const patient = accountOf(patientArg);
  const file = keystorePath(o);
  const pending = `${file}.recovery.json`;
  if (!o.force && (await stat(file).catch(() => undefined)))
    throw new CliError(`an identity already exists at ${file} (use --id for another)`, 'IDENTITY_EXISTS');
  const node = nodeUrl(o);
  const saved = await readFile(pending, 'utf8').then(
    (t) => JSON.parse(t) as { patient: Address; privateKey: Hex; publicKey: Hex },
    () => undefined,
  );
  if (!saved || saved.patient !== patient) {
    const key = createRecoveryKey();
    const asked = await requestRecovery({ node, patient, recoveryKey: key.publicKeyHex });
    await mkdir(path.dirname(pending), { recursive: true, mode: 0o700 });
    await writeFile(
      pending,
      JSON.stringify({ patient, privateKey: bytesToHex(key.privateKey), publicKey: key.publicKeyHex }),
      { mode: 0o600 },
    );
    print(
      o,
      { patient, recoveryKey: key.publicKeyHex, threshold: asked.threshold, guardians: asked.guardians },
      [
        `Recovery of ${patient} requested. Recovery key:`,
        '',
        `  ${key.publicKeyHex}`,
        '',
        `Ask ${asked.threshold} of your ${asked.guardians} guardians to check this key with you and run`,
        `  medbloc recovery release ${patient} --key ${key.publicKeyHex}`,
        `then run "medbloc recover ${patient}" again.`,
      ].join('\n'),
    );
    return;
  }
  let identity: Awaited<ReturnType<typeof recoverIdentity>>['identity'];
  let guardians: Address[];
  try {
    ({ identity, guardians } = await recoverIdentity({
      node,
      patient,
      recoveryKey: { privateKey: hexToBytes(saved.privateKey), publicKey: hexToBytes(saved.publicKey) },
    }));
  } catch (err) {
    if (err instanceof RecoveryError) throw new CliError(err.message, err.code);
    throw err;
  }
  const pass = await passphrase(o, 'protect your recovered keystore');
  if (pass.length < 8)
    throw new CliError('the passphrase must have at least 8 characters', 'WEAK_PASSPHRASE');
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${JSON.stringify(await encryptKeystore(identity.mnemonic, pass), null, 2)}\n`, {
    mode: 0o600,
  });
  await rm(pending, { force: true });
  print(
    o,
    { address: identity.address, keystore: file, guardians },
    `Recovered ${identity.address} with the shares of ${guardians.length} guardian(s); keystore ${file}`,
  );
}
