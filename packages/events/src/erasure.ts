import { STAGES } from '@selfie/contracts';
import type {
  EventDoc,
  EventRepository,
  FaceEmbeddingRepository,
  LivePhotoRepository,
  PhotoKeys,
  WebhookDeliveryRepository,
  WebhookRepository,
} from '@selfie/db';
import { jobId, QUEUES, type Queue, type QueueKey } from '@selfie/queue';

/** Delivery job id: one job per (event, webhook), so publishing twice never delivers twice. */
export function deliveryJobId(eventId: string, webhookId: string): string {
  return `${eventId}-${webhookId}`;
}

/** What an eraser works on: repositories (guarded ones in the gateway), the bucket, and the catalogue's queues. */
export interface ErasureDeps {
  photos: Pick<LivePhotoRepository, 'deleteByIds'>;
  events: Pick<EventRepository, 'findAboutPhotos' | 'findForClient' | 'deleteByIds'>;
  deliveries: Pick<WebhookDeliveryRepository, 'deleteForEvents'>;
  webhooks: Pick<WebhookRepository, 'idsForAccount'>;
  store: { remove(key: string): Promise<void> };
  /** Face embeddings of the repeatFace stage (biometric templates), erased with their photos. */
  faceEmbeddings?: Pick<FaceEmbeddingRepository, 'deleteForPhotos'>;
  /** Queues of the catalogue (matched by name); jobs in queues not given are left alone. */
  queues: readonly Queue[];
}

export interface ErasureCounts {
  photos: number;
  /** Face embeddings (repeatFace stage). */
  embeddings: number;
  objects: number;
  events: number;
  deliveries: number;
  /** Jobs removed from Redis (stage, finalize and delivery jobs, with their data and return values). */
  jobs: number;
  /** Entries of the queues' event streams that named one of those jobs. */
  streamEntries: number;
}

export interface Eraser {
  /**
   * Erases photos and everything derived from them: the bytes first, then the events about them with their delivery
   * records and delivery jobs, the photos' own jobs (data, return values, event-stream entries), and the records
   * last, so that an erasure cut short is found again and finished by a retry. A job running at that moment (a photo
   * deleted while processing) is locked and cannot be removed: it finds the photo gone, stores nothing, and its
   * finished entry (ids only) stays until the queue's removeOnComplete age.
   */
  erasePhotos(photos: readonly PhotoKeys[]): Promise<ErasureCounts>;
  /**
   * Erases the events about a client and its photos (with their deliveries and jobs), except deletion notices
   * (`*.deleted`): those tell the integrator what was erased, carry ids only, and go with retention.
   */
  eraseClientEvents(accountId: string, clientId: string): Promise<ErasureCounts>;
  /** Erases the given events with their delivery records and delivery jobs. */
  eraseEvents(events: readonly EventDoc[]): Promise<ErasureCounts>;
}

/** Notices that outlive what they announce (see `eraseClientEvents`). */
export const DELETION_EVENT_TYPES: readonly string[] = ['livePhoto.deleted', 'client.deleted'];

/** Queues holding a photo's own jobs (`<photoId>-<key>`): every stage, and finalize. */
const PHOTO_QUEUE_KEYS: readonly QueueKey[] = [...STAGES, 'finalize'];

const STREAM_PAGE = 1000;

interface StreamClient {
  xrange(key: string, start: string, end: string, count: 'COUNT', n: number): Promise<[string, string[]][]>;
  xdel(key: string, ...ids: string[]): Promise<number>;
}
const PARALLEL = 8;

export function zeroCounts(): ErasureCounts {
  return { photos: 0, embeddings: 0, objects: 0, events: 0, deliveries: 0, jobs: 0, streamEntries: 0 };
}

export function addCounts(into: ErasureCounts, more: ErasureCounts): ErasureCounts {
  for (const key of Object.keys(into) as (keyof ErasureCounts)[]) into[key] += more[key];
  return into;
}

async function inBatches<T>(items: readonly T[], fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += PARALLEL) await Promise.all(items.slice(i, i + PARALLEL).map(fn));
}

/**
 * Deletes the entries of a queue's event stream whose job id starts with one of `prefixes` (BullMQ records every
 * job's life there, return values and failure reasons included, and keeps about 10,000 entries per queue). Read in
 * pages; entries added meanwhile for other jobs are untouched.
 */
async function purgeStream(queue: Queue, prefixes: readonly string[]): Promise<number> {
  if (prefixes.length === 0) return 0;
  // The queue's own connection (ioredis), through the two stream commands used here.
  const client = (await queue.client) as unknown as StreamClient;
  const key = queue.keys.events;
  if (!key) return 0;
  let removed = 0;
  let start = '-';
  for (;;) {
    const entries = await client.xrange(key, start, '+', 'COUNT', STREAM_PAGE);
    const doomed: string[] = [];
    for (const [id, fields] of entries) {
      const at = fields.indexOf('jobId');
      const job = at >= 0 && at % 2 === 0 ? fields[at + 1] : undefined;
      if (job && prefixes.some((p) => job.startsWith(p))) doomed.push(id);
    }
    if (doomed.length > 0) removed += await client.xdel(key, ...doomed);
    const last = entries[entries.length - 1];
    if (entries.length < STREAM_PAGE || !last) break;
    start = `(${last[0]}`;
  }
  return removed;
}

async function removeJob(queue: Queue | undefined, id: string, removeChildren = false): Promise<number> {
  if (!queue) return 0;
  return (await queue.remove(id, { removeChildren })) === 1 ? 1 : 0;
}

export function createEraser(deps: ErasureDeps): Eraser {
  const byKey = (key: QueueKey) => deps.queues.find((q) => q.name === QUEUES[key].name);

  async function eraseEvents(events: readonly EventDoc[]): Promise<ErasureCounts> {
    const counts = zeroCounts();
    if (events.length === 0) return counts;
    const eventIds = events.map((e) => e._id.toHexString());
    counts.deliveries = await deps.deliveries.deleteForEvents(eventIds);
    const webhooks = byKey('webhooks');
    if (webhooks) {
      // Events stored before the outbox do not list their webhooks: try every webhook of the account.
      const accountHooks = new Map<string, string[]>();
      const jobIds: string[] = [];
      for (const event of events) {
        let hooks = event.webhookIds?.map((id) => id.toHexString());
        if (!hooks) {
          const account = event.accountId.toHexString();
          if (!accountHooks.has(account)) {
            accountHooks.set(
              account,
              (await deps.webhooks.idsForAccount(account)).map((id) => id.toHexString()),
            );
          }
          hooks = accountHooks.get(account) ?? [];
        }
        for (const hook of hooks) jobIds.push(deliveryJobId(event._id.toHexString(), hook));
      }
      await inBatches(jobIds, async (id) => {
        counts.jobs += await removeJob(webhooks, id);
      });
      counts.streamEntries += await purgeStream(
        webhooks,
        eventIds.map((id) => `${id}-`),
      );
    }
    counts.events = await deps.events.deleteByIds(eventIds);
    return counts;
  }

  return {
    eraseEvents,

    async erasePhotos(photos) {
      const counts = zeroCounts();
      if (photos.length === 0) return counts;
      await inBatches(photos, async (photo) => {
        await deps.store.remove(photo.objectKey);
        counts.objects += 1;
      });
      // The face embeddings next: biometric templates, of no use without the photo.
      if (deps.faceEmbeddings) {
        counts.embeddings += await deps.faceEmbeddings.deleteForPhotos(photos.map((p) => p._id));
      }

      // Events about the photos, looked up per client (the events' index).
      const byClient = new Map<string, { accountId: string; clientId: string; ids: string[] }>();
      for (const photo of photos) {
        const key = `${photo.accountId.toHexString()}/${photo.clientId.toHexString()}`;
        const group = byClient.get(key) ?? {
          accountId: photo.accountId.toHexString(),
          clientId: photo.clientId.toHexString(),
          ids: [],
        };
        group.ids.push(photo._id.toHexString());
        byClient.set(key, group);
      }
      for (const group of byClient.values()) {
        const events = await deps.events.findAboutPhotos(group.accountId, group.clientId, group.ids);
        addCounts(counts, await eraseEvents(events));
      }

      // The photos' own jobs: the finalize parent with its children first, then any stage job left.
      const photoIds = photos.map((p) => p._id.toHexString());
      await inBatches(photoIds, async (photoId) => {
        counts.jobs += await removeJob(byKey('finalize'), jobId(photoId, 'finalize'), true);
        for (const key of PHOTO_QUEUE_KEYS) {
          if (key !== 'finalize') counts.jobs += await removeJob(byKey(key), jobId(photoId, key));
        }
      });
      // Removing a job records a `removed` entry naming it, so the streams are purged after the removals.
      for (const key of PHOTO_QUEUE_KEYS) {
        const queue = byKey(key);
        if (queue) {
          counts.streamEntries += await purgeStream(
            queue,
            photoIds.map((id) => `${id}-`),
          );
        }
      }

      counts.photos = await deps.photos.deleteByIds(photoIds);
      return counts;
    },

    async eraseClientEvents(accountId, clientId) {
      const counts = zeroCounts();
      for (;;) {
        const batch = await deps.events.findForClient(accountId, clientId, 200, DELETION_EVENT_TYPES);
        if (batch.length === 0) return counts;
        addCounts(counts, await eraseEvents(batch));
      }
    },
  };
}
