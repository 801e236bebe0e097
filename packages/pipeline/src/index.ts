export { createPipelineContext, type PipelineContext } from './context.js';
export { createInspectionEngine, type InspectionEngine, thresholdsFromConfig, wrapFaceEngine } from './engine.js';
export { type FinalizeSummary, failPhoto, finalizePhoto } from './finalize.js';
export {
  type FinalizerHandle,
  ORPHAN_SCHEDULER_ID,
  RETENTION_SCHEDULER_ID,
  SWEEP_SCHEDULER_ID,
  startFinalizer,
} from './finalizer.js';
export { addFacesJob, addFinalize, addStageFlow } from './flow.js';
export { type OrphanSweepResult, sweepOrphans } from './orphans.js';
export { type OutboxRelayHandle, type RelayResult, relayOutbox, startOutboxRelay } from './outbox.js';
export { computeOutcome, decideFinal, dependentStages, expectedStages, notProcessed } from './outcome.js';
export { publishPhotoEvent, stableEventId } from './publish.js';
export { pipelineEraser, type RetentionResult, retentionOnce } from './retention.js';
export {
  runStage,
  type StageSummary,
  type StageWorkerHandle,
  type StageWorkerOptions,
  startStageWorker,
  workerLockOptions,
} from './stage-worker.js';
export { type SweepResult, sweepOnce } from './sweeper.js';
export {
  BlockedAddressError,
  type DeliveryResult,
  isPrivateAddress,
  postWebhook,
  signBody,
} from './webhooks/deliver.js';
export { type DeliverySummary, deliverEvent, SIGNATURE_HEADER, startWebhookDispatcher } from './webhooks/dispatcher.js';
