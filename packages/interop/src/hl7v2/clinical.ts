/** AL1/IAM → AllergyIntolerance, DG1 → Condition. */
import type { AllergyIntolerance, CodeableConcept, Condition } from '@medplum/fhirtypes';
import { type BundleBuilder, clean, defined, type Ref } from './bundle.ts';
import { type Ctx, concept, dateTime } from './datatypes.ts';
import type { Segment } from './message.ts';
import { practitionerRef } from './patient.ts';

type Category = NonNullable<AllergyIntolerance['category']>[number];
const CATEGORY: Record<string, Category> = {
  DA: 'medication',
  DRUG: 'medication',
  MA: 'medication',
  FA: 'food',
  FOOD: 'food',
  EA: 'environment',
  AA: 'environment',
  PA: 'environment',
  LA: 'environment',
};

const CRITICALITY: Record<string, AllergyIntolerance['criticality']> = {
  SV: 'high',
  MO: 'low',
  MI: 'low',
  U: 'unable-to-assess',
};
const CLINICAL = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical';

/**
 * AL1 (set^type^code^severity^reaction^identified) or IAM (set^type^code^severity^reaction^action...^onset).
 * AL1 lists the patient's current allergies, so clinicalStatus is active; IAM action code D marks an error.
 */
export function allergy(
  seg: Segment,
  patient: Ref,
  encounter: Ref | undefined,
  ctx: Ctx,
): AllergyIntolerance | undefined {
  const at = (n: number) => `line ${seg.line} (${seg.name}-${n})`;
  const code = concept(seg.rep(3));
  if (code === undefined) {
    ctx.warnings.push(`${at(3)}: allergen is empty; segment skipped`);
    return undefined;
  }
  const type = seg.rep(2);
  const category = CATEGORY[type.c(1).toUpperCase()];
  const manifestations = defined(
    seg
      .reps(5)
      .map((r): CodeableConcept | undefined =>
        r.c(2) || r.c(3) ? concept(r) : r.c(1) ? { text: r.c(1) } : undefined,
      ),
  );
  const deleted = seg.name === 'IAM' && seg.str(6).toUpperCase() === 'D';
  const onset = seg.name === 'IAM' ? dateTime(seg.str(11), ctx, at(11)) : dateTime(seg.str(6), ctx, at(6));
  return clean<AllergyIntolerance>({
    resourceType: 'AllergyIntolerance',
    clinicalStatus: deleted ? undefined : { coding: [{ system: CLINICAL, code: 'active' }] },
    verificationStatus: deleted
      ? {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification',
              code: 'entered-in-error',
            },
          ],
        }
      : undefined,
    category: category ? [category] : undefined,
    criticality: CRITICALITY[seg.rep(4).c(1).toUpperCase()],
    code,
    patient,
    encounter,
    onsetDateTime: onset,
    reaction: manifestations.length > 0 ? [{ manifestation: manifestations }] : undefined,
  });
}

const DIAGNOSIS_TYPE: Record<string, string> = { A: 'admitting', W: 'working', F: 'final' };

/** DG1 (set^method^code^description^time^type...^clinician(16)) → an encounter diagnosis. */
export function condition(
  dg1: Segment,
  patient: Ref,
  encounter: Ref | undefined,
  b: BundleBuilder,
  ctx: Ctx,
): Condition | undefined {
  const at = (n: number) => `line ${dg1.line} (DG1-${n})`;
  const code = concept(dg1.rep(3)) ?? (dg1.str(4) ? { text: dg1.str(4) } : undefined);
  if (code === undefined) {
    ctx.warnings.push(`${at(3)}: diagnosis code and description are empty; segment skipped`);
    return undefined;
  }
  if (code.text === undefined && dg1.str(4)) code.text = dg1.str(4);
  const type = dg1.str(6).toUpperCase();
  return clean<Condition>({
    resourceType: 'Condition',
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/condition-category',
            code: 'encounter-diagnosis',
            display: 'Encounter Diagnosis',
          },
        ],
        ...(DIAGNOSIS_TYPE[type] !== undefined && { text: DIAGNOSIS_TYPE[type] }),
      },
    ],
    verificationStatus:
      type === 'F'
        ? {
            coding: [
              { system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' },
            ],
          }
        : type === 'W' || type === 'A'
          ? {
              coding: [
                { system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'provisional' },
              ],
            }
          : undefined,
    code,
    subject: patient,
    encounter,
    recordedDate: dateTime(dg1.str(5), ctx, at(5)),
    asserter: practitionerRef(dg1.rep(16), b),
  });
}
