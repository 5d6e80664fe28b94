/**
 * Certification from the candidate's side, for the provider and researcher portals: the status in plain words (who
 * certified this account, how, until when), applying for certification by peer review (evidence sealed in this page
 * and shared only with the reviewers drawn for the case, a MED bond), and the case page: phase, panel, how many
 * ballots are committed and revealed (votes only once revealed), finalizing, and one appeal of a rejection.
 */
import type {
  ApplicationDetail,
  CertifiableRole,
  CertificationStatus,
  RoleCertification,
} from '@medbloc/sdk';
import { useCallback, useEffect, useId, useState } from 'react';
import { formatEther } from 'viem';
import { describeError, type FriendlyError } from '../lib/errors.ts';
import { useSession } from '../lib/session.ts';
import { Addr, bytes, ErrorBox, Notice, useAction } from '../ui/bits.tsx';

/** "1 March 2027" style, in the reader's locale. */
export function day(seconds: number): string {
  return new Date(seconds * 1000).toLocaleDateString(undefined, { dateStyle: 'long' });
}

/** A date and time, for windows that close within days. */
export function when(seconds: number): string {
  return new Date(seconds * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** Whole tokens from base units, without trailing zeros ("50", "2.5"). */
export function tokens(baseUnits: string | bigint): string {
  return formatEther(BigInt(baseUnits));
}

const ROLE_NAME: Record<CertifiableRole, string> = { provider: 'provider', researcher: 'researcher' };

/** Where a case stands, in words; `undefined` reviewers while the panel is still to be drawn. */
export function phaseText(
  a: Pick<ApplicationDetail, 'status' | 'phase' | 'commitEnd' | 'revealEnd'>,
  drawn: boolean,
) {
  if (a.status === 'approved') return 'Decided: approved';
  if (a.status === 'rejected') return 'Decided: rejected';
  if (a.status === 'no-quorum') return 'Closed without a quorum: the bond was refunded';
  if (!drawn) return 'Waiting for the reviewers to be drawn';
  if (a.phase === 'commit') return `Reviewers are voting in secret (commit) until ${when(a.commitEnd)}`;
  if (a.phase === 'reveal') return `Reviewers are revealing their votes until ${when(a.revealEnd)}`;
  if (a.phase === 'finalizable') return 'Voting is over: the case can be finalized';
  return 'Closed';
}

export function ballotCounts(a: ApplicationDetail) {
  const drawn = a.reviewers.length;
  const committed = a.reviewers.filter((r) => r.ballot !== 'drawn').length;
  const revealed = a.reviewers.filter((r) => r.ballot === 'revealed').length;
  return { drawn, committed, revealed };
}

export function kindText(a: Pick<ApplicationDetail, 'kind' | 'role' | 'appealOf'>) {
  if (a.kind === 'appeal') return `appeal of case #${a.appealOf ?? '?'} (${a.role})`;
  if (a.kind === 'challenge') return `challenge of a ${a.role}’s certification`;
  if (a.kind === 'renewal') return `renewal as ${a.role}`;
  return `application as ${a.role}`;
}

/** The status line of one role's certification, in plain words. */
export function statusWords(
  c: RoleCertification | undefined,
  role: CertifiableRole,
  notYet: string,
  council?: string,
) {
  if (!c?.issued) return { tone: 'warn' as const, text: notYet };
  // The council's own certifications name the council contract as their issuer.
  const byCouncil = c.via === 'council' || (!!council && c.issuer.toLowerCase() === council.toLowerCase());
  const by = byCouncil
    ? 'by the authority council'
    : c.via === 'peer-review'
      ? `by peer review #${c.applicationId ?? '?'}`
      : c.via === 'institution'
        ? `by institution ${c.institution ?? c.issuer}`
        : `by authority ${c.authority ?? c.issuer}`;
  if (c.revoked) return { tone: 'warn' as const, text: `Certification revoked (it was issued ${by})` };
  if (c.expired)
    return { tone: 'warn' as const, text: `Certification expired on ${day(c.expiresAt)} (${by})` };
  return { tone: 'ok' as const, text: `Certified ${ROLE_NAME[role]} ${by} until ${day(c.expiresAt)}` };
}

/** The account's certification for `role`, with a way to apply by peer review and the account's cases. */
export function CertificationSection({
  certRole: role,
  testId,
  notYet,
}: {
  certRole: CertifiableRole;
  testId: string;
  notYet: string;
}) {
  const { client, account, refreshAccount } = useSession();
  const id = useId();
  const [status, setStatus] = useState<CertificationStatus | undefined>();
  const [error, setError] = useState<FriendlyError | undefined>();
  const [cases, setCases] = useState<number[] | undefined>();
  const [pending, setPending] = useState(false);
  const [council, setCouncil] = useState<string | undefined>();
  const load = useCallback(async () => {
    try {
      const [s, mine, p] = await Promise.all([
        client.certificationStatus(),
        client.applications({ candidate: client.address }),
        client.certificationParameters(),
      ]);
      setCouncil(p.contracts.council);
      setStatus(s);
      const own = mine.filter((a) => a.kind !== 'challenge');
      setCases(own.map((a) => a.applicationId));
      setPending(own.some((a) => a.status === 'pending' && a.role === role));
      setError(undefined);
    } catch (err) {
      setError(describeError(err));
    }
  }, [client, role]);
  useEffect(() => {
    void load();
  }, [load]);
  const cert = status?.roles.find((r) => r.role === role);
  const words = statusWords(cert, role, notYet, council);
  const certified = !!cert?.issued && cert.certified;
  return (
    <>
      <section className="card" aria-labelledby={`${id}-h`}>
        <h2 id={`${id}-h`}>Certification</h2>
        <ErrorBox error={error} />
        {status && (
          <Notice tone={words.tone}>
            <strong data-testid={testId}>{words.text}</strong>
            {!certified && pending && (
              <p>Your application is being decided by peer review: see your case below.</p>
            )}
            {!certified && !pending && (
              <p>
                An authority can certify your address directly (give them{' '}
                <code className="wrap">{account?.address}</code>), or you can apply below to be certified by
                peer review.
              </p>
            )}
          </Notice>
        )}
        <button
          type="button"
          onClick={() => {
            void refreshAccount();
            void load();
          }}
        >
          Check again
        </button>
      </section>
      {status && !certified && !pending && <ApplyForm certRole={role} onApplied={() => void load()} />}
      {cases && cases.length > 0 && (
        <section className="card" aria-labelledby={`${id}-cases`}>
          <h2 id={`${id}-cases`}>Your certification cases</h2>
          {cases.map((c) => (
            <CaseCard key={c} applicationId={c} onChanged={() => void load()} />
          ))}
        </section>
      )}
    </>
  );
}

/** Apply for certification by peer review: role, sealed evidence file, MED bond (with the balance, and the dev faucet). */
function ApplyForm({
  certRole: initialRole,
  onApplied,
}: {
  certRole: CertifiableRole;
  onApplied: () => void;
}) {
  const { client } = useSession();
  const id = useId();
  const [role, setRole] = useState<CertifiableRole>(initialRole);
  const [file, setFile] = useState<File | undefined>();
  const [bond, setBond] = useState('');
  const [info, setInfo] = useState<{ med: string; minBond: string; devChain: boolean } | undefined>();
  const [done, setDone] = useState<string | undefined>();
  const loadInfo = useCallback(async () => {
    const [b, p] = await Promise.all([client.balances(), client.certificationParameters()]);
    setInfo({ med: b.med, minBond: p.parameters.minBond, devChain: p.devChain });
    setBond((v) => v || tokens(p.parameters.minBond));
  }, [client]);
  const loading = useAction(loadInfo);
  const loadNow = loading.run;
  useEffect(() => {
    void loadNow();
  }, [loadNow]);
  const faucet = useAction(async () => {
    await client.faucet(100);
    await loadInfo();
  });
  const apply = useAction(async () => {
    if (!file) throw Object.assign(new Error('Choose the evidence file first.'), { name: 'InputError' });
    const evidence = new Uint8Array(await file.arrayBuffer());
    const out = await client.applyForCertification({ role, evidence, bond });
    setDone(
      `Application #${out.applicationId} submitted: ${out.reviewers.length} reviewers drawn; the evidence is shared with them only.`,
    );
    setFile(undefined);
    await loadInfo();
    onApplied();
  });
  const error = apply.error ?? faucet.error ?? loading.error;
  const short = info && BigInt(info.med) < BigInt(info.minBond);
  return (
    <form
      className="card"
      aria-labelledby={`${id}-h`}
      onSubmit={(e) => {
        e.preventDefault();
        setDone(undefined);
        void apply.run();
      }}
    >
      <h2 id={`${id}-h`}>Apply for certification by peer review</h2>
      <p className="muted">
        Your evidence (a licence, a diploma) is encrypted in this page before it is uploaded: the node keeps
        only ciphertext, and the key is shared only with the certified providers drawn at random to review
        your case. You bond MED: it comes back when you are approved; part of it is forfeited if you are
        rejected.
      </p>
      <div className="grid2">
        <div className="field">
          <label htmlFor={`${id}-role`}>Certify me as</label>
          <select id={`${id}-role`} value={role} onChange={(e) => setRole(e.target.value as CertifiableRole)}>
            <option value="provider">Provider</option>
            <option value="researcher">Researcher</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-bond`}>Bond (MED)</label>
          <input
            id={`${id}-bond`}
            inputMode="decimal"
            value={bond}
            onChange={(e) => setBond(e.target.value)}
            aria-describedby={`${id}-bal`}
          />
          <small id={`${id}-bal`} data-testid="med-balance">
            {info
              ? `Your balance: ${tokens(info.med)} MED · minimum bond ${tokens(info.minBond)} MED`
              : 'Loading your balance…'}
          </small>
        </div>
        <div className="field wide">
          <label htmlFor={`${id}-file`}>Evidence file</label>
          <input id={`${id}-file`} type="file" onChange={(e) => setFile(e.target.files?.[0] ?? undefined)} />
          {file && (
            <small>
              {file.name}, {bytes(file.size)} — sealed in this page when you apply
            </small>
          )}
        </div>
      </div>
      {info?.devChain && (
        <p className="row">
          <span className="muted">Development chain: the node gives test MED.</span>
          <button type="button" disabled={faucet.busy} onClick={() => void faucet.run()}>
            {faucet.busy ? 'Asking…' : 'Get 100 test MED'}
          </button>
        </p>
      )}
      {short && !info?.devChain && (
        <Notice tone="warn">Your MED balance is below the minimum bond: you need more MED to apply.</Notice>
      )}
      <ErrorBox error={error} />
      {done && <Notice tone="ok">{done}</Notice>}
      <div className="actions">
        <button type="submit" className="primary" disabled={!file || apply.busy}>
          {apply.busy ? 'Sealing, bonding and drawing reviewers…' : 'Apply for certification'}
        </button>
      </div>
    </form>
  );
}

/** One case as its candidate sees it. */
export function CaseCard({ applicationId, onChanged }: { applicationId: number; onChanged: () => void }) {
  const { client } = useSession();
  const [a, setA] = useState<ApplicationDetail | undefined>();
  const [appealed, setAppealed] = useState(false);
  const [done, setDone] = useState<string | undefined>();
  const load = useCallback(async () => {
    const [detail, all] = await Promise.all([
      client.application(applicationId),
      client.applications({ candidate: client.address }),
    ]);
    setA(detail);
    setAppealed(all.some((x) => x.appealOf === applicationId));
  }, [client, applicationId]);
  const loading = useAction(load);
  const loadNow = loading.run;
  useEffect(() => {
    void loadNow();
  }, [loadNow]);
  const draw = useAction(async () => {
    await client.draw(applicationId);
    await client.shareEvidence(applicationId);
    await load();
  });
  const finalize = useAction(async () => {
    const out = await client.finalize(applicationId);
    setDone(`Case #${applicationId} finalized: ${out.status}.`);
    await load();
    onChanged();
  });
  const appeal = useAction(async () => {
    const out = await client.appeal(applicationId);
    setDone(`Appeal #${out.applicationId} opened: ${out.reviewers.length} new reviewers drawn.`);
    await load();
    onChanged();
  });
  const error = loading.error ?? draw.error ?? finalize.error ?? appeal.error;
  if (!a) return <ErrorBox error={error} />;
  const n = ballotCounts(a);
  const drawn = n.drawn > 0;
  return (
    <article className="case" data-testid="case" data-application={a.applicationId} data-status={a.status}>
      <header>
        <h3>
          Case #{a.applicationId}: {kindText(a)}
        </h3>
        <span
          className={`badge ${a.status === 'approved' ? 'ok' : a.status === 'rejected' ? 'bad' : 'pending'}`}
        >
          {a.status}
        </span>
      </header>
      <p data-testid="case-phase">
        <strong>{phaseText(a, drawn)}</strong>
      </p>
      <p data-testid="case-counts">
        Reviewers drawn: {n.drawn} · committed {n.committed} of {n.drawn} · revealed {n.revealed} of {n.drawn}
      </p>
      <p className="muted">
        Bond {tokens(a.bond)} MED · submitted {when(a.submittedAt)}
        {a.bondReturned && a.bondReturned !== '0' && ` · ${tokens(a.bondReturned)} MED returned`}
        {a.bondForfeited && a.bondForfeited !== '0' && ` · ${tokens(a.bondForfeited)} MED forfeited`}
      </p>
      {drawn && (
        <ul className="panel" aria-label={`Reviewers of case ${a.applicationId}`}>
          {a.reviewers.map((r) => (
            <li key={r.reviewer}>
              <Addr value={r.reviewer} />{' '}
              <span className="badge muted">
                {r.ballot === 'drawn'
                  ? 'not voted yet'
                  : r.ballot === 'committed'
                    ? 'sealed vote'
                    : 'revealed'}
              </span>
              {r.vote && <span className={`badge ${r.vote === 'approve' ? 'ok' : 'bad'}`}>{r.vote}</span>}
            </li>
          ))}
        </ul>
      )}
      <ErrorBox error={error} />
      {done && <Notice tone="ok">{done}</Notice>}
      <div className="actions">
        <button type="button" onClick={() => void loading.run()} disabled={loading.busy}>
          Refresh case
        </button>
        {a.status === 'pending' && !drawn && (
          <button type="button" onClick={() => void draw.run()} disabled={draw.busy}>
            {draw.busy ? 'Drawing…' : 'Draw the reviewers now'}
          </button>
        )}
        {a.status === 'pending' && a.phase === 'finalizable' && (
          <button
            type="button"
            className="primary"
            onClick={() => void finalize.run()}
            disabled={finalize.busy}
          >
            {finalize.busy ? 'Finalizing…' : 'Finalize'}
          </button>
        )}
        {a.status === 'rejected' && a.kind !== 'appeal' && !appealed && (
          <button type="button" onClick={() => void appeal.run()} disabled={appeal.busy}>
            {appeal.busy ? 'Appealing…' : 'Appeal this decision (once)'}
          </button>
        )}
      </div>
    </article>
  );
}
