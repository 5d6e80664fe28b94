/** Small FHIR resources the integration tests write. */

/** A laboratory glucose Observation (category "labs"), `value` mg/dL. */
export const lab = (value: number) => ({
  resourceType: 'Observation',
  status: 'final',
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }],
    },
  ],
  code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }] },
  valueQuantity: { value, unit: 'mg/dL' },
});
