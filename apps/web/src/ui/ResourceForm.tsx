/** A form for the common clinical resources a provider writes; builds FHIR R4 and seals it for the patient. */
import type { MedblocClient } from '@medbloc/sdk';
import { useId, useState } from 'react';
import { buildResource, type FormKind, type FormValues, VITALS } from '../fhir/build.ts';
import { assertValidFhir } from '../fhir/validate.ts';
import { ErrorBox, Notice, useAction } from './bits.tsx';

const KINDS: { kind: FormKind; label: string }[] = [
  { kind: 'vital', label: 'Vital sign' },
  { kind: 'lab', label: 'Lab result' },
  { kind: 'condition', label: 'Condition' },
  { kind: 'medication', label: 'Prescription' },
  { kind: 'allergy', label: 'Allergy' },
  { kind: 'immunization', label: 'Immunisation' },
  { kind: 'note', label: 'Clinical note' },
];

type FieldDef = {
  name: string;
  label: string;
  type?: string;
  options?: [string, string][];
  textarea?: boolean;
};

function fieldsOf(kind: FormKind, values: FormValues): FieldDef[] {
  const date: FieldDef = { name: 'date', label: 'Date and time', type: 'datetime-local' };
  switch (kind) {
    case 'vital':
      return [
        {
          name: 'vital',
          label: 'Measure',
          options: Object.entries(VITALS).map(([k, v]) => [k, `${v.display} (${v.unit})`]),
        },
        ...(values.vital === 'blood-pressure'
          ? [
              { name: 'systolic', label: 'Systolic (mmHg)', type: 'number' },
              { name: 'diastolic', label: 'Diastolic (mmHg)', type: 'number' },
            ]
          : [{ name: 'value', label: 'Value', type: 'number' }]),
        date,
      ];
    case 'lab':
      return [
        { name: 'test', label: 'Test name' },
        { name: 'loinc', label: 'LOINC code (optional)' },
        { name: 'value', label: 'Result' },
        { name: 'unit', label: 'Unit' },
        { name: 'low', label: 'Reference range low', type: 'number' },
        { name: 'high', label: 'Reference range high', type: 'number' },
        { name: 'note', label: 'Comment', textarea: true },
        date,
      ];
    case 'condition':
      return [
        { name: 'name', label: 'Condition' },
        {
          name: 'clinicalStatus',
          label: 'Status',
          options: [
            ['active', 'Active'],
            ['resolved', 'Resolved'],
            ['remission', 'In remission'],
          ],
        },
        { name: 'note', label: 'Comment', textarea: true },
        { ...date, label: 'Onset' },
      ];
    case 'medication':
      return [
        { name: 'medication', label: 'Medication' },
        { name: 'dosage', label: 'Dosage instructions' },
        { name: 'reason', label: 'Reason' },
        { ...date, label: 'Prescribed on' },
      ];
    case 'allergy':
      return [
        { name: 'substance', label: 'Substance' },
        { name: 'reaction', label: 'Reaction' },
        {
          name: 'criticality',
          label: 'Criticality',
          options: [
            ['low', 'Low'],
            ['high', 'High'],
            ['unable-to-assess', 'Unable to assess'],
          ],
        },
        { ...date, label: 'Recorded on' },
      ];
    case 'immunization':
      return [
        { name: 'vaccine', label: 'Vaccine' },
        { name: 'lot', label: 'Lot number' },
        { ...date, label: 'Given on' },
      ];
    case 'note':
      return [{ name: 'title', label: 'Title' }, { name: 'text', label: 'Note', textarea: true }, date];
  }
}

export function ResourceForm({
  client,
  owner,
  onDone,
}: {
  client: MedblocClient;
  owner: `0x${string}` | undefined;
  onDone: () => void;
}) {
  const id = useId();
  const [kind, setKind] = useState<FormKind>('vital');
  const [values, setValues] = useState<FormValues>({ vital: 'heart-rate' });
  const [done, setDone] = useState<string | undefined>();
  const { run, busy, error } = useAction(async () => {
    if (!owner) throw Object.assign(new Error('Enter the patient’s address first.'), { name: 'InputError' });
    const resource = buildResource(kind, values, owner);
    await assertValidFhir([resource]);
    await client.addRecord({ resource, owner });
    setDone(`${KINDS.find((k) => k.kind === kind)?.label} sealed for the patient and anchored.`);
    setValues(kind === 'vital' ? { vital: values.vital ?? 'heart-rate' } : {});
    onDone();
  });
  return (
    <form
      className="resource-form"
      onSubmit={(e) => {
        e.preventDefault();
        setDone(undefined);
        void run();
      }}
    >
      <div className="field">
        <label htmlFor={`${id}-kind`}>Record type</label>
        <select
          id={`${id}-kind`}
          value={kind}
          onChange={(e) => {
            const k = e.target.value as FormKind;
            setKind(k);
            setValues(k === 'vital' ? { vital: 'heart-rate' } : {});
          }}
        >
          {KINDS.map((k) => (
            <option key={k.kind} value={k.kind}>
              {k.label}
            </option>
          ))}
        </select>
      </div>
      <div className="grid2">
        {fieldsOf(kind, values).map((f) => {
          const fid = `${id}-${f.name}`;
          const set = (v: string) => setValues({ ...values, [f.name]: v });
          return (
            <div className={`field${f.textarea ? ' wide' : ''}`} key={f.name}>
              <label htmlFor={fid}>{f.label}</label>
              {f.options ? (
                <select
                  id={fid}
                  value={values[f.name] ?? f.options[0]![0]}
                  onChange={(e) => set(e.target.value)}
                >
                  {f.options.map(([v, l]) => (
                    <option key={v} value={v}>
                      {l}
                    </option>
                  ))}
                </select>
              ) : f.textarea ? (
                <textarea
                  id={fid}
                  rows={3}
                  value={values[f.name] ?? ''}
                  onChange={(e) => set(e.target.value)}
                />
              ) : (
                <input
                  id={fid}
                  type={f.type ?? 'text'}
                  step={f.type === 'number' ? 'any' : undefined}
                  value={values[f.name] ?? ''}
                  onChange={(e) => set(e.target.value)}
                />
              )}
            </div>
          );
        })}
      </div>
      <ErrorBox error={error} />
      {done && <Notice tone="ok">{done}</Notice>}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Sealing and anchoring…' : 'Seal and add for patient'}
      </button>
    </form>
  );
}
