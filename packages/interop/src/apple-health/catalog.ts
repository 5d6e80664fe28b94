/**
 * Which HealthKit quantity types become which FHIR Observation: the LOINC code, the observation category, the
 * vital-signs profile where one applies, and how each HealthKit unit is written in UCUM (with the factor for the
 * types HealthKit stores as fractions, e.g. oxygen saturation 0.97 with unit "%"). Types not listed here are counted
 * and reported as skipped by the converter, never dropped silently.
 */

export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';
export const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const VS = 'http://hl7.org/fhir/StructureDefinition/';

export type Category = 'vital-signs' | 'activity' | 'laboratory';

export interface Coding {
  system: string;
  code: string;
  display: string;
}

/** A HealthKit unit as written in UCUM; `scale` multiplies the value (fractions stored under "%"). */
export interface UnitSpec {
  code: string;
  unit: string;
  scale?: number;
  /** A LOINC coding that depends on the unit (blood glucose by mass or by substance). */
  coding?: Coding;
}

export interface QuantitySpec {
  coding: Coding[];
  category: Category;
  /** The FHIR vital-signs profile the Observation follows, when there is one. */
  profile?: string;
  units: Record<string, UnitSpec>;
  /** Cumulative types (steps, energy) are summed per day and source unless aggregation is turned off. */
  cumulative?: boolean;
}

const loinc = (code: string, display: string): Coding => ({ system: LOINC, code, display });
const perMin = (unit: string): Record<string, UnitSpec> => ({ 'count/min': { code: '/min', unit } });
const mass: Record<string, UnitSpec> = {
  kg: { code: 'kg', unit: 'kg' },
  g: { code: 'g', unit: 'g' },
  lb: { code: '[lb_av]', unit: 'lb' },
};
const length: Record<string, UnitSpec> = {
  cm: { code: 'cm', unit: 'cm' },
  m: { code: 'm', unit: 'm' },
  in: { code: '[in_i]', unit: 'in' },
  ft: { code: '[ft_i]', unit: 'ft' },
};
const fraction: Record<string, UnitSpec> = { '%': { code: '%', unit: '%', scale: 100 } };
const energy: Record<string, UnitSpec> = {
  kcal: { code: 'kcal', unit: 'kcal' },
  Cal: { code: 'kcal', unit: 'kcal' },
  kJ: { code: 'kJ', unit: 'kJ' },
};

const HK = 'HKQuantityTypeIdentifier';

/** HealthKit quantity type identifier → FHIR mapping. */
export const QUANTITY_TYPES: Record<string, QuantitySpec> = {
  [`${HK}HeartRate`]: {
    coding: [loinc('8867-4', 'Heart rate')],
    category: 'vital-signs',
    profile: `${VS}heartrate`,
    units: perMin('beats/minute'),
  },
  [`${HK}RestingHeartRate`]: {
    coding: [loinc('40443-4', 'Heart rate --resting')],
    category: 'vital-signs',
    profile: `${VS}heartrate`,
    units: perMin('beats/minute'),
  },
  [`${HK}HeartRateVariabilitySDNN`]: {
    coding: [loinc('80404-7', 'R-R interval.standard deviation (Heart rate variability)')],
    category: 'vital-signs',
    units: { ms: { code: 'ms', unit: 'ms' } },
  },
  [`${HK}RespiratoryRate`]: {
    coding: [loinc('9279-1', 'Respiratory rate')],
    category: 'vital-signs',
    profile: `${VS}resprate`,
    units: perMin('breaths/minute'),
  },
  [`${HK}OxygenSaturation`]: {
    coding: [
      loinc('59408-5', 'Oxygen saturation in Arterial blood by Pulse oximetry'),
      loinc('2708-6', 'Oxygen saturation in Arterial blood'),
    ],
    category: 'vital-signs',
    profile: `${VS}oxygensat`,
    units: fraction,
  },
  [`${HK}BodyTemperature`]: {
    coding: [loinc('8310-5', 'Body temperature')],
    category: 'vital-signs',
    profile: `${VS}bodytemp`,
    units: { degC: { code: 'Cel', unit: 'C' }, degF: { code: '[degF]', unit: 'F' } },
  },
  [`${HK}BodyMass`]: {
    coding: [loinc('29463-7', 'Body weight')],
    category: 'vital-signs',
    profile: `${VS}bodyweight`,
    units: mass,
  },
  [`${HK}Height`]: {
    coding: [loinc('8302-2', 'Body height')],
    category: 'vital-signs',
    profile: `${VS}bodyheight`,
    units: length,
  },
  [`${HK}BodyMassIndex`]: {
    coding: [loinc('39156-5', 'Body mass index (BMI) [Ratio]')],
    category: 'vital-signs',
    profile: `${VS}bmi`,
    units: { count: { code: 'kg/m2', unit: 'kg/m2' } },
  },
  [`${HK}BodyFatPercentage`]: {
    coding: [loinc('41982-0', 'Percentage of body fat Measured')],
    category: 'vital-signs',
    units: fraction,
  },
  [`${HK}BloodGlucose`]: {
    coding: [loinc('2339-0', 'Glucose [Mass/volume] in Blood')],
    category: 'laboratory',
    units: {
      'mg/dL': { code: 'mg/dL', unit: 'mg/dL' },
      'mmol/L': {
        code: 'mmol/L',
        unit: 'mmol/L',
        coding: loinc('15074-8', 'Glucose [Moles/volume] in Blood'),
      },
    },
  },
  [`${HK}StepCount`]: {
    coding: [loinc('55423-8', 'Number of steps in unspecified time Pedometer')],
    category: 'activity',
    units: { count: { code: '{steps}', unit: 'steps' } },
    cumulative: true,
  },
  [`${HK}ActiveEnergyBurned`]: {
    coding: [loinc('41981-2', 'Calories burned')],
    category: 'activity',
    units: energy,
    cumulative: true,
  },
};

/** Blood pressure: a HealthKit correlation of a systolic and a diastolic sample becomes one panel. */
export const BLOOD_PRESSURE = {
  correlation: 'HKCorrelationTypeIdentifierBloodPressure',
  systolic: `${HK}BloodPressureSystolic`,
  diastolic: `${HK}BloodPressureDiastolic`,
  panel: loinc('85354-9', 'Blood pressure panel with all children optional'),
  systolicCode: loinc('8480-6', 'Systolic blood pressure'),
  diastolicCode: loinc('8462-4', 'Diastolic blood pressure'),
  profile: `${VS}bp`,
  units: { mmHg: { code: 'mm[Hg]', unit: 'mmHg' } } as Record<string, UnitSpec>,
} as const;

/** HealthKit writes mmol/L of glucose with its molar mass ("mmol<180.1558800000541>/L"); the mass is dropped. */
export function normaliseUnit(unit: string): string {
  return unit.replace(/^mmol<[\d.]+>\/L$/, 'mmol/L');
}
