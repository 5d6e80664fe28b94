/**
 * The FHIR gateway's read-only views of patient control, against a real node and chain: after a patient grants a
 * provider a record and a category and the provider reads, `GET /fhir/Consent` and `GET /fhir/AuditEvent` return those
 * grants and that read as valid FHIR R4, searchable by patient and date; a revocation turns its Consent inactive; the
 * views cannot be written.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import { validateFhirResource } from '@medbloc/core';
import type { AuditEvent, Bundle, Consent } from '@medplum/fhirtypes';
import { Hono } from 'hono';
import { createFhirGateway } from '../packages/node/src/fhir/index.ts';
import { cast, startTestNode } from './support/harness.ts';

const lab = {
  resourceType: 'Observation',
  id: 'glucose-1',
  status: 'final',
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }],
    },
  ],
  code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }] },
  valueQuantity: { value: 95, unit: 'mg/dL' },
};

describe('FHIR views: Consent and AuditEvent', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let c: Awaited<ReturnType<typeof cast>>;
  let gateway: ReturnType<typeof createFhirGateway>;
  let server: ReturnType<typeof serve>;
  let base: string;
  let recordId: `0x${string}`;

  const get = async <T>(path: string) => {
    const res = await fetch(`${base}/${path}`, { headers: { accept: 'application/fhir+json' } });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as T;
  };
  const valid = (r: unknown) => {
    const v = validateFhirResource(r);
    if (!v.ok) assert.fail(JSON.stringify(v.outcome.issue, null, 1));
  };

  before(async () => {
    t = await startTestNode({ MEDBLOC_AUDIT_INTERVAL_MS: '300' });
    c = await cast(t.node);
    recordId = (await c.patient.addRecord({ resource: lab })).recordId;
    await c.patient.grant({ grantee: c.provider.address, record: recordId });
    await c.patient.grant({
      grantee: c.provider.address,
      category: 'medications',
      purpose: 'care',
      expiresAt: new Date(Date.now() + 30 * 86_400_000),
    });
    await c.provider.getRecord(recordId);
    await c.patient.revoke({ grantee: c.provider.address, category: 'medications' });
    await new Promise((r) => setTimeout(r, 800)); // let the node anchor the access log
    gateway = createFhirGateway({ client: c.patient });
    await gateway.ready;
    const app = new Hono();
    app.route('/fhir', gateway.app);
    server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  });
  after(async () => {
    await gateway?.stop();
    await new Promise((r) => server?.close(r));
    await t.stop();
  });

  test('GET /fhir/Consent returns the grants as valid Consent resources', async () => {
    const bundle = await get<Bundle<Consent>>('Consent');
    assert.equal(bundle.type, 'searchset');
    const consents = (bundle.entry ?? []).map((e) => e.resource!);
    for (const r of consents) valid(r);
    const record = consents.find((r) => r.provision?.data?.length);
    assert.ok(record, 'the record grant is a Consent');
    assert.equal(record.status, 'active');
    assert.equal(record.scope.coding?.[0]?.code, 'patient-privacy');
    assert.equal(record.patient?.identifier?.value, c.patient.address);
    assert.equal(record.provision?.actor?.[0]?.reference.identifier?.value, c.provider.address);
    assert.equal(record.provision?.actor?.[0]?.role.coding?.[0]?.code, 'IRCP');
    assert.equal(record.provision?.purpose?.[0]?.code, 'TREAT');
    assert.equal(record.provision?.data?.[0]?.reference.reference, 'Observation/glucose-1');
    assert.equal(record.provision?.data?.[0]?.reference.identifier?.value, recordId);
    assert.ok(record.dateTime && Date.parse(record.dateTime) > 0);
    assert.equal(record.performer?.[0]?.identifier?.value, c.patient.address);
    // The medications grant was revoked: its first epoch is inactive, and it named the category and its expiry.
    const meds = consents.filter((r) => r.provision?.securityLabel?.[0]?.code === 'medications');
    assert.ok(meds.length >= 1);
    assert.ok(meds.every((r) => r.status === 'inactive'));
    assert.ok(meds[0]!.provision?.class?.some((x) => x.code === 'MedicationRequest'));
    assert.ok(meds[0]!.provision?.period?.end);
    // Read by id.
    const one = await get<Consent>(`Consent/${record.id}`);
    assert.deepEqual(one, record);
  });

  test('GET /fhir/AuditEvent returns the provider’s read as a valid AuditEvent', async () => {
    const bundle = await get<Bundle<AuditEvent>>('AuditEvent');
    const events = (bundle.entry ?? []).map((e) => e.resource!);
    for (const r of events) valid(r);
    const read = events.find((e) => e.agent[0]?.who?.identifier?.value === c.provider.address);
    assert.ok(read, 'the provider’s read is an AuditEvent');
    assert.equal(read.type.code, 'rest');
    assert.equal(read.subtype?.[0]?.code, 'read');
    assert.equal(read.action, 'R');
    assert.equal(read.outcome, '0');
    assert.equal(read.agent[0]?.requestor, true);
    assert.equal(read.purposeOfEvent?.[0]?.coding?.[0]?.code, 'TREAT');
    assert.equal(read.source.observer.identifier?.value, t.node.operator);
    const what = read.entity?.[0]?.what;
    assert.equal(what?.reference, 'Observation/glucose-1');
    assert.equal(what?.identifier?.value, recordId);
    assert.ok(
      read.entity?.[0]?.detail?.some((d) => d.type === 'access-log-root'),
      'anchored on chain',
    );
  });

  test('a refused read is an AuditEvent with outcome 4', async () => {
    const before = (await get<Bundle<AuditEvent>>('AuditEvent')).total ?? 0;
    const later = await c.patient.addRecord({ resource: { ...lab, id: 'glucose-2' } });
    await assert.rejects(c.provider.getRecord(later.recordId), { code: 'FORBIDDEN' });
    const events = (await get<Bundle<AuditEvent>>('AuditEvent')).entry!.map((e) => e.resource!);
    assert.equal(events.length, before + 1);
    const refused = events.find((e) => e.outcome === '4');
    assert.ok(refused);
    valid(refused);
  });

  test('both views search by patient and date', async () => {
    const me = encodeURIComponent(c.patient.address);
    const all = (await get<Bundle>('Consent')).total!;
    assert.ok(all > 0);
    assert.equal((await get<Bundle>(`Consent?patient=${me}`)).total, all);
    assert.equal((await get<Bundle>(`Consent?patient=${c.provider.address}`)).total, 0);
    const today = new Date().toISOString().slice(0, 10);
    assert.equal((await get<Bundle>(`Consent?date=${today}`)).total, all);
    assert.equal((await get<Bundle>('Consent?date=lt2000-01-01')).total, 0);
    const events = (await get<Bundle>('AuditEvent')).total!;
    assert.ok(events > 0);
    assert.equal((await get<Bundle>(`AuditEvent?patient=${me}&date=ge${today}`)).total, events);
    assert.equal((await get<Bundle>('AuditEvent?date=gt2999-01-01')).total, 0);
    const unknown = await fetch(`${base}/AuditEvent?agent=x`);
    assert.equal(unknown.status, 400);
  });

  test('the views are read-only', async () => {
    const res = await fetch(`${base}/Consent`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Consent', status: 'active' }),
    });
    assert.equal(res.status, 405);
    assert.equal(((await res.json()) as { resourceType: string }).resourceType, 'OperationOutcome');
    const cs = await get<{ rest: { resource: { type: string; interaction: { code: string }[] }[] }[] }>(
      'metadata',
    );
    for (const type of ['Consent', 'AuditEvent']) {
      const r = cs.rest[0]!.resource.find((x) => x.type === type)!;
      assert.deepEqual(
        r.interaction.map((i) => i.code),
        ['read', 'search-type'],
      );
    }
  });
});
