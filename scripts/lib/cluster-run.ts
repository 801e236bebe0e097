// What `pnpm cluster:check`, `pnpm chaos` and their tests share on top of scripts/lib/cluster.ts: an API client that
// never throws, a webhook receiver that verifies signatures and counts event ids, an upload driver that spreads
// photos over every gateway, a wait for the run to settle, and the checks that a run lost and duplicated nothing.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { eventMatches } from '@selfie/contracts';
import { Types } from '@selfie/db';
import { type Cluster, root, sleep } from './cluster.js';

export interface ApiResult<T = Record<string, unknown>> {
  /** 0 when no answer came (connection refused or reset, timeout). */
  status: number;
  headers: Headers | undefined;
  body: T;
  ms: number;
  error?: string;
}

/** One API call; never throws. */
export async function call<T = Record<string, unknown>>(
  baseUrl: string,
  key: string,
  method: string,
  p: string,
  body?: unknown,
  timeoutMs = 30_000,
): Promise<ApiResult<T>> {
  const started = performance.now();
  try {
    const res = await fetch(`${baseUrl}${p}`, {
      method,
      headers: { Authorization: key, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = { text };
    }
    return { status: res.status, headers: res.headers, body: parsed as T, ms: performance.now() - started };
  } catch (err) {
    return {
      status: 0,
      headers: undefined,
      body: {} as T,
      ms: performance.now() - started,
      error: (err as Error).cause ? String((err as Error).cause) : (err as Error).message,
    };
  }
}

/** Every photo of test/fixtures/faces (single, several and no faces, poses, masks, spoofs), as upload bodies. */
export function fixturePhotos(): { file: string; base64: string }[] {
  const base = path.join(root, 'test/fixtures/faces');
  return readdirSync(base, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(path.join(base, d.name)).map((f) => path.join(base, d.name, f)))
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort()
    .map((file) => ({ file, base64: readFileSync(file).toString('base64') }));
}

export interface Receipt {
  path: string;
  eventId: string;
  type: string;
  photoId: string;
  signatureOk: boolean;
  /** Request headers whose value is the event id (none: the id travels in the body only). */
  idHeaders: string[];
  at: number;
}

/** A webhook receiver on loopback: one path per webhook, each with its secret; answers 200. */
export interface WebhookReceiver {
  url(hookPath: string): string;
  secrets: Map<string, string>;
  receipts: Receipt[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const receipts: Receipt[] = [];
  const secrets = new Map<string, string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const hookPath = req.url ?? '/';
      const secret = secrets.get(hookPath) ?? '';
      const expected = createHmac('sha256', secret).update(raw).digest('hex');
      const given = String(req.headers['complycube-signature'] ?? '');
      const signatureOk =
        given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
      let event: { id?: string; type?: string; payload?: { id?: string } } = {};
      try {
        event = JSON.parse(raw.toString('utf8'));
      } catch {}
      const eventId = String(event.id ?? '');
      receipts.push({
        path: hookPath,
        eventId,
        type: String(event.type ?? ''),
        photoId: String(event.payload?.id ?? ''),
        signatureOk,
        idHeaders: Object.entries(req.headers)
          .filter(([, v]) => eventId !== '' && v === eventId)
          .map(([k]) => k),
        at: Date.now(),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.keepAliveTimeout = 1000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: (hookPath) => `http://127.0.0.1:${port}${hookPath}`,
    secrets,
    receipts,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface HookSpec {
  path: string;
  events: string[];
}

export interface RunAccount {
  accountId: string;
  clientId: string;
  webhooks: (HookSpec & { id: string })[];
}

/** A client and one webhook per spec, through the first gateway that answers (retried while the run starts). */
export async function setupAccount(
  cluster: Cluster,
  receiver: WebhookReceiver,
  hooks: HookSpec[],
): Promise<RunAccount> {
  const post = async (p: string, body: unknown) => {
    for (let attempt = 0; attempt < 60; attempt++) {
      const url = cluster.gatewayUrls[attempt % cluster.gatewayUrls.length] as string;
      const res = await call(url, cluster.apiKey, 'POST', p, body);
      if (res.status === 200) return res.body;
      await sleep(500);
    }
    throw new Error(`POST ${p} did not succeed`);
  };
  const client = await post('/v1/clients', {
    type: 'person',
    email: 'cluster@example.com',
    personDetails: { firstName: 'Cluster', lastName: 'Run' },
  });
  const webhooks: RunAccount['webhooks'] = [];
  for (const hook of hooks) {
    const created = await post('/v1/webhooks', { url: receiver.url(hook.path), events: hook.events });
    receiver.secrets.set(hook.path, String(created.secret));
    webhooks.push({ ...hook, id: String(created.id) });
  }
  const db = await cluster.db();
  const photoClient = await db.collection('clients').findOne({}, { projection: { accountId: 1 } });
  return { accountId: String(photoClient?.accountId), clientId: String(client.id), webhooks };
}

export interface PushResult {
  /** Photo ids answered 200, in order. */
  accepted: string[];
  /** Upload requests sent (retries included). */
  attempts: number;
  /** Answers other than 200, by status (0: no answer). */
  refused: Record<string, number>;
  /** When each accepted upload was answered (ms since the epoch), by photo id. */
  acceptedAt: Map<string, number>;
  /** Accepted uploads per gateway URL. */
  perGateway: Record<string, number>;
  seconds: number;
}

/**
 * Uploads `count` photos, `concurrency` at a time, round-robin over the gateways (upload i through gateway i mod G).
 * With `retry`, a refused or unanswered upload is sent again through the next gateway until it is accepted, as a
 * client would; every attempt is counted.
 */
export async function pushPhotos(
  cluster: Cluster,
  clientId: string,
  options: { count: number; concurrency: number; retry?: boolean; onAccepted?: (n: number) => void },
): Promise<PushResult> {
  const photos = fixturePhotos();
  const bodies = photos.map((p) => JSON.stringify({ clientId, data: p.base64 }));
  const result: PushResult = {
    accepted: [],
    attempts: 0,
    refused: {},
    acceptedAt: new Map(),
    perGateway: Object.fromEntries(cluster.gatewayUrls.map((u) => [u, 0])),
    seconds: 0,
  };
  const started = performance.now();
  let next = 0;
  let turn = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < options.count) {
        const i = next++;
        for (let attempt = 0; ; attempt++) {
          const url = cluster.gatewayUrls[turn++ % cluster.gatewayUrls.length] as string;
          result.attempts += 1;
          const res = await call<{ id?: string }>(
            url,
            cluster.apiKey,
            'POST',
            '/v1/livePhotos',
            bodies[i % bodies.length],
            30_000,
          );
          if (res.status === 200 && res.body.id) {
            result.accepted.push(res.body.id);
            result.acceptedAt.set(res.body.id, Date.now());
            result.perGateway[url] = (result.perGateway[url] ?? 0) + 1;
            options.onAccepted?.(result.accepted.length);
            break;
          }
          result.refused[res.status] = (result.refused[res.status] ?? 0) + 1;
          if (!options.retry) break;
          await sleep(Math.min(2000, 200 * (attempt + 1)));
        }
      }
    }),
  );
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

const FINAL_TYPES = ['livePhoto.completed', 'livePhoto.failed'];
/** Queue states that mean work is left (failed and completed are final). */
const PENDING_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused'];

interface PhotoRow {
  _id: { toHexString(): string };
  status: string;
  failureReason?: string;
  objectKey: string;
  updatedAt: Date;
  createdAt: Date;
}

interface EventRow {
  _id: { toHexString(): string };
  type: string;
  payload: { id: string };
}

async function accountPhotos(cluster: Cluster, accountId: string): Promise<PhotoRow[]> {
  const db = await cluster.db();
  return db
    .collection('livephotos')
    .find(
      { accountId: new Types.ObjectId(accountId) },
      { projection: { status: 1, failureReason: 1, objectKey: 1, updatedAt: 1, createdAt: 1 } },
    )
    .toArray() as unknown as Promise<PhotoRow[]>;
}

async function accountEvents(cluster: Cluster): Promise<EventRow[]> {
  const db = await cluster.db();
  return db
    .collection('events')
    .find({}, { projection: { type: 1, 'payload.id': 1 } })
    .toArray() as unknown as Promise<EventRow[]>;
}

/** Events a webhook must receive: every stored event of a type it subscribes to. */
function expectedFor(events: EventRow[], hook: HookSpec): EventRow[] {
  return events.filter((e) => eventMatches(hook.events, e.type));
}

function pendingJobs(counts: Record<string, Record<string, number>>): number {
  return Object.values(counts).reduce((sum, c) => sum + PENDING_STATES.reduce((s, k) => s + (c[k] ?? 0), 0), 0);
}

/**
 * Waits until no photo of the account is processing, no queue holds pending work and the receiver has had every
 * stored event each webhook subscribes to; true when that happened within `timeoutMs`.
 */
export async function waitSettled(
  cluster: Cluster,
  account: RunAccount,
  receiver: WebhookReceiver,
  timeoutMs: number,
  onProgress?: (line: string) => void,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let lastLine = '';
  while (Date.now() < deadline) {
    try {
      const photos = await accountPhotos(cluster, account.accountId);
      const processing = photos.filter((p) => p.status === 'processing').length;
      const pending = pendingJobs(await cluster.queueCounts());
      const events = await accountEvents(cluster);
      let undelivered = 0;
      for (const hook of account.webhooks) {
        const got = new Set(receiver.receipts.filter((r) => r.path === hook.path).map((r) => r.eventId));
        undelivered += expectedFor(events, hook).filter((e) => !got.has(e._id.toHexString())).length;
      }
      const line = `processing ${processing}, pending jobs ${pending}, undelivered events ${undelivered}`;
      if (line !== lastLine) onProgress?.(line);
      lastLine = line;
      if (processing === 0 && pending === 0 && undelivered === 0) return true;
    } catch (err) {
      onProgress?.(`not settled yet: ${(err as Error).message}`);
    }
    await sleep(1000);
  }
  return false;
}

export interface RunReport {
  photos: {
    accepted: number;
    /** Records of the account (accepted or not). */
    records: number;
    complete: number;
    failed: number;
    failedReasons: Record<string, number>;
    failedWithoutReason: number;
    processing: number;
    /** Accepted ids with no record. */
    missing: number;
    /** Records whose upload was never answered 200 (the client cannot know them). */
    unacknowledged: number;
    /** An accepted id answered more than once. */
    duplicateAcceptances: number;
  };
  events: {
    completed: number;
    failed: number;
    created: number;
    /** Photos whose final event count is not exactly one of the right type. */
    wrongFinalEvents: number;
    /** Accepted photos without their `livePhoto.created` event (never stored, so never delivered). */
    createdMissing: string[];
    /** Accepted photos with more than one `livePhoto.created` event. */
    createdDuplicated: number;
  };
  deliveries: {
    /** Receipts per webhook path. */
    received: Record<string, number>;
    expected: Record<string, number>;
    /** Stored events a webhook subscribes to and never received. */
    undelivered: Record<string, number>;
    /** Receipts beyond the first of the same event id at the same webhook. */
    duplicates: Record<string, number>;
    /** Successful (2xx) delivery records beyond one per event and webhook, in the deliveries collection. */
    duplicateRecords: number;
    /** Receipts whose event id is not a stored event's, or whose type/photo differ from it. */
    idMismatches: number;
    badSignatures: number;
    /** Request headers that carried the event id (besides the body's `id`). */
    idHeaders: string[];
  };
  /** Pending jobs per queue (waiting, active, delayed, prioritized, waiting-children, paused). */
  queuesPending: Record<string, number>;
  queuesFailed: Record<string, number>;
  s3: {
    objects: number;
    orphans: string[];
    /** Records whose object is gone (a failed photo nobody was answered 200 for may legitimately be one). */
    recordsWithoutObject: string[];
    /** Of those, accepted photos or photos not failed: bytes lost. */
    lostObjects: string[];
  };
  problems: string[];
}

/**
 * The checks of a finished run. `strict` (no faults injected): every photo `complete`, exactly one delivery per
 * event and webhook, no failed job. Otherwise `failed` with a reason is allowed and repeated deliveries are counted.
 */
export async function verifyRun(
  cluster: Cluster,
  account: RunAccount,
  receiver: WebhookReceiver,
  accepted: string[],
  strict: boolean,
): Promise<RunReport> {
  const problems: string[] = [];
  const photos = await accountPhotos(cluster, account.accountId);
  const byId = new Map(photos.map((p) => [p._id.toHexString(), p]));
  const acceptedSet = new Set(accepted);
  const failedReasons: Record<string, number> = {};
  for (const p of photos) {
    if (p.status === 'failed')
      failedReasons[p.failureReason ?? '(none)'] = (failedReasons[p.failureReason ?? '(none)'] ?? 0) + 1;
  }
  const report: RunReport = {
    photos: {
      accepted: accepted.length,
      records: photos.length,
      complete: photos.filter((p) => p.status === 'complete').length,
      failed: photos.filter((p) => p.status === 'failed').length,
      failedReasons,
      failedWithoutReason: photos.filter((p) => p.status === 'failed' && !p.failureReason).length,
      processing: photos.filter((p) => p.status === 'processing').length,
      missing: accepted.filter((id) => !byId.has(id)).length,
      unacknowledged: photos.filter((p) => !acceptedSet.has(p._id.toHexString())).length,
      duplicateAcceptances: accepted.length - acceptedSet.size,
    },
    events: { completed: 0, failed: 0, created: 0, wrongFinalEvents: 0, createdMissing: [], createdDuplicated: 0 },
    deliveries: {
      received: {},
      expected: {},
      undelivered: {},
      duplicates: {},
      duplicateRecords: 0,
      idMismatches: 0,
      badSignatures: 0,
      idHeaders: [],
    },
    queuesPending: {},
    queuesFailed: {},
    s3: { objects: 0, orphans: [], recordsWithoutObject: [], lostObjects: [] },
    problems,
  };
  const r = report.photos;
  if (r.missing) problems.push(`${r.missing} accepted photos have no record`);
  if (r.processing) problems.push(`${r.processing} photos still processing`);
  if (r.failedWithoutReason) problems.push(`${r.failedWithoutReason} failed photos without a reason`);
  if (r.duplicateAcceptances) problems.push(`${r.duplicateAcceptances} photo ids accepted twice`);
  if (strict && r.complete !== photos.length) problems.push(`${photos.length - r.complete} photos not complete`);
  if (strict && r.unacknowledged) problems.push(`${r.unacknowledged} records nobody was told about`);

  // Events: exactly one final event per photo, of the type its status says.
  const events = await accountEvents(cluster);
  const eventsById = new Map(events.map((e) => [e._id.toHexString(), e]));
  const finalsByPhoto = new Map<string, EventRow[]>();
  const createdByPhoto = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'livePhoto.created') createdByPhoto.set(e.payload.id, (createdByPhoto.get(e.payload.id) ?? 0) + 1);
    if (e.type === 'livePhoto.completed') report.events.completed += 1;
    if (e.type === 'livePhoto.failed') report.events.failed += 1;
    if (e.type === 'livePhoto.created') report.events.created += 1;
    if (FINAL_TYPES.includes(e.type)) finalsByPhoto.set(e.payload.id, [...(finalsByPhoto.get(e.payload.id) ?? []), e]);
  }
  for (const p of photos) {
    const finals = finalsByPhoto.get(p._id.toHexString()) ?? [];
    const want = p.status === 'complete' ? 'livePhoto.completed' : 'livePhoto.failed';
    if (finals.length !== 1 || finals[0]?.type !== want) report.events.wrongFinalEvents += 1;
  }
  if (report.events.wrongFinalEvents) {
    problems.push(`${report.events.wrongFinalEvents} photos without exactly one final event of their status`);
  }
  report.events.createdMissing = [...acceptedSet].filter((id) => !createdByPhoto.has(id));
  report.events.createdDuplicated = [...createdByPhoto.values()].filter((n) => n > 1).length;
  if (report.events.createdMissing.length) {
    problems.push(`${report.events.createdMissing.length} accepted photos have no livePhoto.created event`);
  }
  if (report.events.createdDuplicated) {
    problems.push(`${report.events.createdDuplicated} photos with more than one livePhoto.created event`);
  }

  // Deliveries, as the receiver saw them and as the dispatcher recorded them.
  const idHeaders = new Set<string>();
  for (const rc of receiver.receipts) {
    for (const h of rc.idHeaders) idHeaders.add(h);
    if (!rc.signatureOk) report.deliveries.badSignatures += 1;
    const stored = eventsById.get(rc.eventId);
    if (!stored || stored.type !== rc.type || stored.payload.id !== rc.photoId) report.deliveries.idMismatches += 1;
  }
  report.deliveries.idHeaders = [...idHeaders];
  for (const hook of account.webhooks) {
    const mine = receiver.receipts.filter((rc) => rc.path === hook.path);
    const counts = new Map<string, number>();
    for (const rc of mine) counts.set(rc.eventId, (counts.get(rc.eventId) ?? 0) + 1);
    const expected = expectedFor(events, hook);
    report.deliveries.received[hook.path] = mine.length;
    report.deliveries.expected[hook.path] = expected.length;
    report.deliveries.undelivered[hook.path] = expected.filter((e) => !counts.has(e._id.toHexString())).length;
    report.deliveries.duplicates[hook.path] = [...counts.values()].reduce((s, n) => s + n - 1, 0);
    const undelivered = report.deliveries.undelivered[hook.path] ?? 0;
    if (undelivered) {
      const types = expected.filter((e) => !counts.has(e._id.toHexString())).map((e) => e.type);
      problems.push(`webhook ${hook.path}: ${undelivered} events never delivered (${[...new Set(types)].join(', ')})`);
    }
    if (strict && report.deliveries.duplicates[hook.path]) {
      problems.push(`webhook ${hook.path}: ${report.deliveries.duplicates[hook.path]} duplicate deliveries`);
    }
  }
  if (report.deliveries.badSignatures) problems.push(`${report.deliveries.badSignatures} deliveries badly signed`);
  if (report.deliveries.idMismatches) problems.push(`${report.deliveries.idMismatches} deliveries with an unknown id`);
  const db = await cluster.db();
  const attempts = (await db
    .collection('webhookdeliveries')
    .find({}, { projection: { eventId: 1, webhookId: 1, statusCode: 1 } })
    .toArray()) as unknown as { eventId: string; webhookId: unknown; statusCode?: number }[];
  const successes = new Map<string, number>();
  for (const a of attempts) {
    if (!a.statusCode || a.statusCode < 200 || a.statusCode >= 300) continue;
    const key = `${a.eventId}/${String(a.webhookId)}`;
    successes.set(key, (successes.get(key) ?? 0) + 1);
  }
  report.deliveries.duplicateRecords = [...successes.values()].reduce((s, n) => s + n - 1, 0);
  if (strict && report.deliveries.duplicateRecords) {
    problems.push(`${report.deliveries.duplicateRecords} successful delivery records beyond one per event and webhook`);
  }

  // Queues.
  const counts = await cluster.queueCounts();
  for (const [queue, c] of Object.entries(counts)) {
    report.queuesPending[queue] = PENDING_STATES.reduce((s, k) => s + (c[k] ?? 0), 0);
    report.queuesFailed[queue] = c.failed ?? 0;
    if (report.queuesPending[queue]) {
      const states = PENDING_STATES.filter((k) => c[k]).map((k) => `${k} ${c[k]}`);
      problems.push(`queue ${queue}: ${states.join(', ')}`);
    }
    if (strict && report.queuesFailed[queue]) problems.push(`queue ${queue}: ${c.failed} failed jobs`);
  }

  // S3: every object has a record and every record its object.
  const keys = new Set(await cluster.store.list());
  report.s3.objects = keys.size;
  const recordKeys = new Set(photos.map((p) => p.objectKey));
  report.s3.orphans = [...keys].filter((k) => !recordKeys.has(k));
  const withoutObject = photos.filter((p) => !keys.has(p.objectKey));
  report.s3.recordsWithoutObject = withoutObject.map((p) => p._id.toHexString());
  report.s3.lostObjects = withoutObject
    .filter((p) => acceptedSet.has(p._id.toHexString()) || p.status !== 'failed')
    .map((p) => p._id.toHexString());
  if (report.s3.orphans.length) problems.push(`${report.s3.orphans.length} S3 objects without a record`);
  if (report.s3.lostObjects.length) problems.push(`${report.s3.lostObjects.length} photos lost their S3 object`);
  if (strict && report.s3.recordsWithoutObject.length) {
    problems.push(`${report.s3.recordsWithoutObject.length} records without their S3 object`);
  }
  return report;
}

/** Photos per second finished between the first acceptance and the last final status of `accepted`. */
export async function finishedPerSecond(cluster: Cluster, push: PushResult): Promise<number> {
  const db = await cluster.db();
  const rows = (await db
    .collection('livephotos')
    .find({ _id: { $in: push.accepted.map((id) => new Types.ObjectId(id)) } }, { projection: { updatedAt: 1 } })
    .toArray()) as unknown as { updatedAt: Date }[];
  const first = Math.min(...push.acceptedAt.values());
  const last = Math.max(...rows.map((r) => r.updatedAt.getTime()));
  return push.accepted.length / Math.max(0.001, (last - first) / 1000);
}
