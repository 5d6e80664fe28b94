/** @medbloc/sdk — build on MedBloc from Node or the browser: keys, sealing and signatures stay on the client. */
export {
  type AddRecordInput,
  type ClientOptions,
  createClient,
  type MedblocClient,
  type NodeInfo,
  type RecordMeta,
  type RecordSummary,
  type Verification,
} from './client.ts';
export { MedblocApiError, NodeUnreachableError, RecordVerificationError } from './errors.ts';
