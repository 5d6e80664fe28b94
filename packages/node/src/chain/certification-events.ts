/**
 * How the indexer files certification events: PeerReview applications, draws, ballots and outcomes; who stands
 * behind each registry certification (an authority, a peer-review application, an institution); the authority
 * council's members and proposals. Called inside the indexer's transaction, so the rows and the cursor move together.
 */
import { accountRegistryAbi, authorityCouncilAbi, peerReviewAbi } from '@medbloc/contracts';
import { type Address, type Hex, parseEventLogs } from 'viem';
import type { Db } from '../db/sqlite.ts';
import type { Chain } from './client.ts';

export interface CertificationLog {
  eventName: string;
  args: Record<string, unknown>;
  blockNumber: bigint;
  transactionHash: Hex;
}

const APPROVED = 2;

/** The events of PeerReview and AuthorityCouncil this module files (plus the registry's Certified). */
export const CERTIFICATION_EVENTS = new Set([
  'Certified',
  'ApplicationSubmitted',
  'CaseOpened',
  'ReviewerDrawn',
  'VoteCommitted',
  'VoteRevealed',
  'ReviewerRewarded',
  'ReviewerSlashed',
  'ApplicationFinalized',
  'AuthorityAdded',
  'AuthorityRemoved',
  'ProposalCreated',
  'ProposalApproved',
  'ProposalExecuted',
  'AuthorityCertified',
  'StaffCertified',
]);

export function applyCertificationEvent(
  db: Db,
  contracts: { peerReview: Address; council: Address },
  log: CertificationLog,
  time: number,
) {
  const t = db.certification;
  const a = log.args;
  const block = Number(log.blockNumber);
  const addr = (k: string) => String(a[k]).toLowerCase();
  const num = (k: string) => Number(a[k]);
  const id = () => num('applicationId');
  switch (log.eventName) {
    case 'Certified': {
      const issuer = addr('issuer');
      const via =
        issuer === contracts.peerReview.toLowerCase()
          ? 'peer-review'
          : issuer === contracts.council.toLowerCase()
            ? 'council'
            : 'authority';
      t.issuances.record({
        account: addr('account'),
        role: num('role'),
        issuer,
        credential_hash: String(a.credentialHash),
        expires_at: num('expiresAt'),
        via,
        ref: via === 'authority' ? issuer : null,
        time,
        block_number: block,
      });
      break;
    }
    case 'ApplicationSubmitted':
      t.applications.submit({
        applicationId: id(),
        candidate: addr('candidate'),
        role: num('role'),
        credentialHash: String(a.credentialHash),
        evidence: String(a.evidencePointer),
        bond: String(a.bond),
        commitEnd: num('commitEnd'),
        revealEnd: num('revealEnd'),
        submittedAt: time,
        blockNumber: block,
        txHash: log.transactionHash,
      });
      break;
    case 'CaseOpened': {
      const appealOf = num('appealOf');
      t.applications.open(id(), num('kind'), addr('subject'), appealOf === 0 ? null : appealOf);
      break;
    }
    case 'ReviewerDrawn':
      t.reviewers.draw(id(), addr('reviewer'));
      break;
    case 'VoteCommitted':
      t.reviewers.state(id(), addr('reviewer'), 2, null);
      break;
    case 'VoteRevealed':
      t.reviewers.state(id(), addr('reviewer'), 3, Boolean(a.approve));
      break;
    case 'ReviewerRewarded':
      t.reviewers.rewarded(id(), addr('reviewer'), String(a.amount));
      break;
    case 'ReviewerSlashed':
      t.reviewers.slashed(id(), addr('reviewer'), String(a.amount));
      break;
    case 'ApplicationFinalized': {
      const status = num('status');
      t.applications.finalize(
        id(),
        {
          status,
          approvals: num('approvals'),
          rejections: num('rejections'),
          returned: String(a.bondReturned),
          forfeited: String(a.bondForfeited),
        },
        time,
      );
      const app = t.applications.get(id());
      if (status === APPROVED && app)
        t.issuances.explainPeerReview(app.subject ?? app.candidate, block, id());
      break;
    }
    case 'AuthorityAdded':
      t.council.member(addr('authority'), true, block);
      break;
    case 'AuthorityRemoved':
      t.council.member(addr('authority'), false, block);
      break;
    case 'ProposalCreated':
      t.council.propose({
        proposal_id: num('proposalId'),
        kind: num('kind'),
        proposer: addr('proposer'),
        data: String(a.data),
        time,
        block_number: block,
      });
      break;
    case 'ProposalApproved':
      t.council.approve(num('proposalId'), addr('authority'));
      break;
    case 'ProposalExecuted':
      t.council.execute(num('proposalId'));
      break;
    case 'AuthorityCertified':
      t.issuances.explain(addr('account'), num('role'), block, 'authority', addr('authority'));
      break;
    case 'StaffCertified':
      t.issuances.explain(addr('practitioner'), 2, block, 'institution', addr('institution'));
      break;
  }
}

const BACKFILLED = 'certification.backfilled';

/**
 * An index made before it filed certification events has its cursor past them: file the certification events up to
 * that cursor once (the rest of the index is untouched), then the indexer carries on as usual. A no-op afterwards.
 */
export async function backfillCertification(chain: Chain, db: Db, indexedBlock: bigint) {
  if (db.meta.get(BACKFILLED)) return;
  const d = chain.deployment;
  const start = BigInt(d.deployBlock);
  const times = new Map<bigint, number>();
  for (let from = start; from <= indexedBlock; from += 2000n) {
    const to = from + 1999n < indexedBlock ? from + 1999n : indexedBlock;
    const raw = await chain.publicClient.getLogs({
      address: [d.accountRegistry, d.peerReview, d.council],
      fromBlock: from,
      toBlock: to,
    });
    const logs = parseEventLogs({
      abi: [...accountRegistryAbi, ...peerReviewAbi, ...authorityCouncilAbi],
      logs: raw,
    }).filter((l) => CERTIFICATION_EVENTS.has(l.eventName));
    for (const l of logs) {
      if (!times.has(l.blockNumber))
        times.set(
          l.blockNumber,
          Number((await chain.publicClient.getBlock({ blockNumber: l.blockNumber })).timestamp),
        );
    }
    db.tx(() => {
      for (const l of logs)
        applyCertificationEvent(db, d, l as unknown as CertificationLog, times.get(l.blockNumber) ?? 0);
    });
  }
  db.meta.set(BACKFILLED, '1');
}
