import { z } from 'zod';

/** Booleans from env: "true/1/yes/on" and "false/0/no/off" (zod's coerce.boolean would treat "false" as true). */
const envBoolean = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes' || v === 'on');

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);

/**
 * Every environment variable the product reads, with its default and one line on what it does.
 * Services parse the whole schema once at boot; the README's configuration table is generated from it.
 */
export const ZConfig = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development').describe('Runtime mode.'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level.'),

  // Backing services
  MONGODB_URI: z
    .string()
    .min(1)
    .default('mongodb://127.0.0.1:27027/selfie')
    .describe('MongoDB connection string (or the native stand-in), including the database name.'),
  REDIS_URL: z.string().min(1).default('redis://127.0.0.1:6390').describe('Redis connection URL used by BullMQ.'),
  REDIS_PREFIX: z.string().min(1).default('selfie').describe('Key prefix for every BullMQ queue.'),
  S3_ENDPOINT: z.url().default('http://127.0.0.1:7070').describe('S3 endpoint URL (versitygw, MinIO, AWS...).'),
  S3_REGION: z.string().min(1).default('us-east-1').describe('S3 region; fixed so the client skips location lookups.'),
  S3_ACCESS_KEY: z.string().min(1).default('selfieadmin').describe('S3 access key id.'),
  S3_SECRET_KEY: z.string().min(1).default('selfieadmin-secret').describe('S3 secret key.'),
  S3_BUCKET: z.string().min(3).default('live-photos').describe('Bucket holding uploaded photos (created at start).'),
  BACKING_TIMEOUT_MS: positiveInt
    .default(1500)
    .describe('Time budget for one call to Mongo/Redis/S3 on the request path before answering 503.'),

  // Gateway
  HOST: z.string().default('127.0.0.1').describe('Interface the gateway listens on.'),
  PORT: port.default(3000).describe('Gateway HTTP port (0 picks a free port).'),
  UPLOAD_MIN_BYTES: nonNegativeInt.default(34 * 1024).describe('Smallest accepted decoded image, in bytes.'),
  UPLOAD_MAX_BYTES: positiveInt.default(4 * 1024 * 1024).describe('Largest accepted decoded image, in bytes.'),
  UPLOAD_MAX_PIXELS: positiveInt
    .default(40_000_000)
    .describe('Largest accepted width x height, against decompression bombs.'),
  RATE_LIMIT_PER_SECOND: positiveInt
    .default(10)
    .describe('Requests per second allowed per API key (shared via Redis).'),
  AUTH_CACHE_TTL_MS: nonNegativeInt
    .default(2000)
    .describe('How long a verified API key is cached in the gateway (0 = check Mongo on every request).'),
  DEMO_ENABLED: envBoolean.default(true).describe('Serve the demo page at /demo.'),
  ADMIN_KEY: z.string().min(16).optional().describe('Key for the queue dashboard at /admin/queues (off when unset).'),
  LOCAL_API_KEY: z
    .string()
    .regex(/^(test|live)_[A-Za-z0-9]{16,}$/)
    .optional()
    .describe('If set, an account with this API key is ensured at start (used by the local run command).'),

  // Workers
  WORKER_CONCURRENCY: positiveInt.default(1).describe('Jobs one stage worker runs at once (inference is CPU-bound).'),
  STAGE_ATTEMPTS: positiveInt.default(5).describe('Attempts per stage job before it fails for good.'),
  STAGE_BACKOFF_MS: positiveInt
    .default(2000)
    .describe('Base delay of the exponential back-off between stage attempts.'),
  QUEUE_MAX_WAITING: positiveInt
    .default(10_000)
    .describe('Uploads are refused with 503 when this many photos are waiting for the faces stage.'),
  STAGE_LOCK_DURATION_MS: positiveInt
    .default(60_000)
    .describe(
      'Lock on an active stage job, renewed at half this period; a killed worker frees its job after this long.',
    ),
  STAGE_STALLED_INTERVAL_MS: positiveInt
    .default(30_000)
    .describe('How often workers look for jobs whose lock expired (stalled) and put them back in the queue.'),
  FINALIZER_CONCURRENCY: positiveInt.default(4).describe('Finalize jobs one finalizer runs at once (I/O-bound).'),
  WEBHOOK_CONCURRENCY: positiveInt.default(10).describe('Webhook deliveries one dispatcher runs at once.'),
  SWEEPER_INTERVAL_MS: positiveInt
    .default(60_000)
    .describe('How often the stuck-work sweeper looks for stalled photos.'),
  SWEEPER_STALE_AFTER_MS: positiveInt
    .default(10 * 60_000)
    .describe('A photo still processing after this long with no live job is re-enqueued.'),
  SWEEPER_MAX_REQUEUES: positiveInt.default(3).describe('Re-enqueues before a stalled photo is failed.'),
  ORPHAN_GRACE_MS: positiveInt
    .default(60 * 60_000)
    .describe(
      'Age after which the orphan sweep deletes stored bytes that have no photo record, and fails (IMAGE_MISSING) photo records whose bytes are gone.',
    ),
  ORPHAN_SWEEP_BATCH: positiveInt
    .default(1000)
    .describe(
      'Bucket keys, and photo records, one orphan sweep examines (every SWEEPER_INTERVAL_MS; each sweep resumes where the last stopped).',
    ),
  RETENTION_DAYS: z.coerce
    .number()
    .positive()
    .optional()
    .describe(
      'Days after upload when a photo is erased: bytes, record with its stage results, events about it and their delivery records; events of any kind go after the same period (off when unset; fractions allowed; an account may override it).',
    ),

  // Metrics and health (workers)
  METRICS_PORT: port
    .default(9464)
    .describe("Port of a worker process's /metrics, /healthz and /readyz server (0 turns it off)."),
  METRICS_HOST: z.string().default('127.0.0.1').describe('Interface the worker metrics server listens on.'),

  // Tracing (OpenTelemetry, OTLP/HTTP)
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .url()
    .optional()
    .describe(
      'OTLP/HTTP base URL that spans are sent to (at its /v1/traces), e.g. http://127.0.0.1:4318; tracing is off when unset.',
    ),
  OTEL_SERVICE_NAME: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Service name on every span of this process; unset: one per service (selfie-gateway, selfie-worker-faces...).',
    ),
  OTEL_TRACES_SAMPLER_ARG: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(1)
    .describe('Share of uploads traced (0-1), decided once per photo at the gateway.'),

  // Inspection engine and thresholds
  MODELS_DIR: z
    .string()
    .min(1)
    .optional()
    .describe('Folder holding the face engine model files (default: the ones shipped in packages/face-engine/models).'),
  INFERENCE_THREADS: positiveInt
    .max(64)
    .default(1)
    .describe('Threads one model run may use (onnxruntime intra-op); 1 suits one worker process per core.'),
  FACE_MIN_CONFIDENCE: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(0.9)
    .describe('RetinaFace detector score (0-1) for a face to count.'),
  MASK_THRESHOLD: z.coerce
    .number()
    .min(0)
    .max(100)
    .default(50)
    .describe('Mask classifier score (0-100) from which the lower face is covered (MASK_OR_COVERING).'),
  POSE_MAX_YAW: z.coerce.number().min(0).max(90).default(25).describe('Largest accepted |yaw| in degrees.'),
  POSE_MAX_PITCH: z.coerce.number().min(0).max(90).default(25).describe('Largest accepted |pitch| in degrees.'),
  POSE_MAX_ROLL: z.coerce.number().min(0).max(90).default(25).describe('Largest accepted |roll| in degrees.'),
  FACE_MIN_HEIGHT_RATIO: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(0.15)
    .describe('Smallest face box height as a share of image height.'),
  FACE_MIN_HEIGHT_PX: nonNegativeInt.default(112).describe('Smallest face box height in pixels.'),
  LIVENESS_THRESHOLD: z.coerce
    .number()
    .min(0)
    .max(100)
    .default(50)
    .describe('livenessCheckScore below this is SPOOF_SUSPECTED.'),

  // Capture quality (defaults and their sources: README "Capture quality")
  QUALITY_MAX_BLUR_PX: z.coerce
    .number()
    .positive()
    .default(1.8)
    .describe('BLURRY above this estimated blur sigma of the face, in analysis pixels.'),
  QUALITY_MAX_GLARE_PERCENT: z.coerce
    .number()
    .min(0)
    .max(100)
    .default(1.8)
    .describe('GLARE_ON_FACE above this share of the face (eyes and mouth left out) clipped in every channel.'),
  QUALITY_MIN_LUMINANCE: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(0.2)
    .describe('UNDEREXPOSED below this mean luma of the face (0..1).'),
  QUALITY_MAX_LUMINANCE: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(0.8)
    .describe('OVEREXPOSED above this mean luma of the face (0..1).'),
  QUALITY_MIN_EYE_DISTANCE_PX: z.coerce
    .number()
    .min(0)
    .default(60)
    .describe('LOW_RESOLUTION below this distance between the eye centres, in original-image pixels.'),
  QUALITY_MIN_EYE_OPENNESS: z.coerce
    .number()
    .min(0)
    .default(0.18)
    .describe('EYES_CLOSED below this eye aspect ratio of the less open eye.'),
  QUALITY_MIN_JPEG_QUALITY: z.coerce
    .number()
    .min(0)
    .max(100)
    .default(25)
    .describe('HEAVY_COMPRESSION below this IJG-equivalent JPEG quality of the file.'),
  QUALITY_MAX_LIGHTING_IMBALANCE_STOPS: z.coerce
    .number()
    .positive()
    .default(1.58)
    .describe('UNEVEN_LIGHTING when one cheek is this many stops brighter than the other.'),

  // Repeat faces (README "Repeat faces"): face embeddings are biometric templates, so the stage is off by default
  REPEAT_FACE_ENABLED: envBoolean
    .default(false)
    .describe(
      'Allow the repeatFace stage (face embeddings stored and searched); it runs only for accounts that also enabled it (gateway CLI `repeat-face`).',
    ),
  REPEAT_FACE_THRESHOLD: z.coerce
    .number()
    .min(-1)
    .max(1)
    .default(0.924)
    .describe('Cosine similarity of two face embeddings from which they are taken to be the same person.'),

  // Webhooks
  WEBHOOK_TIMEOUT_MS: positiveInt.default(15_000).describe('A delivery not answered 2xx within this time failed.'),
  WEBHOOK_MAX_ATTEMPTS: positiveInt.default(10).describe('Attempts before a webhook is disabled.'),
  WEBHOOK_BACKOFF_MS: positiveInt
    .default(60_000)
    .describe('First retry delay; then x2, x8 (as ComplyCube: 60 s, 120 s, 480 s) and doubling after that.'),
  WEBHOOK_ALLOW_PRIVATE: envBoolean
    .default(false)
    .describe('Allow webhook URLs that resolve to loopback or private addresses.'),
  OUTBOX_RELAY_INTERVAL_MS: positiveInt
    .default(5000)
    .describe('How often the webhook dispatcher queues the deliveries of stored events that never reached Redis.'),

  // Shutdown
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(20_000).describe('Outer limit for a graceful shutdown before exit.'),
});

export type TConfig = z.infer<typeof ZConfig>;

export class ConfigError extends Error {
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses configuration from an env-like record (defaults to process.env). Throws ConfigError naming each bad variable. */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<TConfig> = {},
): TConfig {
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(ZConfig.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = ZConfig.safeParse({ ...input, ...overrides });
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? '(root)'), message: issue.message })),
    );
  }
  return parsed.data;
}

/** For entrypoints: parse config or print a clear message and exit 1. */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): TConfig {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** Names and descriptions of every variable, for the README table and the compose check. */
export function describeConfig(): { name: string; default: string; description: string }[] {
  return Object.entries(ZConfig.shape).map(([name, schema]) => {
    const parsed = (schema as z.ZodType).safeParse(undefined);
    const def = parsed.success && parsed.data !== undefined ? String(parsed.data) : '';
    return { name, default: def, description: (schema as z.ZodType).description ?? '' };
  });
}
