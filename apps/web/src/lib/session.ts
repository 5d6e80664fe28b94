/**
 * The unlocked session: an identity held in this tab's memory and an SDK client bound to the node this page came
 * from (or `?node=` for a different one). Everything that seals, opens or signs runs through this client.
 */
import type { Identity } from '@medbloc/core/portable';
import { createClient, type MedblocClient } from '@medbloc/sdk';
import { createContext, useContext } from 'react';
import { sealInWorker } from './sealer.ts';

const NODE_KEY = 'medbloc.node';

/** The node's base URL: `?node=` (remembered), else what was remembered, else this page's own origin. */
export function nodeUrl(): string {
  const fromQuery = new URLSearchParams(location.search).get('node');
  if (fromQuery) {
    localStorage.setItem(NODE_KEY, fromQuery);
    return fromQuery;
  }
  return localStorage.getItem(NODE_KEY) ?? location.origin;
}

export type Account = Awaited<ReturnType<MedblocClient['account']>>;

export interface Session {
  identity: Identity;
  client: MedblocClient;
  /** undefined until loaded; null when the address is not registered yet. */
  account: Account | null | undefined;
  refreshAccount(): Promise<void>;
  lock(): void;
}

/**
 * fetch for the SDK in a browser. Browsers stream a request body only over HTTP/2 or later (Chromium refuses a
 * ReadableStream body on HTTP/1.1), and a node usually speaks HTTP/1.1: so a streamed body — already sealed
 * ciphertext — is collected into a Blob here and sent whole.
 */
async function browserFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  if (init?.body instanceof ReadableStream) {
    const parts: BlobPart[] = [];
    const reader = (init.body as ReadableStream<Uint8Array>).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value as BlobPart);
    const { duplex: _d, ...rest } = init as RequestInit & { duplex?: string };
    return fetch(input, { ...rest, body: new Blob(parts) });
  }
  return fetch(input, init);
}

export function openSession(identity: Identity): MedblocClient {
  return createClient({ node: nodeUrl(), identity, fetch: browserFetch, sealBatch: sealInWorker });
}

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside an unlocked session');
  return s;
}

export const ROLE = { patient: 1, provider: 2, researcher: 4 } as const;

export function hasRole(account: Account | null | undefined, role: keyof typeof ROLE): boolean {
  return !!account && (account.roles & ROLE[role]) !== 0;
}

/** The live certification of an account for a role, if any. */
export function certificationOf(account: Account | null | undefined, role: 'provider' | 'researcher') {
  return account?.certifications.find((c) => c.role === role);
}
