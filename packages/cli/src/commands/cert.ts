/**
 * `medbloc cert …`: certification by peer review as a user drives it. A candidate applies with sealed evidence and a
 * MED bond; a drawn reviewer lists its cases, opens the evidence, commits a sealed vote (the salt is kept in the
 * identity's directory, so `reveal` needs only the case id) and reveals it; anyone finalises; anyone reads an
 * account's status. Also: challenge a certification, appeal a lost case, stake MP, and (dev chain) the faucet.
 */
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateMnemonic, identityFromMnemonic } from '@medbloc/core';
import {
  type ApplicationSummary,
  type CertifiableRole,
  createClient,
  type RoleCertification,
} from '@medbloc/sdk';
import { type Address, bytesToHex, formatEther, getAddress, type Hex, isAddress } from 'viem';
import { CliError, clientFor, type GlobalOptions, keystorePath, nodeUrl, print } from '../context.ts';

/** For reads anyone may make (status, cases, parameters): no keystore or passphrase needed. */
export function readerFor(o: GlobalOptions) {
  return createClient({ node: nodeUrl(o), identity: identityFromMnemonic(generateMnemonic()) });
}

function addressArg(a: string): Address {
  if (!isAddress(a)) throw new CliError(`"${a}" is not an address`, 'INVALID_ADDRESS');
  return getAddress(a);
}

function roleArg(r = 'provider'): CertifiableRole {
  if (r !== 'provider' && r !== 'researcher')
    throw new CliError(`--role must be provider or researcher, not "${r}"`, 'INVALID_ROLE');
  return r;
}

function idArg(id: string): number {
  if (!/^\d+$/.test(id) || Number(id) < 1 || !Number.isSafeInteger(Number(id)))
    throw new CliError(`"${id}" is not a case id (a positive number)`, 'INVALID_ID');
  return Number(id);
}

function amountArg(v: string | undefined, what: string): string | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+(\.\d{1,18})?$/.test(v))
    throw new CliError(`${what} must be an amount like 50 or 12.5`, 'INVALID_AMOUNT');
  return v;
}

async function evidenceArg(file: string | undefined): Promise<Uint8Array> {
  if (!file) throw new CliError('give the evidence document: --evidence <file>', 'NO_EVIDENCE');
  try {
    return new Uint8Array(await readFile(file));
  } catch (err) {
    throw new CliError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      'NO_EVIDENCE',
    );
  }
}

const day = (t: number) => new Date(t * 1000).toISOString().slice(0, 10);
const when = (t: number) => new Date(t * 1000).toISOString().replace('.000Z', 'Z');
const med = (base: string) => `${formatEther(BigInt(base))} MED`;

/** Where a reviewer's vote salts are kept: beside its keystore, readable by its owner only. */
function ballotFile(o: GlobalOptions, reviewer: Address, id: number): string {
  return path.join(path.dirname(keystorePath(o)), 'ballots', `${reviewer.toLowerCase()}-${id}.json`);
}

export async function apply(o: GlobalOptions & { role?: string; evidence?: string; bond?: string }) {
  const role = roleArg(o.role);
  const bond = amountArg(o.bond, '--bond');
  const evidence = await evidenceArg(o.evidence);
  const client = await clientFor(o);
  const out = await client.applyForCertification({ role, evidence, ...(bond ? { bond } : {}) });
  print(o, out, () =>
    [
      `Applied for ${role} certification: case #${out.applicationId} (bond ${med(out.bond)}, tx ${out.txHash})`,
      out.status === 'no-quorum'
        ? '  too few eligible reviewers: the case closed and the bond was refunded'
        : `  reviewers drawn: ${out.reviewers.join(', ')}`,
      `  evidence sealed (digest ${out.evidence}); its key shared with the ${out.reviewers.length} reviewers only`,
      `  commits until ${when(out.commitEnd)}, reveals until ${when(out.revealEnd)} (chain time)`,
    ].join('\n'),
  );
}

function describeRole(r: RoleCertification): string {
  if (!r.issued) return `${r.role}: not certified`;
  const by =
    r.via === 'peer-review'
      ? `peer review${r.applicationId ? ` (case #${r.applicationId})` : ''}`
      : r.via === 'institution'
        ? `institution ${r.institution ?? r.issuer}`
        : r.via === 'authority'
          ? `authority ${r.authority ?? r.issuer}`
          : `the authority council (${r.issuer})`;
  const state = r.revoked ? 'REVOKED' : r.expired ? 'EXPIRED' : r.certified ? 'certified' : 'not certified';
  return `${r.role}: ${state} by ${by}${r.since ? ` since ${day(r.since)}` : ''}, until ${day(r.expiresAt)}`;
}

export async function status(address: string | undefined, o: GlobalOptions) {
  const account = address ? addressArg(address) : (await clientFor(o)).address;
  const s = await readerFor(o).certificationStatus(account);
  print(o, s, () => [account, ...s.roles.map((r) => `  ${describeRole(r)}`)].join('\n'));
}

function caseLine(a: ApplicationSummary): string {
  const what =
    a.kind === 'challenge'
      ? `challenge of ${a.subject}'s ${a.role} certification by ${a.candidate}`
      : a.kind === 'appeal'
        ? `appeal of case #${a.appealOf} by ${a.candidate}`
        : `${a.kind === 'renewal' ? 'renewal' : 'application'} of ${a.candidate} as ${a.role}`;
  const phase =
    a.status !== 'pending'
      ? `${a.status} (${a.approvals} for, ${a.rejections} against)`
      : a.phase === 'commit'
        ? `commit until ${when(a.commitEnd)}`
        : a.phase === 'reveal'
          ? `reveal until ${when(a.revealEnd)}`
          : 'ready to finalise';
  return `#${a.applicationId} ${what} — ${phase}${a.myBallot ? ` — your ballot: ${a.myBallot}` : ''}`;
}

export async function list(o: GlobalOptions & { status?: string; mine?: boolean }) {
  const statuses = ['pending', 'approved', 'rejected', 'no-quorum'];
  if (o.status && !statuses.includes(o.status))
    throw new CliError(`--status must be one of ${statuses.join(', ')}`, 'INVALID_STATUS');
  const cases = await readerFor(o).applications({
    ...(o.status ? { status: o.status as 'pending' } : {}),
    ...(o.mine ? { candidate: (await clientFor(o)).address } : {}),
  });
  print(o, cases, () => (cases.length === 0 ? 'No cases.' : cases.map(caseLine).join('\n')));
}

export async function show(id: string, o: GlobalOptions) {
  const n = idArg(id);
  const a = await readerFor(o).application(n);
  print(o, a, () =>
    [
      caseLine(a),
      `  bond ${med(a.bond)}, quorum ${a.quorum}, evidence ${a.evidence}`,
      ...a.reviewers.map(
        (r) =>
          `  reviewer ${r.reviewer}: ${r.ballot}${r.vote ? ` (${r.vote})` : ''}${r.reward ? `, rewarded ${formatEther(BigInt(r.reward))} MP` : ''}${r.slashed ? `, slashed ${formatEther(BigInt(r.slashed))} MP` : ''}`,
      ),
    ].join('\n'),
  );
}

export async function reviewList(o: GlobalOptions & { all?: boolean }) {
  const client = await clientFor(o);
  const cases = await client.reviews(o.all ? {} : { status: 'pending' });
  print(o, cases, () =>
    cases.length === 0 ? `No ${o.all ? '' : 'open '}cases to review.` : cases.map(caseLine).join('\n'),
  );
}

export async function reviewEvidence(id: string, o: GlobalOptions & { output?: string }) {
  const n = idArg(id);
  const client = await clientFor(o);
  const bytes = await client.openEvidence(n);
  if (o.output) {
    await writeFile(o.output, bytes, { mode: 0o600 });
    print(
      o,
      { applicationId: n, file: o.output, size: bytes.byteLength },
      `Wrote the evidence of case #${n} to ${o.output} (${bytes.byteLength} bytes)`,
    );
  } else {
    process.stdout.write(bytes);
  }
}

export async function reviewCommit(id: string, o: GlobalOptions & { approve?: boolean; reject?: boolean }) {
  const n = idArg(id);
  if (Boolean(o.approve) === Boolean(o.reject))
    throw new CliError('say how you vote: --approve or --reject', 'INVALID_VOTE');
  const client = await clientFor(o);
  const file = ballotFile(o, client.address, n);
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing)
    throw new CliError(`you already committed a vote on case #${n} (${file})`, 'ALREADY_COMMITTED');
  // The salt is written down before the vote is sent: losing it would mean a vote that cannot be revealed.
  const salt = bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(
    file,
    `${JSON.stringify({ applicationId: n, approve: Boolean(o.approve), salt }, null, 2)}\n`,
    { mode: 0o600 },
  );
  await chmod(file, 0o600);
  let out: Awaited<ReturnType<typeof client.commitVote>>;
  try {
    out = await client.commitVote(n, Boolean(o.approve), { salt });
  } catch (err) {
    // Refused by the node (nothing was committed): forget the salt. Otherwise keep it, the vote may be on chain.
    const status = (err as { status?: number }).status ?? 0;
    if (status >= 400 && status < 500) await rm(file, { force: true });
    throw err;
  }
  print(
    o,
    { applicationId: n, commitment: out.commitment, txHash: out.txHash, ballot: file },
    `Committed a sealed vote on case #${n} (tx ${out.txHash}); the salt is in ${file} — keep it until you reveal`,
  );
}

export async function reviewReveal(id: string, o: GlobalOptions) {
  const n = idArg(id);
  const client = await clientFor(o);
  const file = ballotFile(o, client.address, n);
  let ballot: { approve: boolean; salt: Hex };
  try {
    ballot = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    throw new CliError(`no committed vote on case #${n} for this identity (${file})`, 'NO_BALLOT');
  }
  const out = await client.revealVote(n, ballot.approve, ballot.salt);
  print(
    o,
    { applicationId: n, approve: ballot.approve, txHash: out.txHash },
    `Revealed your vote on case #${n}: ${ballot.approve ? 'approve' : 'reject'} (tx ${out.txHash})`,
  );
}

export async function finalize(id: string, o: GlobalOptions) {
  const n = idArg(id);
  const out = await readerFor(o).finalize(n);
  print(o, out, `Case #${n} finalised: ${out.status} (tx ${out.txHash})`);
}

export async function challenge(
  address: string,
  o: GlobalOptions & { role?: string; evidence?: string; bond?: string },
) {
  const subject = addressArg(address);
  const role = roleArg(o.role);
  const bond = amountArg(o.bond, '--bond');
  const evidence = await evidenceArg(o.evidence);
  const client = await clientFor(o);
  const out = await client.challenge(subject, { role, evidence, ...(bond ? { bond } : {}) });
  print(o, out, () =>
    [
      `Challenged ${subject}'s ${role} certification: case #${out.applicationId} (bond ${med(out.bond)}, tx ${out.txHash})`,
      out.status === 'no-quorum'
        ? '  too few eligible reviewers: the case closed and the bond was refunded'
        : `  reviewers drawn: ${out.reviewers.join(', ')}`,
    ].join('\n'),
  );
}

export async function appeal(id: string, o: GlobalOptions) {
  const n = idArg(id);
  const client = await clientFor(o);
  const out = await client.appeal(n);
  print(
    o,
    out,
    `Appealed case #${n}: case #${out.applicationId} (bond ${med(out.bond)}), fresh reviewers ${out.reviewers.join(', ')}`,
  );
}

export async function stake(amount: string | undefined, o: GlobalOptions) {
  const client = await clientFor(o);
  let value = amountArg(amount, 'the amount');
  if (!value) {
    const free = BigInt((await client.balances()).mp.free);
    if (free === 0n) throw new CliError('you have no free MP points to stake', 'INSUFFICIENT_POINTS');
    value = formatEther(free);
  }
  const out = await client.stake(value);
  const b = await client.balances();
  print(
    o,
    { ...out, ...b },
    `Staked ${value} MP (tx ${out.txHash}); staked ${formatEther(BigInt(b.mp.staked))} MP, ${formatEther(BigInt(b.mp.locked))} locked on reviews`,
  );
}

export async function balances(address: string | undefined, o: GlobalOptions) {
  const account = address ? addressArg(address) : (await clientFor(o)).address;
  const b = await readerFor(o).balances(account);
  print(
    o,
    b,
    `${b.account}: ${med(b.med)}; MP ${formatEther(BigInt(b.mp.free))} free, ${formatEther(BigInt(b.mp.staked))} staked (${formatEther(BigInt(b.mp.locked))} locked)`,
  );
}

export async function faucet(o: GlobalOptions & { med?: string }) {
  const amount = amountArg(o.med, '--med') ?? '100';
  const client = await clientFor(o);
  const b = await client.faucet(amount);
  print(o, b, `Development chain: ${client.address} now holds ${med(b.med)} and gas money`);
}
