/** DICOM: Part 10 parsing, DICOM JSON model, FHIR ImagingStudy mapping, PS3.15 de-identification. */

export type { DeidentifyOptions } from './deidentify.ts';
export { deidentifyDicom } from './deidentify.ts';
export { keywordOf, tagOf } from './dictionary.ts';
export { DicomError } from './errors.ts';
export type { DicomToImagingStudyOptions } from './imaging-study.ts';
export { dicomToImagingStudy, dicomToPatient, patientFullUrl } from './imaging-study.ts';
export type { DicomDataset, DicomElement, DicomItem } from './model.ts';
export { TransferSyntax } from './model.ts';
export { parseDicom } from './parse.ts';
export type { DicomJson, DicomValue, PersonName } from './values.ts';
export {
  dicomElement,
  dicomItems,
  dicomNumber,
  dicomString,
  numberValues,
  textValues,
  toDicomJson,
} from './values.ts';
export { writeDicom } from './write.ts';
