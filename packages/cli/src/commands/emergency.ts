/**
 * `medbloc emergency set|show|open`: a patient keeps an emergency profile (blood type, allergies, medications,
 * conditions, contacts) that a certified provider can open in an emergency — only after recording a break-glass
 * request on chain, and always visible in the patient's access log.
 */
import { readFile } from 'node:fs/promises';
import type { EmergencyProfile } from '@medbloc/sdk';
import { getAddress, isAddress } from 'viem';
import { CliError, clientFor, type GlobalOptions, print } from '../context.ts';

const list = (v: string | string[] | undefined) =>
  (Array.isArray(v) ? v : v ? [v] : [])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);

function describe(p: EmergencyProfile): string {
  return [
    `Blood type   ${p.bloodType ?? '-'}`,
    `Allergies    ${p.allergies?.join(', ') || '-'}`,
    `Medications  ${p.medications?.join(', ') || '-'}`,
    `Conditions   ${p.conditions?.join(', ') || '-'}`,
    `Contacts     ${p.contacts?.map((c) => `${c.name}${c.relation ? ` (${c.relation})` : ''}${c.phone ? ` ${c.phone}` : ''}`).join('; ') || '-'}`,
  ].join('\n');
}

export async function set(
  o: GlobalOptions & {
    file?: string;
    bloodType?: string;
    allergy?: string[];
    medication?: string[];
    condition?: string[];
    contact?: string[];
  },
) {
  let profile: EmergencyProfile;
  if (o.file) {
    try {
      profile = JSON.parse(await readFile(o.file, 'utf8')) as EmergencyProfile;
    } catch (err) {
      throw new CliError(`cannot read the profile ${o.file}: ${(err as Error).message}`, 'INVALID_PROFILE');
    }
  } else {
    profile = {
      ...(o.bloodType ? { bloodType: o.bloodType } : {}),
      allergies: list(o.allergy),
      medications: list(o.medication),
      conditions: list(o.condition),
      contacts: list(o.contact).map((c) => {
        const [name, phone] = c.split(':');
        return { name: name!.trim(), ...(phone ? { phone: phone.trim() } : {}) };
      }),
    };
  }
  const client = await clientFor(o);
  const out = await client.setEmergencyProfile(profile);
  print(
    o,
    out,
    `Emergency profile sealed; its key is split ${out.threshold}-of-${out.holders} among the emergency key holders.`,
  );
}

export async function show(o: GlobalOptions) {
  const client = await clientFor(o);
  const profile = await client.emergencyProfile();
  print(o, profile, describe(profile));
}

export async function open(patient: string, o: GlobalOptions & { reason?: string }) {
  if (!isAddress(patient)) throw new CliError(`"${patient}" is not an address`, 'INVALID_ADDRESS');
  if (!o.reason?.trim()) throw new CliError('state the reason with --reason', 'REASON_REQUIRED');
  const client = await clientFor(o);
  const out = await client.breakGlass(getAddress(patient), o.reason);
  print(
    o,
    out,
    `Break-glass request ${out.requestId} recorded on chain (tx ${out.txHash}); the patient is notified.\n${describe(out.profile)}`,
  );
}
