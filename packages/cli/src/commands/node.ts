/** `medbloc node start`: runs a node in the foreground with embedded defaults until Ctrl-C / SIGTERM. */
import path from 'node:path';
import { contractsOf, loadConfig, startNode } from '@medbloc/node';

export async function nodeStart(o: { home?: string; port?: string; host?: string }) {
  const overrides: Record<string, unknown> = {};
  if (o.home) overrides.home = path.resolve(o.home);
  if (o.host) overrides.host = o.host;
  const env = { ...process.env, ...(o.port ? { MEDBLOC_PORT: o.port } : {}) };
  const config = loadConfig(env, overrides);
  const log = (m: string) => process.stderr.write(`[medbloc] ${m}\n`);
  log(`starting in ${config.home}`);
  const node = await startNode(config, log);
  process.stdout.write(
    [
      '',
      `MedBloc node is running.`,
      `  API        ${node.url}   (OpenAPI: ${node.url}/openapi.json, health: ${node.url}/health)`,
      `  Chain      ${node.rpcUrl}   chain id ${node.deployment.chainId}${config.rpcUrl ? '' : ' (embedded anvil, state in chain/state.json)'}`,
      ...Object.entries(contractsOf(node.deployment)).map(
        ([name, address], i) => `  ${i === 0 ? 'Contracts ' : '          '} ${name.padEnd(16)} ${address}`,
      ),
      `  Data       ${config.home}   (blobs in storage/, index in index.sqlite)`,
      `  Operator   ${node.operator} (relays signed requests; users need no gas)`,
      '',
      'Try next, in another terminal:',
      '  npx medbloc demo                                   # the whole story, unattended',
      '  MEDBLOC_PASSPHRASE=... npx medbloc init            # your identity',
      '  npx medbloc account register',
      '  npx medbloc record add ../shared/fixtures/fhir/examples/AllergyIntolerance-example.json',
      '  npx medbloc record list',
      '  npx medbloc import ../shared/fixtures/hl7v2/messages/ADT-A01-01.hl7     # also FHIR XML, DICOM, VCF',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping (chain state is saved)`);
    await node.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
