/**
 * The browser's key vault: passphrase-encrypted keystores (scrypt + AES-GCM, from core) kept in localStorage. The
 * recovery phrase exists in the clear only in this tab's memory between unlock and lock; it is never sent anywhere.
 */
import {
  decryptKeystore,
  encryptKeystore,
  type Identity,
  identityFromMnemonic,
  type Keystore,
} from '@medbloc/core/portable';

const STORAGE_KEY = 'medbloc.keystores.v1';

export interface VaultEntry {
  address: string;
  label: string;
  createdAt: number;
  keystore: Keystore;
}

export function listVault(): VaultEntry[] {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    const parsed = raw ? (JSON.parse(raw) as VaultEntry[]) : [];
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

function writeVault(entries: VaultEntry[]) {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(entries));
}

/** Encrypts `mnemonic` under `passphrase` and stores it, replacing any keystore of the same address. */
export async function saveIdentity(mnemonic: string, passphrase: string, label: string): Promise<Identity> {
  const identity = identityFromMnemonic(mnemonic);
  const keystore = await encryptKeystore(identity.mnemonic, passphrase);
  const others = listVault().filter((e) => e.address.toLowerCase() !== identity.address.toLowerCase());
  writeVault([...others, { address: identity.address, label, createdAt: Date.now(), keystore }]);
  return identity;
}

/** Decrypts a stored keystore; throws core's WrongPassphraseError for a wrong passphrase. */
export async function unlock(address: string, passphrase: string): Promise<Identity> {
  const entry = listVault().find((e) => e.address.toLowerCase() === address.toLowerCase());
  if (!entry) throw new Error('No key for this account is stored in this browser.');
  const mnemonic = await decryptKeystore(entry.keystore, passphrase);
  return identityFromMnemonic(mnemonic);
}

export function forget(address: string) {
  writeVault(listVault().filter((e) => e.address.toLowerCase() !== address.toLowerCase()));
}
