/**
 * Correcting a FHIR record: the edited resource is validated in the page, sealed and anchored as a new record that
 * supersedes the old one. Nothing is edited in place — the earlier version stays on chain and in the history.
 */
import { useId, useState } from 'react';
import type { Json } from '../fhir/read.ts';
import { assertValidFhir, preloadValidator } from '../fhir/validate.ts';
import type { Listed } from '../lib/records.ts';
import { useSession } from '../lib/session.ts';
import { ErrorBox, useAction } from './bits.tsx';

const input = (msg: string) => Object.assign(new Error(msg), { name: 'InputError' });

export function EditVersion({
  record,
  resource,
  onDone,
  onCancel,
}: {
  record: Listed;
  resource: Json;
  onDone: () => void;
  onCancel: () => void;
}) {
  const { client } = useSession();
  const id = useId();
  const [text, setText] = useState(() => JSON.stringify(resource, null, 2));
  const save = useAction(async () => {
    const edited = JSON.parse(text) as unknown;
    if (typeof edited !== 'object' || edited === null || Array.isArray(edited))
      throw input('Expected one FHIR resource (a JSON object).');
    if ((edited as Json).resourceType !== resource.resourceType)
      throw input(`A new version must stay a ${String(resource.resourceType)}.`);
    if (JSON.stringify(edited) === JSON.stringify(resource)) throw input('Nothing was changed.');
    await assertValidFhir([edited]);
    await client.addRecord({ resource: edited as Json, owner: record.owner, supersedes: record.recordId });
    onDone();
  });
  return (
    <form
      className="edit-version"
      onSubmit={(e) => {
        e.preventDefault();
        void save.run();
      }}
    >
      <div className="field">
        <label htmlFor={`${id}-json`}>Corrected FHIR resource (JSON)</label>
        <textarea
          id={`${id}-json`}
          rows={12}
          spellCheck={false}
          value={text}
          onFocus={() => void preloadValidator()}
          onChange={(e) => setText(e.target.value)}
        />
        <small className="muted">
          Saving seals this as a new version that replaces the current one. The current version is kept, on
          chain and in this record’s history.
        </small>
      </div>
      <ErrorBox error={save.error} />
      <div className="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={save.busy}>
          {save.busy ? 'Sealing the new version…' : 'Save as a new version'}
        </button>
      </div>
    </form>
  );
}
