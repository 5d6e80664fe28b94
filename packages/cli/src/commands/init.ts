/** `medbloc init`: a new identity (or one restored from a mnemonic), saved as a passphrase-encrypted keystore. */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encryptionKeyHex, encryptKeystore, generateMnemonic, identityFromMnemonic } from '@medbloc/core';
import { CliError, type GlobalOptions, keystorePath, passphrase, print } from '../context.ts';

export async function init(o: GlobalOptions & { mnemonicFile?: string; force?: boolean }) {
  const file = keystorePath(o);
  if (!o.force && (await stat(file).catch(() => undefined))) {
    throw new CliError(
      `an identity already exists at ${file} (use --force to replace it, or --id for another)`,
      'IDENTITY_EXISTS',
    );
  }
  const restoring = Boolean(o.mnemonicFile);
  const mnemonic = restoring
    ? (await readFile(o.mnemonicFile!, 'utf8')).trim().replace(/\s+/g, ' ')
    : generateMnemonic();
  const identity = identityFromMnemonic(mnemonic);
  const pass = await passphrase(o, 'protect your new keystore');
  if (pass.length < 8)
    throw new CliError('the passphrase must have at least 8 characters', 'WEAK_PASSPHRASE');
  const keystore = await encryptKeystore(mnemonic, pass);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${JSON.stringify(keystore, null, 2)}\n`, { mode: 0o600 });
  print(
    o,
    {
      address: identity.address,
      encryptionKey: encryptionKeyHex(identity),
      keystore: file,
      ...(restoring ? {} : { mnemonic }),
    },
    () =>
      [
        `Identity ${identity.address}`,
        `Keystore ${file}`,
        ...(restoring
          ? []
          : [
              '',
              'Your recovery phrase (shown once; write it down and keep it offline — it is the only way back to your records):',
              '',
              `  ${mnemonic}`,
              '',
            ]),
        'Next: medbloc account register',
      ].join('\n'),
  );
}
