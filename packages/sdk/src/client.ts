/**
 * The MedBloc client. Everything secret happens here, in the user's own process: records are sealed with a fresh
 * data key, the key is wrapped for the owner, anchors are signed with the user's key; the node only ever receives
 * ciphertext, envelopes and signatures. Reads verify the ciphertext digest against the on-chain anchor, the key
 * commitment, the creator's signature (and Merkle inclusion for batched records) before any plaintext is returned.
 *
 * @example
 * const client = createClient({ node: 'http://127.0.0.1:7400', identity });
 * await client.register({ roles: ['patient'] });
 * const rec = await client.addRecord({ resource: { resourceType: 'Observation', ... } });
 * const { resource, verification } = await client.getRecord(rec.recordId);
 */

import { recordRegistryAbi } from '@medbloc/contracts';
import {
  type AnchorFields,
  anchorBatchTypes,
  anchorRecordTypes,
  batchLeafOf,
  buildMerkleTree,
  certifyTypes,
  createDigester,
  decodeEnvelope,
  domainFor,
  encodeEnvelope,
  encryptionKeyHex,
  generateDataKey,
  hpkeUnwrap,
  hpkeWrap,
  type Identity,
  keyCommitment,
  openBytes,
  openStream,
  Role,
  type RoleName,
  recordIdOf,
  registerTypes,
  revokeCertificationTypes,
  sealBytes,
  sealStream,
  symUnwrap,
  symWrap,
  verifyMerkleProof,
  ZERO_HASH,
} from '@medbloc/core/portable';
import {
  type Address,
  bytesToHex,
  createPublicClient,
  getAddress,
  type Hex,
  hexToBytes,
  http,
  keccak256,
  recoverTypedDataAddress,
  stringToBytes,
} from 'viem';
import { createSiweMessage } from 'viem/siwe';
import { RecordVerificationError } from './errors.ts';
import { createTransport, type Fetch } from './http.ts';

export interface ClientOptions {
  /** Base URL of a MedBloc node, e.g. http://127.0.0.1:7400 */
  node: string;
  identity: Identity;
  /** JSON-RPC endpoint to verify anchors against the chain directly; defaults to the one the node advertises. */
  rpcUrl?: string;
  fetch?: Fetch;
  /** Lifetime of signatures made by this client, seconds (default 1 hour). */
  signatureTtl?: number;
}

export interface NodeInfo {
  chainId: number;
  blockNumber: number;
  rpcUrl: string;
  operator: Address;
  contracts: { accountRegistry: Address; recordRegistry: Address };
}

/** What the client seals alongside a record so a reader knows what it is; the node only sees it encrypted. */
export interface RecordMeta {
  kind: 'fhir' | 'file';
  resourceType?: string;
  resourceId?: string;
  name?: string;
  contentType?: string;
  size?: number;
  category?: string;
  date?: string;
}

export interface RecordSummary {
  recordId: Hex;
  owner: Address;
  creator: Address;
  cid: string;
  digest: Hex;
  keyCommitment: Hex;
  supersedes: Hex;
  supersededBy: Hex | null;
  anchoredAt: number;
  blockNumber: number;
  txHash: Hex;
  encMeta: string | null;
  authorisation:
    | { kind: 'single'; nonce: string; deadline: string; signature: Hex }
    | {
        kind: 'batch';
        root: Hex;
        leafIndex: number;
        count: number;
        manifest: Hex;
        proof: Hex[];
        nonce: string | null;
        deadline: string | null;
        signature: Hex | null;
      }
    | null;
}

interface RecordDetail extends RecordSummary {
  envelope: string;
  kekId: string | null;
  wrapKeyEnvelope: string | null;
}

export interface Verification {
  recordId: Hex;
  creator: Address;
  owner: Address;
  anchoredAt: number;
  /** Checks that passed, in order. A failed check throws RecordVerificationError instead. */
  checks: string[];
  batched: boolean;
}

export type AddRecordInput = {
  owner?: Address;
  supersedes?: Hex;
  meta?: Partial<RecordMeta>;
  onProgress?: (plainBytes: number) => void;
} & ({ resource: Record<string, unknown> } | { content: AsyncIterable<Uint8Array> | Uint8Array });

export type MedblocClient = ReturnType<typeof createClient>;

const te = new TextEncoder();
const td = new TextDecoder();

export function createClient(opts: ClientOptions) {
  const { identity } = opts;
  const transport = createTransport(opts.node, opts.fetch);
  const me = getAddress(identity.address);
  const ttl = BigInt(opts.signatureTtl ?? 3600);
  let token: string | undefined;
  let info: NodeInfo | undefined;
  let chainReader: ReturnType<typeof createPublicClient> | undefined;
  let anchorLock: Promise<unknown> = Promise.resolve();
  const ownerKeys = new Map<string, Uint8Array>();
  const anchorCache = new Map<string, { dek: Uint8Array; verification: Verification }>();

  const deadline = () => BigInt(Math.floor(Date.now() / 1000)) + ttl;

  async function nodeInfo(): Promise<NodeInfo> {
    info ??= await transport.json<NodeInfo>('GET', '/health');
    return info;
  }

  async function session(): Promise<string> {
    if (token) return token;
    const { nonce } = await transport.json<{ nonce: string }>('POST', '/v1/auth/nonce');
    const { chainId } = await nodeInfo();
    const url = new URL(transport.base);
    const message = createSiweMessage({
      address: me,
      chainId,
      domain: url.host,
      nonce,
      uri: transport.base,
      version: '1',
      statement: 'Sign in to MedBloc',
      issuedAt: new Date(),
      expirationTime: new Date(Date.now() + 10 * 60_000),
    });
    const signature = await identity.account.signMessage({ message });
    const out = await transport.json<{ token: string }>('POST', '/v1/auth/login', { message, signature });
    token = out.token;
    return token;
  }

  const authed = async <T>(method: string, path: string, body?: unknown) =>
    transport.json<T>(method, path, body, await session());

  async function nonces(address: Address = me) {
    return transport.json<{ accounts: string; records: string }>('GET', `/v1/accounts/${address}/nonces`);
  }

  async function domain(contract: 'accountRegistry' | 'recordRegistry') {
    const i = await nodeInfo();
    return domainFor(i.chainId, i.contracts[contract]);
  }

  /** Serialises this client's anchor submissions so EIP-712 nonces are used in order. */
  function withAnchorLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = anchorLock.then(fn, fn);
    anchorLock = run.catch(() => undefined);
    return run;
  }

  async function encryptionKeyOf(owner: Address): Promise<Uint8Array> {
    const cached = ownerKeys.get(owner);
    if (cached) return cached;
    const acc = await transport.json<{ encryptionKey: Hex }>('GET', `/v1/accounts/${owner}`);
    const key = hexToBytes(acc.encryptionKey);
    ownerKeys.set(owner, key);
    return key;
  }

  /** Seals `source` and uploads the ciphertext; returns its digest and the key commitment. */
  async function sealAndUpload(
    source: AsyncIterable<Uint8Array>,
    dek: Uint8Array,
    onProgress?: (n: number) => void,
  ) {
    const digester = createDigester();
    let header: Uint8Array | undefined;
    let plain = 0;
    async function* counted() {
      for await (const chunk of source) {
        plain += chunk.byteLength;
        onProgress?.(plain);
        yield chunk;
      }
    }
    async function* sealedAndHashed() {
      for await (const piece of sealStream(counted(), dek)) {
        if (!header || header.byteLength < 24)
          header = concat(header ?? new Uint8Array(0), piece.subarray(0, 24)).slice(0, 24);
        digester.update(piece);
        yield piece;
      }
    }
    const uploaded = await transport.upload<{ cid: string; size: number }>(
      '/v1/blobs',
      sealedAndHashed(),
      await session(),
    );
    const digest = bytesToHex(digester.digest());
    return {
      digest,
      cid: uploaded.cid,
      size: uploaded.size,
      commitment: keyCommitment(dek, header!),
      plainSize: plain,
    };
  }

  async function uploadBytes(bytes: Uint8Array) {
    const res = await transport.raw('POST', '/v1/blobs', {
      body: bytes as BodyInit,
      token: await session(),
      headers: { 'content-type': 'application/octet-stream' },
    });
    return (await res.json()) as { cid: string; size: number };
  }

  function describe(input: AddRecordInput, size: number): RecordMeta {
    if ('resource' in input) {
      const r = input.resource as { resourceType?: string; id?: string };
      return {
        kind: 'fhir',
        resourceType: String(r.resourceType),
        ...(r.id ? { resourceId: r.id } : {}),
        contentType: 'application/fhir+json',
        size,
        ...input.meta,
      };
    }
    return { kind: 'file', contentType: 'application/octet-stream', size, ...input.meta };
  }

  async function sealMeta(meta: RecordMeta, dek: Uint8Array) {
    return toBase64Url(await sealBytes(te.encode(JSON.stringify(meta)), dek));
  }

  async function addRecord(input: AddRecordInput): Promise<RecordSummary> {
    const owner = getAddress(input.owner ?? me);
    const dek = generateDataKey();
    const plainBytes = 'resource' in input ? te.encode(JSON.stringify(input.resource)) : undefined;
    const content = plainBytes ?? ('content' in input ? input.content : new Uint8Array());
    const source = content instanceof Uint8Array ? single(content) : content;
    const sealed = await sealAndUpload(source, dek, input.onProgress);
    const meta = describe(input, sealed.plainSize);
    const fields: AnchorFields = {
      owner,
      creator: me,
      digest: sealed.digest,
      keyCommitment: sealed.commitment,
      supersedes: input.supersedes ?? ZERO_HASH,
    };
    const recordId = recordIdOf(fields);
    const envelope = encodeEnvelope({
      kind: 'hpke',
      data: await hpkeWrap(await encryptionKeyOf(owner), dek, hexToBytes(recordId)),
    });
    const encMeta = await sealMeta(meta, dek);
    return withAnchorLock(async () => {
      const nonce = BigInt((await nonces()).records);
      const dl = deadline();
      const signature = await identity.account.signTypedData({
        domain: await domain('recordRegistry'),
        types: anchorRecordTypes,
        primaryType: 'AnchorRecord',
        message: { ...fields, nonce, deadline: dl },
      });
      return authed<RecordSummary>('POST', '/v1/records', {
        ...fields,
        nonce,
        deadline: dl,
        signature,
        envelope,
        encMeta,
      });
    });
  }

  /**
   * Adds many records for one owner in one on-chain transaction (a Merkle root over their anchors). One HPKE
   * envelope carries a batch key for the owner; each record's data key is wrapped under it.
   */
  async function addRecords(
    items: ({ supersedes?: Hex; meta?: Partial<RecordMeta> } & (
      | { resource: Record<string, unknown> }
      | { content: Uint8Array }
    ))[],
    options: {
      owner?: Address;
      onProgress?: (done: number, total: number) => void;
      concurrency?: number;
    } = {},
  ) {
    const owner = getAddress(options.owner ?? me);
    if (items.length === 0)
      return { root: ZERO_HASH, recordIds: [] as Hex[], txHash: ZERO_HASH, blockNumber: 0 };
    const batchKey = generateDataKey();
    const kekId = bytesToHex(crypto.getRandomValues(new Uint8Array(16)));
    const ownerKey = await encryptionKeyOf(owner);
    const wrapKeyEnvelope = encodeEnvelope({
      kind: 'hpke',
      data: await hpkeWrap(ownerKey, batchKey, te.encode(kekId)),
    });

    // Records of a batch travel as one pack blob (their ciphertexts back to back): one upload and one durable
    // write for the whole batch; each record keeps its own digest, which the node checks against its byte range.
    const prepared: { fields: AnchorFields; envelope: string; encMeta: string; sealed: Uint8Array }[] =
      new Array(items.length);
    for (const [i, item] of items.entries()) {
      const dek = generateDataKey();
      const plain = 'resource' in item ? te.encode(JSON.stringify(item.resource)) : item.content;
      const sealed = await sealBytes(plain, dek);
      const fields: AnchorFields = {
        owner,
        creator: me,
        digest: bytesToHex(sha256(sealed)),
        keyCommitment: keyCommitment(dek, sealed.subarray(0, 24)),
        supersedes: item.supersedes ?? ZERO_HASH,
      };
      const recordId = recordIdOf(fields);
      const envelope = encodeEnvelope({
        kind: 'wrapped',
        kekId,
        data: await symWrap(batchKey, dek, hexToBytes(recordId)),
      });
      const encMeta = await sealMeta(describe(item as AddRecordInput, plain.byteLength), dek);
      prepared[i] = { fields, envelope, encMeta, sealed };
      if (i % 64 === 63) options.onProgress?.(i + 1, items.length);
    }
    options.onProgress?.(items.length, items.length);
    const pack = concat(...prepared.map((p) => p.sealed));
    const packDigest = bytesToHex(sha256(pack));
    await uploadBytes(pack);
    let offset = 0;
    const manifest = te.encode(
      JSON.stringify({
        version: 1,
        creator: me,
        pack: packDigest,
        leaves: prepared.map((p) => {
          const leaf = {
            owner: p.fields.owner,
            digest: p.fields.digest,
            keyCommitment: p.fields.keyCommitment,
            supersedes: p.fields.supersedes,
            offset,
            length: p.sealed.byteLength,
          };
          offset += p.sealed.byteLength;
          return leaf;
        }),
      }),
    );
    await uploadBytes(manifest);
    const manifestDigest = bytesToHex(sha256(manifest));
    const tree = buildMerkleTree(prepared.map((p) => batchLeafOf(p.fields)));
    return withAnchorLock(async () => {
      const nonce = BigInt((await nonces()).records);
      const dl = deadline();
      const message = {
        creator: me,
        root: tree.root,
        count: prepared.length,
        manifest: manifestDigest,
        nonce,
        deadline: dl,
      };
      const signature = await identity.account.signTypedData({
        domain: await domain('recordRegistry'),
        types: anchorBatchTypes,
        primaryType: 'AnchorBatch',
        message,
      });
      return authed<{ root: Hex; recordIds: Hex[]; txHash: Hex; blockNumber: number }>(
        'POST',
        '/v1/records/batch',
        {
          ...message,
          signature,
          records: prepared.map((p) => ({ ...p.fields, envelope: p.envelope, kekId, encMeta: p.encMeta })),
          wrapKeys: [{ kekId, reader: owner, envelope: wrapKeyEnvelope }],
        },
      );
    });
  }

  async function chain() {
    if (!chainReader) {
      const rpc = opts.rpcUrl ?? (await nodeInfo()).rpcUrl;
      chainReader = createPublicClient({ transport: http(rpc) });
    }
    return chainReader;
  }

  /** Checks a record's anchor against the chain and its creator's signature. Returns the data key on success. */
  async function verifyAnchor(d: RecordDetail): Promise<{ dek: Uint8Array; verification: Verification }> {
    const checks: string[] = [];
    const fields: AnchorFields = {
      owner: getAddress(d.owner),
      creator: getAddress(d.creator),
      digest: d.digest,
      keyCommitment: d.keyCommitment,
      supersedes: d.supersedes,
    };
    if (recordIdOf(fields) !== d.recordId)
      throw new RecordVerificationError(
        'RECORD_ID_MISMATCH',
        'the record id does not match its anchor fields',
      );
    checks.push('record id');
    const i = await nodeInfo();
    const client = await chain();
    const a = d.authorisation;
    if (a?.kind === 'batch') {
      if (!verifyMerkleProof(batchLeafOf(fields), a.proof, a.root))
        throw new RecordVerificationError(
          'PROOF_INVALID',
          'the Merkle inclusion proof does not lead to the batch root',
        );
      const onChain = await client.readContract({
        address: i.contracts.recordRegistry,
        abi: recordRegistryAbi,
        functionName: 'verifyBatched',
        args: [
          a.root,
          fields.owner,
          fields.creator,
          fields.digest,
          fields.keyCommitment,
          fields.supersedes,
          a.proof,
        ],
      });
      if (!onChain)
        throw new RecordVerificationError(
          'ANCHOR_MISMATCH',
          'the chain does not confirm this record in its batch',
        );
      checks.push('merkle inclusion (on chain)');
      if (a.signature && a.nonce !== null && a.deadline !== null) {
        const signer = await recoverTypedDataAddress({
          domain: domainFor(i.chainId, i.contracts.recordRegistry),
          types: anchorBatchTypes,
          primaryType: 'AnchorBatch',
          message: {
            creator: fields.creator,
            root: a.root,
            count: a.count,
            manifest: a.manifest,
            nonce: BigInt(a.nonce),
            deadline: BigInt(a.deadline),
          },
          signature: a.signature,
        });
        if (signer !== fields.creator)
          throw new RecordVerificationError('SIGNATURE_MISMATCH', 'the batch was not signed by its creator');
        checks.push('creator signature (batch)');
      }
    } else {
      const anchor = (await client.readContract({
        address: i.contracts.recordRegistry,
        abi: recordRegistryAbi,
        functionName: 'anchorOf',
        args: [d.recordId],
      })) as unknown as {
        owner: Address;
        creator: Address;
        digest: Hex;
        keyCommitment: Hex;
        supersedes: Hex;
      };
      const same =
        getAddress(anchor.owner) === fields.owner &&
        getAddress(anchor.creator) === fields.creator &&
        anchor.digest === fields.digest &&
        anchor.keyCommitment === fields.keyCommitment &&
        anchor.supersedes === fields.supersedes;
      if (!same)
        throw new RecordVerificationError(
          'ANCHOR_MISMATCH',
          'the node reports an anchor that differs from the chain',
        );
      checks.push('anchor (on chain)');
      if (a?.kind === 'single') {
        const signer = await recoverTypedDataAddress({
          domain: domainFor(i.chainId, i.contracts.recordRegistry),
          types: anchorRecordTypes,
          primaryType: 'AnchorRecord',
          message: { ...fields, nonce: BigInt(a.nonce), deadline: BigInt(a.deadline) },
          signature: a.signature,
        });
        if (signer !== fields.creator)
          throw new RecordVerificationError('SIGNATURE_MISMATCH', 'the anchor was not signed by its creator');
        checks.push('creator signature');
      }
    }
    const dek = await unwrapKey(d);
    checks.push('key envelope');
    return {
      dek,
      verification: {
        recordId: d.recordId,
        creator: fields.creator,
        owner: fields.owner,
        anchoredAt: d.anchoredAt,
        checks,
        batched: a?.kind === 'batch',
      },
    };
  }

  /** The record's data key, from this identity's envelope (batch keys are opened once per batch via `cache`). */
  async function unwrapKey(d: RecordDetail, cache?: Map<string, Promise<Uint8Array>>): Promise<Uint8Array> {
    try {
      const env = decodeEnvelope(d.envelope);
      const aad = hexToBytes(d.recordId);
      if (env.kind === 'hpke') return await hpkeUnwrap(identity.encryption.privateKey, env.data, aad);
      const wrapped = d.wrapKeyEnvelope;
      if (!wrapped) throw new Error('the batch key envelope is missing');
      const open = () =>
        hpkeUnwrap(identity.encryption.privateKey, decodeEnvelope(wrapped).data, te.encode(env.kekId));
      let batchKey = cache?.get(env.kekId);
      if (!batchKey) {
        batchKey = open();
        cache?.set(env.kekId, batchKey);
      }
      return await symUnwrap(await batchKey, env.data, aad);
    } catch (err) {
      throw new RecordVerificationError(
        'ENVELOPE_INVALID',
        `cannot open the key envelope: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /**
   * Opens a record as a verified plaintext stream. The stream throws RecordVerificationError if the ciphertext does
   * not match the anchor's digest (checked as it flows, final at the end) or the key commitment.
   */
  async function openRecord(recordId: Hex) {
    const d = await authed<RecordDetail>('GET', `/v1/records/${recordId}`);
    // Anchors are immutable: once this client has verified one against the chain (and opened its key), later
    // reads reuse that, and still check the ciphertext's digest, key commitment and AEAD every time.
    const cacheKey = `${d.recordId}:${d.digest}:${d.keyCommitment}:${d.envelope}`;
    let verified = anchorCache.get(cacheKey);
    if (!verified) {
      verified = await verifyAnchor(d);
      if (anchorCache.size >= 4096) anchorCache.delete(anchorCache.keys().next().value!);
      anchorCache.set(cacheKey, verified);
    }
    const { dek } = verified;
    const verification = { ...verified.verification, checks: [...verified.verification.checks] };
    const meta = d.encMeta
      ? (JSON.parse(td.decode(await openBytes(fromBase64Url(d.encMeta), dek))) as RecordMeta)
      : undefined;
    const res = await transport.raw('GET', `/v1/records/${recordId}/content`, { token: await session() });
    const digester = createDigester();
    async function* checked(): AsyncIterable<Uint8Array> {
      let headerBuf: Uint8Array | undefined = new Uint8Array(0);
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        digester.update(chunk);
        if (headerBuf) {
          headerBuf = concat(headerBuf, chunk);
          if (headerBuf.byteLength < 24) continue;
          if (keyCommitment(dek, headerBuf.subarray(0, 24)) !== d.keyCommitment) {
            throw new RecordVerificationError(
              'KEY_COMMITMENT_MISMATCH',
              'the ciphertext is not bound to the anchored key',
            );
          }
          const all = headerBuf;
          headerBuf = undefined;
          yield all;
          continue;
        }
        yield chunk;
      }
      if (headerBuf) throw new RecordVerificationError('DIGEST_MISMATCH', 'the ciphertext is truncated');
      if (bytesToHex(digester.digest()) !== d.digest) {
        throw new RecordVerificationError(
          'DIGEST_MISMATCH',
          'the ciphertext does not match the digest anchored on chain',
        );
      }
    }
    async function* plaintext(): AsyncIterable<Uint8Array> {
      try {
        yield* openStream(checked(), dek);
      } catch (err) {
        if (err instanceof RecordVerificationError) throw err;
        throw new RecordVerificationError(
          'DECRYPTION_FAILED',
          `the ciphertext failed authentication: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
    verification.checks.push('key commitment', 'ciphertext digest', 'authenticated decryption');
    return { record: d as RecordSummary, meta, verification, stream: plaintext() };
  }

  return {
    address: me,
    nodeInfo,
    login: session,

    /** Registers this identity on chain (gasless: the node relays the signed registration). */
    async register(o: { roles?: RoleName[] } = {}) {
      const roles = (o.roles ?? ['patient']).reduce((acc, r) => acc | Role[r], 0);
      const nonce = BigInt((await nonces()).accounts);
      const message = {
        account: me,
        encryptionKey: encryptionKeyHex(identity),
        roles,
        nonce,
        deadline: deadline(),
      };
      const signature = await identity.account.signTypedData({
        domain: await domain('accountRegistry'),
        types: registerTypes,
        primaryType: 'Register',
        message,
      });
      return transport.json<{ txHash: Hex; blockNumber: number }>('POST', '/v1/accounts', {
        ...message,
        signature,
      });
    },

    account(address: Address = me) {
      return transport.json<{
        address: Address;
        encryptionKey: Hex;
        roles: number;
        authority: boolean;
        certifications: {
          role: string;
          issuer: Address;
          credentialHash: Hex;
          expiresAt: number;
          revoked: boolean;
          certified: boolean;
        }[];
      }>('GET', `/v1/accounts/${getAddress(address)}`);
    },

    /** As an authority: certifies `account` for a role, with a hash of the credential evidence and an expiry. */
    async certify(
      account: Address,
      o: { role?: 'provider' | 'researcher'; credential?: string; expiresAt?: Date } = {},
    ) {
      const nonce = BigInt((await nonces()).accounts);
      const expiresAt = BigInt(
        Math.floor((o.expiresAt ?? new Date(Date.now() + 365 * 86_400_000)).getTime() / 1000),
      );
      const message = {
        account: getAddress(account),
        role: Role[o.role ?? 'provider'],
        credentialHash: keccak256(stringToBytes(o.credential ?? `credential:${account}`)),
        expiresAt,
        nonce,
        deadline: deadline(),
      };
      const signature = await identity.account.signTypedData({
        domain: await domain('accountRegistry'),
        types: certifyTypes,
        primaryType: 'Certify',
        message,
      });
      return transport.json<{ txHash: Hex }>('POST', '/v1/certifications', {
        ...message,
        authority: me,
        signature,
      });
    },

    async revokeCertification(account: Address, role: 'provider' | 'researcher' = 'provider') {
      const nonce = BigInt((await nonces()).accounts);
      const message = { account: getAddress(account), role: Role[role], nonce, deadline: deadline() };
      const signature = await identity.account.signTypedData({
        domain: await domain('accountRegistry'),
        types: revokeCertificationTypes,
        primaryType: 'RevokeCertification',
        message,
      });
      return transport.json<{ txHash: Hex }>('POST', '/v1/certifications/revoke', {
        ...message,
        authority: me,
        signature,
      });
    },

    addRecord,
    addRecords,

    /**
     * Lists records of `owner` (default: this identity), all pages, each with its metadata decrypted locally
     * (`meta` is undefined where this identity holds no key for it).
     */
    async listRecords(o: { owner?: Address } = {}) {
      const owner = getAddress(o.owner ?? me);
      const out: (RecordSummary & { meta: RecordMeta | undefined })[] = [];
      const batchKeys = new Map<string, Promise<Uint8Array>>();
      let after: string | null = null;
      do {
        const q: string = `/v1/records?owner=${owner}&limit=1000${after ? `&after=${after}` : ''}`;
        const page: {
          records: (RecordDetail | (RecordSummary & { envelope: null }))[];
          next: string | null;
        } = await authed('GET', q);
        for (const r of page.records) {
          let meta: RecordMeta | undefined;
          if (r.encMeta && r.envelope) {
            try {
              const dek = await unwrapKey(r as RecordDetail, batchKeys);
              meta = JSON.parse(td.decode(await openBytes(fromBase64Url(r.encMeta), dek))) as RecordMeta;
            } catch {
              meta = undefined;
            }
          }
          const { envelope: _e, kekId: _k, wrapKeyEnvelope: _w, ...summary } = r as RecordDetail;
          out.push({ ...summary, meta });
        }
        after = page.next;
      } while (after);
      return out;
    },

    openRecord,

    /** Reads a whole record into memory, fully verified; FHIR records are parsed. */
    async getRecord(recordId: Hex) {
      const r = await openRecord(recordId);
      const parts: Uint8Array[] = [];
      for await (const chunk of r.stream) parts.push(chunk);
      const bytes = concat(...parts);
      const resource =
        r.meta?.kind === 'fhir' ? (JSON.parse(td.decode(bytes)) as Record<string, unknown>) : undefined;
      return { record: r.record, meta: r.meta, verification: r.verification, bytes, resource };
    },

    /** Verifies a record end to end (anchor, signature, envelope, commitment, digest, AEAD) without keeping it. */
    async verifyRecord(recordId: Hex): Promise<Verification> {
      const r = await openRecord(recordId);
      for await (const _ of r.stream) {
        // reading to the end runs every check
      }
      return r.verification;
    },

    usage() {
      return authed<{ used: number; quota: number; available: number }>('GET', `/v1/accounts/${me}/usage`);
    },
  };
}

async function* single(bytes: Uint8Array) {
  yield bytes;
}

function sha256(bytes: Uint8Array): Uint8Array {
  const d = createDigester();
  d.update(bytes);
  return d.digest();
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

function toBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64Url(s: string): Uint8Array {
  const bin = atob(s.replaceAll('-', '+').replaceAll('_', '/'));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
