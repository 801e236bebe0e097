import {
  ApiError,
  ErrorCode,
  errors,
  isObjectId,
  PAGE_SIZE_DEFAULT,
  ZLivePhotoListQuery,
  ZLivePhotoUpload,
  ZLivePhotoUploadForm,
} from '@selfie/contracts';
import { type LivePhotoDoc, Types } from '@selfie/db';
import { livePhotoEventPayload } from '@selfie/events';
import { ObjectNotFoundError } from '@selfie/object-store';
import { jobId, QUEUES } from '@selfie/queue';
import { setSpanAttributes, withTrace } from '@selfie/tracing';
import { type Request, type RequestHandler, Router } from 'express';
import multer from 'multer';
import type { GatewayContext } from '../context.js';
import { gatewayEraser } from '../erasure.js';
import { guard } from '../guard.js';
import { parseBody, parseQuery } from '../http.js';
import { decodeBase64Image, sizeMessage, type UploadLimits, type ValidImage, validateImage } from '../image.js';
import { listBody, toLivePhoto } from '../serialize.js';

/**
 * What a refused upload is told to wait (503 + Retry-After) when the faces queue is over QUEUE_MAX_WAITING: a few
 * seconds lets the workers take some of the backlog without leaving a well-behaved client idle for long.
 */
export const QUEUE_FULL_RETRY_AFTER_SECONDS = 5;

interface UploadInput {
  clientId: string;
  performLivenessCheck: boolean;
  image: ValidImage;
}

export function livePhotosRouter(ctx: GatewayContext): Router {
  const { config, repos, store, faces } = ctx;
  const router = Router();
  const limits: UploadLimits = {
    minBytes: config.UPLOAD_MIN_BYTES,
    maxBytes: config.UPLOAD_MAX_BYTES,
    maxPixels: config.UPLOAD_MAX_PIXELS,
  };
  const multipart = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: config.UPLOAD_MAX_BYTES, files: 1, fields: 8, fieldSize: 1024, fieldNameSize: 100, parts: 10 },
  }).single('file');
  const runMultipart = (req: Request, res: Parameters<RequestHandler>[1]) =>
    new Promise<void>((resolve, reject) => multipart(req, res, (err?: unknown) => (err ? reject(err) : resolve())));

  async function readUpload(req: Request, res: Parameters<RequestHandler>[1]): Promise<UploadInput> {
    if (req.is('multipart/form-data')) {
      try {
        await runMultipart(req, res);
      } catch (err) {
        if (err instanceof multer.MulterError && err.code === 'LIMIT_FILE_SIZE') {
          throw errors.invalid(sizeMessage(limits), 'file');
        }
        throw err;
      }
      const fields = parseBody(ZLivePhotoUploadForm, { ...req.body });
      if (!req.file) throw errors.invalid("The field 'file' is required", 'file');
      const image = await validateImage(req.file.buffer, limits, 'file');
      return { clientId: fields.clientId, performLivenessCheck: fields.performLivenessCheck !== 'false', image };
    }
    if (!req.is('application/json')) {
      throw errors.invalid('Send the live photo as application/json (base64 data) or multipart/form-data');
    }
    const body = parseBody(ZLivePhotoUpload, req.body);
    const image = await validateImage(decodeBase64Image(body.data), limits, 'data');
    return { clientId: body.clientId, performLivenessCheck: body.performLivenessCheck ?? true, image };
  }

  /** Best-effort undo of an upload step; failures are logged (the object/record id is in the log line). */
  async function undo(what: string, fn: () => Promise<unknown>, res: Parameters<RequestHandler>[1]) {
    try {
      await fn();
    } catch (err) {
      res.locals.log.error({ err, what }, 'upload rollback step failed; manual cleanup may be needed');
    }
  }

  router.post('/', async (req, res) => {
    const accountId = res.locals.accountId;
    const input = await readUpload(req, res);
    if (!isObjectId(input.clientId)) throw errors.clientNotFound(input.clientId);
    if (!(await repos.clients.exists(accountId, input.clientId))) throw errors.clientNotFound(input.clientId);

    // Back-pressure: refuse new work rather than let the backlog grow without bound.
    const waiting = await guard('redis', config.BACKING_TIMEOUT_MS, () => faces.getWaitingCount());
    if (waiting > config.QUEUE_MAX_WAITING) {
      throw new ApiError(
        ErrorCode.SERVICE_UNAVAILABLE,
        'A backing service is unavailable (inspection queue full), please retry',
        undefined,
        { headers: { 'Retry-After': String(QUEUE_FULL_RETRY_AFTER_SECONDS) } },
      );
    }

    const photoId = new Types.ObjectId();
    const id = photoId.toHexString();
    const objectKey = `${accountId}/${id}`;
    setSpanAttributes({ 'selfie.photo_id': id });
    const { image } = input;
    // Decided once, here: a setting changed later does not change the stages this photo waits for.
    const performRepeatFace = config.REPEAT_FACE_ENABLED && res.locals.repeatFace === true;

    // Bytes first, then the record, then the job; each failure undoes the steps before it.
    try {
      await store.put(objectKey, image.bytes, image.contentType, { 'x-amz-meta-sha256': image.sha256 });
    } catch (err) {
      await undo(`remove object ${objectKey}`, () => store.remove(objectKey), res);
      throw err;
    }
    let doc: LivePhotoDoc;
    try {
      doc = await repos.livePhotos.create({
        _id: photoId,
        accountId,
        clientId: input.clientId,
        objectKey,
        contentType: image.contentType,
        size: image.bytes.length,
        sha256: image.sha256,
        performLivenessCheck: input.performLivenessCheck,
        ...(performRepeatFace ? { performRepeatFace } : {}),
      });
    } catch (err) {
      await undo(`delete record ${id}`, () => repos.livePhotos.deleteById(photoId), res);
      await undo(`remove object ${objectKey}`, () => store.remove(objectKey), res);
      throw err;
    }
    try {
      await guard('redis', config.BACKING_TIMEOUT_MS, () =>
        faces.add(
          QUEUES.faces.job,
          // The request's span context goes with the job: the photo's stages, finalize and webhooks join its trace.
          withTrace({ photoId: id, accountId, objectKey, performLivenessCheck: input.performLivenessCheck }),
          // Attempts and back-off are the queue's defaults (the catalogue, with config).
          { jobId: jobId(id, 'faces') },
        ),
      );
    } catch (err) {
      // A job that did reach Redis after our timeout finds no record and is dropped by the worker.
      await undo(`delete record ${id}`, () => repos.livePhotos.deleteById(photoId), res);
      await undo(`remove object ${objectKey}`, () => store.remove(objectKey), res);
      throw err;
    }
    ctx.emit({ accountId, type: 'livePhoto.created', resourceType: 'livePhoto', payload: livePhotoEventPayload(doc) });
    res.status(200).json(toLivePhoto(doc));
  });

  router.get('/', async (req, res) => {
    if (req.query.clientId === undefined || req.query.clientId === '') throw errors.missingQuery('clientId');
    const query = parseQuery(ZLivePhotoListQuery, req.query);
    const clientId = query.clientId as string;
    const accountId = res.locals.accountId;
    if (!isObjectId(clientId) || !(await repos.clients.exists(accountId, clientId))) {
      throw errors.clientNotFound(clientId);
    }
    const page = { ...query, page: query.page ?? 1, pageSize: query.pageSize ?? PAGE_SIZE_DEFAULT };
    const result = await repos.livePhotos.listForClient(accountId, clientId, page);
    res.json(listBody(page, result, toLivePhoto));
  });

  async function findPhoto(accountId: string, id: string): Promise<LivePhotoDoc> {
    if (!isObjectId(id)) throw errors.livePhotoNotFound(id);
    const doc = await repos.livePhotos.findForAccount(accountId, id);
    if (!doc) throw errors.livePhotoNotFound(id);
    return doc;
  }

  router.get('/:id', async (req, res) => {
    res.json(toLivePhoto(await findPhoto(res.locals.accountId, req.params.id)));
  });

  const download: RequestHandler<{ id: string }> = async (req, res) => {
    const doc = await findPhoto(res.locals.accountId, req.params.id);
    if (doc.redacted) throw errors.notFound(`The live photo '${doc._id.toHexString()}' has been redacted`);
    let bytes: Buffer;
    try {
      bytes = await store.get(doc.objectKey);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) throw errors.livePhotoNotFound(req.params.id);
      throw err;
    }
    const ext = doc.contentType === 'image/png' ? 'png' : 'jpg';
    const fileName = `selfie_${doc.createdAt.getTime()}.${ext}`;
    const raw = req.query.raw === '1' || req.query.raw === 'true' || /\bimage\//i.test(req.get('accept') ?? '');
    if (raw) {
      res
        .status(200)
        .set({
          'Content-Type': doc.contentType,
          'Content-Length': String(bytes.length),
          'Content-Disposition': `attachment; filename="${fileName}"`,
        })
        .end(bytes);
      return;
    }
    res.json({ fileName, contentType: doc.contentType, data: bytes.toString('base64') });
  };
  router.get('/:id/download', download);
  router.post('/:id/download', download);

  router.post('/:id/redact', async (req, res) => {
    const accountId = res.locals.accountId;
    const doc = await findPhoto(accountId, req.params.id);
    if (!doc.redacted) {
      await store.remove(doc.objectKey);
      // The face embedding (a biometric template) goes with the bytes; the record keeps only the verdicts.
      await repos.faceEmbeddings.deleteForPhotos([doc._id]);
      const updated = await repos.livePhotos.markRedacted(accountId, req.params.id);
      if (updated) {
        ctx.emit({
          accountId,
          type: 'livePhoto.redacted',
          resourceType: 'livePhoto',
          payload: livePhotoEventPayload(updated),
        });
      }
    }
    res.status(200).json({});
  });

  router.delete('/:id', async (req, res) => {
    const accountId = res.locals.accountId;
    const doc = await findPhoto(accountId, req.params.id);
    // Bytes first, the record last (with the events about the photo, their deliveries and every job in between):
    // if a step fails, a retried DELETE finishes the job.
    const erased = await gatewayEraser(ctx).erasePhotos([doc]);
    if (erased.photos === 1) {
      ctx.emit({
        accountId,
        type: 'livePhoto.deleted',
        resourceType: 'livePhoto',
        payload: livePhotoEventPayload(doc),
      });
    }
    res.status(204).end();
  });

  return router;
}
