/** RXA (+RXR, +ORC) → Immunization. */
import type { Immunization } from '@medplum/fhirtypes';
import { type BundleBuilder, clean, defined, type Ref } from './bundle.ts';
import { type Ctx, concept, date, dateTime, decimal, identifierEi } from './datatypes.ts';
import { Hl7v2Error } from './errors.ts';
import type { Segment } from './message.ts';
import { practitionerRef } from './patient.ts';

/**
 * RXA-20 completion status and RXA-21 action code: CP/PA → completed, RE/NA → not-done, action D → entered-in-error.
 */
function status(rxa: Segment): Immunization['status'] {
  if (rxa.str(21).toUpperCase() === 'D') return 'entered-in-error';
  const completion = rxa.str(20).toUpperCase();
  return completion === 'RE' || completion === 'NA' ? 'not-done' : 'completed';
}

export function immunization(
  rxa: Segment,
  rxr: Segment | undefined,
  orc: Segment | undefined,
  patient: Ref,
  encounter: Ref | undefined,
  b: BundleBuilder,
  ctx: Ctx,
): Immunization {
  const at = (n: number) => `line ${rxa.line} (RXA-${n})`;
  const vaccineCode = concept(rxa.rep(5));
  if (vaccineCode === undefined)
    throw new Hl7v2Error('RXA-5 (administered code) is empty', { line: rxa.line, segment: 'RXA' });
  const occurrence = dateTime(rxa.str(3), ctx, at(3));
  if (occurrence === undefined) {
    throw new Hl7v2Error('RXA-3 (start of administration) is empty or not a date', {
      line: rxa.line,
      segment: 'RXA',
    });
  }
  const amount = rxa.str(6);
  const dose = amount === '999' ? undefined : decimal(amount);
  const units = rxa.rep(7);
  const source = rxa.rep(9);
  const sourceCode = source.c(1);
  const performer = defined(rxa.reps(10).map((r) => practitionerRef(r, b)));
  const st = status(rxa);
  const refusal = concept(rxa.rep(18));
  const manufacturer = rxa.rep(17);
  return clean<Immunization>({
    resourceType: 'Immunization',
    identifier: defined([identifierEi(orc?.rep(2), 'PLAC'), identifierEi(orc?.rep(3), 'FILL')]),
    status: st,
    statusReason: st === 'not-done' ? refusal : undefined,
    vaccineCode,
    patient,
    encounter,
    occurrenceDateTime: occurrence,
    primarySource:
      sourceCode === '00' ? true : sourceCode.startsWith('0') && sourceCode !== '' ? false : undefined,
    reportOrigin: sourceCode !== '' && sourceCode !== '00' ? concept(source) : undefined,
    manufacturer: manufacturer.empty ? undefined : { display: manufacturer.c(2) || manufacturer.c(1) },
    lotNumber: rxa.str(15),
    expirationDate: date(rxa.str(16), ctx, at(16)),
    site: rxr ? concept(rxr.rep(2)) : undefined,
    route: rxr ? concept(rxr.rep(1)) : undefined,
    doseQuantity:
      dose === undefined
        ? undefined
        : clean({
            value: dose,
            unit: units.c(2) || units.c(1),
            system: units.c(3).toUpperCase() === 'UCUM' ? 'http://unitsofmeasure.org' : undefined,
            code: units.c(3).toUpperCase() === 'UCUM' ? units.c(1) : undefined,
          }),
    performer: performer.map((actor) => ({
      function: {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/v2-0443',
            code: 'AP',
            display: 'Administering Provider',
          },
        ],
      },
      actor,
    })),
  });
}
