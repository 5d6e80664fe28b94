/**
 * Adding records from what a person has at hand: pasted or chosen FHIR JSON (a resource, or a Bundle written as one
 * batch under one chain transaction) or any file. Sealing happens here, in the browser, before anything is sent.
 */
import type { MedblocClient } from '@medbloc/sdk';
import { useId, useState } from 'react';
import { ACCOUNT_SYSTEM, resourcesOf } from '../fhir/build.ts';
import { assertValidFhir, preloadValidator } from '../fhir/validate.ts';
import type { AppleHealthProgress } from '../lib/apple-health.ts';
import { bytes, ErrorBox, Notice, useAction } from './bits.tsx';

type Owner = `0x${string}`;

/** Writes FHIR resources for `owner`: one as a single record, several as one batch. Returns how many. */
export async function writeResources(
  client: MedblocClient,
  resources: Record<string, unknown>[],
  owner?: Owner,
) {
  if (resources.length === 1) {
    await client.addRecord({ resource: resources[0]!, ...(owner ? { owner } : {}) });
    return 1;
  }
  await client.addRecords(
    resources.map((resource) => ({ resource })),
    owner ? { owner } : {},
  );
  return resources.length;
}

export function UploadFhir({
  client,
  owner,
  onDone,
}: {
  client: MedblocClient;
  owner?: Owner;
  onDone: () => void;
}) {
  const id = useId();
  const [text, setText] = useState('');
  const [done, setDone] = useState<string | undefined>();
  const { run, busy, error } = useAction(async () => {
    const resources = resourcesOf(JSON.parse(text));
    // Validated here, before sealing: an invalid resource is refused and nothing leaves the page.
    await assertValidFhir(resources);
    const n = await writeResources(client, resources, owner);
    setDone(`${n} record${n === 1 ? '' : 's'} sealed and anchored.`);
    setText('');
    onDone();
  });
  return (
    <form
      className="upload"
      onSubmit={(e) => {
        e.preventDefault();
        setDone(undefined);
        void run();
      }}
    >
      <div className="field">
        <label htmlFor={`${id}-json`}>FHIR resource or Bundle (JSON)</label>
        <textarea
          id={`${id}-json`}
          rows={6}
          spellCheck={false}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onFocus={() => void preloadValidator()}
          placeholder='{"resourceType": "Observation", …}'
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-jsonfile`}>…or choose a .json file</label>
        <input
          id={`${id}-jsonfile`}
          type="file"
          accept=".json,application/json,application/fhir+json"
          onChange={async (e) => {
            const f = e.target.files?.[0];
            if (f) setText(await f.text());
          }}
        />
      </div>
      <ErrorBox error={error} />
      {done && <Notice tone="ok">{done}</Notice>}
      <button type="submit" className="primary" disabled={busy || !text.trim()}>
        {busy ? 'Sealing and anchoring…' : 'Seal and add'}
      </button>
    </form>
  );
}

export function UploadFile({
  client,
  owner,
  onDone,
}: {
  client: MedblocClient;
  owner?: Owner;
  onDone: () => void;
}) {
  const id = useId();
  const [file, setFile] = useState<File | undefined>();
  const [progress, setProgress] = useState(0);
  const [health, setHealth] = useState<AppleHealthProgress | undefined>();
  const [done, setDone] = useState<string | undefined>();
  const { run, busy, error } = useAction(async () => {
    if (!file) return;
    // An Apple Health export (export.xml or export.zip) becomes FHIR Observations rather than one opaque file.
    // Its code (the XML parser and converter) is loaded only for .xml and .zip files.
    const appleHealth = /\.(xml|zip)$/i.test(file.name) ? await import('../lib/apple-health.ts') : undefined;
    const source = await appleHealth?.appleHealthSource(file);
    if (appleHealth && source) {
      const patient = owner ?? client.address;
      const out = await appleHealth.importAppleHealth(client, source, {
        patientRef: { type: 'Patient', identifier: { system: ACCOUNT_SYSTEM, value: patient } },
        ...(owner ? { owner } : {}),
        onProgress: setHealth,
      });
      const skipped = Object.values(out.summary.skipped).reduce((n, s) => n + s.count, 0);
      setDone(
        `Apple Health: ${out.records} observations sealed and anchored in ${out.batches} batch${out.batches === 1 ? '' : 'es'}` +
          ` (${Object.keys(out.summary.imported).length} types imported; ${skipped} entries of types not imported).`,
      );
      onDone();
      return;
    }
    await client.addRecord({
      content: chunksOf(file),
      ...(owner ? { owner } : {}),
      meta: {
        name: file.name,
        contentType: file.type || 'application/octet-stream',
        date: new Date(file.lastModified || Date.now()).toISOString(),
      },
      onProgress: setProgress,
    });
    setDone(`${file.name} sealed and anchored.`);
    onDone();
  });
  return (
    <form
      className="upload"
      onSubmit={(e) => {
        e.preventDefault();
        setDone(undefined);
        setProgress(0);
        setHealth(undefined);
        void run();
      }}
    >
      <div className="field">
        <label htmlFor={`${id}-file`}>File (a scan, a PDF, an image, an Apple Health export…)</label>
        <input id={`${id}-file`} type="file" onChange={(e) => setFile(e.target.files?.[0])} />
      </div>
      {busy && health && (
        <progress
          max={health.total}
          value={health.done}
          aria-label={health.phase === 'checking' ? 'Apple Health export checked' : 'Observations sealed'}
        >
          {health.done}
        </progress>
      )}
      {busy && file && !health && (
        <progress max={file.size} value={progress} aria-label="Sealed so far">
          {bytes(progress)}
        </progress>
      )}
      <ErrorBox error={error} />
      {done && <Notice tone="ok">{done}</Notice>}
      <button type="submit" className="primary" disabled={busy || !file}>
        {busy ? 'Sealing and uploading…' : 'Seal and upload'}
      </button>
    </form>
  );
}

/** A file's bytes as they are read (sealed chunk by chunk, never the whole file in the page's memory at once). */
async function* chunksOf(file: Blob): AsyncGenerator<Uint8Array> {
  const reader = file.stream().getReader();
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) yield r.value;
  } finally {
    reader.releaseLock();
  }
}
