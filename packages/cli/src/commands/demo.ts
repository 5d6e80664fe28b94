/**
 * `medbloc demo`: the whole story, unattended, on a fresh embedded node: an authority certifies a provider, the
 * provider writes a Synthea patient's records for that patient (sealed for the patient, anchored in one batch), the
 * patient lists, reads and verifies them, and an uncertified account is refused. Exits non-zero if a step fails.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateMnemonic, identityFromMnemonic, validateFhirResource } from '@medbloc/core';
import { loadConfig, startNode } from '@medbloc/node';
import { createClient, MedblocApiError } from '@medbloc/sdk';
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
    loadConfig({ ...process.env, MEDBLOC_HOME: home, MEDBLOC_PORT: '0', MEDBLOC_CHAIN_PORT: '0' }),
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
    process.stdout.write('\nDemo complete.\n');
  } finally {
    await node.stop();
    if (!o.keep) await rm(home, { recursive: true, force: true });
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
