/**
 * The `medbloc` command line. Every command runs unattended when asked to (passphrase from MEDBLOC_PASSPHRASE or
 * --passphrase-file, `--json` for machines); every failure is one line on stderr (a JSON object with `--json`) and a
 * non-zero exit.
 */
import { Command, Option } from 'commander';
import type { GlobalOptions } from './context.ts';

// Commands load on use: a record transfer shouldn't carry the node's server stack in memory.
const account = () => import('./commands/account.ts');
const authority = () => import('./commands/authority.ts');
const record = () => import('./commands/record.ts');
const recordIngest = () => import('./commands/record-ingest.ts');

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
  .option(
    '--council',
    'certify through the authority council with your own key (mints the MP reward; pays gas)',
  )
  .action(async (address: string, _o, cmd: Command) => (await authority()).certify(address, g(cmd)));
authorityCmd
  .command('revoke <address>')
  .description('revoke a certification')
  .option('--role <role>', 'provider | researcher', 'provider')
  .action(async (address: string, _o, cmd: Command) => (await authority()).revoke(address, g(cmd)));
authorityCmd
  .command('add <address>')
  .description(
    'as a council member: propose adding an authority (sent with your key; executes at the threshold)',
  )
  .action(async (address: string, _o, cmd: Command) => (await authority()).add(address, g(cmd)));
authorityCmd
  .command('remove <address>')
  .description('as a council member: propose removing an authority')
  .action(async (address: string, _o, cmd: Command) => (await authority()).remove(address, g(cmd)));
authorityCmd
  .command('approve <proposalId>')
  .description('as a council member: approve a proposal (and execute it once the threshold is met)')
  .action(async (id: string, _o, cmd: Command) => (await authority()).approve(id, g(cmd)));
authorityCmd
  .command('proposals')
  .description("the council's proposals and their approvals")
  .action(async (_o, cmd: Command) => (await authority()).proposals(g(cmd)));
authorityCmd
  .command('params')
  .description('show the certification parameters, or (as a council member) propose changing some')
  .option('--review-size <n>', 'reviewers drawn per case')
  .option('--quorum <n>', 'revealed votes needed for a decision')
  .option('--commit-window <seconds>', 'seconds from a case opening to the end of commits')
  .option('--reveal-window <seconds>', 'seconds from the end of commits to the end of reveals')
  .action(async (_o, cmd: Command) => (await authority()).params(g(cmd)));

const cert = () => import('./commands/cert.ts');
const certCmd = program.command('cert').description('certification by staked, secret-ballot peer review');
certCmd
  .command('apply')
  .description('apply for certification: your evidence is sealed here and shown to the drawn reviewers only')
  .option('--role <role>', 'provider | researcher', 'provider')
  .option('--evidence <file>', 'the evidence document (licence, diploma…)')
  .option('--bond <MED>', "MED to bond (default: the council's minimum)")
  .action(async (_o, cmd: Command) => (await cert()).apply(g(cmd)));
certCmd
  .command('status [address]')
  .description('is this account a certified provider/researcher now, by whom, since, until, revoked?')
  .action(async (address: string | undefined, _o, cmd: Command) => (await cert()).status(address, g(cmd)));
certCmd
  .command('list')
  .description('peer-review cases (newest first)')
  .option('--status <status>', 'pending | approved | rejected | no-quorum')
  .option('--mine', 'only cases you opened or that are about you')
  .action(async (_o, cmd: Command) => (await cert()).list(g(cmd)));
certCmd
  .command('show <id>')
  .description("one case and its reviewers' phases (votes only once revealed)")
  .action(async (id: string, _o, cmd: Command) => (await cert()).show(id, g(cmd)));
const reviewCmd = certCmd.command('review').description('as a drawn reviewer');
reviewCmd
  .command('list')
  .description('the cases you were drawn to review')
  .option('--all', 'include decided cases')
  .action(async (_o, cmd: Command) => (await cert()).reviewList(g(cmd)));
reviewCmd
  .command('evidence <id>')
  .description("open a case's sealed evidence (drawn reviewers and the candidate only)")
  .option('-o, --output <file>', 'write it to a file')
  .action(async (id: string, _o, cmd: Command) => (await cert()).reviewEvidence(id, g(cmd)));
reviewCmd
  .command('commit <id>')
  .description('commit a sealed vote (the salt is kept beside your keystore for the reveal)')
  .option('--approve', 'vote to approve')
  .option('--reject', 'vote to reject')
  .action(async (id: string, _o, cmd: Command) => (await cert()).reviewCommit(id, g(cmd)));
reviewCmd
  .command('reveal <id>')
  .description('reveal the vote you committed (in the reveal window)')
  .action(async (id: string, _o, cmd: Command) => (await cert()).reviewReveal(id, g(cmd)));
certCmd
  .command('finalize <id>')
  .description('after the reveal window (anyone): tally, settle, certify an approved candidate')
  .action(async (id: string, _o, cmd: Command) => (await cert()).finalize(id, g(cmd)));
certCmd
  .command('challenge <address>')
  .description(
    "as a certified provider: challenge an account's certification, with sealed evidence and a bond",
  )
  .option('--role <role>', 'provider | researcher', 'provider')
  .option('--evidence <file>', 'the evidence document')
  .option('--bond <MED>', "MED to bond (default: the council's minimum)")
  .action(async (address: string, _o, cmd: Command) => (await cert()).challenge(address, g(cmd)));
certCmd
  .command('appeal <id>')
  .description('appeal a case you lost (once): a fresh panel reviews it')
  .action(async (id: string, _o, cmd: Command) => (await cert()).appeal(id, g(cmd)));
certCmd
  .command('stake [amount]')
  .description('stake MP points (default: all free points) to be drawn as a reviewer')
  .action(async (amount: string | undefined, _o, cmd: Command) => (await cert()).stake(amount, g(cmd)));
certCmd
  .command('balance [address]')
  .description('MED and MP (free, staked, locked) of an account')
  .action(async (address: string | undefined, _o, cmd: Command) => (await cert()).balances(address, g(cmd)));
certCmd
  .command('faucet')
  .description('embedded development chain only: MED for bonds and gas for council transactions')
  .option('--med <amount>', 'MED to receive', '100')
  .action(async (_o, cmd: Command) => (await cert()).faucet(g(cmd)));

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
  .command('ingest <paths...>')
  .description(
    'bulk ingest: every resource of FHIR JSON files (Bundles, single resources) and NDJSON, or of the directories given, validated first, then sealed and anchored in batches',
  )
  .option('--owner <address>', 'the patient who owns them (certified providers only; default: yourself)')
  .option('--batch-size <n>', 'records per batch (one Merkle root and one transaction each)', '1000')
  .option(
    '--keep-mb <n>',
    'files of up to this many MB in all are parsed once and kept for sealing; larger sets are read again (0: always)',
    '64',
  )
  .action(async (paths: string[], _o, cmd: Command) => (await recordIngest()).ingest(paths, g(cmd)));
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
  .description('guardians and carers who act for you (read and share your records, add records for you)');
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
    'convert HL7 v2, C-CDA, FHIR XML/JSON, DICOM, VCF or an Apple Health export (.xml/.zip) to FHIR R4 here, then seal and anchor the records',
  )
  .option('--owner <address>', 'the patient who owns them (certified providers only; default: yourself)')
  .option('--deidentify', 'DICOM: apply the PS3.15 basic de-identification profile before storing')
  .option(
    '--patient <reference>',
    'VCF, Apple Health: the FHIR patient reference the resources are about',
    'Patient/unknown',
  )
  .option('--dry-run', 'convert and validate only; store nothing')
  .action(async (file: string, _o, cmd: Command) =>
    (await import('./commands/import.ts')).importFile(file, g(cmd)),
  );

program
  .command('export')
  .description('write your FHIR records as a C-CDA Continuity of Care Document')
  .option('--format <format>', 'document format', 'ccda')
  .option('--patient <id>', 'the Patient to export when your records hold several')
  .option('--title <title>', 'document title')
  .option('--out <file>', 'write to this file (default: stdout)')
  .action(async (_o, cmd: Command) => (await import('./commands/export.ts')).exportRecords(g(cmd)));

program
  .command('demo')
  .description('the guided scenario, unattended, on a fresh embedded node')
  .option('--bundle <file>', 'Synthea bundle to use')
  .option('--keep', 'keep the demo data directory')
  .action(async (_o, cmd: Command) => (await import('./commands/demo.ts')).demo(g(cmd)));

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const e = err as { message?: string; code?: string; shortMessage?: string; outcome?: unknown };
  const message = (e.shortMessage || e.message || String(err)).split('\n')[0];
  const code = e.code && !/^ERR_/.test(e.code) ? e.code : undefined;
  // With --json the one line is a JSON object, for scripts: {"error":{"code","message"[,"outcome"]}}.
  process.stderr.write(
    program.opts().json
      ? `${JSON.stringify({ error: { code: code ?? 'ERROR', message, ...(e.outcome ? { outcome: e.outcome } : {}) } })}\n`
      : `medbloc: error: ${message}${code ? ` (${code})` : ''}\n`,
  );
  if (process.env.MEDBLOC_DEBUG) console.error(err);
  process.exitCode = 1;
}
