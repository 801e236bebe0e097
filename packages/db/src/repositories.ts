import type { Connection } from 'mongoose';
import { AccountRepository } from './accounts.js';
import { ClientRepository } from './clients.js';
import { EventRepository } from './events.js';
import { FaceEmbeddingRepository } from './face-embeddings.js';
import { LivePhotoRepository } from './live-photos.js';
import { PipelineRepository } from './pipeline-repository.js';
import { WebhookDeliveryRepository } from './webhook-deliveries.js';
import { WebhookRepository } from './webhooks.js';

export interface Repositories {
  accounts: AccountRepository;
  clients: ClientRepository;
  livePhotos: LivePhotoRepository;
  webhooks: WebhookRepository;
  deliveries: WebhookDeliveryRepository;
  events: EventRepository;
  /** Per-stage results of photos still processing (read for progress; written by the pipeline). */
  pipeline: PipelineRepository;
  /** Face embeddings of the repeatFace stage (biometric templates: erased with their photos). */
  faceEmbeddings: FaceEmbeddingRepository;
}

/** All repositories on one connection; `init` builds their indexes (call once at start). */
export function createRepositories(connection: Connection): Repositories & { init(): Promise<void> } {
  const repos: Repositories = {
    accounts: new AccountRepository(connection),
    clients: new ClientRepository(connection),
    livePhotos: new LivePhotoRepository(connection),
    webhooks: new WebhookRepository(connection),
    deliveries: new WebhookDeliveryRepository(connection),
    events: new EventRepository(connection),
    pipeline: new PipelineRepository(connection),
    faceEmbeddings: new FaceEmbeddingRepository(connection),
  };
  return {
    ...repos,
    async init() {
      for (const repo of Object.values(repos)) await repo.init();
    },
  };
}
