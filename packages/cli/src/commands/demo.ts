/**
 * `medbloc demo`: the whole story, unattended, on a fresh embedded node: an authority certifies a provider, the
 * provider writes a Synthea patient's records for that patient (sealed for the patient, anchored in one batch), the
 * patient lists, reads and verifies them, and an uncertified account is refused. Then patient control: the patient
 * shares its labs with the provider for care for 30 days, the provider reads one, the patient's access log shows that
 * read and verifies against the chain, the patient revokes and a lab written afterwards is unreadable to the
 * provider, and a break-glass opening of the emergency profile appears in the patient's log. Finally certification by
 * peer review: the council shortens the review windows, certified providers stake MP, an applicant bonds MED and
 * applies with sealed evidence, the drawn reviewers read it, commit sealed votes, reveal, and the case is finalised;
 * the new provider writes for the patient. Exits non-zero if a step fails.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateMnemonic, identityFromMnemonic, validateFhirResource } from '@medbloc/core';
import { loadConfig, type RunningNode, startNode } from '@medbloc/node';
import { createClient, MedblocApiError, type MedblocClient } from '@medbloc/sdk';
import { CliError, type GlobalOptions } from '../context.ts';

const FIXTURES = fileURLToPath(new URL('../../../../../shared/fixtures/fhir/synthea/', import.meta.url));

export async function demo(o: GlobalOptions & { bundle?: string; keep?: boolean }) {
  const step = (n: number, text: string) => process.stdout.write(`\n[${n}] ${text}\n`);
  const ok = (text: string) => process.stdout.write(`    ✓ ${text}\n`);

  const bundleFile = o.bundle ?? (await firstSynthea());
  const bundle = JSON.parse(await readFile(bundleFile, 'utf8')) as {
    entry?: { resource?: Record<string, unknown> }[];
  };
  const resources = (bundle.entry ?? [])
    .map((e) => e.resource)
    .filter((r): r is Record<string, unknown> => !!r);
  if (resources.length === 0) throw new CliError(`${bundleFile} has no resources`, 'FHIR_INVALID');

  const home = await mkdtemp(path.join(os.tmpdir(), 'medbloc-demo-'));
  step(1, `Starting an embedded MedBloc node in ${home}`);
  const node = await startNode(
    loadConfig({
      MEDBLOC_AUDIT_INTERVAL_MS: '500',
      ...process.env,
      MEDBLOC_HOME: home,
      MEDBLOC_PORT: '0',
      MEDBLOC_CHAIN_PORT: '0',
    }),
  );
  ok(`node ${node.url}, chain ${node.rpcUrl} (id ${node.deployment.chainId})`);
  try {
    const [authorityId, providerId, patientId, strangerId] = [0, 1, 2, 3].map(() =>
      identityFromMnemonic(generateMnemonic()),
    );
    const authority = createClient({ node: node.url, identity: authorityId! });
    const provider = createClient({ node: node.url, identity: providerId! });
    const patient = createClient({ node: node.url, identity: patientId! });
    const stranger = createClient({ node: node.url, identity: strangerId! });

    step(
      2,
      'The node operator appoints a certification authority; everyone registers (gasless, EIP-712 signed)',
    );
    await node.addAuthority(authority.address);
    await authority.register({ roles: ['patient'] });
    await provider.register({ roles: ['provider'] });
    await patient.register({ roles: ['patient'] });
    await stranger.register({ roles: ['provider'] });
    ok(`authority ${authority.address}`);
    ok(`provider  ${provider.address}`);
    ok(`patient   ${patient.address}`);

    step(3, 'The authority certifies the provider');
    await authority.certify(provider.address, { role: 'provider', credential: 'medical licence #D-12345' });
    const cert = (await provider.account()).certifications.find((c) => c.role === 'provider');
    if (!cert?.certified)
      throw new CliError('the provider is not certified after certification', 'DEMO_FAILED');
    ok(`certified until ${new Date(cert.expiresAt * 1000).toISOString().slice(0, 10)}`);

    step(
      4,
      `The provider validates, seals and anchors ${resources.length} resources of ${path.basename(bundleFile)} for the patient`,
    );
    for (const r of resources) {
      const v = validateFhirResource(r);
      if (!v.ok) throw new CliError(`invalid ${String(r.resourceType)} in the bundle`, 'FHIR_INVALID');
    }
    const batch = await provider.addRecords(
      resources.map((resource) => ({ resource })),
      { owner: patient.address },
    );
    ok(
      `${batch.recordIds.length} records in one transaction ${batch.txHash} (Merkle root ${batch.root.slice(0, 18)}…)`,
    );

    step(5, 'The patient lists, reads and verifies the records');
    const listed = await patient.listRecords();
    if (listed.length !== resources.length)
      throw new CliError(`listed ${listed.length} of ${resources.length} records`, 'DEMO_FAILED');
    const byType = new Map<string, number>();
    for (const r of listed)
      byType.set(r.meta?.resourceType ?? '?', (byType.get(r.meta?.resourceType ?? '?') ?? 0) + 1);
    ok(`${listed.length} records: ${[...byType].map(([t, n]) => `${n} ${t}`).join(', ')}`);
    const patientRec = listed.find((r) => r.meta?.resourceType === 'Patient') ?? listed[0]!;
    const got = await patient.getRecord(patientRec.recordId);
    const res = got.resource as { resourceType?: string; name?: { given?: string[]; family?: string }[] };
    ok(
      `read ${res.resourceType} ${res.name?.[0]?.given?.join(' ') ?? ''} ${res.name?.[0]?.family ?? ''}: ${got.verification.checks.join(', ')}`,
    );
    let verified = 0;
    for (const r of listed) {
      await patient.verifyRecord(r.recordId);
      verified++;
    }
    ok(`all ${verified} records verify against the chain`);

    step(6, 'An uncertified account tries to write a record for the patient');
    try {
      await stranger.addRecord({ resource: resources[0]!, owner: patient.address });
      throw new CliError('an uncertified provider wrote a record for the patient', 'DEMO_FAILED');
    } catch (err) {
      if (!(err instanceof MedblocApiError) || err.code !== 'NOT_CERTIFIED') throw err;
      ok(`refused: ${err.message}`);
    }
    step(7, 'The patient shares its labs with the provider, for care, for 30 days');
    const expiresAt = new Date(Date.now() + 30 * 86_400_000);
    await patient.grant({ grantee: provider.address, category: 'labs', purpose: 'care', expiresAt });
    const shared = await provider.listRecords({ owner: patient.address });
    const labs = shared.filter((r) => r.meta?.category === 'labs');
    if (labs.length === 0 || labs.length !== shared.length)
      throw new CliError(
        `the provider sees ${shared.length} records, ${labs.length} of them labs`,
        'DEMO_FAILED',
      );
    ok(
      `the provider sees the patient's ${labs.length} lab records (nothing else) until ${expiresAt.toISOString().slice(0, 10)}`,
    );

    step(8, 'The provider reads a lab record');
    const read = await provider.getRecord(labs[0]!.recordId);
    const obs = read.resource as {
      resourceType?: string;
      code?: { text?: string; coding?: { display?: string }[] };
    };
    ok(
      `${obs.resourceType} "${obs.code?.text ?? obs.code?.coding?.[0]?.display ?? '?'}", verified: ${read.verification.checks.length} checks`,
    );

    step(9, "The patient's access log shows that read, and verifies against the chain");
    const entry = (await patient.auditLog()).entries.find(
      (e) => e.request.requester === provider.address && e.request.record === labs[0]!.recordId,
    );
    if (entry?.outcome !== 'granted')
      throw new CliError("the provider's read is not in the patient's access log", 'DEMO_FAILED');
    ok(
      `#${entry.seq} ${new Date(entry.loggedAt * 1000).toISOString()} ${entry.request.requester} read ${entry.request.record.slice(0, 18)}… for care`,
    );
    const audit = await anchoredAudit(patient);
    ok(
      `${audit.verified} entries verified under roots anchored on AccessLog, ${audit.pending} pending, none missing`,
    );

    step(10, 'The patient revokes; a lab written afterwards is unreadable to the provider');
    const revoked = await patient.revoke({ grantee: provider.address, category: 'labs' });
    ok(`revoked (tx ${revoked.txHash}); labs moved to a new scope key (epoch ${revoked.epoch})`);
    const later = await patient.addRecord({ resource: LATER_LAB });
    try {
      await provider.getRecord(later.recordId);
      throw new CliError('the provider read a record written after revocation', 'DEMO_FAILED');
    } catch (err) {
      if (!(err instanceof MedblocApiError) || err.code !== 'FORBIDDEN') throw err;
      ok(`refused: ${err.message}`);
    }

    step(11, 'Emergency: the patient seals an emergency profile; the provider breaks the glass');
    await patient.setEmergencyProfile({ bloodType: 'O-', allergies: ['penicillin'], conditions: ['asthma'] });
    const glass = await provider.breakGlass(patient.address, 'unconscious at the emergency department');
    if (glass.profile.bloodType !== 'O-')
      throw new CliError('the emergency profile did not open', 'DEMO_FAILED');
    ok(
      `request ${glass.requestId.slice(0, 18)}… on chain; profile opened: blood type ${glass.profile.bloodType}, allergies ${glass.profile.allergies?.join(', ')}`,
    );
    const opening = (await patient.auditLog()).entries.find(
      (e) => e.request.requester === provider.address && e.request.purpose === 3,
    );
    if (!opening)
      throw new CliError("the break-glass opening is not in the patient's access log", 'DEMO_FAILED');
    ok(
      `the patient's log shows it: #${opening.seq} ${opening.request.requester} emergency access, ${opening.outcome}`,
    );
    const final = await patient.verifyAudit();
    if (!final.ok)
      throw new CliError(`the access log does not verify: ${final.problems[0]?.problem}`, 'DEMO_FAILED');
    ok(`the whole log verifies (${final.verified + final.pending} entries)`);

    await peerReview(node, { authority, patient }, step, ok);

    process.stdout.write('\nDemo complete.\n');
  } finally {
    await node.stop();
    if (!o.keep) await rm(home, { recursive: true, force: true });
  }
}

/** A lab result the patient adds after revoking the provider. */
const LATER_LAB = {
  resourceType: 'Observation',
  status: 'final',
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }],
    },
  ],
  code: { coding: [{ system: 'http://loinc.org', code: '4548-4', display: 'Hemoglobin A1c' }] },
  valueQuantity: { value: 5.4, unit: '%' },
};

/** Verifies the patient's access log once the node has anchored every entry (it anchors every half second). */
async function anchoredAudit(patient: MedblocClient) {
  for (let i = 0; ; i++) {
    const v = await patient.verifyAudit();
    if (!v.ok) throw new CliError(`the access log does not verify: ${v.problems[0]?.problem}`, 'DEMO_FAILED');
    if (v.pending === 0 || i >= 40) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function firstSynthea(): Promise<string> {
  const files = (await readdir(FIXTURES).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.json') && !/hospital|practitioner/i.test(f))
    .sort();
  if (files.length === 0)
    throw new CliError(`no Synthea bundles in ${FIXTURES}; pass --bundle <file>`, 'NO_FIXTURES');
  return path.join(FIXTURES, files[0]!);
}

/**
 * One peer review, end to end. The windows are shortened through a governed council proposal, and the embedded
 * chain's clock is moved on with anvil's evm_increaseTime: a development chain only, as the output says.
 */
async function peerReview(
  node: RunningNode,
  cast: { authority: MedblocClient; patient: MedblocClient },
  step: (n: number, text: string) => void,
  ok: (text: string) => void,
) {
  const { authority, patient } = cast;
  const WINDOW = 60;
  const advance = async (seconds: number) => {
    for (const [method, params] of [
      ['evm_increaseTime', [seconds]],
      ['evm_mine', []],
    ] as const) {
      await fetch(node.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      });
    }
    ok(
      `(development chain) moved the embedded chain's clock on by ${seconds} s with anvil's evm_increaseTime`,
    );
  };
  const person = () => createClient({ node: node.url, identity: identityFromMnemonic(generateMnemonic()) });

  step(12, 'Peer review: the authority council shortens the review windows (a governed proposal)');
  await authority.faucet(0); // gas for the authority's own council transactions (development chain faucet)
  const change = await authority.proposeParameters({
    reviewSize: 3,
    quorum: 2,
    commitWindow: WINDOW,
    revealWindow: WINDOW,
  });
  if (!change.executed) throw new CliError('the parameter proposal did not execute', 'DEMO_FAILED');
  ok(
    `proposal #${change.proposalId} executed: 3 reviewers, quorum 2, ${WINDOW} s to commit, ${WINDOW} s to reveal`,
  );

  step(13, 'Three certified providers stake the MP points their certification earned: the reviewer pool');
  const reviewers = [person(), person(), person()];
  for (const r of reviewers) {
    await r.register({ roles: ['provider'] });
    await authority.councilCertify(r.address, { role: 'provider', credential: `licence of ${r.address}` });
    await r.stake(100);
    ok(`reviewer ${r.address} staked 100 MP`);
  }

  step(14, 'An applicant bonds 50 MED and applies with its licence, sealed for the drawn reviewers only');
  const applicant = person();
  await applicant.register({ roles: ['provider'] });
  await applicant.faucet(100);
  const licence = 'Medical licence #P-20931, Dr A. Applicant, internal medicine, valid 2026-2031';
  const applied = await applicant.applyForCertification({ role: 'provider', evidence: licence });
  const id = applied.applicationId;
  ok(`case #${id}: reviewers drawn from the block after the application: ${applied.reviewers.join(', ')}`);
  for (const r of reviewers) {
    const text = new TextDecoder().decode(await r.openEvidence(id));
    if (text !== licence) throw new CliError('a reviewer could not read the evidence', 'DEMO_FAILED');
  }
  ok('each reviewer opened the evidence; the node holds only its ciphertext');
  try {
    await patient.openEvidence(id);
    throw new CliError('a non-reviewer read the evidence', 'DEMO_FAILED');
  } catch (err) {
    if (!(err instanceof MedblocApiError) || err.code !== 'NOT_REVIEWER') throw err;
    ok(`anyone else is refused: ${err.message}`);
  }

  step(15, 'The reviewers commit sealed votes (two approve, one rejects); nobody can see them yet');
  const votes = [true, true, false];
  const salts: `0x${string}`[] = [];
  for (const [i, r] of reviewers.entries()) salts.push((await r.commitVote(id, votes[i]!)).salt);
  const sealed = await patient.application(id);
  ok(`ballots: ${sealed.reviewers.map((x) => `${x.ballot}${x.vote ? ` ${x.vote}` : ''}`).join(', ')}`);
  await advance(WINDOW + 1);

  step(16, 'The reveal window: each reviewer reveals its vote');
  for (const [i, r] of reviewers.entries()) await r.revealVote(id, votes[i]!, salts[i]!);
  const revealed = await patient.application(id);
  ok(`votes: ${revealed.reviewers.map((x) => x.vote).join(', ')}`);
  await advance(WINDOW + 1);

  step(17, 'Anyone finalises: the majority decides, stakes are settled, the applicant is certified');
  const done = await patient.finalize(id);
  if (done.status !== 'approved') throw new CliError(`case #${id} was ${done.status}`, 'DEMO_FAILED');
  const settled = await patient.application(id);
  for (const x of settled.reviewers)
    ok(
      `${x.reviewer} voted ${x.vote}: ${x.reward ? `+${Number(x.reward) / 1e18} MP reward` : `-${Number(x.slashed ?? 0) / 1e18} MP slashed`}`,
    );
  const status = (await patient.certificationStatus(applicant.address)).roles.find(
    (r) => r.role === 'provider',
  );
  if (!status?.issued || !status.certified)
    throw new CliError('the applicant is not certified after approval', 'DEMO_FAILED');
  ok(
    `status: certified provider by peer review (case #${status.applicationId}) since ${new Date(status.since! * 1000).toISOString().slice(0, 10)} until ${new Date(status.expiresAt * 1000).toISOString().slice(0, 10)}`,
  );
  const rec = await applicant.addRecord({ owner: patient.address, resource: LATER_LAB });
  ok(`the new provider writes a record for the patient: ${rec.recordId.slice(0, 18)}…`);
}
