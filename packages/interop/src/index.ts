/** @medbloc/interop — converters from the formats hospitals send into FHIR R4. */
