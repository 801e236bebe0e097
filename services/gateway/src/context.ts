import type { TConfig } from '@selfie/config';
import type { TEventPayload, TEventType, TResourceType } from '@selfie/contracts';
import type { Connection, Repositories } from '@selfie/db';
import type { EventPublisher } from '@selfie/events';
import type { Logger } from '@selfie/logger';
import type { ObjectStore } from '@selfie/object-store';
import type { JobPayload, Queue } from '@selfie/queue';
import type { Redis } from 'ioredis';

/** Everything a route needs; backing adapters here are already wrapped by `guarded` (timeouts → 503). */
export interface GatewayContext {
  config: TConfig;
  logger: Logger;
  connection: Connection;
  redis: Redis;
  repos: Repositories;
  store: ObjectStore;
  faces: Queue<JobPayload<'faces'>>;
  /** Every catalogue queue (queue dashboard, queue-depth metrics). */
  queues: Queue[];
  /** Publishes in the background: an event failure never fails the API call whose write already succeeded. */
  emit(event: { accountId: string; type: TEventType; resourceType: TResourceType; payload: TEventPayload }): void;
  /** Raw publisher, for callers that want to await. */
  publisher: EventPublisher;
}
