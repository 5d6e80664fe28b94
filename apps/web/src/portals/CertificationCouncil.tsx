/**
 * The authority's view of certification by peer review: the queue of open cases (applications, appeals,
 * challenges) with their phase and ballot counts, and the authority council — its members, threshold and
 * parameters, the proposals with their approvals, approving one, and proposing to add or remove an authority or to
 * change parameters. Council calls are transactions sent with this identity's key (gas; the dev chain's faucet gives
 * some).
 */
import type { ApplicationDetail, CouncilParameters } from '@medbloc/sdk';
import { useCallback, useEffect, useId, useState } from 'react';
import { decodeAbiParameters, type Hex, isAddress, parseEther } from 'viem';
import { useSession } from '../lib/session.ts';
import { Addr, ErrorBox, Notice, useAction } from '../ui/bits.tsx';
import { ballotCounts, kindText, phaseText, tokens, when } from './Certification.tsx';

type Address = `0x${string}`;

/** Open cases, oldest first, with where each stands. */
export function CertificationQueue() {
  const { client } = useSession();
  const id = useId();
  const [cases, setCases] = useState<ApplicationDetail[] | undefined>();
  const [done, setDone] = useState<string | undefined>();
  const load = useCallback(async () => {
    const open = await client.applications({ status: 'pending' });
    const details = await Promise.all(open.map((a) => client.application(a.applicationId)));
    setCases(details.sort((x, y) => x.applicationId - y.applicationId));
  }, [client]);
  const loading = useAction(load);
  const loadNow = loading.run;
  useEffect(() => {
    void loadNow();
  }, [loadNow]);
  const finalize = useAction(async (applicationId: number) => {
    const out = await client.finalize(applicationId);
    setDone(`Case #${applicationId} finalized: ${out.status}.`);
    await load();
  });
  return (
    <section className="card" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Peer-review queue</h2>
      <p className="muted">
        Applications, appeals and challenges being decided by peer review. Votes stay sealed until the reveal
        window; only how many reviewers committed and revealed shows before that.
      </p>
      <ErrorBox error={loading.error ?? finalize.error} />
      {done && <Notice tone="ok">{done}</Notice>}
      <button type="button" onClick={() => void loading.run()} disabled={loading.busy}>
        Refresh queue
      </button>
      {cases && cases.length === 0 && <p>No case is pending.</p>}
      {cases && cases.length > 0 && (
        <ul className="queue" aria-label="Pending cases">
          {cases.map((a) => {
            const n = ballotCounts(a);
            return (
              <li key={a.applicationId} data-testid="queue-case" data-application={a.applicationId}>
                <div>
                  <strong>
                    #{a.applicationId} {kindText(a)}
                  </strong>{' '}
                  by <Addr value={a.candidate} />
                  {a.subject !== a.candidate && (
                    <>
                      {' '}
                      about <Addr value={a.subject} />
                    </>
                  )}
                </div>
                <div>{phaseText(a, n.drawn > 0)}</div>
                <small className="muted">
                  {n.drawn} reviewers · {n.committed} committed · {n.revealed} revealed · bond{' '}
                  {tokens(a.bond)} MED · opened {when(a.submittedAt)}
                </small>
                {a.phase === 'finalizable' && (
                  <button
                    type="button"
                    onClick={() => void finalize.run(a.applicationId)}
                    disabled={finalize.busy}
                  >
                    Finalize #{a.applicationId}
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

type Proposal = Awaited<ReturnType<ReturnType<typeof useSession>['client']['councilProposals']>>[number];

function proposalText(p: Proposal): string {
  if (p.kind === 'add-authority' || p.kind === 'remove-authority') {
    try {
      const [who] = decodeAbiParameters([{ type: 'address' }], p.data as Hex);
      return `${p.kind === 'add-authority' ? 'Add' : 'Remove'} authority ${who}`;
    } catch {
      return p.kind === 'add-authority' ? 'Add an authority' : 'Remove an authority';
    }
  }
  if (p.kind === 'parameters') return 'Change the certification parameters';
  if (p.kind === 'threshold') {
    try {
      const [n] = decodeAbiParameters([{ type: 'uint256' }], p.data as Hex);
      return `Require ${n} approvals for proposals`;
    } catch {
      return 'Change the approval threshold';
    }
  }
  return 'A governed call';
}

const PARAM_FIELDS = [
  ['commitWindow', 'Commit window (seconds)'],
  ['revealWindow', 'Reveal window (seconds)'],
  ['reviewSize', 'Reviewers per case'],
  ['quorum', 'Quorum (revealed votes)'],
  ['minBond', 'Minimum bond (MED)'],
  ['reviewerStake', 'Reviewer stake (MP)'],
] as const;
const TOKEN_FIELDS = new Set(['minBond', 'reviewerStake']);

/** The council: members, threshold, parameters and proposals. */
export function CouncilSection() {
  const { client, identity } = useSession();
  const id = useId();
  const [info, setInfo] = useState<
    | { parameters: CouncilParameters; threshold: number; authorities: Address[]; devChain: boolean }
    | undefined
  >();
  const [proposals, setProposals] = useState<Proposal[] | undefined>();
  const [target, setTarget] = useState('');
  const [change, setChange] = useState<Record<string, string>>({});
  const [done, setDone] = useState<string | undefined>();
  const load = useCallback(async () => {
    const [p, list] = await Promise.all([client.certificationParameters(), client.councilProposals()]);
    setInfo(p);
    setProposals(list);
  }, [client]);
  const loading = useAction(load);
  const loadNow = loading.run;
  useEffect(() => {
    void loadNow();
  }, [loadNow]);
  const report = (r: { proposalId: number; executed: boolean; approvals: number; threshold: number }) =>
    setDone(
      r.executed
        ? `Proposal #${r.proposalId} approved and executed.`
        : `Proposal #${r.proposalId}: ${r.approvals} of ${r.threshold} approvals so far.`,
    );
  const gas = useAction(async () => {
    await client.faucet(0);
    setDone('Test gas received.');
  });
  const approve = useAction(async (proposalId: number) => {
    report(await client.approveProposal(proposalId));
    await load();
  });
  const authority = useAction(async (kind: 'add' | 'remove') => {
    const who = target.trim() as Address;
    report(kind === 'add' ? await client.proposeAddAuthority(who) : await client.proposeRemoveAuthority(who));
    setTarget('');
    await load();
  });
  const parameters = useAction(async () => {
    const changes: Record<string, string | number> = {};
    for (const [k, v] of Object.entries(change)) {
      if (!v.trim()) continue;
      changes[k] = TOKEN_FIELDS.has(k) ? parseEther(v.trim()).toString() : Number(v.trim());
    }
    report(await client.proposeParameters(changes as Partial<CouncilParameters>));
    setChange({});
    await load();
  });
  const error = loading.error ?? gas.error ?? approve.error ?? authority.error ?? parameters.error;
  const validTarget = isAddress(target.trim());
  const me = identity.address.toLowerCase();
  return (
    <section className="card" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Authority council</h2>
      {info && (
        <>
          <p>
            {info.authorities.length} {info.authorities.length === 1 ? 'authority' : 'authorities'}; a
            proposal passes with {info.threshold} {info.threshold === 1 ? 'approval' : 'approvals'}.
          </p>
          <ul className="grants" aria-label="Authorities">
            {info.authorities.map((a) => (
              <li key={a}>
                <Addr value={a} />
                {a.toLowerCase() === me && <span className="badge ok">you</span>}
              </li>
            ))}
          </ul>
          <p className="muted" data-testid="council-parameters">
            {info.parameters.reviewSize} reviewers per case, quorum {info.parameters.quorum}; commit window{' '}
            {info.parameters.commitWindow} s, reveal window {info.parameters.revealWindow} s; reviewer stake{' '}
            {tokens(info.parameters.reviewerStake)} MP; minimum bond {tokens(info.parameters.minBond)} MED;
            certification valid {Math.round(info.parameters.certificationValidity / 86_400)} days.
          </p>
          {info.devChain && (
            <p className="row">
              <span className="muted">Council calls are transactions that cost gas. Development chain:</span>
              <button type="button" onClick={() => void gas.run()} disabled={gas.busy}>
                {gas.busy ? 'Asking…' : 'Get test gas'}
              </button>
            </p>
          )}
        </>
      )}
      <ErrorBox error={error} />
      {done && <Notice tone="ok">{done}</Notice>}
      <h3>Proposals</h3>
      <button type="button" onClick={() => void loading.run()} disabled={loading.busy}>
        Refresh proposals
      </button>
      {proposals && proposals.length === 0 && <p>No proposals yet.</p>}
      {proposals && proposals.length > 0 && (
        <ul className="queue" aria-label="Council proposals">
          {proposals.map((p) => (
            <li key={p.proposalId} data-testid="proposal" data-proposal={p.proposalId}>
              <div>
                <strong>
                  #{p.proposalId} {proposalText(p)}
                </strong>{' '}
                <span className={`badge ${p.executed ? 'ok' : 'pending'}`}>
                  {p.executed ? 'executed' : 'open'}
                </span>
              </div>
              <small className="muted">
                proposed by {p.proposer.slice(0, 10)}… on {when(p.time)} · {p.approvals.length}
                {info ? ` of ${info.threshold}` : ''} approvals
              </small>
              {!p.executed && (
                <button type="button" onClick={() => void approve.run(p.proposalId)} disabled={approve.busy}>
                  {p.approvals.some((a) => a.toLowerCase() === me)
                    ? `Execute #${p.proposalId}`
                    : `Approve #${p.proposalId}`}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <h3>Propose</h3>
      <div className="field">
        <label htmlFor={`${id}-who`}>Authority address</label>
        <input
          id={`${id}-who`}
          value={target}
          onChange={(e) => setTarget(e.target.value)}
          placeholder="0x…"
          spellCheck={false}
          autoComplete="off"
          aria-invalid={target !== '' && !validTarget}
        />
      </div>
      <div className="actions">
        <button
          type="button"
          disabled={!validTarget || authority.busy}
          onClick={() => {
            setDone(undefined);
            void authority.run('add');
          }}
        >
          Propose adding this authority
        </button>
        <button
          type="button"
          className="danger"
          disabled={!validTarget || authority.busy}
          onClick={() => {
            setDone(undefined);
            void authority.run('remove');
          }}
        >
          Propose removing this authority
        </button>
      </div>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setDone(undefined);
          void parameters.run();
        }}
      >
        <fieldset>
          <legend>Change parameters (leave a field empty to keep it)</legend>
          <div className="grid2">
            {PARAM_FIELDS.map(([k, label]) => (
              <div className="field" key={k}>
                <label htmlFor={`${id}-${k}`}>{label}</label>
                <input
                  id={`${id}-${k}`}
                  inputMode="decimal"
                  value={change[k] ?? ''}
                  placeholder={
                    info
                      ? TOKEN_FIELDS.has(k)
                        ? tokens(String(info.parameters[k]))
                        : String(info.parameters[k])
                      : ''
                  }
                  onChange={(e) => setChange((c) => ({ ...c, [k]: e.target.value }))}
                />
              </div>
            ))}
          </div>
        </fieldset>
        <button type="submit" disabled={!Object.values(change).some((v) => v.trim()) || parameters.busy}>
          {parameters.busy ? 'Proposing…' : 'Propose these parameters'}
        </button>
      </form>
    </section>
  );
}
