export { type Connection, type Model, mongo, Schema, Types } from 'mongoose';
export {
  type AccountDoc,
  AccountRepository,
  API_KEY_PATTERN,
  type ApiKeyDoc,
  type AuthenticatedKey,
  generateApiKey,
  hashApiKey,
  randomAlphanumeric,
} from './accounts.js';
export { type ClientDoc, type ClientListFilter, ClientRepository } from './clients.js';
export { connectMongo, pingMongo } from './connection.js';
export { type EventDoc, EventRepository, toEventEnvelope } from './events.js';
export {
  type EmbeddingMatch,
  type EmbeddingSearch,
  type EmbeddingSearchResult,
  embeddingToBuffer,
  type FaceEmbeddingDoc,
  FaceEmbeddingIndex,
  type FaceEmbeddingIndexOptions,
  FaceEmbeddingRepository,
  type NewFaceEmbedding,
} from './face-embeddings.js';
export {
  type LivePhotoDoc,
  LivePhotoRepository,
  type NewLivePhoto,
  type PhotoKeys,
  type StageResult,
} from './live-photos.js';
export {
  type DateRange,
  dateRangeFilter,
  findPage,
  modelOn,
  type Page,
  type PageRequest,
  toObjectId,
} from './models.js';
export { assembleInspections, PipelineRepository } from './pipeline-repository.js';
export { createRepositories, type Repositories } from './repositories.js';
export { type DeliveryAttempt, type WebhookDeliveryDoc, WebhookDeliveryRepository } from './webhook-deliveries.js';
export { type WebhookDoc, type WebhookListFilter, WebhookRepository } from './webhooks.js';
