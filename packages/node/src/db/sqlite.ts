/**
 * The node's index in SQLite (node:sqlite): what the chain says (accounts, certifications, record anchors, batches)
 * plus what only this node holds (key envelopes, encrypted record metadata, pending batches, blob accounting,
 * sessions). Everything here is ciphertext, addresses and hashes — never plaintext medical data or user keys.
 *
 * Records become visible only when the indexer has seen their anchor on chain; the data a client sent with a write
 * (envelopes, encrypted metadata, batch leaves) is stored *before* the anchor is relayed, so an acknowledged record
 * is never listed without what is needed to read it.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import { certificationTables } from './certification.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
  address TEXT PRIMARY KEY, encryption_key TEXT NOT NULL, roles INTEGER NOT NULL, block_number INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS certifications (
  address TEXT NOT NULL, role INTEGER NOT NULL, issuer TEXT NOT NULL, credential_hash TEXT NOT NULL,
  expires_at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (address, role)
);
CREATE TABLE IF NOT EXISTS records (
  record_id TEXT PRIMARY KEY, owner TEXT NOT NULL, creator TEXT NOT NULL, digest TEXT NOT NULL,
  key_commitment TEXT NOT NULL, supersedes TEXT NOT NULL, anchored_at INTEGER NOT NULL,
  block_number INTEGER NOT NULL, tx_hash TEXT NOT NULL, batch_root TEXT, leaf_index INTEGER
);
CREATE INDEX IF NOT EXISTS records_owner ON records (owner, block_number, record_id);
CREATE INDEX IF NOT EXISTS records_supersedes ON records (supersedes);
CREATE TABLE IF NOT EXISTS record_writes (
  record_id TEXT PRIMARY KEY, enc_meta TEXT, signature TEXT, nonce TEXT, deadline TEXT, created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS envelopes (
  record_id TEXT NOT NULL, reader TEXT NOT NULL, envelope TEXT NOT NULL, kek_id TEXT,
  PRIMARY KEY (record_id, reader)
);
CREATE TABLE IF NOT EXISTS wrap_keys (
  kek_id TEXT NOT NULL, reader TEXT NOT NULL, envelope TEXT NOT NULL, PRIMARY KEY (kek_id, reader)
);
CREATE TABLE IF NOT EXISTS batches (
  root TEXT PRIMARY KEY, creator TEXT NOT NULL, count INTEGER NOT NULL, manifest TEXT NOT NULL,
  signature TEXT, nonce TEXT, deadline TEXT, status TEXT NOT NULL, anchored_at INTEGER, block_number INTEGER,
  tx_hash TEXT, created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_leaves (
  root TEXT NOT NULL, leaf_index INTEGER NOT NULL, record_id TEXT NOT NULL, owner TEXT NOT NULL,
  digest TEXT NOT NULL, key_commitment TEXT NOT NULL, supersedes TEXT NOT NULL, PRIMARY KEY (root, leaf_index)
);
-- A batch written through this node keeps what its records need to be read (pack byte range, the owner's envelope,
-- sealed metadata) in its leaves: one row per record, written in order, where separate tables keyed by record id
-- would each take a write at a random place per record. Records written singly, and batches stored before these
-- columns existed, keep them in pack_entries, envelopes and record_writes.
CREATE TABLE IF NOT EXISTS blobs (
  cid TEXT NOT NULL, uploader TEXT NOT NULL, size INTEGER NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (cid, uploader)
);
CREATE TABLE IF NOT EXISTS pack_entries (
  digest TEXT PRIMARY KEY, pack TEXT NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS record_scopes (
  record_id TEXT NOT NULL, scope_id TEXT NOT NULL, PRIMARY KEY (record_id, scope_id)
);
CREATE INDEX IF NOT EXISTS record_scopes_scope ON record_scopes (scope_id);
CREATE TABLE IF NOT EXISTS grants (
  owner TEXT NOT NULL, grantee TEXT NOT NULL, scope TEXT NOT NULL, purpose INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, revoked INTEGER NOT NULL, signer TEXT NOT NULL, block_number INTEGER NOT NULL,
  PRIMARY KEY (owner, grantee, scope, purpose)
);
CREATE INDEX IF NOT EXISTS grants_grantee ON grants (grantee, owner);
CREATE TABLE IF NOT EXISTS scope_keys (
  owner TEXT NOT NULL, scope_id TEXT NOT NULL, category TEXT NOT NULL, epoch INTEGER NOT NULL,
  public_key TEXT NOT NULL, signature TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (owner, scope_id)
);
CREATE TABLE IF NOT EXISTS scope_grant_keys (
  scope_id TEXT NOT NULL, grantee TEXT NOT NULL, envelope TEXT NOT NULL, PRIMARY KEY (scope_id, grantee)
);
CREATE TABLE IF NOT EXISTS delegates (
  patient TEXT NOT NULL, delegate TEXT NOT NULL, kind INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  revoked INTEGER NOT NULL, block_number INTEGER NOT NULL, PRIMARY KEY (patient, delegate)
);
CREATE INDEX IF NOT EXISTS delegates_delegate ON delegates (delegate);
CREATE TABLE IF NOT EXISTS delegate_revocations (
  patient TEXT NOT NULL, delegate TEXT NOT NULL, signer TEXT NOT NULL, block_number INTEGER NOT NULL,
  PRIMARY KEY (patient, delegate)
);
CREATE TABLE IF NOT EXISTS delegate_keys (
  patient TEXT NOT NULL, delegate TEXT NOT NULL, envelope TEXT NOT NULL, PRIMARY KEY (patient, delegate)
);
CREATE TABLE IF NOT EXISTS recovery_sets (
  patient TEXT PRIMARY KEY, guardians_hash TEXT NOT NULL, threshold INTEGER NOT NULL, salt TEXT NOT NULL,
  shares TEXT NOT NULL, created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS recovery_requests (
  patient TEXT NOT NULL, recovery_key TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (patient, recovery_key)
);
CREATE TABLE IF NOT EXISTS recovery_releases (
  patient TEXT NOT NULL, recovery_key TEXT NOT NULL, guardian TEXT NOT NULL, envelope TEXT NOT NULL,
  created_at INTEGER NOT NULL, PRIMARY KEY (patient, recovery_key, guardian)
);
CREATE TABLE IF NOT EXISTS receipts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, seq INTEGER NOT NULL, requester TEXT NOT NULL,
  req_owner TEXT NOT NULL, record TEXT NOT NULL, purpose INTEGER NOT NULL, req_time INTEGER NOT NULL,
  req_signature TEXT, outcome INTEGER NOT NULL, logged_at INTEGER NOT NULL, node TEXT NOT NULL,
  node_signature TEXT NOT NULL, leaf TEXT NOT NULL, root TEXT, leaf_index INTEGER, UNIQUE (owner, seq)
);
CREATE INDEX IF NOT EXISTS receipts_root ON receipts (root, leaf_index);
CREATE INDEX IF NOT EXISTS receipts_pending ON receipts (root, id);
CREATE INDEX IF NOT EXISTS receipts_request ON receipts (req_signature);
CREATE TABLE IF NOT EXISTS audit_heads (owner TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS receipt_roots (
  root TEXT PRIMARY KEY, count INTEGER NOT NULL, tx_hash TEXT NOT NULL, block_number INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS emergency_profiles (
  patient TEXT PRIMARY KEY, sealed TEXT NOT NULL, owner_envelope TEXT NOT NULL, threshold INTEGER NOT NULL,
  shares TEXT NOT NULL, signer TEXT NOT NULL, signature TEXT NOT NULL, time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (token_hash TEXT PRIMARY KEY, address TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS node_keys (key TEXT PRIMARY KEY, node TEXT NOT NULL, message TEXT NOT NULL, signature TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS access_keys (
  key TEXT PRIMARY KEY, address TEXT NOT NULL, message TEXT NOT NULL, signature TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS auth_nonces (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
`;

export interface RecordRow {
  record_id: string;
  owner: string;
  creator: string;
  digest: string;
  key_commitment: string;
  supersedes: string;
  anchored_at: number;
  block_number: number;
  tx_hash: string;
  batch_root: string | null;
  leaf_index: number | null;
  enc_meta: string | null;
  signature: string | null;
  nonce: string | null;
  deadline: string | null;
  superseded_by: string | null;
}

export interface BatchRow {
  root: string;
  creator: string;
  count: number;
  manifest: string;
  signature: string | null;
  nonce: string | null;
  deadline: string | null;
  status: 'pending' | 'anchored' | 'failed';
  anchored_at: number | null;
  block_number: number | null;
  tx_hash: string | null;
  created_at: number;
}

export interface LeafRow {
  root: string;
  leaf_index: number;
  record_id: string;
  owner: string;
  digest: string;
  key_commitment: string;
  supersedes: string;
}

/** What a leaf of a batch written through this node keeps for reading its record. */
export interface PendingLeaf {
  pack_offset?: number | undefined;
  pack_length?: number | undefined;
  envelope?: string | undefined;
  kek_id?: string | null | undefined;
  enc_meta?: string | null | undefined;
}

export interface GrantRow {
  owner: string;
  grantee: string;
  scope: string;
  purpose: number;
  expires_at: number;
  revoked: number;
  signer: string;
  block_number: number;
}

export interface ReceiptRow {
  id: number;
  owner: string;
  seq: number;
  requester: string;
  req_owner: string;
  record: string;
  purpose: number;
  req_time: number;
  req_signature: string | null;
  /** The Ed25519 access key that signed the request (null: the account key signed it). */
  req_key: string | null;
  /** The node's Ed25519 receipt key that countersigned (null: the operator account key did). */
  node_key: string | null;
  outcome: number;
  logged_at: number;
  node: string;
  node_signature: string;
  leaf: string;
  root: string | null;
  leaf_index: number | null;
}

/** A node's receipt key and the operator's signed message delegating to it. */
export interface NodeKeyRow {
  key: string;
  node: string;
  message: string;
  signature: string;
}

/** An access key and the SIWE message (signed by `address`) that delegated to it. */
export interface AccessKeyRow {
  key: string;
  address: string;
  message: string;
  signature: string;
  expires_at: number;
}

export interface EmergencyProfileRow {
  patient: string;
  sealed: string;
  owner_envelope: string;
  threshold: number;
  /** JSON [{ holder, envelope }]. */
  shares: string;
  signer: string;
  signature: string;
  time: number;
}

export interface ScopeKeyRow {
  owner: string;
  scope_id: string;
  category: string;
  epoch: number;
  public_key: string;
  signature: string;
  created_at: number;
}

export interface DelegateRow {
  patient: string;
  delegate: string;
  kind: number;
  expires_at: number;
  revoked: number;
  block_number: number;
  /** Who signed the revocation (the patient, or a guardian of a minor), when revoked. */
  revoked_by: string | null;
}

export interface RecoverySetRow {
  patient: string;
  guardians_hash: string;
  threshold: number;
  salt: string;
  /** JSON [{ guardian, envelope }]: each guardian's share, HPKE-wrapped to that guardian. */
  shares: string;
  created_at: number;
}

const RECORD_SELECT = `
  SELECT r.*, COALESCE(w.enc_meta, l.enc_meta) AS enc_meta, w.signature, w.nonce, w.deadline,
    (SELECT s.record_id FROM records s WHERE s.supersedes = r.record_id LIMIT 1) AS superseded_by
  FROM records r LEFT JOIN record_writes w ON w.record_id = r.record_id
  LEFT JOIN batch_leaves l ON l.root = r.batch_root AND l.leaf_index = r.leaf_index`;

export type Db = ReturnType<typeof openDatabase>;

/**
 * Flushes `file`'s data to the disk (fdatasync, on libuv's pool, off the event loop) through one handle kept open
 * between flushes: one job per flush, not an open, a sync and a close. A file not there yet has nothing to flush.
 */
export function fileFlusher(file: string) {
  let handle: Promise<FileHandle | undefined> | undefined;
  return {
    async flush(): Promise<void> {
      handle ??= open(file, 'r').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      const fh = await handle;
      if (fh) await fh.datasync();
      else handle = undefined;
    },
    close() {
      void handle?.then((fh) => fh?.close()).catch(() => {});
    },
  };
}

export interface DatabaseOptions {
  /** How the write-ahead log is flushed for {@link durable} (tests wrap it to count and delay flushes). */
  syncFile?: (file: string) => Promise<void>;
}

/** Opens (creating if needed) the node's SQLite database at `file` (':memory:' for tests). */
export function openDatabase(file: string, options: DatabaseOptions = {}) {
  const db = new DatabaseSync(file);
  // Every commit reaches the disk before it returns (FULL): records' key envelopes, metadata, grants and profiles
  // exist only here, and an acknowledged write must survive the machine losing power, not just the process dying.
  // Access receipts and what the indexer derives are committed `relaxed`, and receipts made durable by `durable`.
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;');
  db.exec(SCHEMA);
  // Columns added after a table first shipped: data directories made by earlier versions gain them here.
  const addColumn = (table: string, column: string, type: string) => {
    const cols = db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
    if (!cols.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  };
  addColumn('receipts', 'req_key', 'TEXT');
  addColumn('receipts', 'node_key', 'TEXT');
  addColumn('batches', 'pack', 'TEXT');
  for (const [column, type] of [
    ['pack_offset', 'INTEGER'],
    ['pack_length', 'INTEGER'],
    ['envelope', 'TEXT'],
    ['kek_id', 'TEXT'],
    ['enc_meta', 'TEXT'],
  ])
    addColumn('batch_leaves', column!, type!);

  const stmt = (sql: string) => db.prepare(sql);
  const getMeta = stmt('SELECT value FROM meta WHERE key = ?');
  const setMeta = stmt(
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
  );
  const upsertAccount =
    stmt(`INSERT INTO accounts (address, encryption_key, roles, block_number) VALUES (?, ?, ?, ?)
    ON CONFLICT(address) DO UPDATE SET encryption_key = excluded.encryption_key, roles = excluded.roles,
    block_number = excluded.block_number`);
  const upsertCert =
    stmt(`INSERT INTO certifications (address, role, issuer, credential_hash, expires_at, revoked)
    VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT(address, role) DO UPDATE SET issuer = excluded.issuer,
    credential_hash = excluded.credential_hash, expires_at = excluded.expires_at, revoked = 0`);
  const revokeCert = stmt('UPDATE certifications SET revoked = 1 WHERE address = ? AND role = ?');
  const insertRecord = stmt(`INSERT OR IGNORE INTO records (record_id, owner, creator, digest, key_commitment,
    supersedes, anchored_at, block_number, tx_hash, batch_root, leaf_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertWrite =
    stmt(`INSERT INTO record_writes (record_id, enc_meta, signature, nonce, deadline, created_at)
    VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(record_id) DO UPDATE SET enc_meta = COALESCE(excluded.enc_meta, enc_meta),
    signature = COALESCE(excluded.signature, signature), nonce = COALESCE(excluded.nonce, nonce),
    deadline = COALESCE(excluded.deadline, deadline)`);
  const insertEnvelope = stmt(`INSERT INTO envelopes (record_id, reader, envelope, kek_id) VALUES (?, ?, ?, ?)
    ON CONFLICT DO UPDATE SET envelope = excluded.envelope, kek_id = excluded.kek_id`);
  const insertWrapKey = stmt(
    'INSERT INTO wrap_keys (kek_id, reader, envelope) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET envelope = excluded.envelope',
  );
  const deleteEnvelope = stmt('DELETE FROM envelopes WHERE record_id = ? AND reader = ?');
  const deleteScopeGrantKey = stmt('DELETE FROM scope_grant_keys WHERE scope_id = ? AND grantee = ?');
  const getEnvelope = stmt('SELECT envelope, kek_id FROM envelopes WHERE record_id = ? AND reader = ?');
  const getLeafEnvelope = stmt(`SELECT l.envelope, l.kek_id FROM records r JOIN batch_leaves l
    ON l.root = r.batch_root AND l.leaf_index = r.leaf_index WHERE r.record_id = ? AND l.owner = ?
    AND l.envelope IS NOT NULL`);
  const getWrapKey = stmt('SELECT envelope FROM wrap_keys WHERE kek_id = ? AND reader = ?');
  const getRecord = stmt(`${RECORD_SELECT} WHERE r.record_id = ?`);
  const recordExists = stmt('SELECT 1 AS x FROM records WHERE record_id = ?');
  const recordsAmong = stmt(
    'SELECT record_id FROM records WHERE record_id IN (SELECT value FROM json_each(?))',
  );
  const listByOwner = stmt(
    `${RECORD_SELECT} WHERE r.owner = ? AND (r.block_number, r.record_id) > (?, ?) ORDER BY r.block_number, r.record_id LIMIT ?`,
  );
  const listVisible = stmt(
    `${RECORD_SELECT} WHERE r.owner = ? AND (r.record_id IN (SELECT value FROM json_each(?)) OR EXISTS (
      SELECT 1 FROM record_scopes s WHERE s.record_id = r.record_id AND s.scope_id IN (SELECT value FROM json_each(?))))
      AND (r.block_number, r.record_id) > (?, ?) ORDER BY r.block_number, r.record_id LIMIT ?`,
  );
  const countByOwner = stmt('SELECT COUNT(*) AS n FROM records WHERE owner = ?');
  const insertBatch =
    stmt(`INSERT INTO batches (root, creator, count, manifest, signature, nonce, deadline, pack, status,
    created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT(root) DO UPDATE SET
    signature = excluded.signature, nonce = excluded.nonce, deadline = excluded.deadline, status = 'pending'
    WHERE batches.status != 'anchored'`);
  const insertLeaf = stmt(`INSERT OR IGNORE INTO batch_leaves (root, leaf_index, record_id, owner, digest,
    key_commitment, supersedes, pack_offset, pack_length, envelope, kek_id, enc_meta)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const getBatch = stmt('SELECT * FROM batches WHERE root = ?');
  const upsertAnchoredBatch = stmt(`INSERT INTO batches (root, creator, count, manifest, status, anchored_at,
    block_number, tx_hash, created_at) VALUES (?, ?, ?, ?, 'anchored', ?, ?, ?, ?) ON CONFLICT(root) DO UPDATE SET
    status = 'anchored', anchored_at = excluded.anchored_at, block_number = excluded.block_number,
    tx_hash = excluded.tx_hash`);
  const setBatchStatus = stmt('UPDATE batches SET status = ? WHERE root = ?');
  const pendingBatches = stmt("SELECT * FROM batches WHERE status = 'pending' ORDER BY created_at");
  const leavesOf = stmt(`SELECT root, leaf_index, record_id, owner, digest, key_commitment, supersedes
    FROM batch_leaves WHERE root = ? ORDER BY leaf_index`);
  const countLeaves = stmt('SELECT COUNT(*) AS n FROM batch_leaves WHERE root = ?');
  // A batch's records indexed from its stored leaves in one statement (no round trip per record).
  const recordsFromLeaves =
    stmt(`INSERT OR IGNORE INTO records (record_id, owner, creator, digest, key_commitment,
    supersedes, anchored_at, block_number, tx_hash, batch_root, leaf_index)
    SELECT record_id, owner, ?2, digest, key_commitment, supersedes, ?3, ?4, ?5, root, leaf_index
    FROM batch_leaves WHERE root = ?1 ORDER BY leaf_index`);
  const insertBlob = stmt(
    'INSERT OR IGNORE INTO blobs (cid, uploader, size, created_at) VALUES (?, ?, ?, ?)',
  );
  const usageOf = stmt('SELECT COALESCE(SUM(size), 0) AS used FROM blobs WHERE uploader = ?');
  const blobKnown = stmt('SELECT 1 AS x FROM blobs WHERE cid = ? LIMIT 1');
  const digestReferenced = stmt(`SELECT 1 AS x FROM records WHERE digest = ?1 UNION ALL
    SELECT 1 FROM batch_leaves WHERE digest = ?1 UNION ALL SELECT 1 FROM batches WHERE manifest = ?1 UNION ALL
    SELECT 1 FROM pack_entries WHERE pack = ?1 UNION ALL SELECT 1 FROM batches WHERE pack = ?1 LIMIT 1`);
  const forgetBlob = stmt('DELETE FROM blobs WHERE cid = ?');
  const uploaders = stmt('SELECT uploader FROM blobs WHERE cid = ?');
  const getPack = stmt('SELECT pack, offset, length FROM pack_entries WHERE digest = ?');
  const getLeafPack =
    stmt(`SELECT b.pack, l.pack_offset AS offset, l.pack_length AS length FROM batch_leaves l
    JOIN batches b ON b.root = l.root WHERE l.root = ? AND l.leaf_index = ? AND b.pack IS NOT NULL`);
  const insertSession = stmt('INSERT INTO sessions (token_hash, address, expires_at) VALUES (?, ?, ?)');
  const getSession = stmt('SELECT address, expires_at FROM sessions WHERE token_hash = ?');
  const insertNonce = stmt('INSERT INTO auth_nonces (nonce, expires_at) VALUES (?, ?)');
  const takeNonce = stmt('DELETE FROM auth_nonces WHERE nonce = ? AND expires_at > ? RETURNING nonce');
  const putRecordScope = stmt('INSERT OR IGNORE INTO record_scopes (record_id, scope_id) VALUES (?, ?)');
  const scopesOfRecord = stmt('SELECT scope_id FROM record_scopes WHERE record_id = ? ORDER BY scope_id');
  const upsertGrant = stmt(`INSERT INTO grants (owner, grantee, scope, purpose, expires_at, revoked, signer,
    block_number) VALUES (?, ?, ?, ?, ?, 0, ?, ?) ON CONFLICT DO UPDATE SET expires_at = excluded.expires_at,
    revoked = 0, signer = excluded.signer, block_number = excluded.block_number`);
  const revokeGrant = stmt(
    'UPDATE grants SET revoked = 1, signer = ?, block_number = ? WHERE owner = ? AND grantee = ? AND scope = ? AND purpose = ?',
  );
  const grantsOfOwner = stmt('SELECT * FROM grants WHERE owner = ? ORDER BY block_number, grantee, scope');
  const grantsOfGrantee = stmt('SELECT * FROM grants WHERE grantee = ? ORDER BY block_number, owner, scope');
  const grantsBetween = stmt(
    'SELECT * FROM grants WHERE owner = ? AND grantee = ? AND purpose = ? AND revoked = 0 ORDER BY scope',
  );
  const putScopeKey = stmt(`INSERT INTO scope_keys (owner, scope_id, category, epoch, public_key, signature,
    created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`);
  const scopeKeysOf = stmt('SELECT * FROM scope_keys WHERE owner = ? ORDER BY category, epoch');
  const scopeKeyOf = stmt('SELECT * FROM scope_keys WHERE owner = ? AND scope_id = ?');
  const resignScopeKey = stmt('UPDATE scope_keys SET signature = ? WHERE owner = ? AND scope_id = ?');
  const putScopeGrantKey = stmt(`INSERT INTO scope_grant_keys (scope_id, grantee, envelope) VALUES (?, ?, ?)
    ON CONFLICT DO UPDATE SET envelope = excluded.envelope`);
  const getScopeGrantKey = stmt('SELECT envelope FROM scope_grant_keys WHERE scope_id = ? AND grantee = ?');
  const upsertDelegate =
    stmt(`INSERT INTO delegates (patient, delegate, kind, expires_at, revoked, block_number)
    VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT DO UPDATE SET kind = excluded.kind, expires_at = excluded.expires_at,
    revoked = 0, block_number = excluded.block_number`);
  const revokeDelegate = stmt('UPDATE delegates SET revoked = 1 WHERE patient = ? AND delegate = ?');
  const putRevocation = stmt(`INSERT INTO delegate_revocations (patient, delegate, signer, block_number)
    VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET signer = excluded.signer, block_number = excluded.block_number`);
  const clearRevocation = stmt('DELETE FROM delegate_revocations WHERE patient = ? AND delegate = ?');
  const delegateSelect = `SELECT d.*, r.signer AS revoked_by FROM delegates d
    LEFT JOIN delegate_revocations r ON r.patient = d.patient AND r.delegate = d.delegate`;
  const delegatesOf = stmt(`${delegateSelect} WHERE d.patient = ? ORDER BY d.block_number`);
  const delegationsOf = stmt(`${delegateSelect} WHERE d.delegate = ? ORDER BY d.block_number`);
  const putDelegateKey = stmt(`INSERT INTO delegate_keys (patient, delegate, envelope) VALUES (?, ?, ?)
    ON CONFLICT DO UPDATE SET envelope = excluded.envelope`);
  const getDelegateKey = stmt('SELECT envelope FROM delegate_keys WHERE patient = ? AND delegate = ?');
  const deleteDelegateKey = stmt('DELETE FROM delegate_keys WHERE patient = ? AND delegate = ?');
  const putRecoverySet = stmt(`INSERT INTO recovery_sets (patient, guardians_hash, threshold, salt, shares,
    created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(patient) DO UPDATE SET guardians_hash = excluded.guardians_hash,
    threshold = excluded.threshold, salt = excluded.salt, shares = excluded.shares, created_at = excluded.created_at`);
  const getRecoverySet = stmt('SELECT * FROM recovery_sets WHERE patient = ?');
  const putRecoveryRequest = stmt(
    'INSERT OR IGNORE INTO recovery_requests (patient, recovery_key, created_at) VALUES (?, ?, ?)',
  );
  const recoveryRequestsOf = stmt('SELECT * FROM recovery_requests WHERE patient = ? ORDER BY created_at');
  const putRelease =
    stmt(`INSERT INTO recovery_releases (patient, recovery_key, guardian, envelope, created_at)
    VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET envelope = excluded.envelope`);
  const releasesOf = stmt(
    'SELECT guardian, envelope FROM recovery_releases WHERE patient = ? AND recovery_key = ? ORDER BY created_at',
  );
  const nextSeq = stmt(`INSERT INTO audit_heads (owner, seq) VALUES (?, 1)
    ON CONFLICT(owner) DO UPDATE SET seq = seq + 1 RETURNING seq`);
  const headOf = stmt('SELECT seq FROM audit_heads WHERE owner = ?');
  const insertReceipt =
    stmt(`INSERT INTO receipts (owner, seq, requester, req_owner, record, purpose, req_time,
    req_signature, req_key, outcome, logged_at, node, node_signature, node_key, leaf)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertNodeKey = stmt(
    'INSERT OR IGNORE INTO node_keys (key, node, message, signature) VALUES (?, ?, ?, ?)',
  );
  const getNodeKey = stmt('SELECT * FROM node_keys WHERE key = ?');
  const insertAccessKey = stmt(
    'INSERT OR IGNORE INTO access_keys (key, address, message, signature, expires_at) VALUES (?, ?, ?, ?, ?)',
  );
  const getAccessKey = stmt('SELECT * FROM access_keys WHERE key = ?');
  const pendingReceipts = stmt('SELECT id, leaf FROM receipts WHERE root IS NULL ORDER BY id LIMIT ?');
  const setReceiptRoot = stmt('UPDATE receipts SET root = ?, leaf_index = ? WHERE id = ?');
  const insertRoot = stmt(
    'INSERT OR IGNORE INTO receipt_roots (root, count, tx_hash, block_number) VALUES (?, ?, ?, ?)',
  );
  const receiptsOf = stmt(`SELECT r.*, t.tx_hash, t.block_number FROM receipts r
    LEFT JOIN receipt_roots t ON t.root = r.root WHERE r.owner = ? ORDER BY r.seq`);
  const servedRequest = stmt('SELECT 1 AS x FROM receipts WHERE req_signature = ? AND outcome = 1 LIMIT 1');
  const leavesOfRoot = stmt('SELECT leaf FROM receipts WHERE root = ? ORDER BY leaf_index');
  const putProfile = stmt(`INSERT INTO emergency_profiles (patient, sealed, owner_envelope, threshold, shares,
    signer, signature, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(patient) DO UPDATE SET
    sealed = excluded.sealed, owner_envelope = excluded.owner_envelope, threshold = excluded.threshold,
    shares = excluded.shares, signer = excluded.signer, signature = excluded.signature, time = excluded.time`);
  const getProfile = stmt('SELECT * FROM emergency_profiles WHERE patient = ?');
  const getAccount = stmt('SELECT * FROM accounts WHERE address = ?');
  const certsOf = stmt('SELECT * FROM certifications WHERE address = ?');

  function tx<T>(fn: () => T): T {
    db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      db.exec('COMMIT');
      return out;
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }

  /**
   * Runs `fn` with commits that survive the process dying but not yet the machine losing power (the WAL is not
   * flushed per commit): for access receipts, written on every read, which `durable` then flushes in groups, and for
   * what the indexer derives from the chain, which it derives again after a restart from its cursor (written in the
   * same transactions, so lost with them).
   */
  function relaxed<T>(fn: () => T): T {
    db.exec('PRAGMA synchronous = NORMAL');
    try {
      return fn();
    } finally {
      db.exec('PRAGMA synchronous = FULL');
    }
  }

  // Group commit: one flush of the WAL makes every commit before it durable, so concurrent reads share one. A commit
  // made while a flush is running waits for the next. (A checkpoint that moves frames into the database file flushes
  // the WAL before and the database after, so what it moved is durable too.)
  // The WAL stays the same file while the database is open (a checkpoint rewinds it, never replaces it).
  const wal = `${file}-wal`;
  const walFlusher = fileFlusher(wal);
  const flushWal = options.syncFile ?? (() => walFlusher.flush());
  let flushing: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  /** Resolves once every commit made before the call is on the disk, `relaxed` ones included. */
  function durable(): Promise<void> {
    if (file === ':memory:') return Promise.resolve();
    if (!flushing) {
      flushing = flushWal(wal).finally(() => {
        flushing = undefined;
      });
      return flushing;
    }
    next ??= flushing
      .catch(() => {})
      .then(() => {
        next = undefined;
        return durable();
      });
    return next;
  }

  /**
   * Commits `fn`'s writes in one transaction and resolves once they are on the disk: as safe as `tx`, but the flush
   * runs off the event loop and is shared with concurrent commits.
   */
  async function txDurable<T>(fn: () => T): Promise<T> {
    const out = relaxed(() => tx(fn));
    await durable();
    return out;
  }

  return {
    raw: db,
    tx,
    relaxed,
    durable,
    txDurable,
    certification: certificationTables(db),
    close: () => {
      db.close();
      walFlusher.close();
    },
    meta: {
      get: (key: string) => (getMeta.get(key) as { value: string } | undefined)?.value,
      set: (key: string, value: string) => void setMeta.run(key, value),
    },
    accounts: {
      upsert: (address: string, encryptionKey: string, roles: number, block: number) =>
        void upsertAccount.run(address, encryptionKey, roles, block),
      get: (address: string) =>
        getAccount.get(address) as
          | { address: string; encryption_key: string; roles: number; block_number: number }
          | undefined,
      certify: (address: string, role: number, issuer: string, credentialHash: string, expiresAt: number) =>
        void upsertCert.run(address, role, issuer, credentialHash, expiresAt),
      revoke: (address: string, role: number) => void revokeCert.run(address, role),
      certifications: (address: string) =>
        certsOf.all(address) as {
          role: number;
          issuer: string;
          credential_hash: string;
          expires_at: number;
          revoked: number;
        }[],
    },
    records: {
      insertAnchored: (r: {
        recordId: string;
        owner: string;
        creator: string;
        digest: string;
        keyCommitment: string;
        supersedes: string;
        anchoredAt: number;
        blockNumber: number;
        txHash: string;
        batchRoot?: string;
        leafIndex?: number;
      }) =>
        void insertRecord.run(
          r.recordId,
          r.owner,
          r.creator,
          r.digest,
          r.keyCommitment,
          r.supersedes,
          r.anchoredAt,
          r.blockNumber,
          r.txHash,
          r.batchRoot ?? null,
          r.leafIndex ?? null,
        ),
      saveWrite: (
        recordId: string,
        w: { encMeta?: string | undefined; signature?: string; nonce?: string; deadline?: string },
      ) =>
        void insertWrite.run(
          recordId,
          w.encMeta ?? null,
          w.signature ?? null,
          w.nonce ?? null,
          w.deadline ?? null,
          Date.now(),
        ),
      get: (recordId: string) => getRecord.get(recordId) as RecordRow | undefined,
      exists: (recordId: string) => recordExists.get(recordId) !== undefined,
      /** Which of `recordIds` are indexed already (one query for a whole batch). */
      existing: (recordIds: readonly string[]) =>
        (recordsAmong.all(JSON.stringify(recordIds)) as { record_id: string }[]).map((r) => r.record_id),
      listByOwner: (owner: string, after: { block: number; id: string }, limit: number) =>
        listByOwner.all(owner, after.block, after.id, limit) as unknown as RecordRow[],
      /** The owner's records among `recordIds` or tagged with one of `scopeIds`. */
      listVisible: (
        owner: string,
        recordIds: string[],
        scopeIds: string[],
        after: { block: number; id: string },
        limit: number,
      ) =>
        listVisible.all(
          owner,
          JSON.stringify(recordIds),
          JSON.stringify(scopeIds),
          after.block,
          after.id,
          limit,
        ) as unknown as RecordRow[],
      countByOwner: (owner: string) => (countByOwner.get(owner) as { n: number }).n,
    },
    envelopes: {
      put: (recordId: string, reader: string, envelope: string, kekId?: string) =>
        void insertEnvelope.run(recordId, reader, envelope, kekId ?? null),
      remove: (recordId: string, reader: string) => void deleteEnvelope.run(recordId, reader),
      /** `reader`'s envelope of a record (the owner's of a batched record is kept with its batch leaf). */
      get: (recordId: string, reader: string) =>
        (getEnvelope.get(recordId, reader) ?? getLeafEnvelope.get(recordId, reader)) as
          | { envelope: string; kek_id: string | null }
          | undefined,
      putWrapKey: (kekId: string, reader: string, envelope: string) =>
        void insertWrapKey.run(kekId, reader, envelope),
      getWrapKey: (kekId: string, reader: string) =>
        (getWrapKey.get(kekId, reader) as { envelope: string } | undefined)?.envelope,
    },
    scopes: {
      tag: (recordId: string, scopeId: string) => void putRecordScope.run(recordId, scopeId),
      ofRecord: (recordId: string) =>
        (scopesOfRecord.all(recordId) as { scope_id: string }[]).map((r) => r.scope_id),
      publish: (k: Omit<ScopeKeyRow, 'created_at'>) =>
        void putScopeKey.run(k.owner, k.scope_id, k.category, k.epoch, k.public_key, k.signature, Date.now()),
      ofOwner: (owner: string) => scopeKeysOf.all(owner) as unknown as ScopeKeyRow[],
      get: (owner: string, scopeId: string) => scopeKeyOf.get(owner, scopeId) as ScopeKeyRow | undefined,
      /** Replaces the signature of a published key (`signer:signature`), e.g. the owner countersigning it. */
      resign: (owner: string, scopeId: string, signature: string) =>
        void resignScopeKey.run(signature, owner, scopeId),
      putGrantKey: (scopeId: string, grantee: string, envelope: string) =>
        void putScopeGrantKey.run(scopeId, grantee, envelope),
      removeGrantKey: (scopeId: string, grantee: string) => void deleteScopeGrantKey.run(scopeId, grantee),
      grantKey: (scopeId: string, grantee: string) =>
        (getScopeGrantKey.get(scopeId, grantee) as { envelope: string } | undefined)?.envelope,
    },
    grants: {
      issue: (g: Omit<GrantRow, 'revoked'>) =>
        void upsertGrant.run(g.owner, g.grantee, g.scope, g.purpose, g.expires_at, g.signer, g.block_number),
      revoke: (g: Pick<GrantRow, 'owner' | 'grantee' | 'scope' | 'purpose' | 'signer' | 'block_number'>) =>
        void revokeGrant.run(g.signer, g.block_number, g.owner, g.grantee, g.scope, g.purpose),
      ofOwner: (owner: string) => grantsOfOwner.all(owner) as unknown as GrantRow[],
      ofGrantee: (grantee: string) => grantsOfGrantee.all(grantee) as unknown as GrantRow[],
      /** Grants not revoked (expiry is the chain's to judge) from `owner` to `grantee` for `purpose`. */
      between: (owner: string, grantee: string, purpose: number) =>
        grantsBetween.all(owner, grantee, purpose) as unknown as GrantRow[],
    },
    receipts: {
      /** The next sequence number of `owner`'s access log (gap-free, from 1). */
      nextSeq: (owner: string) => (nextSeq.get(owner) as { seq: number }).seq,
      head: (owner: string) => (headOf.get(owner) as { seq: number } | undefined)?.seq ?? 0,
      insert: (
        r: Omit<ReceiptRow, 'id' | 'root' | 'leaf_index' | 'req_key' | 'node_key'> & {
          req_key?: string | null;
          node_key?: string | null;
        },
      ) =>
        void insertReceipt.run(
          r.owner,
          r.seq,
          r.requester,
          r.req_owner,
          r.record,
          r.purpose,
          r.req_time,
          r.req_signature,
          r.req_key ?? null,
          r.outcome,
          r.logged_at,
          r.node,
          r.node_signature,
          r.node_key ?? null,
          r.leaf,
        ),
      pending: (limit: number) => pendingReceipts.all(limit) as { id: number; leaf: string }[],
      anchor: (root: string, ids: number[], tx: string, block: number) => {
        insertRoot.run(root, ids.length, tx, block);
        for (const [i, id] of ids.entries()) setReceiptRoot.run(root, i, id);
      },
      ofOwner: (owner: string) =>
        receiptsOf.all(owner) as unknown as (ReceiptRow & {
          tx_hash: string | null;
          block_number: number | null;
        })[],
      servedRequest: (signature: string) => servedRequest.get(signature) !== undefined,
      leaves: (root: string) => (leavesOfRoot.all(root) as { leaf: string }[]).map((r) => r.leaf),
    },
    emergency: {
      put: (p: EmergencyProfileRow) =>
        void putProfile.run(
          p.patient,
          p.sealed,
          p.owner_envelope,
          p.threshold,
          p.shares,
          p.signer,
          p.signature,
          p.time,
        ),
      get: (patient: string) => getProfile.get(patient) as EmergencyProfileRow | undefined,
    },
    delegates: {
      appoint: (patient: string, delegate: string, kind: number, expiresAt: number, block: number) => {
        upsertDelegate.run(patient, delegate, kind, expiresAt, block);
        clearRevocation.run(patient, delegate);
      },
      revoke: (patient: string, delegate: string, signer?: string, block?: number) => {
        revokeDelegate.run(patient, delegate);
        if (signer) putRevocation.run(patient, delegate, signer, block ?? 0);
      },
      of: (patient: string) => delegatesOf.all(patient) as unknown as DelegateRow[],
      /** The patients `delegate` was appointed for. */
      for: (delegate: string) => delegationsOf.all(delegate) as unknown as DelegateRow[],
      putKey: (patient: string, delegate: string, envelope: string) =>
        void putDelegateKey.run(patient, delegate, envelope),
      key: (patient: string, delegate: string) =>
        (getDelegateKey.get(patient, delegate) as { envelope: string } | undefined)?.envelope,
      removeKey: (patient: string, delegate: string) => void deleteDelegateKey.run(patient, delegate),
    },
    recovery: {
      put: (r: RecoverySetRow) =>
        void putRecoverySet.run(r.patient, r.guardians_hash, r.threshold, r.salt, r.shares, r.created_at),
      get: (patient: string) => getRecoverySet.get(patient) as RecoverySetRow | undefined,
      request: (patient: string, recoveryKey: string) =>
        void putRecoveryRequest.run(patient, recoveryKey, Date.now()),
      requests: (patient: string) =>
        recoveryRequestsOf.all(patient) as { patient: string; recovery_key: string; created_at: number }[],
      release: (patient: string, recoveryKey: string, guardian: string, envelope: string) =>
        void putRelease.run(patient, recoveryKey, guardian, envelope, Date.now()),
      releases: (patient: string, recoveryKey: string) =>
        releasesOf.all(patient, recoveryKey) as { guardian: string; envelope: string }[],
    },
    batches: {
      insertPending: (
        b: {
          root: string;
          creator: string;
          count: number;
          manifest: string;
          signature: string;
          nonce: string;
          deadline: string;
          /** The pack blob holding the records' ciphertexts back to back, if they came as one. */
          pack?: string | undefined;
        },
        leaves: (Omit<LeafRow, 'root'> & PendingLeaf)[],
      ) => {
        insertBatch.run(
          b.root,
          b.creator,
          b.count,
          b.manifest,
          b.signature,
          b.nonce,
          b.deadline,
          b.pack ?? null,
          Date.now(),
        );
        for (const l of leaves) {
          insertLeaf.run(
            b.root,
            l.leaf_index,
            l.record_id,
            l.owner,
            l.digest,
            l.key_commitment,
            l.supersedes,
            l.pack_offset ?? null,
            l.pack_length ?? null,
            l.envelope ?? null,
            l.kek_id ?? null,
            l.enc_meta ?? null,
          );
        }
      },
      get: (root: string) => getBatch.get(root) as BatchRow | undefined,
      markAnchored: (
        root: string,
        b: {
          creator: string;
          count: number;
          manifest: string;
          anchoredAt: number;
          blockNumber: number;
          txHash: string;
        },
      ) =>
        void upsertAnchoredBatch.run(
          root,
          b.creator,
          b.count,
          b.manifest,
          b.anchoredAt,
          b.blockNumber,
          b.txHash,
          Date.now(),
        ),
      setStatus: (root: string, status: BatchRow['status']) => void setBatchStatus.run(status, root),
      pending: () => pendingBatches.all() as unknown as BatchRow[],
      leaves: (root: string) => leavesOf.all(root) as unknown as LeafRow[],
      /** Whether the batch's leaves are stored here (it was written through this node). */
      hasLeaves: (root: string) => Number((countLeaves.get(root) as { n: number }).n) > 0,
      /** Indexes an anchored batch's records from its stored leaves; returns how many leaves it had. */
      indexLeaves: (
        root: string,
        b: { creator: string; anchoredAt: number; blockNumber: number; txHash: string },
      ) => {
        recordsFromLeaves.run(root, b.creator, b.anchoredAt, b.blockNumber, b.txHash);
        return Number((countLeaves.get(root) as { n: number }).n);
      },
    },
    blobs: {
      record: (cid: string, uploader: string, size: number) =>
        void insertBlob.run(cid, uploader, size, Date.now()),
      usage: (uploader: string) => Number((usageOf.get(uploader) as { used: number }).used),
      known: (cid: string) => blobKnown.get(cid) !== undefined,
      /** Whether any record, batch leaf or batch manifest refers to this ciphertext digest. */
      referenced: (digest: string) => digestReferenced.get(digest) !== undefined,
      forget: (cid: string) => void forgetBlob.run(cid),
      uploaders: (cid: string) => (uploaders.all(cid) as { uploader: string }[]).map((r) => r.uploader),
    },
    packs: {
      /** Where a record's ciphertext lies in a pack: by its batch leaf, else (batches stored before) by its digest. */
      get: (digest: string, leaf?: { root: string; index: number }) =>
        ((leaf ? getLeafPack.get(leaf.root, leaf.index) : undefined) ?? getPack.get(digest)) as
          | { pack: string; offset: number; length: number }
          | undefined,
    },
    sessions: {
      create: (tokenHash: string, address: string, expiresAt: number) =>
        void insertSession.run(tokenHash, address, expiresAt),
      get: (tokenHash: string) =>
        getSession.get(tokenHash) as { address: string; expires_at: number } | undefined,
      createNonce: (nonce: string, expiresAt: number) => void insertNonce.run(nonce, expiresAt),
      takeNonce: (nonce: string) => takeNonce.get(nonce, Date.now()) !== undefined,
    },
    nodeKeys: {
      put: (k: NodeKeyRow) => void insertNodeKey.run(k.key, k.node, k.message, k.signature),
      get: (key: string) => getNodeKey.get(key) as NodeKeyRow | undefined,
    },
    accessKeys: {
      put: (k: AccessKeyRow) =>
        void insertAccessKey.run(k.key, k.address, k.message, k.signature, k.expires_at),
      get: (key: string) => getAccessKey.get(key) as AccessKeyRow | undefined,
    },
  };
}
