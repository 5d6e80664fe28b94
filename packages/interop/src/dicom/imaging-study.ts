/**
 * DICOM data set(s) -> FHIR R4 `ImagingStudy` (and a `Patient` summary), following the DICOM-to-FHIR attribute
 * mapping of the ImagingStudy resource page: study/series/instance UIDs, modality, counts, start, descriptions,
 * body site. Several data sets of one study (one per instance) merge into one resource.
 */
import { createHash } from 'node:crypto';
import type { Coding, ImagingStudy, ImagingStudySeries, Patient } from '@medplum/fhirtypes';
import type { DicomDataset, DicomItem } from './model.ts';
import { dicomElement, dicomNumber, dicomString, textValues } from './values.ts';

export interface DicomToImagingStudyOptions {
  /** Where the DICOM object (or its encrypted blob) can be fetched; recorded as a contained Endpoint. */
  attachmentUrl?: string;
  /** Reference of the patient the study belongs to; defaults to the `urn:uuid:` of `dicomToPatient`'s resource. */
  patientReference?: string;
}

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';

/**
 * Build an ImagingStudy from one or more parsed DICOM instances of the same study.
 *
 * @example
 * const study = dicomToImagingStudy(parseDicom(bytes), { attachmentUrl: 'medbloc://records/abc' });
 */
export function dicomToImagingStudy(
  input: DicomDataset | readonly DicomDataset[],
  options: DicomToImagingStudyOptions = {},
): ImagingStudy {
  const datasets = Array.isArray(input) ? (input as readonly DicomDataset[]) : [input as DicomDataset];
  const first = datasets[0];
  if (first === undefined) throw new TypeError('dicomToImagingStudy needs at least one data set');
  const studyUid = dicomString(first, 'StudyInstanceUID');
  const series = new Map<string, ImagingStudySeries>();
  const modalities = new Map<string, Coding>();
  for (const ds of datasets) {
    const seriesUid = dicomString(ds, 'SeriesInstanceUID') ?? 'unknown';
    let entry = series.get(seriesUid);
    if (entry === undefined) {
      const modality = modalityCoding(ds);
      entry = { uid: seriesUid, modality, instance: [] };
      modalities.set(modality.code ?? '', modality);
      setIf(entry, 'number', dicomNumber(ds, 'SeriesNumber'));
      setIf(entry, 'description', dicomString(ds, 'SeriesDescription'));
      const bodyPart = dicomString(ds, 'BodyPartExamined');
      if (bodyPart !== undefined) entry.bodySite = { display: bodyPart };
      const laterality = dicomString(ds, 'Laterality');
      if (laterality !== undefined) entry.laterality = { system: DCM, code: laterality };
      const started = dateTime(ds, 'SeriesDate', 'SeriesTime');
      if (started !== undefined) entry.started = started;
      if (options.attachmentUrl !== undefined) entry.endpoint = [{ reference: '#endpoint' }];
      series.set(seriesUid, entry);
    }
    const sopInstanceUid = dicomString(ds, 'SOPInstanceUID') ?? dicomString(ds, 'MediaStorageSOPInstanceUID');
    const sopClassUid = dicomString(ds, 'SOPClassUID') ?? metaString(ds, '00020002');
    if (sopInstanceUid !== undefined && !entry.instance?.some((i) => i.uid === sopInstanceUid)) {
      const instance: NonNullable<ImagingStudySeries['instance']>[number] = {
        uid: sopInstanceUid,
        sopClass: {
          system: 'urn:ietf:rfc:3986',
          code: `urn:oid:${sopClassUid ?? '1.2.840.10008.5.1.4.1.1.7'}`,
        },
      };
      setIf(instance, 'number', dicomNumber(ds, 'InstanceNumber'));
      entry.instance?.push(instance);
    }
  }
  const allSeries = [...series.values()].map((s) => (s.instance?.length ? s : withoutInstances(s)));
  const study: ImagingStudy = {
    resourceType: 'ImagingStudy',
    status: 'available',
    subject: { reference: options.patientReference ?? patientFullUrl(first) },
    numberOfSeries: allSeries.length,
    numberOfInstances: allSeries.reduce((n, s) => n + (s.instance?.length ?? 0), 0),
    modality: [...modalities.values()],
    series: allSeries,
  };
  if (studyUid !== undefined) study.identifier = [{ system: 'urn:dicom:uid', value: `urn:oid:${studyUid}` }];
  const accession = dicomString(first, 'AccessionNumber');
  if (accession !== undefined) {
    study.identifier = [
      ...(study.identifier ?? []),
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] },
        value: accession,
      },
    ];
  }
  const started = dateTime(first, 'StudyDate', 'StudyTime');
  if (started !== undefined) study.started = started;
  setIf(study, 'description', dicomString(first, 'StudyDescription'));
  const referrer = dicomString(first, 'ReferringPhysicianName');
  if (referrer !== undefined && referrer.replace(/\^/g, '') !== '')
    study.referrer = { display: personNameText(referrer) };
  if (options.attachmentUrl !== undefined) {
    study.contained = [
      {
        resourceType: 'Endpoint',
        id: 'endpoint',
        status: 'active',
        connectionType: {
          system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
          code: 'direct-project',
        },
        payloadType: [{ text: 'DICOM' }],
        payloadMimeType: ['application/dicom'],
        address: options.attachmentUrl,
      },
    ];
    study.endpoint = [{ reference: '#endpoint' }];
  }
  return study;
}

/**
 * A Patient summary from the patient module (name, identifier, birth date, sex), with a stable `urn:uuid:` id
 * derived from Patient ID and issuer so instances of one patient reference one resource in a transaction bundle.
 */
export function dicomToPatient(dataset: DicomDataset): Patient {
  const patient: Patient = { resourceType: 'Patient', id: patientUuid(dataset) };
  const id = dicomString(dataset, 'PatientID');
  if (id !== undefined) {
    const issuer = dicomString(dataset, 'IssuerOfPatientID');
    patient.identifier = [
      issuer === undefined ? { value: id } : { value: id, assigner: { display: issuer } },
    ];
  }
  const nameElement = dicomElement(dataset, 'PatientName');
  const name = nameElement === undefined ? undefined : textValues(nameElement, dataset)[0];
  if (name !== undefined && name.replace(/[\^=]/g, '') !== '') {
    const [family, given, middle, prefix, suffix] = (name.split('=')[0] ?? '').split('^');
    const human: NonNullable<Patient['name']>[number] = { text: personNameText(name) };
    if (family) human.family = family;
    const givens = [given, middle].filter((g): g is string => !!g);
    if (givens.length > 0) human.given = givens;
    if (prefix) human.prefix = [prefix];
    if (suffix) human.suffix = [suffix];
    patient.name = [human];
  }
  const birth = dicomString(dataset, 'PatientBirthDate');
  if (birth !== undefined && /^\d{8}$/.test(birth) && birth !== '00000000') {
    patient.birthDate = `${birth.slice(0, 4)}-${birth.slice(4, 6)}-${birth.slice(6, 8)}`;
  }
  const sex = dicomString(dataset, 'PatientSex');
  const gender = ({ M: 'male', F: 'female', O: 'other' } as const)[sex as 'M' | 'F' | 'O'];
  if (gender !== undefined) patient.gender = gender;
  return patient;
}

/** The `urn:uuid:` under which `dicomToPatient`'s resource is meant to appear in a bundle. */
export function patientFullUrl(dataset: DicomDataset): string {
  return `urn:uuid:${patientUuid(dataset)}`;
}

function patientUuid(dataset: DicomDataset): string {
  const key = `${dicomString(dataset, 'IssuerOfPatientID') ?? ''}|${dicomString(dataset, 'PatientID') ?? dicomString(dataset, 'StudyInstanceUID') ?? ''}`;
  const h = createHash('sha256').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((Number.parseInt(h.slice(16, 17), 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function modalityCoding(ds: DicomItem): Coding {
  const modality = dicomString(ds, 'Modality') ?? 'OT';
  return { system: DCM, code: modality };
}

function metaString(ds: DicomDataset, tag: string): string | undefined {
  const element = ds.meta.get(tag);
  return element === undefined ? undefined : textValues(element, ds)[0] || undefined;
}

/** DICOM DA + TM (+ Timezone Offset From UTC) -> FHIR dateTime; a time is only given with a known offset. */
function dateTime(ds: DicomItem, dateKey: string, timeKey: string): string | undefined {
  const da = dicomString(ds, dateKey)?.replace(/\./g, '');
  if (da === undefined || !/^\d{8}$/.test(da)) return undefined;
  const date = `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6, 8)}`;
  const tm = dicomString(ds, timeKey)?.replace(/:/g, '');
  const offset = dicomString(ds, 'TimezoneOffsetFromUTC');
  if (tm === undefined || !/^\d{6}/.test(tm) || offset === undefined || !/^[+-]\d{4}$/.test(offset))
    return date;
  const fraction = /^\d{6}\.(\d+)/.exec(tm)?.[1];
  const time = `${tm.slice(0, 2)}:${tm.slice(2, 4)}:${tm.slice(4, 6)}${fraction ? `.${fraction}` : ''}`;
  return `${date}T${time}${offset.slice(0, 3)}:${offset.slice(3)}`;
}

function personNameText(pn: string): string {
  const [family, given, middle, prefix, suffix] = (pn.split('=')[0] ?? '').split('^');
  return [prefix, given, middle, family, suffix].filter((p) => !!p).join(' ');
}

function withoutInstances(series: ImagingStudySeries): ImagingStudySeries {
  const { instance: _, ...rest } = series;
  return rest;
}

function setIf<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined && !(typeof value === 'number' && Number.isNaN(value))) target[key] = value;
}
