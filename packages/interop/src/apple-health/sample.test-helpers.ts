/**
 * A small, realistic Apple Health export for tests (our own data, written by hand): the DTD header, a locale,
 * metadata entries, a blood-pressure correlation (with Apple's top-level copies of its samples), units such as
 * count/min, kg, lb, cm, %, mg/dL, mmol<…>/L, degC and degF, and types MedBloc does not map. Also a generator of
 * large exports.
 */
import { crc32, deflateRawSync } from 'node:zlib';

/** What SAMPLE becomes: Observations produced with daily step totals, and per skipped type the count. */
export const SAMPLE_OBSERVATIONS = 19;

export const HEAD = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 14 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary|ClinicalRecord)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate
  value CDATA #REQUIRED
>
<!ELEMENT Me EMPTY>
<!ATTLIST Me
  HKCharacteristicTypeIdentifierDateOfBirth         CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBiologicalSex       CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBloodType           CDATA #REQUIRED
  HKCharacteristicTypeIdentifierFitzpatrickSkinType CDATA #REQUIRED
>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record
  type          CDATA #REQUIRED
  unit          CDATA #IMPLIED
  value         CDATA #IMPLIED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!ELEMENT Correlation ((MetadataEntry|Record)*)>
<!ELEMENT MetadataEntry EMPTY>
<!ATTLIST MetadataEntry
  key   CDATA #REQUIRED
  value CDATA #REQUIRED
>
]>
<HealthData locale="en_GB">
 <ExportDate value="2024-03-01 09:15:02 +0100"/>
 <Me HKCharacteristicTypeIdentifierDateOfBirth="1980-05-17" HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale" HKCharacteristicTypeIdentifierBloodType="HKBloodTypeAPositive" HKCharacteristicTypeIdentifierFitzpatrickSkinType="HKFitzpatrickSkinTypeNotSet"/>
`;

export const rec = (type: string, unit: string, value: string, start: string, end = start, extra = '') =>
  ` <Record type="HKQuantityTypeIdentifier${type}" sourceName="Ana’s Apple Watch" sourceVersion="10.2" device="&lt;&lt;HKDevice: 0x283a&gt;, name:Apple Watch, manufacturer:Apple Inc., model:Watch&gt;" unit="${unit}" creationDate="${end}" startDate="${start}" endDate="${end}" value="${value}"${extra ? `>\n${extra}\n </Record>` : '/>'}\n`;

export const SAMPLE = `${HEAD}${rec(
  'HeartRate',
  'count/min',
  '72',
  '2024-01-02 08:00:00 +0100',
  '2024-01-02 08:00:00 +0100',
  '  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="1"/>',
)}${rec('RestingHeartRate', 'count/min', '54', '2024-01-02 00:03:11 +0100', '2024-01-02 23:58:40 +0100')}${rec(
  'BodyMass',
  'kg',
  '64.3',
  '2024-01-03 07:30:00 -0500',
)}${rec('BodyMass', 'lb', '141.8', '2024-01-04 07:30:00 -0500')}${rec(
  'Height',
  'cm',
  '168',
  '2023-12-31 12:00:00 +0000',
)}${rec('BodyMassIndex', 'count', '22.8', '2024-01-03 07:30:00 -0500')}${rec(
  'BodyTemperature',
  'degC',
  '36.8',
  '2024-01-05 21:10:00 +0530',
)}${rec('BodyTemperature', 'degF', '98.6', '2024-01-06 21:10:00 +0530')}${rec(
  'OxygenSaturation',
  '%',
  '0.97',
  '2024-01-02 03:12:45 +0100',
)}${rec('RespiratoryRate', 'count/min', '14.5', '2024-01-02 03:12:45 +0100')}${rec(
  'BodyFatPercentage',
  '%',
  '0.254',
  '2024-01-03 07:30:00 -0500',
)}${rec(
  'BloodGlucose',
  'mg/dL',
  '98',
  '2024-01-07 07:00:00 +0100',
  '2024-01-07 07:00:00 +0100',
  '  <MetadataEntry key="HKBloodGlucoseMealTime" value="1"/>\n  <MetadataEntry key="HKWasUserEntered" value="1"/>',
)}${rec('BloodGlucose', 'mmol&lt;180.1558800000541&gt;/L', '5.4', '2024-01-08 07:00:00 +0100')}${rec(
  'StepCount',
  'count',
  '120',
  '2024-01-02 08:00:00 +0100',
  '2024-01-02 08:01:00 +0100',
)}${rec('StepCount', 'count', '80', '2024-01-02 18:30:00 +0100', '2024-01-02 18:31:00 +0100')}${rec(
  'StepCount',
  'count',
  '40',
  '2024-01-03 09:00:00 +0100',
  '2024-01-03 09:01:00 +0100',
)}${rec('StepCount', 'count', '60', '2024-01-02 12:00:00 +0100', '2024-01-02 12:01:00 +0100').replace(
  'Ana’s Apple Watch',
  'Ana’s iPhone',
)}${rec('HeartRateVariabilitySDNN', 'ms', '48.2', '2024-01-02 02:00:00 +0100', '2024-01-02 02:01:00 +0100')}${rec(
  'ActiveEnergyBurned',
  'Cal',
  '12.5',
  '2024-01-02 08:00:00 +0100',
  '2024-01-02 08:05:00 +0100',
)}${rec('ActiveEnergyBurned', 'Cal', '30.25', '2024-01-02 17:00:00 +0100', '2024-01-02 17:20:00 +0100')}${rec(
  'DistanceWalkingRunning',
  'km',
  '0.09',
  '2024-01-02 08:00:00 +0100',
)}${rec(
  'EnvironmentalAudioExposure',
  'dBASPL',
  '62',
  '2024-01-02 08:00:00 +0100',
)}${rec('HeartRate', 'count/s', '1.2', '2024-01-02 08:05:00 +0100')}
 <Record type="HKQuantityTypeIdentifierBloodPressureSystolic" sourceName="Omron" unit="mmHg" creationDate="2024-01-02 07:45:12 +0100" startDate="2024-01-02 07:45:00 +0100" endDate="2024-01-02 07:45:00 +0100" value="124"/>
 <Record type="HKQuantityTypeIdentifierBloodPressureDiastolic" sourceName="Omron" unit="mmHg" creationDate="2024-01-02 07:45:12 +0100" startDate="2024-01-02 07:45:00 +0100" endDate="2024-01-02 07:45:00 +0100" value="81"/>
 <Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Omron" sourceVersion="2.1" creationDate="2024-01-02 07:45:12 +0100" startDate="2024-01-02 07:45:00 +0100" endDate="2024-01-02 07:45:00 +0100">
  <MetadataEntry key="HKWasUserEntered" value="0"/>
  <Record type="HKQuantityTypeIdentifierBloodPressureDiastolic" sourceName="Omron" unit="mmHg" creationDate="2024-01-02 07:45:12 +0100" startDate="2024-01-02 07:45:00 +0100" endDate="2024-01-02 07:45:00 +0100" value="81"/>
  <Record type="HKQuantityTypeIdentifierBloodPressureSystolic" sourceName="Omron" unit="mmHg" creationDate="2024-01-02 07:45:12 +0100" startDate="2024-01-02 07:45:00 +0100" endDate="2024-01-02 07:45:00 +0100" value="124"/>
 </Correlation>
 <Correlation type="HKCorrelationTypeIdentifierFood" sourceName="MyFitnessPal" creationDate="2024-01-02 12:45:12 +0100" startDate="2024-01-02 12:30:00 +0100" endDate="2024-01-02 12:30:00 +0100">
  <Record type="HKQuantityTypeIdentifierDietaryEnergyConsumed" sourceName="MyFitnessPal" unit="Cal" creationDate="2024-01-02 12:45:12 +0100" startDate="2024-01-02 12:30:00 +0100" endDate="2024-01-02 12:30:00 +0100" value="540"/>
 </Correlation>
 <Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="Ana’s Apple Watch" creationDate="2024-01-02 07:00:00 +0100" startDate="2024-01-01 23:10:00 +0100" endDate="2024-01-02 06:50:00 +0100" value="HKCategoryValueSleepAnalysisAsleepCore"/>
 <Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="31.5" durationUnit="min" sourceName="Ana’s Apple Watch" creationDate="2024-01-03 19:00:00 +0100" startDate="2024-01-03 18:28:00 +0100" endDate="2024-01-03 18:59:30 +0100">
  <MetadataEntry key="HKIndoorWorkout" value="0"/>
  <WorkoutStatistics type="HKQuantityTypeIdentifierHeartRate" startDate="2024-01-03 18:28:00 +0100" endDate="2024-01-03 18:59:30 +0100" average="151" unit="count/min"/>
 </Workout>
 <ActivitySummary dateComponents="2024-01-02" activeEnergyBurned="412.5" activeEnergyBurnedGoal="500" activeEnergyBurnedUnit="Cal" appleExerciseTime="34" appleExerciseTimeGoal="30" appleStandHours="10" appleStandHoursGoal="12"/>
</HealthData>
`;

/** An export of `n` heart-rate samples, one a minute from 2024-02-01, yielded in chunks of text. */
export function* heartRateExport(n: number): Generator<string> {
  yield HEAD;
  let batch = '';
  for (let i = 0; i < n; i++) {
    const minute = String(i % 60).padStart(2, '0');
    const hour = String(Math.floor(i / 60) % 24).padStart(2, '0');
    const day = String(1 + (Math.floor(i / 1440) % 28)).padStart(2, '0');
    const d = `2024-02-${day} ${hour}:${minute}:00 +0100`;
    batch += ` <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Watch" unit="count/min" creationDate="${d}" startDate="${d}" endDate="${d}" value="${60 + (i % 40)}"/>\n`;
    if (i % 500 === 499) {
      yield batch;
      batch = '';
    }
  }
  yield `${batch}</HealthData>\n`;
}

/** A one-entry zip (deflated), laid out as Apple's export.zip: apple_health_export/export.xml. */
export function zipOf(name: string, text: string): Buffer {
  const data = Buffer.from(text);
  const packed = deflateRawSync(data);
  const fileName = Buffer.from(name);
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8); // deflate
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(packed.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(fileName.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(packed.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(fileName.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + fileName.length, 12);
  end.writeUInt32LE(local.length + fileName.length + packed.length, 16);
  return Buffer.concat([local, fileName, packed, central, fileName, end]);
}
