/**
 * `POST /fhir/$convert` on a patient's gateway against a real node and chain: HL7 v2, C-CDA and VCF in, a validated
 * transaction Bundle out — which posted back to the gateway is sealed and anchored like any other; bad input gets an
 * OperationOutcome and nothing is stored.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import { validateFhirResource } from '@medbloc/core';
import { fhirToCcda } from '@medbloc/interop';
import type { Bundle, Condition, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { Hono } from 'hono';
import { createFhirGateway } from '../packages/node/src/fhir/index.ts';
import { cast, FIXTURES, startTestNode } from './support/harness.ts';

/** A $convert answer: a transaction Bundle, or an OperationOutcome. */
type Answer = Omit<Bundle, 'resourceType'> & Pick<OperationOutcome, 'issue'> & { resourceType: string };

describe('FHIR $convert', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let c: Awaited<ReturnType<typeof cast>>;
  let base: string;
  let close: () => Promise<void>;
  before(async () => {
    t = await startTestNode();
    c = await cast(t.node);
    const gateway = createFhirGateway({ client: c.patient });
    const app = new Hono();
    app.route('/fhir', gateway.app);
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
    await gateway.ready;
    close = async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.stop();
    };
  });
  after(async () => {
    await close?.();
    await t?.stop();
  });

  const convert = async (body: string, contentType: string, query = '') => {
    const res = await fetch(`${base}/$convert${query}`, {
      method: 'POST',
      headers: { 'content-type': contentType, accept: 'application/fhir+json' },
      body,
    });
    return {
      status: res.status,
      headers: res.headers,
      body: (await res.json()) as Answer,
    };
  };
  function transactionOk(b: Answer): void {
    assert.equal(b.resourceType, 'Bundle');
    assert.equal(b.type, 'transaction');
    assert.ok((b.entry?.length ?? 0) > 0);
    for (const e of b.entry ?? []) {
      assert.equal(e.request?.method, 'POST');
      assert.equal(e.request?.url, e.resource?.resourceType);
      assert.match(e.fullUrl ?? '', /^urn:uuid:/);
      assert.equal(validateFhirResource(e.resource as Resource).ok, true);
    }
  }

  test('an HL7 v2 ORU converts to a transaction that stores when posted back', async () => {
    const message = await readFile(path.join(FIXTURES, 'hl7v2/messages/ORU-R01-01.hl7'), 'utf8');
    const before = (await c.patient.listRecords()).length;
    const out = await convert(message, 'x-application/hl7-v2+er7');
    assert.equal(out.status, 200, JSON.stringify(out.body));
    transactionOk(out.body);
    const types = new Set(out.body.entry!.map((e) => e.resource!.resourceType));
    assert.ok(types.has('Patient') && types.has('Observation'), [...types].join(','));
    assert.equal((await c.patient.listRecords()).length, before, 'converting stores nothing');

    const stored = await fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(out.body),
    });
    assert.equal(stored.status, 200);
    const response = (await stored.json()) as Bundle;
    assert.equal(response.type, 'transaction-response');
    assert.equal((await c.patient.listRecords()).length, before + out.body.entry!.length);
  });

  test('a C-CDA document (made from a Synthea patient) converts with its problem codes', async () => {
    const dir = path.join(FIXTURES, 'fhir/synthea');
    const file = (await import('node:fs')).readdirSync(dir).find((f) => !/hospital|practitioner/i.test(f))!;
    const bundle = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as Bundle;
    const xml = fhirToCcda(bundle);
    const out = await convert(xml, 'application/cda+xml');
    assert.equal(out.status, 200, JSON.stringify(out.body).slice(0, 500));
    transactionOk(out.body);
    const codes = (b: Pick<Bundle, 'entry'>) =>
      new Set(
        (b.entry ?? [])
          .map((e) => e.resource)
          .filter((r): r is Condition => r?.resourceType === 'Condition')
          .flatMap((r) => r.code?.coding?.map((x) => x.code) ?? []),
      );
    const expected = codes(bundle);
    assert.ok(expected.size > 0);
    for (const code of expected) assert.ok(codes(out.body).has(code), `problem ${code} survives`);
    // Plain XML with a ClinicalDocument root is recognised too.
    assert.equal((await convert(xml, 'application/xml')).status, 200);
  });

  test('a VCF converts to variant Observations for the patient named', async () => {
    const vcf = await readFile(path.join(FIXTURES, 'vcf/vcf2fhir-pairs/NB6TK328_filtered.vcf'), 'utf8');
    const out = await convert(vcf, 'text/vcf', '?patient=Patient/example');
    assert.equal(out.status, 200, JSON.stringify(out.body).slice(0, 500));
    transactionOk(out.body);
    const subjects = new Set(
      out.body.entry!.map((e) => (e.resource as { subject?: { reference?: string } }).subject?.reference),
    );
    assert.deepEqual([...subjects], ['Patient/example']);
  });

  test('bad input: an OperationOutcome naming the problem, and nothing stored', async () => {
    const before = (await c.patient.listRecords()).length;
    const broken = await convert('MSH|^~\\&|A|B\rPID|1||', 'x-application/hl7-v2+er7');
    assert.equal(broken.status, 400);
    assert.equal(broken.body.resourceType, 'OperationOutcome');
    assert.match(broken.body.issue?.[0]?.diagnostics ?? '', /^hl7v2: /);
    const notCda = await convert('<ClinicalDocument xmlns="urn:wrong"/>', 'application/cda+xml');
    assert.equal(notCda.status, 400);
    assert.match(notCda.body.issue?.[0]?.diagnostics ?? '', /ClinicalDocument/);
    const unknown = await convert('hello', 'text/plain');
    assert.equal(unknown.status, 415);
    assert.match(unknown.body.issue?.[0]?.diagnostics ?? '', /HL7 v2, C-CDA or VCF/);
    const empty = await convert('', 'text/vcf');
    assert.equal(empty.status, 400);
    const get = await fetch(`${base}/$convert`);
    assert.equal(get.status, 405);
    assert.equal((await c.patient.listRecords()).length, before);
  });
});
