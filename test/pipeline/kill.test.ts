import { once } from 'node:events';
import type { TConfig } from '@selfie/config';
import { STAGE_FIELD, STAGES } from '@selfie/contracts';
import { type GatewayHandle, startGateway } from '@selfie/gateway';
import { createLogger } from '@selfie/logger';
import { createPipelineContext, type PipelineContext } from '@selfie/pipeline';
import { jobId } from '@selfie/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../support/env.js';
import {
  type Api,
  apiClient,
  configEnv,
  fixture,
  pollPhoto,
  type Receiver,
  seedAccount,
  spawnService,
  startReceiver,
  TEST_API_KEY,
  upload,
  waitFor,
} from './helpers.js';
import { disposeTestContext, type PipelineHandle, startPipeline } from './support.js';

// A stage worker killed with SIGKILL while it holds a job: after a restart the photo still completes, once.
let config: TConfig;
let gateway: GatewayHandle;
let pipeline: PipelineHandle;
let ctx: PipelineContext;
let api: Api;
let receiver: Receiver;
let clientId: string;
const children: ReturnType<typeof spawnService>[] = [];

function startFacesWorker() {
  const child = spawnService('worker-faces', { ...configEnv(config), LOG_LEVEL: 'info' });
  children.push(child);
  return child;
}

async function started(child: ReturnType<typeof spawnService>) {
  await waitFor(
    'worker-faces to start',
    () => {
      if (child.exitCode !== null) throw new Error(`worker exited: ${child.output.slice(-5).join('\n')}`);
      return child.output.some((l) => l.includes('worker-faces started'));
    },
    60_000,
    50,
  );
}

beforeAll(async () => {
  config = testConfig({
    LOCAL_API_KEY: TEST_API_KEY,
    WEBHOOK_ALLOW_PRIVATE: true,
    RATE_LIMIT_PER_SECOND: 1000,
    // A dead worker's job is noticed within seconds instead of a minute.
    STAGE_LOCK_DURATION_MS: 3000,
    STAGE_STALLED_INTERVAL_MS: 1000,
  });
  const logger = createLogger({ service: 'test-kill', level: config.LOG_LEVEL });
  gateway = await startGateway(config, logger);
  // Everything but the faces stage runs here; the faces worker is its own process, so it can be killed.
  pipeline = await startPipeline(config, logger, { stages: STAGES.filter((s) => s !== 'faces') });
  ctx = await createPipelineContext(config, logger);
  api = apiClient(gateway.url, TEST_API_KEY);
  receiver = await startReceiver();
  clientId = (await seedAccount(api, receiver.url)).clientId;
});

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
  await gateway?.stop();
  await pipeline?.stop();
  await receiver?.close();
  await disposeTestContext(ctx);
});

describe('a stage worker killed mid-job', () => {
  it('completes every photo after a restart, without duplicates', async () => {
    const first = startFacesWorker();
    await started(first);

    const bytes = fixture('single', 0, config.UPLOAD_MIN_BYTES);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await upload(api, clientId, bytes);
      expect(res.status).toBe(200);
      ids.push(res.body.id);
    }
    // Kill the worker while a faces job is active (it holds the job's lock). One inference takes tens of ms, so
    // the worker is frozen (SIGSTOP) first and the job checked while frozen; if it finished in between, the worker
    // resumes and the next job is caught.
    const active = await waitFor(
      'an active faces job, caught with the worker frozen',
      async () => {
        const job = (await ctx.queue('faces').getActive())[0];
        if (!job) return undefined;
        first.kill('SIGSTOP');
        if ((await job.getState()) === 'active') return job;
        first.kill('SIGCONT');
        return undefined;
      },
      30_000,
      5,
    );
    first.kill('SIGKILL');
    await once(first, 'exit');
    expect(await active.getState()).toBe('active');

    const second = startFacesWorker();
    await started(second);
    for (const id of ids) expect((await pollPhoto(api, id, 60_000)).status).toBe('complete');

    // The killed job was recovered as stalled and run again, not lost.
    const killed = await ctx.queue('faces').getJob(active.id as string);
    expect(await killed?.getState()).toBe('completed');
    expect(killed?.stalledCounter ?? 0).toBeGreaterThanOrEqual(1);

    // One record, one object, one set of inspections and one completion event per photo.
    const accountPhotos = await ctx.photos.model.countDocuments({ _id: { $in: ids.map((id) => id) } });
    expect(accountPhotos).toBe(ids.length);
    const photo = await ctx.photos.findById(ids[0] as string);
    const objects = await ctx.store.list(`${photo?.accountId.toHexString()}/`);
    expect(objects.sort()).toEqual(ids.map((id) => `${photo?.accountId.toHexString()}/${id}`).sort());
    for (const id of ids) {
      expect(await ctx.events.model.countDocuments({ type: 'livePhoto.completed', 'payload.id': id })).toBe(1);
      const stored = await ctx.photos.findById(id);
      expect(Object.keys(stored?.inspections ?? {}).sort()).toEqual(
        [
          ...Object.values(STAGE_FIELD).filter((f) => f !== STAGE_FIELD.repeatFace),
          'models',
          'outcome',
          'timings',
        ].sort(),
      );
      expect(await ctx.queue('finalize').getJob(jobId(id, 'finalize'))).toBeDefined();
    }
    // Any repeated delivery of a photo's event carries the same event id.
    await waitFor('every event delivered', () => ids.every((id) => receiver.requests.some((r) => r.body.includes(id))));
    for (const id of ids) {
      const eventIds = new Set(
        receiver.requests.filter((r) => r.body.includes(id)).map((r) => (JSON.parse(r.body) as { id: string }).id),
      );
      expect(eventIds.size).toBe(1);
    }
  });
});
