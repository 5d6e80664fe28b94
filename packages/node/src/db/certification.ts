/**
 * The certification part of the node's index: peer-review applications and their drawn reviewers, how each
 * certification was issued (authority, peer review, institution), the authority council's members and proposals —
 * all from chain events — and the one thing only this node holds: evidence keys wrapped for each reader.
 * Addresses are stored lower-case; amounts as decimal strings.
 */
import type { DatabaseSync } from 'node:sqlite';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS cert_applications (
  application_id INTEGER PRIMARY KEY, candidate TEXT NOT NULL, role INTEGER NOT NULL, credential_hash TEXT NOT NULL,
  evidence TEXT NOT NULL, bond TEXT NOT NULL, commit_end INTEGER NOT NULL, reveal_end INTEGER NOT NULL,
  status INTEGER NOT NULL, approvals INTEGER NOT NULL DEFAULT 0, rejections INTEGER NOT NULL DEFAULT 0,
  bond_returned TEXT, bond_forfeited TEXT, submitted_at INTEGER NOT NULL, finalized_at INTEGER,
  block_number INTEGER NOT NULL, tx_hash TEXT NOT NULL, kind INTEGER NOT NULL DEFAULT 0, subject TEXT,
  appeal_of INTEGER
);
CREATE INDEX IF NOT EXISTS cert_applications_candidate ON cert_applications (candidate);
CREATE TABLE IF NOT EXISTS cert_reviewers (
  application_id INTEGER NOT NULL, reviewer TEXT NOT NULL, seat INTEGER NOT NULL, state INTEGER NOT NULL,
  vote INTEGER, reward TEXT, slashed TEXT, PRIMARY KEY (application_id, reviewer)
);
CREATE INDEX IF NOT EXISTS cert_reviewers_reviewer ON cert_reviewers (reviewer);
CREATE TABLE IF NOT EXISTS cert_issuances (
  account TEXT NOT NULL, role INTEGER NOT NULL, issuer TEXT NOT NULL, credential_hash TEXT NOT NULL,
  expires_at INTEGER NOT NULL, via TEXT NOT NULL, ref TEXT, time INTEGER NOT NULL, block_number INTEGER NOT NULL,
  PRIMARY KEY (account, role, block_number)
);
CREATE TABLE IF NOT EXISTS cert_evidence_keys (
  evidence TEXT NOT NULL, reader TEXT NOT NULL, envelope TEXT NOT NULL, PRIMARY KEY (evidence, reader)
);
CREATE TABLE IF NOT EXISTS council_members (
  address TEXT PRIMARY KEY, active INTEGER NOT NULL, block_number INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS council_proposals (
  proposal_id INTEGER PRIMARY KEY, kind INTEGER NOT NULL, proposer TEXT NOT NULL, data TEXT NOT NULL,
  executed INTEGER NOT NULL DEFAULT 0, time INTEGER NOT NULL, block_number INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS council_approvals (
  proposal_id INTEGER NOT NULL, authority TEXT NOT NULL, PRIMARY KEY (proposal_id, authority)
);
`;

export interface ApplicationRow {
  application_id: number;
  candidate: string;
  role: number;
  credential_hash: string;
  evidence: string;
  bond: string;
  commit_end: number;
  reveal_end: number;
  status: number;
  approvals: number;
  rejections: number;
  bond_returned: string | null;
  bond_forfeited: string | null;
  submitted_at: number;
  finalized_at: number | null;
  block_number: number;
  tx_hash: string;
  /** PeerReview's case kind: 0 apply, 1 renewal, 2 challenge, 3 appeal. */
  kind: number;
  /** The account whose certification is at stake (the candidate, or a challenge's target). */
  subject: string | null;
  appeal_of: number | null;
}

export interface ReviewerRow {
  application_id: number;
  reviewer: string;
  seat: number;
  state: number;
  vote: number | null;
  reward: string | null;
  slashed: string | null;
}

export interface IssuanceRow {
  account: string;
  role: number;
  issuer: string;
  credential_hash: string;
  expires_at: number;
  via: string;
  ref: string | null;
  time: number;
  block_number: number;
}

export interface ProposalRow {
  proposal_id: number;
  kind: number;
  proposer: string;
  data: string;
  executed: number;
  time: number;
  block_number: number;
}

export function certificationTables(db: DatabaseSync) {
  db.exec(SCHEMA);
  const stmt = (sql: string) => db.prepare(sql);
  const insertApplication = stmt(`INSERT OR IGNORE INTO cert_applications (application_id, candidate, role,
    credential_hash, evidence, bond, commit_end, reveal_end, status, submitted_at, block_number, tx_hash)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`);
  const finalizeApplication = stmt(`UPDATE cert_applications SET status = ?, approvals = ?, rejections = ?,
    bond_returned = ?, bond_forfeited = ?, finalized_at = ? WHERE application_id = ?`);
  const openCase = stmt(`UPDATE cert_applications SET kind = ?, subject = ?, appeal_of = ?,
    evidence = CASE WHEN ?3 IS NOT NULL AND evidence = '0x${'0'.repeat(64)}'
      THEN COALESCE((SELECT p.evidence FROM cert_applications p WHERE p.application_id = ?3), evidence)
      ELSE evidence END
    WHERE application_id = ?`);
  const getApplication = stmt('SELECT * FROM cert_applications WHERE application_id = ?');
  const listApplications = stmt(`SELECT * FROM cert_applications
    WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR candidate = ?2 OR subject = ?2)
      AND (?3 IS NULL OR application_id IN (SELECT application_id FROM cert_reviewers WHERE reviewer = ?3))
    ORDER BY application_id DESC LIMIT ?4`);
  const insertReviewer = stmt(`INSERT OR IGNORE INTO cert_reviewers (application_id, reviewer, seat, state)
    VALUES (?, ?, (SELECT COUNT(*) FROM cert_reviewers WHERE application_id = ?1), 1)`);
  const setReviewerState = stmt(
    'UPDATE cert_reviewers SET state = ?, vote = ? WHERE application_id = ? AND reviewer = ?',
  );
  const setReward = stmt('UPDATE cert_reviewers SET reward = ? WHERE application_id = ? AND reviewer = ?');
  const setSlash = stmt('UPDATE cert_reviewers SET slashed = ? WHERE application_id = ? AND reviewer = ?');
  const reviewersOf = stmt('SELECT * FROM cert_reviewers WHERE application_id = ? ORDER BY seat');
  const insertIssuance = stmt(`INSERT INTO cert_issuances (account, role, issuer, credential_hash, expires_at,
    via, ref, time, block_number) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT(account, role, block_number) DO UPDATE SET issuer = excluded.issuer,
    credential_hash = excluded.credential_hash, expires_at = excluded.expires_at, via = excluded.via,
    ref = excluded.ref, time = excluded.time`);
  const explainIssuance = stmt(
    'UPDATE cert_issuances SET via = ?, ref = ? WHERE account = ? AND role = ? AND block_number = ?',
  );
  const explainPeerIssuance = stmt(
    "UPDATE cert_issuances SET ref = ? WHERE account = ? AND block_number = ? AND via = 'peer-review'",
  );
  const latestIssuance = stmt(
    'SELECT * FROM cert_issuances WHERE account = ? AND role = ? ORDER BY block_number DESC LIMIT 1',
  );
  const putKey = stmt(`INSERT INTO cert_evidence_keys (evidence, reader, envelope) VALUES (?, ?, ?)
    ON CONFLICT(evidence, reader) DO UPDATE SET envelope = excluded.envelope`);
  const getKey = stmt('SELECT envelope FROM cert_evidence_keys WHERE evidence = ? AND reader = ?');
  const readersOf = stmt('SELECT reader FROM cert_evidence_keys WHERE evidence = ? ORDER BY reader');
  const upsertMember = stmt(`INSERT INTO council_members (address, active, block_number) VALUES (?, ?, ?)
    ON CONFLICT(address) DO UPDATE SET active = excluded.active, block_number = excluded.block_number`);
  const members = stmt('SELECT address FROM council_members WHERE active = 1 ORDER BY block_number, address');
  const insertProposal =
    stmt(`INSERT OR IGNORE INTO council_proposals (proposal_id, kind, proposer, data, time,
    block_number) VALUES (?, ?, ?, ?, ?, ?)`);
  const executeProposal = stmt('UPDATE council_proposals SET executed = 1 WHERE proposal_id = ?');
  const proposals = stmt('SELECT * FROM council_proposals ORDER BY proposal_id DESC LIMIT ?');
  const approve = stmt('INSERT OR IGNORE INTO council_approvals (proposal_id, authority) VALUES (?, ?)');
  const approvalsOf = stmt(
    'SELECT authority FROM council_approvals WHERE proposal_id = ? ORDER BY authority',
  );

  return {
    applications: {
      submit: (a: {
        applicationId: number;
        candidate: string;
        role: number;
        credentialHash: string;
        evidence: string;
        bond: string;
        commitEnd: number;
        revealEnd: number;
        submittedAt: number;
        blockNumber: number;
        txHash: string;
      }) =>
        void insertApplication.run(
          a.applicationId,
          a.candidate,
          a.role,
          a.credentialHash,
          a.evidence,
          a.bond,
          a.commitEnd,
          a.revealEnd,
          a.submittedAt,
          a.blockNumber,
          a.txHash,
        ),
      /** The case's kind and subject; an appeal is judged on the evidence of the case it appeals. */
      open: (id: number, kind: number, subject: string, appealOf: number | null) =>
        void openCase.run(kind, subject, appealOf, id),
      finalize: (
        id: number,
        f: { status: number; approvals: number; rejections: number; returned: string; forfeited: string },
        time: number,
      ) =>
        void finalizeApplication.run(f.status, f.approvals, f.rejections, f.returned, f.forfeited, time, id),
      get: (id: number) => getApplication.get(id) as ApplicationRow | undefined,
      list: (q: { status?: number; candidate?: string; reviewer?: string; limit?: number }) =>
        listApplications.all(
          q.status ?? null,
          q.candidate ?? null,
          q.reviewer ?? null,
          q.limit ?? 500,
        ) as unknown as ApplicationRow[],
    },
    reviewers: {
      draw: (id: number, reviewer: string) => void insertReviewer.run(id, reviewer),
      state: (id: number, reviewer: string, state: number, vote: boolean | null) =>
        void setReviewerState.run(state, vote === null ? null : vote ? 1 : 0, id, reviewer),
      rewarded: (id: number, reviewer: string, amount: string) => void setReward.run(amount, id, reviewer),
      slashed: (id: number, reviewer: string, amount: string) => void setSlash.run(amount, id, reviewer),
      of: (id: number) => reviewersOf.all(id) as unknown as ReviewerRow[],
    },
    issuances: {
      record: (i: Omit<IssuanceRow, 'ref'> & { ref: string | null }) =>
        void insertIssuance.run(
          i.account,
          i.role,
          i.issuer,
          i.credential_hash,
          i.expires_at,
          i.via,
          i.ref,
          i.time,
          i.block_number,
        ),
      /** Names who stands behind an issuance the registry event attributes only to a contract. */
      explain: (account: string, role: number, block: number, via: string, ref: string) =>
        void explainIssuance.run(via, ref, account, role, block),
      explainPeerReview: (account: string, block: number, applicationId: number) =>
        void explainPeerIssuance.run(String(applicationId), account, block),
      latest: (account: string, role: number) => latestIssuance.get(account, role) as IssuanceRow | undefined,
    },
    evidenceKeys: {
      put: (evidence: string, reader: string, envelope: string) =>
        void putKey.run(evidence, reader, envelope),
      get: (evidence: string, reader: string) =>
        (getKey.get(evidence, reader) as { envelope: string } | undefined)?.envelope,
      readers: (evidence: string) => (readersOf.all(evidence) as { reader: string }[]).map((r) => r.reader),
    },
    council: {
      member: (address: string, active: boolean, block: number) =>
        void upsertMember.run(address, active ? 1 : 0, block),
      members: () => (members.all() as { address: string }[]).map((r) => r.address),
      propose: (p: Omit<ProposalRow, 'executed'>) =>
        void insertProposal.run(p.proposal_id, p.kind, p.proposer, p.data, p.time, p.block_number),
      approve: (id: number, authority: string) => void approve.run(id, authority),
      execute: (id: number) => void executeProposal.run(id),
      proposals: (limit = 200) => proposals.all(limit) as unknown as ProposalRow[],
      approvals: (id: number) => (approvalsOf.all(id) as { authority: string }[]).map((r) => r.authority),
    },
  };
}
