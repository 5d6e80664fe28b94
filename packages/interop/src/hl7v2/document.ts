/** MDM: TXA (+ the OBX segments that carry the text or the encapsulated file) → DocumentReference. */
import type { Attachment, DocumentReference } from '@medplum/fhirtypes';
import { type BundleBuilder, clean, defined, type Ref } from './bundle.ts';
import { type Ctx, concept, identifierEi, instant, tableConcept } from './datatypes.ts';
import type { Segment } from './message.ts';
import { attachmentFromEd } from './orders.ts';
import { practitionerRef } from './patient.ts';

const DOC_STATUS: Record<string, DocumentReference['docStatus']> = {
  AU: 'final',
  LA: 'final',
  DI: 'preliminary',
  DO: 'preliminary',
  IN: 'preliminary',
  IP: 'preliminary',
  PA: 'preliminary',
};

/** The document's header from TXA; `content` is added by {@link documentContent}. */
export function documentReference(
  txa: Segment,
  patient: Ref,
  encounter: Ref | undefined,
  b: BundleBuilder,
  ctx: Ctx,
): DocumentReference {
  const at = (n: number) => `line ${txa.line} (TXA-${n})`;
  const type = txa.rep(2);
  const uniqueId = txa.str(12);
  const availability = txa.str(19).toUpperCase();
  const title = type.c(2) || type.c(1) || 'Document';
  return clean<DocumentReference>({
    resourceType: 'DocumentReference',
    masterIdentifier: uniqueId ? { value: uniqueId } : undefined,
    identifier: defined([identifierEi(txa.rep(14), 'PLAC'), identifierEi(txa.rep(15), 'FILL')]),
    status: availability === 'CA' || availability === 'OB' ? 'superseded' : 'current',
    docStatus: DOC_STATUS[txa.str(17).toUpperCase()],
    type: type.empty ? undefined : (tableConcept(type.c(1), '0270', type.c(2)) ?? { text: title }),
    subject: patient,
    date: instant(txa.str(6) || txa.str(4), ctx, at(6)),
    author: defined(txa.reps(9).map((r) => practitionerRef(r, b))),
    authenticator: practitionerRef(txa.rep(10), b) ?? practitionerRef(txa.rep(22), b),
    description: title,
    content: [{ attachment: { title } }],
    context: encounter ? { encounter: [encounter] } : undefined,
  });
}

/**
 * The document body from the OBX segments that followed TXA: encapsulated data (ED) as it came, text lines
 * (TX/ST/FT) joined and stored as text/plain.
 */
export function documentContent(doc: DocumentReference, obxs: readonly Segment[]): void {
  const attachments: Attachment[] = [];
  const lines: string[] = [];
  for (const obx of obxs) {
    const type = obx.str(2).toUpperCase();
    if (type === 'ED') {
      for (const r of obx.reps(5)) {
        const a = attachmentFromEd(r);
        if (a) attachments.push(a);
      }
    } else {
      lines.push(obx.text(5));
    }
  }
  const title = doc.description;
  if (lines.length > 0) {
    attachments.unshift({
      contentType: 'text/plain; charset=utf-8',
      data: Buffer.from(lines.join('\n'), 'utf8').toString('base64'),
    });
  }
  if (attachments.length > 0) {
    doc.content = attachments.map((a) => ({ attachment: title ? { ...a, title } : a }));
  }
}

/** OBX types that carry document content in MDM (others become Observations). */
export function isDocumentBody(obx: Segment): boolean {
  return ['ED', 'TX', 'ST', 'FT'].includes(obx.str(2).toUpperCase());
}

/** An OBX carrying a file (ED) outside any report or MDM document: kept as a document of its own. */
export function documentFromObx(
  obx: Segment,
  attachments: Attachment[],
  patient: Ref,
  encounter: Ref | undefined,
): DocumentReference {
  const type = concept(obx.rep(3));
  const title = type?.text ?? type?.coding?.[0]?.display;
  return clean<DocumentReference>({
    resourceType: 'DocumentReference',
    status: 'current',
    type,
    subject: patient,
    description: title,
    content: attachments.map((a) => ({ attachment: title ? { ...a, title } : a })),
    context: encounter ? { encounter: [encounter] } : undefined,
  });
}
