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

import {
  accessLogAbi,
  consentRegistryAbi,
  delegationAbi,
  emergencyAccessAbi,
  recordRegistryAbi,
} from '@medbloc/contracts';
import {
  ACCESS_KEY_STATEMENT,
  ACCESS_KEY_TTL_SECONDS,
  type AccessKey,
  AccessPurpose,
  type AnchorFields,
  accessKeyOf,
  accessKeyResource,
  accessReceiptLeaf,
  accessReceiptTypes,
  anchorBatchTypes,
  anchorRecordTypes,
  appointDelegateTypes,
  batchLeafOf,
  breakGlassTypes,
  certifyTypes,
  combineShares,
  createDigester,
  createFastDigester,
  DelegateKind,
  type DelegateKindName,
  decodeEnvelope,
  domainFor,
  emergencyProfileTypes,
  encodeEnvelope,
  encryptionKeyHex,
  fromBase64Url,
  generateAccessKey,
  generateDataKey,
  grantConsentTypes,
  guardianSetHash,
  hpkeUnwrap,
  hpkeWrap,
  type Identity,
  keyCommitment,
  openBytes,
  openStream,
  parseNodeReceiptKeyMessage,
  type RecordDetail,
  type RecordSummary,
  Role,
  type RoleName,
  recordIdOf,
  recoverDigestSigner,
  registerTypes,
  revokeCertificationTypes,
  revokeConsentTypes,
  revokeDelegateTypes,
  type SealBatchInput,
  type SealedBatch,
  scopeKeyTypes,
  sealBytes,
  sealStream,
  setMinorTypes,
  setRecoveryGuardiansTypes,
  splitSecret,
  symUnwrap,
  toBase64Url,
  typedDigester,
  verifyAccessKeySignature,
  verifyMerkleProof,
  ZERO_HASH,
} from '@medbloc/core/portable';
import {
  type Address,
  bytesToHex,
  concat as concatHex,
  createPublicClient,
  getAddress,
  type Hex,
  hashTypedData,
  hexToBytes,
  http,
  keccak256,
  recoverMessageAddress,
  recoverTypedDataAddress,
  sha256 as sha256Hex,
  stringToBytes,
  type TypedDataDomain,
  zeroAddress,
} from 'viem';
import { createSiweMessage, parseSiweMessage } from 'viem/siwe';
import { CATEGORIES, type Category, categoryOf, clinicalDateOf, isCategory } from './category.ts';
import { createCertification } from './certification.ts';
import { IngestError, type IngestedBatch, RecordVerificationError } from './errors.ts';
import { createTransport, type Fetch } from './http.ts';
import { recoveryEntropyOf, recoveryReleaseAad, recoveryShareAad } from './recovery.ts';
import { scopeIdOf, scopeKeyPairOf, scopeSecretOf, secretOfScope } from './scopes.ts';
import { sealBatch, warmSealer } from './sealer.ts';

/** How many times an anchor refused for its nonce (used by another client of the identity, or out of order) is sent again. */
const NONCE_RETRIES = 3;

export interface ClientOptions {
  /** Base URL of a MedBloc node, e.g. http://127.0.0.1:7400 */
  node: string;
  identity: Identity;
  /** JSON-RPC endpoint to verify anchors against the chain directly; defaults to the one the node advertises. */
  rpcUrl?: string;
  fetch?: Fetch;
  /** Lifetime of signatures made by this client, seconds (default 1 hour). */
  signatureTtl?: number;
  /**
   * Sign an access request for reads of this identity's own records, so they appear in its access log (default
   * true). Reads of others' records always carry one: the node refuses them otherwise.
   */
  logOwnReads?: boolean;
  /**
   * Seals a batch of records for `addRecords` and `ingest` (default: in a worker thread on Node for large batches,
   * else inline). A browser app passes one backed by a Web Worker so sealing stays off the page's thread; it must
   * return what core's `sealRecordBatch` returns for the same input.
   */
  sealBatch?: BatchSealer;
}

/** Where a batch is sealed: core's `sealRecordBatch`, run inline or elsewhere (a worker). */
export type BatchSealer = (input: SealBatchInput) => Promise<SealedBatch>;

export interface NodeInfo {
  chainId: number;
  blockNumber: number;
  rpcUrl: string;
  operator: Address;
  contracts: {
    accountRegistry: Address;
    recordRegistry: Address;
    consentRegistry: Address;
    accessLog: Address;
    delegation: Address;
    emergencyAccess: Address;
  };
}

/** Why a record is read: patient care (certified providers) or research (certified researchers). */
export type ReadPurpose = 'care' | 'research';

/** A consent grant as the node indexed it; `live` is judged at the chain's current time. */
export interface GrantView {
  owner: Address;
  grantee: Address;
  scope: Hex;
  kind: 'record' | 'category';
  purpose: ReadPurpose;
  expiresAt: number;
  revoked: boolean;
  live: boolean;
  signer: Address;
  blockNumber: number;
  /** When the grant last changed (issued, renewed or revoked): chain time, seconds. */
  time: number;
  /** The category of a category grant, when this identity can tell (the owner, or a delegate's own view). */
  category?: string;
}

/** A delegate of a patient (guardian or carer) as the node indexed it; `live` is judged at the chain's time. */
export interface DelegateView {
  patient: Address;
  delegate: Address;
  kind: DelegateKindName;
  expiresAt: number;
  revoked: boolean;
  /** Who signed the revocation: the patient, or a guardian of a minor. */
  revokedBy: Address | null;
  live: boolean;
  blockNumber: number;
}

/** A patient's published scope key. */
export interface ScopeKeyView {
  owner: Address;
  category: string;
  epoch: number;
  scopeId: Hex;
  publicKey: Hex;
  signer: Address;
  signature: Hex;
}

/** What a first responder needs to know; sealed under a key only emergency key holders can reassemble. */
export interface EmergencyProfile {
  bloodType?: string;
  allergies?: string[];
  medications?: string[];
  conditions?: string[];
  contacts?: { name: string; phone?: string; relation?: string }[];
  notes?: string;
}

/** One entry of an owner's access log, as the node serves it. */
export interface AuditEntry {
  seq: number;
  request: { requester: Address; owner: Address; record: Hex; purpose: number; time: number };
  requestSignature: Hex | null;
  /**
   * When the request was signed by a session access key: the key and the SIWE message (with its account
   * signature) that delegated to it at sign-in.
   */
  requestKey?: { key: Hex; message: string; signature: Hex } | null;
  /** When the node countersigned with its Ed25519 receipt key: the key and the operator's delegation to it. */
  nodeKey?: { key: Hex; message: string; signature: Hex } | null;
  owner: Address;
  node: Address;
  outcome: 'granted' | 'denied';
  loggedAt: number;
  nodeSignature: Hex;
  leaf: Hex;
  anchor: { root: Hex; proof: Hex[]; txHash: Hex; blockNumber: number } | null;
}

export interface AuditVerification {
  ok: boolean;
  /** Entries whose signatures, leaf and (when anchored) inclusion on chain all verify. */
  verified: number;
  /** Entries not anchored yet (signatures checked; inclusion pending). */
  pending: number;
  problems: { seq: number | null; problem: string }[];
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
  /** This client's next record-anchor nonce, once read from the node; `nonceReads` counts the reads. */
  let nextRecordNonce: bigint | undefined;
  let nonceReads = 0;
  const ownerKeys = new Map<string, Uint8Array>();
  /**
   * Signers recovered from scope-key signatures, by everything signed and the signature (recovery is a pure function
   * of them, and costs over a millisecond: a batch checks every category's key). Whether a delegate signer is still a
   * delegate is asked of the chain each time.
   */
  const scopeSigners = new Map<string, Address | undefined>();
  type VerifiedAnchor = { dek: Uint8Array; verification: Verification };
  const anchorCache = new Map<string, VerifiedAnchor>();

  const deadline = () => BigInt(Math.floor(Date.now() / 1000)) + ttl;

  async function nodeInfo(): Promise<NodeInfo> {
    info ??= await transport.json<NodeInfo>('GET', '/health');
    return info;
  }

  /**
   * Signs in once per client: the SIWE message also delegates to a fresh Ed25519 access key (WebCrypto, private key
   * not extractable) that signs this session's access requests — one fast signature per read.
   */
  let signingIn: Promise<string> | undefined;
  let accessKey: AccessKey | undefined;
  async function session(): Promise<string> {
    if (token) return token;
    signingIn ??= (async () => {
      const { nonce } = await transport.json<{ nonce: string }>('POST', '/v1/auth/nonce');
      const { chainId } = await nodeInfo();
      const url = new URL(transport.base);
      const key = await generateAccessKey();
      const message = createSiweMessage({
        address: me,
        chainId,
        domain: url.host,
        nonce,
        uri: transport.base,
        version: '1',
        statement: key ? ACCESS_KEY_STATEMENT : 'Sign in to MedBloc',
        issuedAt: new Date(),
        expirationTime: new Date(Date.now() + 10 * 60_000),
        ...(key ? { resources: [accessKeyResource(key.publicKey)] } : {}),
      });
      const signature = await identity.account.signMessage({ message });
      const out = await transport.json<{ token: string }>('POST', '/v1/auth/login', { message, signature });
      accessKey = key;
      token = out.token;
      return token;
    })().finally(() => {
      signingIn = undefined;
    });
    return signingIn;
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

  /** Serialises `fn` with this client's other anchor signings. */
  function withAnchorLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = anchorLock.then(fn, fn);
    anchorLock = run.catch(() => undefined);
    return run;
  }

  /**
   * Signs a record anchor (`sign`) with this client's next nonce and sends it (`send`). Signing is serialised, so
   * nonces are handed out in order; sending is not: several anchors may be in flight, and the node relays a creator's
   * anchors in nonce order. After the first, nonces are counted here. If anything fails, the nonce is read from the
   * node again before the next anchor; if the node refused the nonce itself (another client of this identity used it,
   * or an anchor before it was refused), the anchor is signed and sent again, up to {@link NONCE_RETRIES} times.
   */
  async function anchorInOrder<S, T>(
    sign: (nonce: bigint) => Promise<S>,
    send: (signed: S) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const { signed, read } = await withAnchorLock(async () => {
        if (nextRecordNonce === undefined) {
          nextRecordNonce = BigInt((await nonces()).records);
          nonceReads++;
        }
        const nonce = nextRecordNonce;
        const signed = await sign(nonce);
        nextRecordNonce = nonce + 1n;
        return { signed, read: nonceReads };
      });
      try {
        return await send(signed);
      } catch (err) {
        // Read once again, however many anchors counted from the same read fail.
        if (read === nonceReads) nextRecordNonce = undefined;
        const code = (err as { code?: string }).code;
        if (attempt < NONCE_RETRIES && (code === 'NONCE_OUT_OF_ORDER' || code === 'SIGNATURE_REPLAYED')) {
          // Another client of this identity may still have anchors on their way with nonces it counted itself:
          // a short, growing, jittered pause lets them arrive before the nonce is read again.
          await new Promise((r) => setTimeout(r, (attempt + 1) * (10 + Math.random() * 20)));
          continue;
        }
        throw err;
      }
    }
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
    /** The plaintext's size when known (a small one is hashed without setting up the WebAssembly hasher). */
    size?: number,
  ) {
    const digester = await createFastDigester(size);
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
      const date = clinicalDateOf(input.resource);
      return {
        kind: 'fhir',
        resourceType: String(r.resourceType),
        ...(r.id ? { resourceId: r.id } : {}),
        contentType: 'application/fhir+json',
        size,
        category: categoryOf(input.resource),
        ...(date ? { date } : {}),
        ...input.meta,
      };
    }
    return { kind: 'file', contentType: 'application/octet-stream', size, category: 'other', ...input.meta };
  }

  async function sealMeta(meta: RecordMeta, dek: Uint8Array) {
    return toBase64Url(await sealBytes(te.encode(JSON.stringify(meta)), dek));
  }

  /** Who signed a published scope key (undefined when the signature does not recover). */
  async function scopeKeySigner(
    i: NodeInfo,
    owner: Address,
    category: string,
    k: ScopeKeyView,
  ): Promise<Address | undefined> {
    const key = [
      i.chainId,
      i.contracts.consentRegistry,
      owner,
      category,
      k.epoch,
      k.scopeId,
      k.publicKey,
      k.signature,
    ].join('|');
    if (scopeSigners.has(key)) return scopeSigners.get(key);
    const signer = await recoverTypedDataAddress({
      domain: domainFor(i.chainId, i.contracts.consentRegistry),
      types: scopeKeyTypes,
      primaryType: 'ScopeKey',
      message: { owner, category, epoch: k.epoch, scopeId: k.scopeId, publicKey: k.publicKey },
      signature: k.signature,
    }).catch(() => undefined);
    if (scopeSigners.size >= 10_000) scopeSigners.clear();
    scopeSigners.set(key, signer);
    return signer;
  }

  /**
   * The owner's current scope key per category, each signature checked here (signed by the owner or, if the chain
   * says so, a delegate), so a node cannot slip in a key of its own.
   */
  async function currentScopes(owner: Address): Promise<Map<string, ScopeKeyView>> {
    const { scopes } = await authed<{ scopes: ScopeKeyView[] }>('GET', `/v1/scopes/${owner}`);
    const latest = new Map<string, ScopeKeyView>();
    for (const k of scopes) if ((latest.get(k.category)?.epoch ?? -1) < k.epoch) latest.set(k.category, k);
    const i = await nodeInfo();
    for (const [category, k] of latest) {
      const signer = await scopeKeySigner(i, owner, category, k);
      const trusted =
        signer === owner ||
        (signer !== undefined &&
          signer === k.signer &&
          ((await (
            await chain()
          ).readContract({
            address: i.contracts.delegation,
            abi: delegationAbi,
            functionName: 'isDelegate',
            args: [owner, signer],
          })) as boolean));
      if (!trusted) latest.delete(category);
    }
    return latest;
  }

  /** The record's data key wrapped (HPKE) to the owner's current scope key of its category, if one is published. */
  async function scopeEnvelopesFor(
    owner: Address,
    category: string | undefined,
    dek: Uint8Array,
    recordId: Hex,
  ) {
    if (!category) return undefined;
    const k = (await currentScopes(owner)).get(category);
    if (!k) return undefined;
    const data = await hpkeWrap(hexToBytes(k.publicKey), dek, hexToBytes(recordId));
    return [{ scopeId: k.scopeId, envelope: encodeEnvelope({ kind: 'hpke', data }) }];
  }

  async function addRecord(input: AddRecordInput): Promise<RecordSummary> {
    const owner = getAddress(input.owner ?? me);
    const dek = generateDataKey();
    const plainBytes = 'resource' in input ? te.encode(JSON.stringify(input.resource)) : undefined;
    const content = plainBytes ?? ('content' in input ? input.content : new Uint8Array());
    const source = content instanceof Uint8Array ? single(content) : content;
    const sealed = await sealAndUpload(
      source,
      dek,
      input.onProgress,
      content instanceof Uint8Array ? content.byteLength : undefined,
    );
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
    const scopes = await scopeEnvelopesFor(owner, meta.category, dek, recordId);
    return anchorInOrder(
      async (nonce) => {
        const dl = deadline();
        const signature = await identity.account.signTypedData({
          domain: await domain('recordRegistry'),
          types: anchorRecordTypes,
          primaryType: 'AnchorRecord',
          message: { ...fields, nonce, deadline: dl },
        });
        return { nonce, deadline: dl, signature };
      },
      (signed) =>
        authed<RecordSummary>('POST', '/v1/records', {
          ...fields,
          ...signed,
          envelope,
          encMeta,
          ...(scopes ? { scopes } : {}),
        }),
    );
  }

  type BatchItem = { supersedes?: Hex; meta?: Partial<RecordMeta> } & (
    | { resource: Record<string, unknown> }
    | { content: Uint8Array }
  );

  /**
   * Adds many records for one owner in one on-chain transaction (a Merkle root over their anchors). One HPKE
   * envelope carries a batch key for the owner; each record's data key is wrapped under it.
   */
  async function addRecords(
    items: BatchItem[],
    options: {
      owner?: Address;
      onProgress?: (done: number, total: number) => void;
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

    // Each record serialised and described here; the sealing (a data key per record, ciphertext, wrapped keys,
    // sealed metadata, the Merkle root) runs in a worker thread on Node for large batches.
    const texts: (string | undefined)[] = items.map((item) =>
      'resource' in item ? JSON.stringify(item.resource) : undefined,
    );
    let bound = 0;
    for (const [i, item] of items.entries())
      bound += 'resource' in item ? texts[i]!.length * 3 : item.content.byteLength;
    const buffer = new Uint8Array(bound);
    const ends: number[] = new Array(items.length);
    const metas: RecordMeta[] = new Array(items.length);
    let at = 0;
    for (const [i, item] of items.entries()) {
      const start = at;
      if ('resource' in item) at += te.encodeInto(texts[i]!, buffer.subarray(at)).written;
      else {
        buffer.set(item.content, at);
        at += item.content.byteLength;
      }
      ends[i] = at;
      metas[i] = describe(item as AddRecordInput, at - start);
    }

    // Per category in the batch: one key wrapped (HPKE) to the owner's scope key; each record's key wrapped under it.
    const directory = await currentScopes(owner);
    const scopeBatch = new Map<
      string,
      { index: number; kekId: string; key: Uint8Array; scope: ScopeKeyView }
    >();
    const scopeKeys: { kekId: string; scopeId: Hex; envelope: string }[] = [];
    const scopeOf = metas.map((meta) => {
      const category = meta.category;
      const scope = category ? directory.get(category) : undefined;
      if (!scope || !category) return -1;
      let sb = scopeBatch.get(category);
      if (!sb) {
        sb = {
          index: scopeBatch.size,
          kekId: bytesToHex(crypto.getRandomValues(new Uint8Array(16))),
          key: generateDataKey(),
          scope,
        };
        scopeBatch.set(category, sb);
      }
      return sb.index;
    });
    const scopeList = [...scopeBatch.values()];
    for (const sb of scopeList) {
      const data = await hpkeWrap(hexToBytes(sb.scope.publicKey), sb.key, te.encode(sb.kekId));
      scopeKeys.push({
        kekId: sb.kekId,
        scopeId: sb.scope.scopeId,
        envelope: encodeEnvelope({ kind: 'hpke', data }),
      });
    }

    const sealed = await (opts.sealBatch ?? sealBatch)({
      owner,
      creator: me,
      batchKey,
      kekId,
      plain: buffer.slice(0, at),
      ends,
      metas: metas.map((m) => JSON.stringify(m)),
      supersedes: items.map((item) => item.supersedes),
      scopeOf,
      scopeKeys: scopeList.map((b) => ({ kekId: b.kekId, key: b.key })),
    });
    options.onProgress?.(items.length, items.length);

    // Records of a batch travel as one pack blob (their ciphertexts back to back): one upload and one durable
    // write for the whole batch; each record keeps its own digest, which the node checks against its byte range.
    await uploadBytes(sealed.pack);
    const manifest = te.encode(
      JSON.stringify({
        version: 1,
        creator: me,
        pack: sealed.packDigest,
        leaves: sealed.records.map((r) => ({
          owner: r.owner,
          digest: r.digest,
          keyCommitment: r.keyCommitment,
          supersedes: r.supersedes,
          offset: r.offset,
          length: r.length,
        })),
      }),
    );
    await uploadBytes(manifest);
    const manifestDigest = bytesToHex(sha256(manifest));
    const records = sealed.records.map((r) => {
      const sb = r.scope ? scopeList[r.scope.index] : undefined;
      return {
        owner: r.owner,
        creator: r.creator,
        digest: r.digest,
        keyCommitment: r.keyCommitment,
        supersedes: r.supersedes,
        envelope: r.envelope,
        kekId,
        encMeta: r.encMeta,
        ...(sb && r.scope
          ? { scopes: [{ scopeId: sb.scope.scopeId, kekId: sb.kekId, envelope: r.scope.envelope }] }
          : {}),
      };
    });
    return anchorInOrder(
      async (nonce) => {
        const message = {
          creator: me,
          root: sealed.root,
          count: records.length,
          manifest: manifestDigest,
          nonce,
          deadline: deadline(),
        };
        const signature = await identity.account.signTypedData({
          domain: await domain('recordRegistry'),
          types: anchorBatchTypes,
          primaryType: 'AnchorBatch',
          message,
        });
        return { ...message, signature };
      },
      (signed) =>
        authed<{ root: Hex; recordIds: Hex[]; txHash: Hex; blockNumber: number }>(
          'POST',
          '/v1/records/batch',
          {
            ...signed,
            // As strings here, so the thousand-record body is stringified without a replacer (see http.ts).
            nonce: signed.nonce.toString(),
            deadline: signed.deadline.toString(),
            records,
            wrapKeys: [{ kekId, reader: owner, envelope: wrapKeyEnvelope }],
            scopeKeys,
          },
        ),
    );
  }

  /**
   * Bulk ingest: adds a stream of records for one owner in batches of `batchSize` (one Merkle root and one transaction
   * each), with up to `inFlight` batches on their way at once — while the node stores and anchors one, the next is
   * sealed. Items are read from `items` only as batches are started, so a large source streams in bounded memory.
   * Resolves with every record id in input order; if a batch is refused (or the source throws), no further batch is
   * started, those on their way finish, and it rejects with an IngestError listing the batches that were stored.
   */
  async function ingest(
    items: Iterable<BatchItem> | AsyncIterable<BatchItem>,
    options: {
      owner?: Address;
      batchSize?: number;
      inFlight?: number;
      /** Called as each batch is stored, with the number of records stored so far. */
      onProgress?: (stored: number) => void;
    } = {},
  ): Promise<{ recordIds: Hex[]; batches: IngestedBatch[] }> {
    const batchSize = options.batchSize ?? 1000;
    const inFlight = options.inFlight ?? 3;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new RangeError('batchSize must be a positive integer');
    if (!Number.isInteger(inFlight) || inFlight < 1)
      throw new RangeError('inFlight must be a positive integer');
    const owner = options.owner;
    // The sealing workers load while the first batch is read.
    if (!opts.sealBatch) warmSealer();
    const batches: IngestedBatch[] = [];
    const running = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    let stored = 0;
    const start = (batch: BatchItem[], first: number) => {
      const run = addRecords(batch, owner ? { owner } : {}).then(
        (out) => {
          batches.push({ first, ...out });
          stored += out.recordIds.length;
          options.onProgress?.(stored);
        },
        (error: unknown) => {
          failure ??= { error };
        },
      );
      const tracked = run.finally(() => running.delete(tracked));
      running.add(tracked);
    };
    let batch: BatchItem[] = [];
    let taken = 0;
    try {
      for await (const item of items) {
        batch.push(item);
        if (batch.length < batchSize) continue;
        start(batch, taken);
        taken += batch.length;
        batch = [];
        while (running.size >= inFlight && !failure) await Promise.race(running);
        if (failure) break;
      }
      if (batch.length > 0 && !failure) start(batch, taken);
    } catch (error) {
      // The source itself failed: what is on its way still lands, and is reported as stored.
      failure ??= { error };
    }
    await Promise.all(running);
    batches.sort((a, b) => a.first - b.first);
    if (failure) throw new IngestError(batches, failure.error);
    return { recordIds: batches.flatMap((b) => b.recordIds), batches };
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
        const signer = recoverTypedSigner({
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
        const signer = recoverTypedSigner({
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

  /**
   * The record's data key, from this identity's envelope — or, through a category grant, from the scope's envelope
   * opened with the scope's private key (itself wrapped for this identity). Batch and scope keys are opened once per
   * kek via `cache`.
   */
  async function unwrapKey(d: RecordDetail, cache?: Map<string, Promise<Uint8Array>>): Promise<Uint8Array> {
    try {
      let privateKey = identity.encryption.privateKey;
      if (d.access === 'delegate' && d.scopeId) {
        const scopeId = d.scopeId;
        let scopeKey = cache?.get(`scope:${scopeId}`);
        if (!scopeKey) {
          scopeKey = delegateScopeKey(getAddress(d.owner), scopeId);
          cache?.set(`scope:${scopeId}`, scopeKey);
        }
        privateKey = await scopeKey;
      } else if (d.scopeKeyEnvelope && d.scopeId) {
        const scopeId = d.scopeId;
        const wrappedScopeKey = d.scopeKeyEnvelope;
        let scopeKey = cache?.get(`scope:${scopeId}`);
        if (!scopeKey) {
          scopeKey = hpkeUnwrap(privateKey, decodeEnvelope(wrappedScopeKey).data, hexToBytes(scopeId));
          cache?.set(`scope:${scopeId}`, scopeKey);
        }
        privateKey = await scopeKey;
      }
      if (!d.envelope) throw new Error('there is no key envelope for this identity');
      const env = decodeEnvelope(d.envelope);
      const aad = hexToBytes(d.recordId);
      if (env.kind === 'hpke') return await hpkeUnwrap(privateKey, env.data, aad);
      const wrapped = d.wrapKeyEnvelope;
      if (!wrapped) throw new Error('the batch key envelope is missing');
      const open = () => hpkeUnwrap(privateKey, decodeEnvelope(wrapped).data, te.encode(env.kekId));
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
   * The private key of `owner`'s scope `scopeId`, for a current delegate: derived from the owner's keyring (wrapped for
   * this identity at the appointment) and the generation the listed scope key was made under.
   */
  async function delegateScopeKey(owner: Address, scopeId: Hex): Promise<Uint8Array> {
    const scopes = await listScopes(owner);
    const listed = scopes.find((k) => k.scopeId.toLowerCase() === scopeId.toLowerCase());
    if (!listed) throw new Error(`scope ${scopeId} is not among ${owner}'s scope keys`);
    const secret = secretOfScope(await keyringFor(owner, scopes), listed);
    if (!secret) throw new Error(`the keyring received from ${owner} does not derive scope ${scopeId}`);
    return scopeKeyPairOf(secret, listed.scopeId).privateKey;
  }

  /**
   * The signer of typed data, by fast recovery; a batch's signature is shared by all its records, so each distinct
   * (message, signature) is recovered once.
   */
  const signers = new Map<string, Address | undefined>();
  function recoverTypedSigner(typed: Parameters<typeof hashTypedData>[0] & { signature: Hex }) {
    const digest = hashTypedData(typed);
    const key = `${digest}:${typed.signature}`;
    if (!signers.has(key)) {
      if (signers.size >= 4096) signers.delete(signers.keys().next().value!);
      signers.set(key, recoverDigestSigner(digest, typed.signature));
    }
    return signers.get(key);
  }

  /** EIP-712 digest functions for access requests and receipts, built once per AccessLog domain. */
  type TypedDigest = ReturnType<typeof typedDigester>;
  const digesters = new Map<string, { request: TypedDigest; receipt: TypedDigest }>();
  function accessDigests(domain: TypedDataDomain) {
    const key = `${domain.chainId}:${domain.verifyingContract}`;
    let d = digesters.get(key);
    if (!d) {
      d = {
        request: typedDigester(domain, accessReceiptTypes, 'AccessRequest'),
        receipt: typedDigester(domain, accessReceiptTypes, 'AccessReceipt'),
      };
      digesters.set(key, d);
    }
    return d;
  }

  /** Signs an access request (EIP-712, AccessLog domain) for one read, as the `x-medbloc-access` header. */
  async function accessHeader(record: Hex, owner: Address | undefined, purpose: ReadPurpose) {
    return accessHeaderFor(record, purpose, owner);
  }

  async function accessHeaderFor(record: Hex, purpose: ReadPurpose | 'emergency', owner?: Address) {
    const i = await nodeInfo();
    const message = {
      requester: me,
      owner: owner ?? zeroAddress,
      record,
      purpose: AccessPurpose[purpose],
      time: BigInt(Math.floor(Date.now() / 1000)),
    };
    const domain = domainFor(i.chainId, i.contracts.accessLog);
    const digest = accessDigests(domain).request(message);
    await session();
    const key = accessKey;
    if (key) {
      const signature = await key.sign(digest);
      const json = JSON.stringify({ ...message, time: Number(message.time), key: key.publicKey, signature });
      return { 'x-medbloc-access': toBase64Url(te.encode(json)) };
    }
    const signature = identity.account.sign
      ? await identity.account.sign({ hash: digest })
      : await identity.account.signTypedData({
          domain,
          types: accessReceiptTypes,
          primaryType: 'AccessRequest',
          message,
        });
    const json = JSON.stringify({ ...message, time: Number(message.time), signature });
    return { 'x-medbloc-access': toBase64Url(te.encode(json)) };
  }

  async function authedGet<T>(path: string, headers: Record<string, string>): Promise<T> {
    const res = await transport.raw('GET', path, {
      token: await session(),
      headers: { accept: 'application/json', ...headers },
    });
    return (await res.json()) as T;
  }

  /**
   * Opens a record as a verified plaintext stream. The stream throws RecordVerificationError if the ciphertext does
   * not match the anchor's digest (checked as it flows, final at the end) or the key commitment.
   */
  async function openRecord(recordId: Hex, o: { purpose?: ReadPurpose } = {}) {
    const purpose = o.purpose ?? 'care';
    const headers =
      opts.logOwnReads === false && (await isOwnRecord(recordId))
        ? {}
        : await accessHeader(recordId, undefined, purpose);
    // One round trip: the record (anchor, the caller's envelopes) in a header, the ciphertext as the body. Nothing
    // of the body is used until the anchor has been verified against the chain.
    const res = await transport.raw('GET', `/v1/records/${recordId}/open?purpose=${purpose}`, {
      token: await session(),
      headers,
    });
    let d: RecordDetail;
    let verified: VerifiedAnchor | undefined;
    let meta: RecordMeta | undefined;
    try {
      const header = res.headers.get('x-medbloc-record');
      if (!header)
        throw new RecordVerificationError('ANCHOR_MISMATCH', 'the node sent no record description');
      d = JSON.parse(td.decode(fromBase64Url(header))) as RecordDetail;
      if (d.recordId?.toLowerCase() !== recordId.toLowerCase())
        throw new RecordVerificationError(
          'RECORD_ID_MISMATCH',
          `the node answered for another record (${d.recordId})`,
        );
      // Anchors are immutable: once this client has verified one against the chain (and opened its key), later
      // reads reuse that, and still check the ciphertext's digest, key commitment and AEAD every time.
      const cacheKey = `${d.recordId}:${d.digest}:${d.keyCommitment}:${d.envelope}`;
      verified = anchorCache.get(cacheKey);
      if (!verified) {
        verified = await verifyAnchor(d);
        if (anchorCache.size >= 4096) anchorCache.delete(anchorCache.keys().next().value!);
        anchorCache.set(cacheKey, verified);
      }
      meta = d.encMeta
        ? (JSON.parse(td.decode(await openBytes(fromBase64Url(d.encMeta), verified.dek))) as RecordMeta)
        : undefined;
    } catch (err) {
      await res.body?.cancel().catch(() => {});
      throw err;
    }
    const { dek } = verified;
    const verification = { ...verified.verification, checks: [...verified.verification.checks] };
    const digester = await createFastDigester(Number(res.headers.get('content-length') ?? Number.NaN));
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

  const ownRecords = new Set<string>();
  /** Whether a record is this identity's own (learned from listings and reads; unknown records count as others'). */
  async function isOwnRecord(recordId: Hex) {
    return ownRecords.has(recordId.toLowerCase());
  }

  async function grantNonce(owner: Address, grantee: Address, scope: Hex, purpose: number): Promise<bigint> {
    const i = await nodeInfo();
    return (await (
      await chain()
    ).readContract({
      address: i.contracts.consentRegistry,
      abi: consentRegistryAbi,
      functionName: 'grantNonce',
      args: [owner, grantee, scope, purpose],
    })) as bigint;
  }

  /** Signs and submits one grant (the node relays it); `keys` is the key material that follows it. */
  async function submitGrant(
    g: { owner: Address; grantee: Address; scope: Hex; purpose: number; expiresAt: bigint },
    keys: { envelope?: string; scopeKeyEnvelope?: string },
  ) {
    const i = await nodeInfo();
    const nonce = await grantNonce(g.owner, g.grantee, g.scope, g.purpose);
    const message = { ...g, nonce, deadline: deadline() };
    const signature = await identity.account.signTypedData({
      domain: domainFor(i.chainId, i.contracts.consentRegistry),
      types: grantConsentTypes,
      primaryType: 'GrantConsent',
      message,
    });
    return authed<{ txHash: Hex; blockNumber: number }>('POST', '/v1/grants', {
      ...message,
      signer: me,
      signature,
      ...keys,
    });
  }

  async function submitRevoke(g: { owner: Address; grantee: Address; scope: Hex; purpose: number }) {
    const i = await nodeInfo();
    const nonce = await grantNonce(g.owner, g.grantee, g.scope, g.purpose);
    const message = { ...g, nonce, deadline: deadline() };
    const signature = await identity.account.signTypedData({
      domain: domainFor(i.chainId, i.contracts.consentRegistry),
      types: revokeConsentTypes,
      primaryType: 'RevokeConsent',
      message,
    });
    return authed<{ txHash: Hex; blockNumber: number }>('POST', '/v1/grants/revoke', {
      ...message,
      signer: me,
      signature,
    });
  }

  const delegateKeyAad = (patient: Address, delegate: Address) =>
    stringToBytes(`medbloc delegate scope secret v1:${patient.toLowerCase()}:${delegate.toLowerCase()}`);

  const listScopes = async (owner: Address) =>
    (await authed<{ scopes: ScopeKeyView[] }>('GET', `/v1/scopes/${owner}`)).scopes;

  /**
   * This patient's keyring: its scope secrets of generations 0..current, the current one being the newest generation
   * any of its listed scope keys was made under (a rotation publishes every category under the new one).
   */
  function ownKeyring(scopes: ScopeKeyView[]): Uint8Array[] {
    const keyring = [scopeSecretOf(identity)];
    for (let g = 1; ; g++) {
      const next = scopeSecretOf(identity, g);
      if (!scopes.some((k) => secretOfScope([next], k))) return keyring;
      keyring.push(next);
    }
  }

  /**
   * The keyring of `owner`: this identity's own, or — for a patient this identity is a current delegate of — the
   * patient's, which the patient wrapped for it (the node hands it only to a current delegate).
   */
  async function keyringFor(owner: Address, scopes?: ScopeKeyView[]): Promise<Uint8Array[]> {
    if (owner === me) return ownKeyring(scopes ?? (await listScopes(me)));
    const { keyEnvelope } = await authed<{ keyEnvelope: string }>(
      'GET',
      `/v1/delegates/key?patient=${owner}`,
    );
    const plain = await hpkeUnwrap(
      identity.encryption.privateKey,
      decodeEnvelope(keyEnvelope).data,
      delegateKeyAad(owner, me),
    );
    const keyring: Uint8Array[] = [];
    for (let o = 0; o + 32 <= plain.length; o += 32) keyring.push(plain.slice(o, o + 32));
    return keyring;
  }

  /** Publishes `owner`'s scope key of `category` at `epoch` (signed by this identity, the owner or its delegate). */
  async function publishScope(category: Category, epoch: number, owner: Address = me, secret?: Uint8Array) {
    const i = await nodeInfo();
    const s = secret ?? (await keyringFor(owner)).at(-1)!;
    const scopeId = scopeIdOf(s, category, epoch);
    const publicKey = bytesToHex(scopeKeyPairOf(s, scopeId).publicKey);
    const message = { owner, category, epoch, scopeId, publicKey };
    const signature = await identity.account.signTypedData({
      domain: domainFor(i.chainId, i.contracts.consentRegistry),
      types: scopeKeyTypes,
      primaryType: 'ScopeKey',
      message,
    });
    await authed('POST', '/v1/scopes', { ...message, signer: me, signature });
    return { scopeId, epoch };
  }

  /**
   * `owner`'s scope ids of `category`, every epoch, oldest first, each with the secret it derives from. If there is
   * none, epoch 0 is published — and, when this identity is the owner, its existing records of the category are filed
   * under it (a delegate cannot open them; a patient files every category when it appoints a delegate).
   */
  async function scopeEpochs(category: Category, owner: Address = me, keyring?: Uint8Array[]) {
    const scopes = await listScopes(owner);
    const ring = keyring ?? (await keyringFor(owner, scopes));
    const mine = scopes
      .filter((k) => k.category === category)
      .map((k) => ({ epoch: k.epoch, scopeId: k.scopeId, secret: secretOfScope(ring, k) }))
      .filter((k): k is { epoch: number; scopeId: Hex; secret: Uint8Array } => k.secret !== undefined)
      .sort((a, b) => a.epoch - b.epoch);
    if (mine.length > 0) return mine;
    const secret = ring.at(-1)!;
    const first = await publishScope(category, 0, owner, secret);
    if (owner === me) await fileUnderScopes(new Map([[category, { scopeId: first.scopeId, secret }]]));
    return [{ ...first, secret }];
  }

  /**
   * Files this patient's existing records under newly published scopes (each record's key wrapped to the scope key
   * of its category), in one pass over the records.
   */
  async function fileUnderScopes(scopeOf: Map<string, { scopeId: Hex; secret: Uint8Array }>) {
    const batchKeys = new Map<string, Promise<Uint8Array>>();
    let after: string | null = null;
    do {
      const page: { records: RecordDetail[]; next: string | null } = await authed(
        'GET',
        `/v1/records?owner=${me}&limit=1000${after ? `&after=${after}` : ''}`,
      );
      for (const r of page.records) {
        if (!r.encMeta || !r.envelope) continue;
        let dek: Uint8Array;
        let meta: RecordMeta;
        try {
          dek = await unwrapKey(r, batchKeys);
          meta = JSON.parse(td.decode(await openBytes(fromBase64Url(r.encMeta), dek))) as RecordMeta;
        } catch {
          continue;
        }
        const scope = scopeOf.get(meta.category ?? 'other');
        if (!scope) continue;
        const publicKey = scopeKeyPairOf(scope.secret, scope.scopeId).publicKey;
        const data = await hpkeWrap(publicKey, dek, hexToBytes(r.recordId));
        await authed('POST', `/v1/records/${r.recordId}/scopes`, {
          scopeId: scope.scopeId,
          envelope: encodeEnvelope({ kind: 'hpke', data }),
        });
      }
      after = page.next;
    } while (after);
  }

  /** Publishes epoch 0 of every category this patient has no scope key for yet, filing its records under them. */
  async function ensureScopes() {
    const scopes = await listScopes(me);
    const keyring = ownKeyring(scopes);
    const secret = keyring.at(-1)!;
    const missing = new Map<string, { scopeId: Hex; secret: Uint8Array }>();
    for (const category of CATEGORIES) {
      if (scopes.some((k) => k.category === category && secretOfScope(keyring, k))) continue;
      missing.set(category, { scopeId: (await publishScope(category, 0, me, secret)).scopeId, secret });
    }
    if (missing.size > 0) await fileUnderScopes(missing);
    return keyring;
  }

  async function granteeKey(grantee: Address) {
    return encryptionKeyOf(getAddress(grantee));
  }

  const expiryOf = (expiresAt: Date | number | undefined) =>
    expiresAt === undefined
      ? 0n
      : BigInt(typeof expiresAt === 'number' ? expiresAt : Math.floor(expiresAt.getTime() / 1000));

  /**
   * Grants `grantee` read access for a purpose to one record or to a category (every record of it, past and future),
   * until `expiresAt` (default: until revoked). The keys follow: a record's data key, or the category's scope key(s),
   * wrapped for the grantee. Signed here; relayed by the node (no gas).
   */
  async function grant(o: {
    grantee: Address;
    record?: Hex;
    category?: Category;
    purpose?: ReadPurpose;
    expiresAt?: Date | number;
    /** The patient this identity acts for as a delegate (default: itself). Delegates share categories. */
    owner?: Address;
  }) {
    const owner = getAddress(o.owner ?? me);
    const grantee = getAddress(o.grantee);
    const purpose = AccessPurpose[o.purpose ?? 'care'];
    const expiresAt = expiryOf(o.expiresAt);
    const granteePub = await granteeKey(grantee);
    if (o.record) {
      if (owner !== me) throw new TypeError('a delegate shares categories, not single records');
      const d = await authed<RecordDetail>('GET', `/v1/records/${o.record}`);
      const dek = await unwrapKey(d);
      const data = await hpkeWrap(granteePub, dek, hexToBytes(d.recordId));
      const out = await submitGrant(
        { owner: me, grantee, scope: d.recordId, purpose, expiresAt },
        { envelope: encodeEnvelope({ kind: 'hpke', data }) },
      );
      return { ...out, scopes: [d.recordId] };
    }
    if (!isCategory(o.category)) throw new TypeError('grant a record or one of the categories');
    const epochs = await scopeEpochs(o.category, owner);
    let last: { txHash: Hex; blockNumber: number } | undefined;
    for (const { scopeId, secret } of epochs) {
      const data = await hpkeWrap(
        granteePub,
        scopeKeyPairOf(secret, scopeId).privateKey,
        hexToBytes(scopeId),
      );
      last = await submitGrant(
        { owner, grantee, scope: scopeId, purpose, expiresAt },
        { scopeKeyEnvelope: encodeEnvelope({ kind: 'hpke', data }) },
      );
    }
    return { ...last!, scopes: epochs.map((e) => e.scopeId) };
  }

  /** Grants made by this identity (or by `owner`, a patient it acts for), or, `as: 'grantee'`, made to it. */
  async function grants(o: { as?: 'owner' | 'grantee'; owner?: Address } = {}) {
    const owner = getAddress(o.owner ?? me);
    const q = o.as === 'grantee' ? `grantee=${me}` : `owner=${owner}`;
    const out = await authed<{ grants: GrantView[]; chainTime: number }>('GET', `/v1/grants?${q}`);
    if (o.as === 'grantee') return out.grants;
    const { scopes } = await authed<{ scopes: ScopeKeyView[] }>('GET', `/v1/scopes/${owner}`);
    const categoryOfScope = new Map(scopes.map((k) => [k.scopeId, k.category]));
    return out.grants.map((g) => {
      const category = categoryOfScope.get(g.scope);
      return category ? { ...g, category } : g;
    });
  }

  /**
   * Revokes `grantee`'s access (to a record, or to a category for a purpose). Revoking a category also moves it to a
   * new epoch with a new scope key, which the revoked party never receives, and re-grants it to everyone else who
   * still holds a live grant of the category, so nothing written afterwards is readable by the revoked party.
   */
  async function revoke(o: {
    grantee: Address;
    record?: Hex;
    category?: Category;
    purpose?: ReadPurpose;
    /** The patient this identity acts for as a delegate (default: itself). */
    owner?: Address;
  }): Promise<{ txHash: Hex; blockNumber: number; epoch?: number; regranted?: number }> {
    const owner = getAddress(o.owner ?? me);
    const grantee = getAddress(o.grantee);
    const purpose = AccessPurpose[o.purpose ?? 'care'];
    if (o.record) return submitRevoke({ owner, grantee, scope: o.record, purpose });
    if (!isCategory(o.category)) throw new TypeError('revoke a record or one of the categories');
    const category = o.category;
    const keyring = await keyringFor(owner);
    const secret = keyring.at(-1)!;
    const epochs = await scopeEpochs(category, owner, keyring);
    const scopeIds = new Set(epochs.map((e) => e.scopeId));
    const all = (await grants({ owner })).filter((g) => scopeIds.has(g.scope));
    let out: { txHash: Hex; blockNumber: number } | undefined;
    for (const g of all) {
      if (g.grantee !== grantee || !g.live || AccessPurpose[g.purpose] !== purpose) continue;
      out = await submitRevoke({ owner, grantee, scope: g.scope, purpose });
    }
    if (!out) throw new TypeError(`${grantee} holds no live ${o.purpose ?? 'care'} grant of ${category}`);
    const next = await publishScope(category, epochs.at(-1)!.epoch + 1, owner, secret);
    const keep = new Map<string, GrantView>();
    for (const g of all) {
      if (!g.live || (g.grantee === grantee && AccessPurpose[g.purpose] === purpose)) continue;
      keep.set(`${g.grantee}:${g.purpose}`, g);
    }
    for (const g of keep.values()) {
      const data = await hpkeWrap(
        await granteeKey(g.grantee),
        scopeKeyPairOf(secret, next.scopeId).privateKey,
        hexToBytes(next.scopeId),
      );
      await submitGrant(
        {
          owner,
          grantee: g.grantee,
          scope: next.scopeId,
          purpose: AccessPurpose[g.purpose],
          expiresAt: BigInt(g.expiresAt),
        },
        { scopeKeyEnvelope: encodeEnvelope({ kind: 'hpke', data }) },
      );
    }
    return { ...out, epoch: next.epoch, regranted: keep.size };
  }

  async function delegationNonce(account: Address): Promise<bigint> {
    const i = await nodeInfo();
    return (await (
      await chain()
    ).readContract({
      address: i.contracts.delegation,
      abi: delegationAbi,
      functionName: 'nonces',
      args: [account],
    })) as bigint;
  }

  /**
   * Appoints `delegate` (a registered account) as this patient's guardian or carer, until `expiresAt` (default: until
   * revoked). The delegate may then open this patient's records (for care), share its categories and add records
   * for it, each action signed by and attributed to the delegate (its reads appear in the patient's access log). What it needs travels with the appointment: this patient's scope keyring,
   * HPKE-wrapped to the delegate's registered key; every category gets a scope key first, so the delegate can share
   * records already written. Signed here; relayed by the node.
   * @example await patient.appointDelegate({ delegate: mother, kind: 'guardian' });
   */
  async function appointDelegate(o: {
    delegate: Address;
    kind?: DelegateKindName;
    expiresAt?: Date | number;
  }) {
    const delegate = getAddress(o.delegate);
    const i = await nodeInfo();
    const keyring = await ensureScopes();
    const data = await hpkeWrap(
      await encryptionKeyOf(delegate),
      concat(...keyring),
      delegateKeyAad(me, delegate),
    );
    const message = {
      patient: me,
      delegate,
      kind: DelegateKind[o.kind ?? 'carer'],
      expiresAt: expiryOf(o.expiresAt),
      nonce: await delegationNonce(me),
      deadline: deadline(),
    };
    const signature = await identity.account.signTypedData({
      domain: domainFor(i.chainId, i.contracts.delegation),
      types: appointDelegateTypes,
      primaryType: 'AppointDelegate',
      message,
    });
    return authed<{ txHash: Hex; blockNumber: number }>('POST', '/v1/delegates', {
      ...message,
      signature,
      keyEnvelope: encodeEnvelope({ kind: 'hpke', data }),
    });
  }

  /**
   * Revokes `delegate`: signed by this patient, or — for a patient flagged minor — by one of its current guardians
   * revoking a carer (pass `patient`). The delegate's key material leaves the node and the chain refuses it at once;
   * when the patient revokes, its scopes also move to a new secret generation (see rotateScopes).
   */
  async function revokeDelegate(o: { delegate: Address; patient?: Address }) {
    const i = await nodeInfo();
    const message = {
      patient: getAddress(o.patient ?? me),
      delegate: getAddress(o.delegate),
      nonce: await delegationNonce(me),
      deadline: deadline(),
    };
    const signature = await identity.account.signTypedData({
      domain: domainFor(i.chainId, i.contracts.delegation),
      types: revokeDelegateTypes,
      primaryType: 'RevokeDelegate',
      message,
    });
    const out = await authed<{ txHash: Hex; blockNumber: number }>('POST', '/v1/delegates/revoke', {
      ...message,
      signer: me,
      signature,
    });
    if (message.patient === me) {
      await adoptScopeKeys(message.delegate);
      await rotateScopes();
    }
    return out;
  }

  /**
   * Re-signs, as this patient's own, the scope keys `delegate` published for it: writers trust a delegate's signature
   * only while it is a delegate, and these keys stay this patient's (they derive from its scope secrets).
   */
  async function adoptScopeKeys(delegate: Address) {
    const scopes = await listScopes(me);
    const keyring = ownKeyring(scopes);
    for (const k of scopes) {
      const secret = secretOfScope(keyring, k);
      if (getAddress(k.signer) !== delegate || !secret || !isCategory(k.category)) continue;
      await publishScope(k.category, k.epoch, me, secret);
    }
  }

  /**
   * Moves this patient's scopes to a new secret generation, after revoking a delegate who knew the earlier ones:
   * every category gets a new epoch under the new secret, re-granted to each grantee whose grant of the category is
   * still live, and the patient's remaining delegates receive the new keyring. Nothing written afterwards is under a
   * key the revoked delegate can derive.
   */
  async function rotateScopes() {
    const scopes = await listScopes(me);
    const keyring = ownKeyring(scopes);
    const next = scopeSecretOf(identity, keyring.length);
    const live = (await grants()).filter((g) => g.live);
    for (const category of CATEGORIES) {
      const mine = scopes.filter((k) => k.category === category && secretOfScope(keyring, k));
      if (mine.length === 0) continue;
      const ids = new Set(mine.map((k) => k.scopeId));
      const epoch = Math.max(...mine.map((k) => k.epoch)) + 1;
      const scope = await publishScope(category, epoch, me, next);
      const keep = new Map<string, GrantView>();
      for (const g of live) if (ids.has(g.scope)) keep.set(`${g.grantee}:${g.purpose}`, g);
      for (const g of keep.values()) {
        const data = await hpkeWrap(
          await granteeKey(g.grantee),
          scopeKeyPairOf(next, scope.scopeId).privateKey,
          hexToBytes(scope.scopeId),
        );
        await submitGrant(
          {
            owner: me,
            grantee: g.grantee,
            scope: scope.scopeId,
            purpose: AccessPurpose[g.purpose],
            expiresAt: BigInt(g.expiresAt),
          },
          { scopeKeyEnvelope: encodeEnvelope({ kind: 'hpke', data }) },
        );
      }
    }
    const ring = concat(...keyring, next);
    for (const d of await delegates()) {
      if (!d.live) continue;
      const data = await hpkeWrap(await encryptionKeyOf(d.delegate), ring, delegateKeyAad(me, d.delegate));
      await authed('POST', '/v1/delegates/key', {
        patient: me,
        delegate: d.delegate,
        keyEnvelope: encodeEnvelope({ kind: 'hpke', data }),
      });
    }
  }

  /**
   * Flags (or unflags) this patient as a minor: while flagged, each of its current guardians may also revoke its
   * carers (the contract's policy; guardians themselves are revoked by the patient only).
   */
  async function setMinor(minor: boolean) {
    const i = await nodeInfo();
    const message = { patient: me, minor, nonce: await delegationNonce(me), deadline: deadline() };
    const signature = await identity.account.signTypedData({
      domain: domainFor(i.chainId, i.contracts.delegation),
      types: setMinorTypes,
      primaryType: 'SetMinor',
      message,
    });
    return authed<{ txHash: Hex; blockNumber: number }>('POST', '/v1/delegates/minor', {
      ...message,
      signature,
    });
  }

  /** The delegates of `patient` (default: this identity), or, `as: 'delegate'`, the patients this identity acts for. */
  async function delegates(o: { patient?: Address; as?: 'patient' | 'delegate' } = {}) {
    const q = o.as === 'delegate' ? `delegate=${me}` : `patient=${getAddress(o.patient ?? me)}`;
    return (await authed<{ delegates: DelegateView[] }>('GET', `/v1/delegates?${q}`)).delegates;
  }

  /**
   * Sets up social recovery: this identity's mnemonic entropy is split k-of-n (`threshold` of `guardians`), each
   * share HPKE-wrapped to one guardian's registered key and left at the node as ciphertext; the chain records a
   * salted hash of the guardian set and the threshold (signed here). Any `threshold` guardians can later release their
   * shares to a new device of this patient (see releaseRecoveryShare and recoverIdentity); fewer learn nothing.
   * @example await patient.setRecoveryGuardians({ guardians: [alice, bob, carol], threshold: 2 });
   */
  async function setRecoveryGuardians(o: { guardians: Address[]; threshold: number }) {
    const guardians = o.guardians.map((g) => getAddress(g));
    const i = await nodeInfo();
    const { secret, length } = recoveryEntropyOf(identity.mnemonic);
    const parts = await splitSecret(secret, { shares: guardians.length, threshold: o.threshold });
    secret.fill(0);
    const shares = [];
    for (const [n, guardian] of guardians.entries()) {
      const data = await hpkeWrap(
        await encryptionKeyOf(guardian),
        concat(parts[n]!, Uint8Array.of(length)),
        recoveryShareAad(me, guardian),
      );
      parts[n]!.fill(0);
      shares.push({ guardian, envelope: encodeEnvelope({ kind: 'hpke', data }) });
    }
    const salt = bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
    const message = {
      patient: me,
      guardiansHash: guardianSetHash(guardians, salt),
      threshold: o.threshold,
      nonce: await delegationNonce(me),
      deadline: deadline(),
    };
    const signature = await identity.account.signTypedData({
      domain: domainFor(i.chainId, i.contracts.delegation),
      types: setRecoveryGuardiansTypes,
      primaryType: 'SetRecoveryGuardians',
      message,
    });
    return authed<{ txHash: Hex; blockNumber: number; guardians: number }>('POST', '/v1/recovery', {
      ...message,
      salt,
      signature,
      shares,
    });
  }

  /** As a recovery guardian: the recovery keys a new device of `patient` has asked for. */
  async function recoveryRequests(patient: Address) {
    const out = await authed<{ requests: { recoveryKey: Hex; requestedAt: number }[] }>(
      'GET',
      `/v1/recovery/${getAddress(patient)}/share`,
    );
    return out.requests;
  }

  /**
   * As a recovery guardian: opens this guardian's share of `patient` and re-wraps it to `recoveryKey`, the public key
   * a new device of the patient chose (confirm it with the patient out of band first). The node sees ciphertext only.
   */
  async function releaseRecoveryShare(o: { patient: Address; recoveryKey: Hex }) {
    const patient = getAddress(o.patient);
    const recoveryKey = o.recoveryKey.toLowerCase() as Hex;
    const mine = await authed<{ envelope: string }>('GET', `/v1/recovery/${patient}/share`);
    const share = await hpkeUnwrap(
      identity.encryption.privateKey,
      decodeEnvelope(mine.envelope).data,
      recoveryShareAad(patient, me),
    );
    const data = await hpkeWrap(hexToBytes(recoveryKey), share, recoveryReleaseAad(patient, recoveryKey, me));
    share.fill(0);
    return authed<{ patient: Address; recoveryKey: Hex; guardian: Address }>(
      'POST',
      `/v1/recovery/${patient}/releases`,
      { recoveryKey, envelope: encodeEnvelope({ kind: 'hpke', data }) },
    );
  }

  /** What the patient should hear about: break-glass openings, records others added, first reads by new parties. */
  async function notifications(since?: Date) {
    const q = since ? `?since=${Math.floor(since.getTime() / 1000)}` : '';
    return authed<{
      notifications: {
        kind: 'break-glass' | 'record-added' | 'new-accessor';
        time: number;
        actor: Address;
        subject: Hex;
        outcome?: 'granted' | 'denied';
      }[];
    }>('GET', `/v1/notifications${q}`);
  }

  async function auditLog(): Promise<{ owner: Address; head: number; entries: AuditEntry[] }> {
    return authed('GET', `/v1/audit?owner=${me}`);
  }

  /**
   * Verifies this identity's access log: each entry's node and requester signatures, its Merkle leaf, its inclusion
   * under a root anchored on AccessLog by that node, and that the sequence numbers run 1..head without a gap (so an
   * entry removed from the node's database is detected).
   */
  /**
   * Whether a SIWE message, signed by `requester`'s account key, delegates to `d.key` and covers `time` (from its
   * issuedAt, for the access-key lifetime). Checked once per key.
   */
  const delegationChecks = new Map<string, Promise<{ address: Address; from: number } | undefined>>();
  async function delegationHolds(
    d: { key: Hex; message: string; signature: Hex },
    requester: Address,
    time: number,
  ): Promise<boolean> {
    const cacheKey = `${d.key}:${d.signature}`;
    let check = delegationChecks.get(cacheKey);
    if (!check) {
      check = (async () => {
        try {
          const m = parseSiweMessage(d.message);
          if (!m.address || accessKeyOf(m.resources) !== d.key.toLowerCase()) return undefined;
          const signer = await recoverMessageAddress({ message: d.message, signature: d.signature });
          if (signer !== getAddress(m.address)) return undefined;
          return { address: signer, from: Math.floor((m.issuedAt ?? new Date(0)).getTime() / 1000) };
        } catch {
          return undefined;
        }
      })();
      delegationChecks.set(cacheKey, check);
    }
    const ok = await check;
    return (
      ok !== undefined &&
      ok.address === requester &&
      time >= ok.from - 300 &&
      time <= ok.from + ACCESS_KEY_TTL_SECONDS + 300
    );
  }

  /** Whether the operator account `node` signed the message delegating to receipt key `d.key`; once per key. */
  const nodeKeyChecks = new Map<string, Promise<Address | undefined>>();
  async function nodeKeyHolds(d: { key: Hex; message: string; signature: Hex }, node: Address) {
    const cacheKey = `${d.key}:${d.signature}`;
    let check = nodeKeyChecks.get(cacheKey);
    if (!check) {
      check = (async () => {
        const m = parseNodeReceiptKeyMessage(d.message);
        if (!m || m.key !== d.key.toLowerCase()) return undefined;
        const signer = await recoverMessageAddress({ message: d.message, signature: d.signature }).catch(
          () => undefined,
        );
        return signer === getAddress(m.node) ? signer : undefined;
      })();
      nodeKeyChecks.set(cacheKey, check);
    }
    return (await check) === node;
  }

  async function verifyAudit(): Promise<AuditVerification> {
    const log = await auditLog();
    const i = await nodeInfo();
    const domain = domainFor(i.chainId, i.contracts.accessLog);
    const client = await chain();
    const problems: AuditVerification['problems'] = [];
    const roots = new Map<string, { node: Address; count: number }>();
    let verified = 0;
    let pending = 0;
    const seqs = new Set<number>();
    for (const e of log.entries) {
      const fail = (problem: string) => problems.push({ seq: e.seq, problem });
      if (seqs.has(e.seq)) fail('sequence number repeated');
      seqs.add(e.seq);
      if (getAddress(e.owner) !== me) fail('entry of another owner');
      const message = {
        request: {
          requester: getAddress(e.request.requester),
          owner: getAddress(e.request.owner),
          record: e.request.record,
          purpose: e.request.purpose,
          time: BigInt(e.request.time),
        },
        owner: getAddress(e.owner),
        node: getAddress(e.node),
        seq: BigInt(e.seq),
        outcome: e.outcome === 'granted' ? 1 : 2,
        loggedAt: BigInt(e.loggedAt),
      };
      const digest = accessDigests(domain).receipt(message);
      if (e.nodeKey) {
        if (!(await nodeKeyHolds(e.nodeKey, message.node))) {
          fail("the receipt key was not delegated to by the node's account");
          continue;
        }
        if (!(await verifyAccessKeySignature(e.nodeKey.key, digest, e.nodeSignature))) {
          fail('the node signature does not match');
          continue;
        }
      } else if (recoverDigestSigner(digest, e.nodeSignature) !== message.node) {
        fail('the node signature does not match');
        continue;
      }
      if (e.requestSignature && e.requestKey) {
        const delegated = await delegationHolds(e.requestKey, message.request.requester, e.request.time);
        if (!delegated) {
          fail('the access key was not delegated to by the requester for that time');
          continue;
        }
        const ok = await verifyAccessKeySignature(
          e.requestKey.key,
          accessDigests(domain).request(message.request),
          e.requestSignature,
        );
        if (!ok) {
          fail('the requester signature does not match');
          continue;
        }
      } else if (e.requestSignature) {
        let requester: Address | undefined;
        try {
          requester = recoverDigestSigner(accessDigests(domain).request(message.request), e.requestSignature);
        } catch {
          requester = undefined;
        }
        if (requester !== message.request.requester) {
          fail('the requester signature does not match');
          continue;
        }
      } else if (e.outcome === 'granted') {
        fail('a served read without the requester signature');
        continue;
      }
      const leaf = accessReceiptLeaf(digest, e.requestSignature);
      if (leaf !== e.leaf) {
        fail('the leaf does not match the receipt');
        continue;
      }
      if (!e.anchor) {
        pending++;
        continue;
      }
      if (!verifyMerkleProof(leaf, e.anchor.proof, e.anchor.root)) {
        fail('the inclusion proof does not lead to the root');
        continue;
      }
      let root = roots.get(e.anchor.root);
      if (!root) {
        const [node, , count] = (await client.readContract({
          address: i.contracts.accessLog,
          abi: accessLogAbi,
          functionName: 'rootOf',
          args: [e.anchor.root],
        })) as readonly [Address, bigint, number];
        root = { node: getAddress(node), count: Number(count) };
        roots.set(e.anchor.root, root);
      }
      if (root.count === 0 || root.node !== message.node) {
        fail('the root is not anchored on chain by this node');
        continue;
      }
      verified++;
    }
    for (let seq = 1; seq <= log.head; seq++) {
      if (!seqs.has(seq)) problems.push({ seq, problem: 'entry missing from the log' });
    }
    for (const seq of seqs) if (seq > log.head) problems.push({ seq, problem: 'entry beyond the log head' });
    return { ok: problems.length === 0, verified, pending, problems };
  }

  const shareAad = (patient: Address, holder: number) =>
    stringToBytes(`medbloc emergency share v1:${patient.toLowerCase()}:${holder}`);
  const releaseAad = (requestId: Hex, holder: number) =>
    stringToBytes(`medbloc emergency release v1:${requestId.toLowerCase()}:${holder}`);
  const sharesHash = (envelopes: string[]) => keccak256(concatHex(envelopes.map((e) => stringToBytes(e))));

  /**
   * Seals this patient's emergency profile under a fresh profile key, split k-of-n among the node's emergency key
   * holders (each share HPKE-wrapped to one holder), plus a copy of the key for the patient; signed by the patient.
   */
  async function setEmergencyProfile(profile: EmergencyProfile) {
    const i = await nodeInfo();
    const { threshold, holders } = await transport.json<{
      threshold: number;
      holders: { index: number; publicKey: Hex }[];
    }>('GET', '/v1/emergency/holders');
    const key = generateDataKey();
    const sealed = await sealBytes(te.encode(JSON.stringify(profile)), key);
    const parts = await splitSecret(key, { shares: holders.length, threshold });
    const shares = [];
    for (const [n, h] of holders.entries()) {
      const data = await hpkeWrap(hexToBytes(h.publicKey), parts[n]!, shareAad(me, h.index));
      shares.push({ holder: h.index, envelope: encodeEnvelope({ kind: 'hpke', data }) });
    }
    const ownerEnvelope = encodeEnvelope({
      kind: 'hpke',
      data: await hpkeWrap(
        identity.encryption.publicKey,
        key,
        stringToBytes(`medbloc emergency profile v1:${me}`),
      ),
    });
    const message = {
      patient: me,
      profile: sha256Hex(sealed),
      shares: sharesHash(shares.map((s) => s.envelope)),
      threshold,
      time: BigInt(Math.floor(Date.now() / 1000)),
    };
    const signature = await identity.account.signTypedData({
      domain: domainFor(i.chainId, i.contracts.emergencyAccess),
      types: emergencyProfileTypes,
      primaryType: 'EmergencyProfile',
      message,
    });
    return authed<{ patient: Address; profile: Hex; threshold: number; holders: number }>(
      'POST',
      '/v1/emergency/profile',
      { ...message, signer: me, sealed: toBase64Url(sealed), ownerEnvelope, shares, signature },
    );
  }

  /** This patient's own emergency profile. */
  async function emergencyProfile(): Promise<EmergencyProfile> {
    const p = await authed<{ sealed: string; ownerEnvelope: string }>('GET', `/v1/emergency/profile/${me}`);
    const key = await hpkeUnwrap(
      identity.encryption.privateKey,
      decodeEnvelope(p.ownerEnvelope).data,
      stringToBytes(`medbloc emergency profile v1:${me}`),
    );
    return JSON.parse(td.decode(await openBytes(fromBase64Url(p.sealed), key))) as EmergencyProfile;
  }

  /**
   * As a certified provider: records a break-glass request for `patient` on chain (only the hash of the reason is
   * published), then has the emergency key holders release their shares to this identity and opens the profile.
   * The patient sees the opening in their access log.
   */
  async function breakGlass(patient: Address, reason: string) {
    const i = await nodeInfo();
    const nonce = (await (
      await chain()
    ).readContract({
      address: i.contracts.emergencyAccess,
      abi: emergencyAccessAbi,
      functionName: 'nonces',
      args: [me],
    })) as bigint;
    const message = {
      provider: me,
      patient: getAddress(patient),
      reasonHash: keccak256(stringToBytes(reason)),
      nonce,
      deadline: deadline(),
    };
    const signature = await identity.account.signTypedData({
      domain: domainFor(i.chainId, i.contracts.emergencyAccess),
      types: breakGlassTypes,
      primaryType: 'BreakGlass',
      message,
    });
    const req = await authed<{ requestId: Hex; txHash: Hex }>('POST', '/v1/emergency/requests', {
      ...message,
      signature,
    });
    return { ...req, profile: await openEmergency(req.requestId) };
  }

  /** Opens a patient's emergency profile for a break-glass request of this identity already on chain. */
  async function openEmergency(requestId: Hex): Promise<EmergencyProfile> {
    const i = await nodeInfo();
    const res = await transport.raw('POST', `/v1/emergency/requests/${requestId}/open`, {
      token: await session(),
      headers: await accessHeaderFor(requestId, 'emergency'),
    });
    const out = (await res.json()) as {
      patient: Address;
      sealed: string;
      threshold: number;
      shares: { holder: number; envelope: string }[];
      profile: { shares: Hex; signer: Address; signature: Hex; time: number };
    };
    const sealed = fromBase64Url(out.sealed);
    const signer = await recoverTypedDataAddress({
      domain: domainFor(i.chainId, i.contracts.emergencyAccess),
      types: emergencyProfileTypes,
      primaryType: 'EmergencyProfile',
      message: {
        patient: getAddress(out.patient),
        profile: sha256Hex(sealed),
        shares: out.profile.shares,
        threshold: out.threshold,
        time: BigInt(out.profile.time),
      },
      signature: out.profile.signature,
    });
    if (signer !== getAddress(out.patient))
      throw new RecordVerificationError(
        'SIGNATURE_MISMATCH',
        'the emergency profile is not signed by the patient',
      );
    const parts = [];
    for (const s of out.shares) {
      parts.push(
        await hpkeUnwrap(
          identity.encryption.privateKey,
          decodeEnvelope(s.envelope).data,
          releaseAad(requestId, s.holder),
        ),
      );
    }
    const key = await combineShares(parts);
    return JSON.parse(td.decode(await openBytes(sealed, key))) as EmergencyProfile;
  }

  return {
    address: me,
    nodeInfo,
    login: session,
    ...createCertification({
      transport,
      identity,
      authed,
      session,
      nodeInfo,
      rpcUrl: opts.rpcUrl,
      deadline,
      uploadBytes,
      encryptionKeyOf,
    }),
    setEmergencyProfile,
    emergencyProfile,
    breakGlass,
    openEmergency,
    grant,
    revoke,
    grants,
    publishScope,
    appointDelegate,
    revokeDelegate,
    delegates,
    setMinor,
    setRecoveryGuardians,
    recoveryRequests,
    releaseRecoveryShare,
    auditLog,
    notifications,
    verifyAudit,

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
    ingest,

    /**
     * Lists records of `owner` (default: this identity), all pages, each with its metadata decrypted locally
     * (`meta` is undefined where this identity holds no key for it).
     */
    async listRecords(o: { owner?: Address; purpose?: ReadPurpose } = {}) {
      const owner = getAddress(o.owner ?? me);
      const purpose = o.purpose ?? 'care';
      const out: (RecordSummary & { meta: RecordMeta | undefined })[] = [];
      const batchKeys = new Map<string, Promise<Uint8Array>>();
      let after: string | null = null;
      do {
        const q: string = `/v1/records?owner=${owner}&purpose=${purpose}&limit=1000${after ? `&after=${after}` : ''}`;
        const headers = owner === me ? {} : await accessHeader(ZERO_HASH, owner, purpose);
        const page: {
          records: RecordDetail[];
          next: string | null;
        } = await authedGet(q, headers);
        for (const r of page.records) {
          let meta: RecordMeta | undefined;
          if (r.encMeta && r.envelope) {
            try {
              const dek = await unwrapKey(r, batchKeys);
              meta = JSON.parse(td.decode(await openBytes(fromBase64Url(r.encMeta), dek))) as RecordMeta;
            } catch {
              meta = undefined;
            }
          }
          const {
            access: _a,
            envelope: _e,
            kekId: _k,
            wrapKeyEnvelope: _w,
            scopeId: _s,
            scopeKeyEnvelope: _sk,
            ...summary
          } = r;
          if (getAddress(summary.owner) === me) ownRecords.add(summary.recordId.toLowerCase());
          out.push({ ...summary, meta });
        }
        after = page.next;
      } while (after);
      return out;
    },

    openRecord,

    /** Reads a whole record into memory, fully verified; FHIR records are parsed. */
    async getRecord(recordId: Hex, o: { purpose?: ReadPurpose } = {}) {
      const r = await openRecord(recordId, o);
      const parts: Uint8Array[] = [];
      for await (const chunk of r.stream) parts.push(chunk);
      const bytes = concat(...parts);
      const resource =
        r.meta?.kind === 'fhir' ? (JSON.parse(td.decode(bytes)) as Record<string, unknown>) : undefined;
      return { record: r.record, meta: r.meta, verification: r.verification, bytes, resource };
    },

    /** Verifies a record end to end (anchor, signature, envelope, commitment, digest, AEAD) without keeping it. */
    async verifyRecord(recordId: Hex, o: { purpose?: ReadPurpose } = {}): Promise<Verification> {
      const r = await openRecord(recordId, o);
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
