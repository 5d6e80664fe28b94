/**
 * The composition root of a MedBloc node: wires the chain (embedded anvil or an external JSON-RPC endpoint), the
 * contracts (deployed on first start), the disk blob store, the SQLite index, the indexer, the services and the
 * HTTP server, from one parsed NodeConfig. `startNode` resumes from whatever the data directory already holds.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { decryptKeystore, identityFromMnemonic } from '@medbloc/core';
import { createClient } from '@medbloc/sdk';
import { createDiskBlobStore } from '@medbloc/storage';
import { createPublicClient, createWalletClient, getAddress, type Hex, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createApp } from './api/app.ts';
import { type AnvilProcess, killStaleAnvil, startAnvil } from './chain/anvil.ts';
import { backfillCertification } from './chain/certification-events.ts';
import { createChain, type Deployment, revertToError } from './chain/client.ts';
import { joinCouncil } from './chain/council.ts';
import { deployMedBloc, grantAuthority } from './chain/deploy.ts';
import { deployCertification } from './chain/deploy-certification.ts';
import { deployConsent } from './chain/deploy-consent.ts';
import { createIndexer } from './chain/indexer.ts';
import type { NodeConfig } from './config.ts';
import { openDatabase } from './db/sqlite.ts';
import { NodeError } from './errors.ts';
import { createDeferredFhirGateway } from './fhir/index.ts';
import { createAccountsService } from './service/accounts.ts';
import { createAuditService } from './service/audit.ts';
import { createAuthService } from './service/auth.ts';
import { createBlobsService } from './service/blobs.ts';
import { createCertificationService } from './service/certification.ts';
import { createConsentService } from './service/consent.ts';
import { createDelegationService } from './service/delegation.ts';
import { createEmergencyService, loadHolders } from './service/emergency.ts';
import { createNotificationsService } from './service/notifications.ts';
import { createRecordsService } from './service/records.ts';
import { createRecoveryService } from './service/recovery.ts';
import { createWebApp } from './web.ts';

/** anvil's first well-known development account: the embedded chain's admin and relayer. Never for real chains. */
const EMBEDDED_OPERATOR_KEY: Hex = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

export interface RunningNode {
  url: string;
  rpcUrl: string;
  home: string;
  deployment: Deployment;
  operator: Hex;
  /** Grants the authority role (admin action; the embedded chain's admin is the operator). */
  addAuthority(address: Hex): Promise<void>;
  stop(): Promise<void>;
}

export interface NodeFiles {
  deployment: string;
  database: string;
  blobs: string;
  chainState: string;
  chainPid: string;
  info: string;
  /** The embedded emergency key holders' keys. */
  emergency: string;
}

export function nodeFiles(home: string): NodeFiles {
  return {
    deployment: path.join(home, 'deployment.json'),
    database: path.join(home, 'index.sqlite'),
    blobs: path.join(home, 'storage'),
    chainState: path.join(home, 'chain', 'state.json'),
    chainPid: path.join(home, 'chain', 'anvil.pid'),
    info: path.join(home, 'node.json'),
    emergency: path.join(home, 'emergency'),
  };
}

export async function startNode(
  config: NodeConfig,
  log: (msg: string) => void = () => {},
): Promise<RunningNode> {
  const files = nodeFiles(config.home);
  await mkdir(path.dirname(files.chainState), { recursive: true });

  let anvil: AnvilProcess | undefined;
  let rpcUrl = config.rpcUrl;
  let operatorKey = config.operatorKey;
  if (!rpcUrl) {
    await killStaleAnvil(files.chainPid);
    anvil = await startAnvil({
      port: config.chainPort,
      statePath: files.chainState,
      pidFile: files.chainPid,
    });
    rpcUrl = anvil.rpcUrl;
    operatorKey ??= EMBEDDED_OPERATOR_KEY;
  }
  if (!operatorKey)
    throw new NodeError('BAD_REQUEST', 'MEDBLOC_OPERATOR_KEY is required with MEDBLOC_RPC_URL');
  const chainUrl: string = rpcUrl;

  try {
    const operator = privateKeyToAccount(operatorKey);
    const transport = http(chainUrl);
    const publicClient = createPublicClient({ transport, pollingInterval: 50 });
    const walletClient = createWalletClient({ account: operator, transport });
    const deployment = await loadOrDeploy(files.deployment, publicClient, walletClient, log);

    // The index belongs to one deployment; a new deployment starts a new index.
    let db = openDatabase(files.database);
    if (db.meta.get('deployment') !== deployment.recordRegistry) {
      db.close();
      for (const f of [files.database, `${files.database}-wal`, `${files.database}-shm`])
        await rm(f, { force: true });
      db = openDatabase(files.database);
      db.meta.set('deployment', deployment.recordRegistry);
    }

    const blobs = await createDiskBlobStore({ dir: files.blobs });
    // The embedded chain also answers on a WebSocket at the same address, which costs the node far less per call.
    const chain = createChain({
      rpcUrl: anvil ? chainUrl.replace(/^http/, 'ws') : chainUrl,
      operatorKey,
      deployment,
    });
    const records = { current: undefined as undefined | ReturnType<typeof createRecordsService> };
    const indexer = createIndexer({
      chain,
      db,
      manifests: { manifest: (d) => records.current!.readManifest(d) },
      onError: (e) => log(`indexer: ${(e as Error).message}`),
    });
    const consent = createConsentService({ db, chain, indexer });
    const audit = createAuditService({ db, chain, operator, log });
    records.current = createRecordsService({ db, chain, indexer, blobs, consent, audit });
    const emergency = createEmergencyService({
      db,
      chain,
      indexer,
      consent,
      audit,
      holders: await loadHolders(files.emergency, config.emergencyHolders),
      threshold: config.emergencyThreshold,
    });
    const accounts = createAccountsService({ chain, indexer });
    const auth = createAuthService({ db, chainId: deployment.chainId });
    const blobService = createBlobsService({
      db,
      blobs,
      maxUploadBytes: config.maxUploadBytes,
      freeQuotaBytes: config.freeQuotaBytes,
    });

    await records.current.recoverPending(log);
    await backfillCertification(chain, db, indexer.indexedBlock());
    indexer.start(config.pollIntervalMs);
    audit.start(config.auditIntervalMs);

    const addAuthority = async (address: Hex) => {
      await grantAuthority({
        walletClient,
        publicClient,
        accountRegistry: deployment.accountRegistry,
        authority: getAddress(address),
      });
      // An authority sits on the certification council too (proposals, parameters, direct certification).
      await joinCouncil({
        walletClient,
        publicClient,
        council: deployment.council,
        authority: getAddress(address),
      });
    };
    for (const a of config.authorities) await addAuthority(a);

    const app = createApp({
      auth,
      accounts,
      records: records.current,
      blobs: blobService,
      consent,
      audit,
      emergency,
      delegation: createDelegationService({ db, chain, indexer }),
      recovery: createRecoveryService({ db, chain }),
      notifications: createNotificationsService({ db }),
      certification: createCertificationService({ db, chain, indexer, blobs, devChain: Boolean(anvil) }),
      log,
      health: async () => ({
        status: 'ok',
        chainId: deployment.chainId,
        blockNumber: Number(
          await chain.publicClient.getBlockNumber({ cacheTime: 0 }).catch((err: unknown) => {
            throw revertToError(err);
          }),
        ),
        indexedBlock: Number(indexer.indexedBlock()),
        rpcUrl: chainUrl,
        operator: operator.address,
        contracts: contractsOf(deployment),
      }),
    });

    // The FHIR R4 API acts for one identity whose keys this process holds (a patient's own node, or a provider's
    // gateway); it is mounted now and starts once the node knows its own URL.
    const fhir = config.fhirKeystore ? createDeferredFhirGateway() : undefined;
    if (fhir) {
      app.route('/fhir', fhir.app);
      // SMART discovery lives at the FHIR base; clients that look at the server root are sent there.
      app.get('/.well-known/smart-configuration', (c) =>
        c.redirect('/fhir/.well-known/smart-configuration', 301),
      );
    }
    // The web app (built by npm install into apps/web/dist): keys stay in the browser; it talks to this API.
    app.route('/', createWebApp({ dist: fileURLToPath(new URL('../../../apps/web/dist', import.meta.url)) }));

    const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', (err) =>
        reject(
          new NodeError('BAD_REQUEST', `cannot listen on ${config.host}:${config.port}: ${err.message}`),
        ),
      );
    });
    const port = (server.address() as AddressInfo).port;
    const url = `http://${config.host}:${port}`;
    if (fhir && config.fhirKeystore) {
      const mnemonic = await decryptKeystore(
        await readFile(config.fhirKeystore, 'utf8'),
        config.fhirPassphrase ?? '',
      );
      const passphrase = createHash('sha256')
        .update(config.fhirPassphrase ?? '')
        .digest();
      const gw = fhir.start({
        client: createClient({ node: url, identity: identityFromMnemonic(mnemonic) }),
        log,
        // SMART apps: the patient approves each one on /fhir/auth/authorize with the keystore passphrase.
        smart: {
          approve: (p) => timingSafeEqual(createHash('sha256').update(p).digest(), passphrase),
          requireToken: config.fhirRequireToken,
        },
      });
      gw.ready.then(
        () => log(`FHIR R4 API on ${url}/fhir`),
        (err: unknown) => log(`FHIR API failed to load: ${(err as Error).message}`),
      );
    }
    await writeFile(
      files.info,
      `${JSON.stringify({ url, rpcUrl: chainUrl, pid: process.pid, ...deployment }, null, 2)}\n`,
    );

    return {
      url,
      rpcUrl: chainUrl,
      home: config.home,
      deployment,
      operator: operator.address,
      addAuthority,
      async stop() {
        await fhir?.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
        await audit.stop();
        await indexer.stop();
        await chain.close();
        db.close();
        await anvil?.stop();
      },
    };
  } catch (err) {
    await anvil?.stop();
    throw err;
  }
}

/** The contract addresses of a deployment, by name. */
export function contractsOf(d: Deployment) {
  const { chainId: _c, deployBlock: _b, admin: _a, ...contracts } = d;
  return contracts;
}

async function loadOrDeploy(
  file: string,
  publicClient: Parameters<typeof deployMedBloc>[0]['publicClient'],
  walletClient: Parameters<typeof deployMedBloc>[0]['walletClient'],
  log: (msg: string) => void,
): Promise<Deployment> {
  const chainId = await publicClient.getChainId();
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as Deployment;
    const code = await publicClient.getCode({ address: saved.recordRegistry });
    if (saved.chainId === chainId && code && code !== '0x' && saved.consentRegistry && saved.peerReview)
      return saved;
    log(
      'the saved deployment is not on this chain (or predates its contracts); deploying the contracts again',
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const core = await deployMedBloc({ publicClient, walletClient });
  const consent = await deployConsent({ publicClient, walletClient, ...core });
  const certification = await deployCertification({
    publicClient,
    walletClient,
    accountRegistry: core.accountRegistry,
  });
  const deployment: Deployment = {
    chainId: core.chainId,
    accountRegistry: core.accountRegistry,
    recordRegistry: core.recordRegistry,
    delegation: consent.delegation,
    consentRegistry: consent.consentRegistry,
    accessLog: consent.accessLog,
    emergencyAccess: consent.emergencyAccess,
    medToken: certification.medToken,
    mpPoints: certification.mpPoints,
    council: certification.council,
    peerReview: certification.peerReview,
    deployBlock: core.deployBlock.toString(),
    admin: core.admin,
  };
  await writeFile(file, `${JSON.stringify(deployment, null, 2)}\n`);
  log(
    `deployed the MedBloc contracts: ${Object.entries(deployment).filter(([, v]) => /^0x[0-9a-fA-F]{40}$/.test(String(v)) && v !== core.admin).length} contracts`,
  );
  return deployment;
}
