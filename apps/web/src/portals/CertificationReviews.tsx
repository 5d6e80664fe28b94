/**
 * Peer review from the reviewer's side, in the provider portal: staking MP points to join the reviewer pool, and the
 * cases this provider was drawn for — open the evidence (decrypted in this page), commit a sealed approve/reject,
 * reveal it in the reveal window, then see the outcome with the reward or slash. The vote and its salt are kept in
 * this browser, encrypted under a key derived from this identity (lib/ballots.ts), until they are revealed.
 */
import type { ApplicationDetail, ApplicationSummary } from '@medbloc/sdk';
import { useCallback, useEffect, useId, useState } from 'react';
import type { Hex } from 'viem';
import { loadBallot, saveBallot } from '../lib/ballots.ts';
import { useSession } from '../lib/session.ts';
import { Addr, bytes, ErrorBox, Notice, useAction } from '../ui/bits.tsx';
import { ballotCounts, kindText, phaseText, tokens, when } from './Certification.tsx';

/** Staking MP: the reviewer pool is the certified providers with at least the governed stake. */
function Stake({ onStaked }: { onStaked: () => void }) {
  const { client } = useSession();
  const id = useId();
  const [info, setInfo] = useState<
    { free: string; staked: string; locked: string; reviewerStake: string } | undefined
  >();
  const [amount, setAmount] = useState('');
  const [done, setDone] = useState<string | undefined>();
  const load = useCallback(async () => {
    const [b, p] = await Promise.all([client.balances(), client.certificationParameters()]);
    setInfo({ ...b.mp, reviewerStake: p.parameters.reviewerStake });
    setAmount((v) => v || (BigInt(b.mp.free) > 0n ? tokens(b.mp.free) : ''));
  }, [client]);
  const loading = useAction(load);
  const loadNow = loading.run;
  useEffect(() => {
    void loadNow();
  }, [loadNow]);
  const stake = useAction(async () => {
    await client.stake(amount.trim());
    setDone(`Staked ${amount.trim()} MP.`);
    setAmount('');
    await load();
    onStaked();
  });
  const enough = info && BigInt(info.staked) >= BigInt(info.reviewerStake);
  return (
    <form
      className="stake"
      aria-labelledby={`${id}-h`}
      onSubmit={(e) => {
        e.preventDefault();
        setDone(undefined);
        void stake.run();
      }}
    >
      <h3 id={`${id}-h`}>Your MP stake</h3>
      {info && (
        <p data-testid="mp-balance">
          {tokens(info.free)} MP free · {tokens(info.staked)} MP staked · {tokens(info.locked)} MP locked in
          reviews.{' '}
          {enough
            ? 'You are in the reviewer pool.'
            : `Stake at least ${tokens(info.reviewerStake)} MP to be drawn as a reviewer.`}
        </p>
      )}
      <div className="row">
        <label htmlFor={`${id}-amount`}>MP to stake</label>
        <input
          id={`${id}-amount`}
          inputMode="decimal"
          value={amount}
          onChange={(e) => setAmount(e.target.value)}
        />
        <button type="submit" disabled={!amount.trim() || stake.busy}>
          {stake.busy ? 'Staking…' : 'Stake MP'}
        </button>
      </div>
      <ErrorBox error={stake.error ?? loading.error} />
      {done && <Notice tone="ok">{done}</Notice>}
    </form>
  );
}

/** Evidence bytes shown as text when they are text, else offered as a download (never leaves this page). */
function Evidence({ data }: { data: Uint8Array }) {
  const [url, setUrl] = useState<string | undefined>();
  let text: string | undefined;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
    // Binary that happens to be valid UTF-8 (control bytes other than tab and newlines) is offered as a file.
    if ([...text].some((ch) => ch.charCodeAt(0) < 32 && !'\t\n\r'.includes(ch))) text = undefined;
  } catch {
    text = undefined;
  }
  useEffect(() => {
    if (text !== undefined) return;
    const u = URL.createObjectURL(new Blob([data as BlobPart]));
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [data, text]);
  if (text !== undefined)
    return (
      <pre className="evidence" data-testid="evidence-text">
        {text}
      </pre>
    );
  return (
    <p>
      {url && (
        <a href={url} download="evidence">
          Download the evidence ({bytes(data.length)})
        </a>
      )}
    </p>
  );
}

function ReviewCard({ summary, onChanged }: { summary: ApplicationSummary; onChanged: () => void }) {
  const { client, identity } = useSession();
  const id = useId();
  const applicationId = summary.applicationId;
  const [a, setA] = useState<ApplicationDetail | undefined>();
  const [evidence, setEvidence] = useState<Uint8Array | undefined>();
  const [vote, setVote] = useState<'approve' | 'reject' | undefined>();
  const [kept, setKept] = useState<{ approve: boolean } | null | undefined>();
  const [done, setDone] = useState<string | undefined>();
  const load = useCallback(async () => {
    setA(await client.application(applicationId));
    const b = await loadBallot(identity, applicationId);
    setKept(b ? { approve: b.approve } : null);
  }, [client, identity, applicationId]);
  const loading = useAction(load);
  const loadNow = loading.run;
  useEffect(() => {
    void loadNow();
  }, [loadNow]);
  const open = useAction(async () => setEvidence(await client.openEvidence(applicationId)));
  const commit = useAction(async () => {
    if (!vote) return;
    const approve = vote === 'approve';
    const salt =
      `0x${Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('')}` as Hex;
    // Kept before committing: a commitment whose salt was lost could never be revealed.
    await saveBallot(identity, applicationId, { approve, salt, committedAt: Date.now() });
    await client.commitVote(applicationId, approve, { salt });
    setDone('Your sealed vote is committed. Nobody can see it until you reveal it.');
    await load();
    onChanged();
  });
  const reveal = useAction(async () => {
    const b = await loadBallot(identity, applicationId);
    if (!b)
      throw Object.assign(new Error('This browser does not hold the vote you committed for this case.'), {
        name: 'InputError',
      });
    await client.revealVote(applicationId, b.approve, b.salt);
    setDone(`Your vote (${b.approve ? 'approve' : 'reject'}) is revealed.`);
    await load();
    onChanged();
  });
  const finalize = useAction(async () => {
    const out = await client.finalize(applicationId);
    setDone(`Case #${applicationId} finalized: ${out.status}.`);
    await load();
    onChanged();
  });
  const error = loading.error ?? open.error ?? commit.error ?? reveal.error ?? finalize.error;
  if (!a) return <ErrorBox error={error} />;
  const me = a.reviewers.find((r) => r.reviewer.toLowerCase() === identity.address.toLowerCase());
  const n = ballotCounts(a);
  return (
    <article className="case" data-testid="review" data-application={applicationId} data-status={a.status}>
      <header>
        <h3>
          Case #{applicationId}: {kindText(a)}
        </h3>
        <span
          className={`badge ${a.status === 'approved' ? 'ok' : a.status === 'rejected' ? 'bad' : 'pending'}`}
        >
          {a.status}
        </span>
      </header>
      <p>
        {a.kind === 'challenge' ? 'Subject' : 'Candidate'}: <Addr value={a.subject} />
      </p>
      <p data-testid="review-phase">
        <strong>{phaseText(a, n.drawn > 0)}</strong>
      </p>
      <p className="muted">
        Committed {n.committed} of {n.drawn} · revealed {n.revealed} of {n.drawn} · commit until{' '}
        {when(a.commitEnd)} · reveal until {when(a.revealEnd)}
      </p>
      {a.status === 'pending' && (
        <div className="actions">
          <button type="button" onClick={() => void open.run()} disabled={open.busy}>
            {open.busy ? 'Opening…' : evidence ? 'Open the evidence again' : 'Open the evidence'}
          </button>
        </div>
      )}
      {evidence && <Evidence data={evidence} />}
      {me?.ballot === 'drawn' && a.phase === 'commit' && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setDone(undefined);
            void commit.run();
          }}
        >
          <fieldset>
            <legend>Your vote (sealed until you reveal it)</legend>
            <label className="check">
              <input
                type="radio"
                name={`${id}-vote`}
                checked={vote === 'approve'}
                onChange={() => setVote('approve')}
              />{' '}
              Approve
            </label>
            <label className="check">
              <input
                type="radio"
                name={`${id}-vote`}
                checked={vote === 'reject'}
                onChange={() => setVote('reject')}
              />{' '}
              Reject
            </label>
          </fieldset>
          <p className="muted">
            Your vote and its random salt are kept in this browser, encrypted with a key derived from your
            identity; only a hash of them goes on chain now. Reveal from this browser after{' '}
            {when(a.commitEnd)}.
          </p>
          <button type="submit" className="primary" disabled={!vote || commit.busy}>
            {commit.busy ? 'Committing…' : 'Commit sealed vote'}
          </button>
        </form>
      )}
      {me?.ballot === 'committed' && (
        <p data-testid="my-ballot">
          Your sealed vote is committed
          {kept ? ` (${kept.approve ? 'approve' : 'reject'}, kept in this browser)` : ''}.
          {a.phase === 'commit' && ` You can reveal it after ${when(a.commitEnd)}.`}
        </p>
      )}
      {me?.ballot === 'committed' && kept === null && a.status === 'pending' && (
        <Notice tone="warn">
          This browser does not hold the vote you committed for this case, so it cannot be revealed from here.
        </Notice>
      )}
      {me?.ballot === 'committed' && a.phase === 'reveal' && kept && (
        <button type="button" className="primary" onClick={() => void reveal.run()} disabled={reveal.busy}>
          {reveal.busy ? 'Revealing…' : 'Reveal my vote'}
        </button>
      )}
      {me?.ballot === 'revealed' && a.status === 'pending' && (
        <p data-testid="my-ballot">You revealed: {me.vote}.</p>
      )}
      {a.status === 'pending' && a.phase === 'finalizable' && (
        <button type="button" onClick={() => void finalize.run()} disabled={finalize.busy}>
          {finalize.busy ? 'Finalizing…' : 'Finalize'}
        </button>
      )}
      {a.status !== 'pending' && (
        <p data-testid="review-outcome">
          Outcome: {a.status} ({a.approvals} approve, {a.rejections} reject).
          {me?.vote && ` You voted ${me.vote}.`}
          {me?.reward && me.reward !== '0' && ` Reward: ${tokens(me.reward)} MP.`}
          {me?.slashed && me.slashed !== '0' && ` Slashed: ${tokens(me.slashed)} MP.`}
          {me && me.ballot !== 'revealed' && ' You did not reveal a vote.'}
        </p>
      )}
      <ErrorBox error={error} />
      {done && <Notice tone="ok">{done}</Notice>}
      <button type="button" onClick={() => void loading.run()} disabled={loading.busy}>
        Refresh case
      </button>
    </article>
  );
}

/** The reviewer's corner of the provider portal: stake, and the reviews assigned. */
export function ReviewerSection() {
  const { client } = useSession();
  const id = useId();
  const [reviews, setReviews] = useState<ApplicationSummary[] | undefined>();
  const [version, setVersion] = useState(0);
  const load = useCallback(async () => setReviews(await client.reviews()), [client]);
  const loading = useAction(load);
  const loadNow = loading.run;
  useEffect(() => {
    void loadNow();
  }, [loadNow]);
  return (
    <section className="card" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Peer review</h2>
      <p className="muted">
        Certified providers who stake MP points are drawn at random to review candidates’ credentials by
        secret ballot. Voting with the majority earns MP; voting against it, or not revealing, costs part of
        the stake.
      </p>
      <Stake key={version} onStaked={() => void load()} />
      <h3>Reviews assigned to me</h3>
      <ErrorBox error={loading.error} />
      <button
        type="button"
        onClick={() => {
          void loading.run();
          setVersion((v) => v + 1);
        }}
        disabled={loading.busy}
      >
        Check for reviews
      </button>
      {reviews && reviews.length === 0 && <p>No review is assigned to you.</p>}
      {reviews?.map((r) => (
        <ReviewCard key={`${r.applicationId}-${version}`} summary={r} onChanged={() => void load()} />
      ))}
    </section>
  );
}
