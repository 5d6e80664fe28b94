/**
 * The `medbloc` command line. Every command runs unattended when asked to (passphrase from MEDBLOC_PASSPHRASE or
 * --passphrase-file, `--json` for machines); every failure is one line on stderr and a non-zero exit.
 */
import { Command, Option } from 'commander';
import type { GlobalOptions } from './context.ts';

// Commands load on use: a record transfer shouldn't carry the node's server stack in memory.
const account = () => import('./commands/account.ts');
const authority = () => import('./commands/authority.ts');
const record = () => import('./commands/record.ts');

const program = new Command('medbloc')
  .description('MedBloc: patient-controlled medical records, encrypted on your device and anchored on chain')
  .version('0.1.0')
  .option('--node <url>', 'MedBloc node URL (env MEDBLOC_NODE, default http://127.0.0.1:7400)')
  .option('--id <name>', 'identity name (keystore ~/.medbloc/keys/<name>.json)')
  .option('--keystore <file>', 'keystore file (env MEDBLOC_KEYSTORE)')
  .option('--passphrase-file <file>', 'read the keystore passphrase from a file (or env MEDBLOC_PASSPHRASE)')
  .option('--json', 'machine-readable output')
  .showHelpAfterError();

const g = (cmd: Command) => cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;

program
  .command('init')
  .description('create an identity (mnemonic shown once) and its passphrase-encrypted keystore')
  .option('--mnemonic-file <file>', 'restore from a recovery phrase instead of creating one')
  .option('--force', 'replace an existing keystore')
  .action(async (_o, cmd: Command) => (await import('./commands/init.ts')).init(g(cmd)));

const nodeCmd = program.command('node').description('run a MedBloc node');
nodeCmd
  .command('start')
  .description('start a node with embedded defaults (local chain, disk blobs, SQLite)')
  .option('--home <dir>', 'data directory (env MEDBLOC_HOME, default ./.medbloc)')
  .option('--port <port>', 'HTTP port (env MEDBLOC_PORT, default 7400)')
  .option('--host <host>', 'HTTP host (env MEDBLOC_HOST, default 127.0.0.1)')
  .action(async (_o, cmd: Command) =>
    (await import('./commands/node.ts')).nodeStart(g(cmd) as { home?: string; port?: string; host?: string }),
  );

const accountCmd = program.command('account').description('your on-chain account');
accountCmd
  .command('register')
  .description('register this identity and its encryption key on chain (gasless)')
  .addOption(new Option('--role <role...>', 'declared roles').choices(['patient', 'provider', 'researcher']))
  .action(async (_o, cmd: Command) => (await account()).register(g(cmd)));
accountCmd
  .command('show [address]')
  .description('registration, roles and certifications of an account')
  .action(async (address: string | undefined, _o, cmd: Command) => (await account()).show(address, g(cmd)));

const authorityCmd = program.command('authority').description('certification by a trusted authority');
authorityCmd
  .command('certify <address>')
  .description('certify a provider or researcher (signed by your authority identity)')
  .option('--role <role>', 'provider | researcher', 'provider')
  .option('--expires <date>', 'expiry date (default: one year)')
  .option('--credential <file|text>', 'credential evidence; only its hash goes on chain')
  .action(async (address: string, _o, cmd: Command) => (await authority()).certify(address, g(cmd)));
authorityCmd
  .command('revoke <address>')
  .description('revoke a certification')
  .option('--role <role>', 'provider | researcher', 'provider')
  .action(async (address: string, _o, cmd: Command) => (await authority()).revoke(address, g(cmd)));

program
  .command('admin')
  .description('node operator actions (run on the node machine)')
  .command('add-authority <address>')
  .description('grant the authority role with the deployment admin key')
  .option('--home <dir>', 'node data directory')
  .action(async (address: string, _o, cmd: Command) => (await authority()).addAuthority(address, g(cmd)));

const recordCmd = program.command('record').description('medical records');
recordCmd
  .command('add <file>')
  .description(
    'seal and anchor a FHIR resource (a Bundle becomes one record per entry, in one batch) or any file',
  )
  .option('--owner <address>', 'the patient who owns it (certified providers only; default: yourself)')
  .option('--supersedes <recordId>', 'this record corrects an earlier one')
  .option('--whole', 'store a FHIR Bundle as a single record')
  .option('--raw', 'store the file as opaque bytes, even if it is JSON')
  .action(async (file: string, _o, cmd: Command) => (await record()).add(file, g(cmd)));
recordCmd
  .command('list')
  .description('list your records (or --owner)')
  .option('--owner <address>', 'whose records')
  .action(async (_o, cmd: Command) => (await record()).list(g(cmd)));
recordCmd
  .command('get <recordId>')
  .description('fetch, verify and decrypt a record')
  .option('--purpose <purpose>', "why you read another's record: care | research", 'care')
  .option('-o, --output <file>', 'write the plaintext to a file (written only if every check passes)')
  .action(async (id: string, _o, cmd: Command) => (await record()).get(id, g(cmd)));
recordCmd
  .command('verify <recordId>')
  .description('verify a record against the chain without keeping it')
  .action(async (id: string, _o, cmd: Command) => (await record()).verify(id, g(cmd)));

const consent = () => import('./commands/consent.ts');
const scopeOptions = (cmd: Command) =>
  cmd
    .option('--record <recordId>', 'one record')
    .option('--category <name>', 'a category: labs, imaging, medications, notes, genomics, other')
    .option('--purpose <purpose>', 'care | research', 'care');
scopeOptions(
  program.command('grant <account>').description('let a provider or researcher read a record or a category'),
)
  .option('--expires <date>', 'when the grant lapses (default: until revoked)')
  .option('--for <patient>', 'as a delegate: share this patient’s category')
  .action(async (account: string, _o, cmd: Command) => (await consent()).grant(account, g(cmd)));
scopeOptions(program.command('revoke <account>').description('withdraw a grant (a category gets a new key)'))
  .option('--for <patient>', 'as a delegate: withdraw a grant of this patient’s')
  .action(async (account: string, _o, cmd: Command) => (await consent()).revoke(account, g(cmd)));
program
  .command('grants')
  .description('consent grants')
  .command('list')
  .description('grants you made (or --received)')
  .option('--received', 'grants made to you')
  .option('--all', 'include revoked and lapsed grants')
  .action(async (_o, cmd: Command) => (await consent()).list(g(cmd)));

const delegate = () => import('./commands/delegate.ts');
const delegateCmd = program
  .command('delegate')
  .description('guardians and carers who act for you (share your records, add records for you)');
delegateCmd
  .command('add <address>')
  .description('appoint a registered account as your guardian or carer')
  .option('--kind <kind>', 'guardian | carer', 'carer')
  .option('--expires <date>', 'when the appointment lapses (default: until revoked)')
  .action(async (address: string, _o, cmd: Command) => (await delegate()).add(address, g(cmd)));
delegateCmd
  .command('remove <address>')
  .description('revoke a delegate (yours, or as a guardian of a minor: one of --patient’s carers)')
  .option('--patient <address>', 'the patient (default: yourself)')
  .action(async (address: string, _o, cmd: Command) => (await delegate()).remove(address, g(cmd)));
delegateCmd
  .command('list')
  .description('your delegates (or --patient’s, or --for: the patients you act for)')
  .option('--patient <address>', 'whose delegates')
  .option('--for', 'the patients you act for')
  .option('--all', 'include revoked and lapsed delegates')
  .action(async (_o, cmd: Command) => (await delegate()).list(g(cmd)));

const recovery = () => import('./commands/recovery.ts');
const recoveryCmd = program.command('recovery').description('social recovery of your keys by guardians');
recoveryCmd
  .command('setup')
  .description('split your recovery secret among guardians (k of n restore it; no node learns it)')
  .requiredOption('--guardian <address...>', 'registered guardian accounts')
  .requiredOption('--threshold <k>', 'how many guardians restore your keys')
  .action(async (_o, cmd: Command) => (await recovery()).setup(g(cmd)));
recoveryCmd
  .command('requests <patient>')
  .description('as a guardian: the recovery keys a patient’s new device asked for')
  .action(async (patient: string, _o, cmd: Command) => (await recovery()).requests(patient, g(cmd)));
recoveryCmd
  .command('release <patient>')
  .description('as a guardian: release your share to the recovery key the patient gave you')
  .requiredOption('--key <recoveryKey>', 'the recovery key (check it with the patient first)')
  .action(async (patient: string, _o, cmd: Command) => (await recovery()).release(patient, g(cmd)));
program
  .command('recover <patient>')
  .description('on a new device: ask your guardians, then rebuild your identity into a new keystore')
  .option('--force', 'replace an existing keystore')
  .action(async (patient: string, _o, cmd: Command) => (await recovery()).recover(patient, g(cmd)));

const emergencyCmd = program
  .command('emergency')
  .description('your emergency profile, and break-glass access');
const emergency = () => import('./commands/emergency.ts');
emergencyCmd
  .command('set')
  .description('seal your emergency profile for the emergency key holders')
  .option('--file <profile.json>', 'the whole profile as JSON')
  .option('--blood-type <type>', 'e.g. O-')
  .option('--allergy <items...>', 'allergies')
  .option('--medication <items...>', 'current medications')
  .option('--condition <items...>', 'conditions')
  .option('--contact <name:phone...>', 'emergency contacts')
  .action(async (_o, cmd: Command) => (await emergency()).set(g(cmd)));
emergencyCmd
  .command('show')
  .description('your emergency profile')
  .action(async (_o, cmd: Command) => (await emergency()).show(g(cmd)));
emergencyCmd
  .command('open <patient>')
  .description("break the glass: record the request on chain, then open the patient's emergency profile")
  .requiredOption('--reason <text>', 'why (only its hash goes on chain)')
  .action(async (patient: string, _o, cmd: Command) => (await emergency()).open(patient, g(cmd)));

const auditCmd = program.command('audit').description('your access log');
auditCmd
  .command('list')
  .description('who read or tried to read your records, when and why')
  .action(async (_o, cmd: Command) => (await import('./commands/audit.ts')).list(g(cmd)));
auditCmd
  .command('verify')
  .description('check every entry against the chain and that none is missing')
  .action(async (_o, cmd: Command) => (await import('./commands/audit.ts')).verify(g(cmd)));

program
  .command('notifications')
  .description('break-glass openings, records others added for you, first reads by new parties')
  .option('--since <date>', 'only those since this date')
  .action(async (_o, cmd: Command) => (await import('./commands/notifications.ts')).notifications(g(cmd)));

program
  .command('import <file>')
  .description(
    'convert HL7 v2, FHIR XML/JSON, DICOM or VCF to FHIR R4 here, then seal and anchor the records',
  )
  .option('--owner <address>', 'the patient who owns them (certified providers only; default: yourself)')
  .option('--deidentify', 'DICOM: apply the PS3.15 basic de-identification profile before storing')
  .option('--patient <reference>', 'VCF: the FHIR patient reference for the variants', 'Patient/unknown')
  .option('--dry-run', 'convert and validate only; store nothing')
  .action(async (file: string, _o, cmd: Command) =>
    (await import('./commands/import.ts')).importFile(file, g(cmd)),
  );

program
  .command('demo')
  .description('the guided scenario, unattended, on a fresh embedded node')
  .option('--bundle <file>', 'Synthea bundle to use')
  .option('--keep', 'keep the demo data directory')
  .action(async (_o, cmd: Command) => (await import('./commands/demo.ts')).demo(g(cmd)));

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const e = err as { message?: string; code?: string; shortMessage?: string };
  const message = (e.shortMessage || e.message || String(err)).split('\n')[0];
  process.stderr.write(
    `medbloc: error: ${message}${e.code && !/^ERR_/.test(e.code) ? ` (${e.code})` : ''}\n`,
  );
  if (process.env.MEDBLOC_DEBUG) console.error(err);
  process.exitCode = 1;
}
