/** @medbloc/node — the MedBloc node: HTTP API, relayer, chain indexer, embedded chain and storage. */
export { createApp } from './api/app.ts';
export { openApiDocument } from './api/openapi.ts';
export { startAnvil } from './chain/anvil.ts';
export { createChain, type Deployment } from './chain/client.ts';
export { joinCouncil } from './chain/council.ts';
export { deployMedBloc, grantAuthority } from './chain/deploy.ts';
export {
  type CertificationParameters,
  defaultCertificationParameters,
  deployCertification,
} from './chain/deploy-certification.ts';
export { deployConsent, grantNodeRole } from './chain/deploy-consent.ts';
export { type ConfigError, loadConfig, type NodeConfig } from './config.ts';
export { ERROR_STATUS, NodeError, type Problem, toProblem } from './errors.ts';
export { contractsOf, nodeFiles, type RunningNode, startNode } from './node.ts';
