/** @medbloc/sdk — build on MedBloc from Node or the browser: keys, sealing and signatures stay on the client. */

export type { RecordAuthorisation, RecordDetail, RecordSummary } from '@medbloc/core/portable';
export { CATEGORIES, type Category, categoryOf, clinicalDateOf, isCategory } from './category.ts';
export {
  type ApplicationDetail,
  type ApplicationStatus,
  type ApplicationSummary,
  type CertifiableRole,
  type CertificationStatus,
  type CouncilParameters,
  type RoleCertification,
  tokenAmount,
} from './certification.ts';
export {
  type AddRecordInput,
  type AuditEntry,
  type AuditVerification,
  type BatchSealer,
  type ClientOptions,
  createClient,
  type DelegateView,
  type EmergencyProfile,
  type GrantView,
  type MedblocClient,
  type NodeInfo,
  type ReadPurpose,
  type RecordMeta,
  type ScopeKeyView,
  type Verification,
} from './client.ts';
export {
  IngestError,
  type IngestedBatch,
  MedblocApiError,
  NodeUnreachableError,
  RecordVerificationError,
} from './errors.ts';
export { createRecoveryKey, RecoveryError, recoverIdentity, requestRecovery } from './recovery.ts';
