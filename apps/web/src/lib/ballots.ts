/**
 * A reviewer's sealed votes, kept in this browser until they are revealed. The vote and its salt are the only things
 * that can open a commitment on chain, and nobody else holds them: they are stored in localStorage encrypted with
 * AES-256-GCM under a key derived (HKDF-SHA256) from the identity's X25519 private key, one storage entry per
 * identity, with the identity and case as associated data. A locked tab, another identity or the node learns nothing.
 */
import type { Identity } from '@medbloc/core/portable';
import type { Hex } from 'viem';

export interface Ballot {
  approve: boolean;
  salt: Hex;
  committedAt: number;
}

const PREFIX = 'medbloc.ballots.v1.';
const INFO = new TextEncoder().encode('medbloc web ballots v1');

type Stored = Record<string, { iv: string; ct: string }>;

const b64 = (u: Uint8Array) => btoa(String.fromCharCode(...u));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const storageKey = (identity: Identity) => `${PREFIX}${identity.address.toLowerCase()}`;
const aad = (identity: Identity, applicationId: number) =>
  new TextEncoder().encode(`${identity.address.toLowerCase()}:${applicationId}`);

async function keyOf(identity: Identity): Promise<CryptoKey> {
  const ikm = await crypto.subtle.importKey(
    'raw',
    identity.encryption.privateKey as BufferSource,
    'HKDF',
    false,
    ['deriveKey'],
  );
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: INFO },
    ikm,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

function readAll(identity: Identity): Stored {
  try {
    const raw = localStorage.getItem(storageKey(identity));
    const parsed = raw ? (JSON.parse(raw) as Stored) : {};
    return parsed && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}

/** Stores the vote and salt for a case (before committing, so a commit never happens without its salt kept). */
export async function saveBallot(identity: Identity, applicationId: number, ballot: Ballot): Promise<void> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: aad(identity, applicationId) },
      await keyOf(identity),
      new TextEncoder().encode(JSON.stringify(ballot)),
    ),
  );
  const all = readAll(identity);
  all[String(applicationId)] = { iv: b64(iv), ct: b64(ct) };
  localStorage.setItem(storageKey(identity), JSON.stringify(all));
}

/** The kept vote for a case, or undefined when this browser has none (or it does not decrypt for this identity). */
export async function loadBallot(identity: Identity, applicationId: number): Promise<Ballot | undefined> {
  const entry = readAll(identity)[String(applicationId)];
  if (!entry) return undefined;
  try {
    const pt = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: unb64(entry.iv), additionalData: aad(identity, applicationId) },
      await keyOf(identity),
      unb64(entry.ct),
    );
    return JSON.parse(new TextDecoder().decode(pt)) as Ballot;
  } catch {
    return undefined;
  }
}
