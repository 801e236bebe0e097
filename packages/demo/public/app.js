// @ts-check
// The demo page's script: plain modern JS served as is (types in JSDoc), no framework, no outside assets.

/** @typedef {{ x: number, y: number, width: number, height: number }} Box */
/** @typedef {{ result?: string, breakdown?: Record<string, unknown>, reasons?: string[] }} StageInspection */
/** @typedef {Record<string, unknown> & { outcome?: string }} Inspections */
/** @typedef {{ id: string, status?: string, inspections?: Inspections }} LivePhoto */

const API = document.querySelector('meta[name="selfie-api-base"]')?.getAttribute('content') || '/v1';
const KEY_STORE = 'selfie-demo:key';
const CLIENT_STORE = 'selfie-demo:client:';
const POLL_MS = 500;
const POLL_GIVE_UP_MS = 5 * 60_000;
/** The service's default limits (configurable there; the API explains a refusal if they differ). */
const MIN_BYTES = 34 * 1024;
const MAX_BYTES = 4 * 1024 * 1024;
const MAX_SIDE = 2048;

/** Stages in the order of the `inspections` object, with a title in plain words. */
const STAGES = [
  { field: 'facesAnalysis', title: 'One clear face' },
  { field: 'facialObstructions', title: 'Nothing covering the face' },
  { field: 'facialOrientation', title: 'Facing the camera, fully in frame' },
  { field: 'livenessCheck', title: 'A live person (not a photo of a photo or a screen)' },
  { field: 'captureQuality', title: 'A sharp, well-lit, detailed photo' },
  // Opt-in per account (README "Repeat faces"): shown only once the photo has this result.
  { field: 'repeatFace', title: 'A face not already used by another client' },
];

/**
 * captureQuality reason → what to do about it, from @selfie/contracts (the server fills it in when it serves this
 * file). @type {Record<string, string>}
 */
const HINTS = /*QUALITY_HINTS*/ {};

/** @type {Record<string, string>} */
const VERDICTS = { clear: 'Clear', attention: 'Needs attention', not_processed: 'Not processed' };

/** @type {Record<string, string>} */
const OUTCOME_TEXT = {
  clear: 'Every check passed: this selfie is good to use.',
  attention: 'At least one check needs a human look (see the reasons below).',
  not_processed: 'Some checks could not run on this photo (see the reasons below).',
};

/** Reason code → sentence. Codes are stable; unknown ones are shown as they are. @type {Record<string, string>} */
const REASONS = {
  NO_FACE_DETECTED: 'No face was found in the photo',
  MULTIPLE_FACES: 'More than one face is in the photo',
  FACE_TOO_SMALL: 'The face is too small: move closer to the camera',
  FACE_CROPPED: 'Part of the face is outside the photo',
  EXTREME_POSE_YAW: 'The head is turned too far to the side',
  EXTREME_POSE_PITCH: 'The head is tilted too far up or down',
  EXTREME_POSE_ROLL: 'The head is tilted too far sideways',
  EYES_CLOSED: 'The eyes look closed',
  FACE_OCCLUDED: 'Part of the face is hidden',
  SUNGLASSES: 'Sunglasses or dark glasses hide the eyes',
  MASK_OR_COVERING: 'Something covers the nose or mouth (a mask or scarf)',
  HAND_OVER_FACE: 'A hand is in front of the face',
  LOW_BRIGHTNESS: 'The photo is too dark',
  LOW_SHARPNESS: 'The photo is blurry',
  SPOOF_SUSPECTED: 'This may be a photo of a photo or of a screen, not a live person',
  NO_SINGLE_FACE: 'Skipped: this check needs exactly one face',
  BLURRY: 'The face is blurred',
  GLARE_ON_FACE: 'Light reflects off the face',
  UNDEREXPOSED: 'The face is too dark',
  OVEREXPOSED: 'The face is too bright',
  LOW_RESOLUTION: 'The face has too few pixels',
  HEAVY_COMPRESSION: 'The photo is heavily compressed',
  UNEVEN_LIGHTING: 'One side of the face is much darker than the other',
  FACE_SEEN_ON_OTHER_CLIENT: 'The same face was already uploaded for another client of this account',
  STAGE_FAILED: 'This check failed to run',
};

/** Breakdown field → label. Fields not listed are shown with their own name. @type {Record<string, string>} */
const FIELD_LABELS = {
  faceCount: 'Faces found',
  confidence: 'Detector confidence',
  obstructed: 'Something covers the face',
  regions: 'Face regions',
  kinds: 'What covers it',
  score: 'Obstruction score',
  yaw: 'Turn left/right (yaw, °)',
  pitch: 'Tilt up/down (pitch, °)',
  roll: 'Sideways tilt (roll, °)',
  faceInFrame: 'Whole face in the photo',
  faceSize: 'Face height / photo height',
  livenessCheckScore: 'Liveness score (0–100)',
  faceHeightPx: 'Face height (pixels)',
  eyesClosed: 'Eyes closed',
  eyesOpen: 'Eyes open',
  rescuePass: 'Found on a second, more sensitive pass',
  signals: 'Model signals (0–100)',
  brightness: 'Brightness',
  sharpness: 'Sharpness',
  blurPx: 'Blur (pixels)',
  glarePercent: 'Glare on the face (%)',
  luminanceMean: 'Face brightness (0–1)',
  interEyeDistancePx: 'Distance between the eyes (pixels)',
  eyeOpenness: 'Eye openness',
  jpegQuality: 'JPEG quality',
  lightingImbalanceStops: 'Left/right light difference (stops)',
  sameClientMatches: 'Earlier selfies of this client with the same face',
  threshold: 'Similarity threshold',
  comparedFaces: 'Faces compared',
  alignment: 'Face aligned from',
  embeddingMs: 'Embedding time (ms)',
  searchMs: 'Search time (ms)',
};

/** @param {string} id */
function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
}

const els = {
  key: /** @type {HTMLInputElement} */ ($('api-key')),
  showKey: /** @type {HTMLButtonElement} */ ($('show-key')),
  clientId: $('client-id'),
  file: /** @type {HTMLInputElement} */ ($('file-input')),
  cameraStart: /** @type {HTMLButtonElement} */ ($('camera-start')),
  cameraSnap: /** @type {HTMLButtonElement} */ ($('camera-snap')),
  video: /** @type {HTMLVideoElement} */ ($('video')),
  picked: $('picked'),
  liveness: /** @type {HTMLInputElement} */ ($('liveness')),
  upload: /** @type {HTMLButtonElement} */ ($('upload')),
  status: $('status'),
  photoId: $('photo-id'),
  error: $('error'),
  canvas: /** @type {HTMLCanvasElement} */ ($('canvas')),
  outcome: $('outcome'),
  outcomeText: $('outcome-text'),
  stages: $('stages'),
};

/** @type {{ image: Blob | null, imageName: string, stream: MediaStream | null, busy: boolean }} */
const state = { image: null, imageName: '', stream: null, busy: false };

class ApiError extends Error {
  /** @param {number} status @param {string} type @param {string} message */
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// API

/**
 * @param {string} path
 * @param {{ method?: string, body?: unknown }} [options]
 * @returns {Promise<any>}
 */
async function api(path, options = {}) {
  const key = els.key.value.trim();
  if (!key) throw new ApiError(401, 'unauthorized', 'Enter your API key first.');
  const res = await fetch(`${API}${path}`, {
    method: options.method ?? 'GET',
    headers: { Authorization: key, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  /** @type {any} */
  let body = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { message: text };
  }
  if (!res.ok) {
    const message = body.message || `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, body.type || 'error', message);
  }
  return body;
}

/** A demo client for this key, created once and remembered in this browser. */
async function ensureClient() {
  const key = els.key.value.trim();
  const remembered = localStorage.getItem(CLIENT_STORE + key.slice(-12));
  if (remembered) {
    try {
      const client = await api(`/clients/${remembered}`);
      showClient(client.id);
      return /** @type {string} */ (client.id);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
  }
  const client = await api('/clients', {
    method: 'POST',
    body: {
      type: 'person',
      email: 'demo.person@example.com',
      personDetails: { firstName: 'Demo', lastName: 'Person' },
      metadata: { source: 'demo-page' },
    },
  });
  localStorage.setItem(CLIENT_STORE + key.slice(-12), client.id);
  showClient(client.id);
  return /** @type {string} */ (client.id);
}

/** @param {string} id */
function showClient(id) {
  els.clientId.textContent = id;
}

// ---------------------------------------------------------------------------------------------------------------
// Picking a photo

/** @param {Blob} blob @param {string} name */
function pick(blob, name) {
  state.image = blob;
  state.imageName = name;
  els.picked.textContent = `${name} (${Math.round(blob.size / 1024)} KB)`;
  els.upload.disabled = false;
  resetResult();
  drawImage(blob, null).catch(() => {});
}

async function startCamera() {
  if (!navigator.mediaDevices?.getUserMedia) {
    showError('This browser gives no camera access here (the page needs https or localhost).');
    return;
  }
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: 'user', width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
  } catch (err) {
    showError(`The camera could not be opened: ${/** @type {Error} */ (err).message}`);
    return;
  }
  els.video.srcObject = state.stream;
  els.video.hidden = false;
  els.cameraSnap.hidden = false;
  els.cameraStart.textContent = 'Stop camera';
}

function stopCamera() {
  for (const track of state.stream?.getTracks() ?? []) track.stop();
  state.stream = null;
  els.video.srcObject = null;
  els.video.hidden = true;
  els.cameraSnap.hidden = true;
  els.cameraStart.textContent = 'Use camera';
}

async function snapshot() {
  const { videoWidth: w, videoHeight: h } = els.video;
  if (!w || !h) return;
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  canvas.getContext('2d')?.drawImage(els.video, 0, 0, w, h);
  const blob = await encode(canvas);
  stopCamera();
  pick(blob, `snapshot-${new Date().toISOString().slice(11, 19).replaceAll(':', '')}.jpg`);
}

/**
 * JPEG from a canvas; PNG when the JPEG would be under the service's smallest accepted size.
 * @param {HTMLCanvasElement} canvas
 * @returns {Promise<Blob>}
 */
async function encode(canvas) {
  /** @param {string} type @param {number} [quality] @returns {Promise<Blob>} */
  const toBlob = (type, quality) =>
    new Promise((resolve, reject) =>
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('encoding failed'))), type, quality),
    );
  const jpeg = await toBlob('image/jpeg', 0.92);
  return jpeg.size >= MIN_BYTES ? jpeg : toBlob('image/png');
}

/**
 * The image as the service accepts it: JPEG or PNG, within the size limits (re-encoded in the browser otherwise).
 * @param {Blob} blob
 */
async function prepare(blob) {
  const accepted = blob.type === 'image/jpeg' || blob.type === 'image/png';
  if (accepted && blob.size >= MIN_BYTES && blob.size <= MAX_BYTES) return blob;
  const bitmap = await createImageBitmap(blob);
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext('2d')?.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return encode(canvas);
}

/** @param {Blob} blob @returns {Promise<string>} base64 without the data: prefix */
function toBase64(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Upload and poll

async function uploadAndInspect() {
  if (!state.image || state.busy) return;
  state.busy = true;
  els.upload.disabled = true;
  resetResult();
  const uploaded = state.image;
  try {
    localStorage.setItem(KEY_STORE, els.key.value.trim());
    setStatus('preparing', 'preparing the photo…');
    const image = await prepare(uploaded);
    const data = await toBase64(image);
    setStatus('uploading', 'uploading…');
    let clientId = await ensureClient();
    /** @type {LivePhoto} */
    let photo;
    try {
      photo = await api('/livePhotos', {
        method: 'POST',
        body: { clientId, data, performLivenessCheck: els.liveness.checked },
      });
    } catch (err) {
      // The remembered client may have been deleted meanwhile: make a new one and try once more.
      if (!(err instanceof ApiError && err.status === 404)) throw err;
      localStorage.removeItem(CLIENT_STORE + els.key.value.trim().slice(-12));
      clientId = await ensureClient();
      photo = await api('/livePhotos', {
        method: 'POST',
        body: { clientId, data, performLivenessCheck: els.liveness.checked },
      });
    }
    els.photoId.textContent = `(photo ${photo.id})`;
    const final = await poll(photo);
    await drawImage(await download(final.id).catch(() => image), final.inspections ?? null);
  } catch (err) {
    setStatus('error', 'error');
    showError(err instanceof Error ? err.message : String(err));
  } finally {
    state.busy = false;
    els.upload.disabled = !state.image;
  }
}

/** Polls every 500 ms until the photo leaves `processing`, showing stages as they arrive. @param {LivePhoto} photo */
async function poll(photo) {
  const started = performance.now();
  let current = photo;
  for (;;) {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    setStatus(current.status ?? 'processing', `${current.status ?? 'processing'} (${seconds} s)`);
    renderInspections(current.inspections ?? null, current.status === 'processing');
    if (current.status !== 'processing') return current;
    if (performance.now() - started > POLL_GIVE_UP_MS) throw new Error('Still processing after 5 minutes; gave up.');
    await new Promise((r) => setTimeout(r, POLL_MS));
    current = await api(`/livePhotos/${photo.id}`);
  }
}

/** The stored bytes, as the service kept them. @param {string} id */
async function download(id) {
  const res = await fetch(`${API}/livePhotos/${id}/download?raw=1`, {
    headers: { Authorization: els.key.value.trim(), Accept: 'image/*' },
  });
  if (!res.ok) throw new Error(`download answered ${res.status}`);
  return res.blob();
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering

/** @param {string} status @param {string} text */
function setStatus(status, text) {
  els.status.dataset.status = status;
  els.status.textContent = text;
}

/** @param {string} message */
function showError(message) {
  els.error.textContent = message;
  els.error.hidden = false;
}

function resetResult() {
  els.error.hidden = true;
  els.error.textContent = '';
  els.photoId.textContent = '';
  els.outcome.textContent = '—';
  els.outcome.dataset.outcome = '';
  els.outcomeText.textContent = '';
  els.stages.replaceChildren();
  setStatus('idle', 'idle');
}

/** @param {unknown} value @returns {string} */
function formatValue(value) {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(2);
  if (Array.isArray(value)) return value.length ? value.map(formatValue).join(', ') : 'none';
  if (value && typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => `${k}: ${formatValue(v)}`)
      .join(', ');
  }
  return String(value);
}

/** `faceHeightPx` → `Face height px`, for fields the dictionary does not know yet. @param {string} field */
function humanize(field) {
  const words = field.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * Scores and measurements worth showing from a stage's breakdown (faces become "Detector confidence").
 * @param {Record<string, unknown>} breakdown
 * @returns {[string, string][]}
 */
function breakdownRows(breakdown) {
  /** @type {[string, string][]} */
  const rows = [];
  for (const [field, value] of Object.entries(breakdown)) {
    if (field === 'faces' && Array.isArray(value)) {
      value.forEach((face, i) => {
        const confidence = face && typeof face === 'object' ? /** @type {any} */ (face).confidence : undefined;
        if (typeof confidence === 'number') {
          rows.push([value.length > 1 ? `Face ${i + 1} confidence` : FIELD_LABELS.confidence, formatValue(confidence)]);
        }
      });
      continue;
    }
    // repeatFace: the matched photos by id and similarity (never the other client's image).
    if (field === 'matches' && Array.isArray(value)) {
      value.forEach((match, i) => {
        const m = /** @type {any} */ (match ?? {});
        rows.push([
          `Match ${i + 1}`,
          `live photo ${m.livePhotoId} of client ${m.clientId}, similarity ${formatValue(m.similarity)}`,
        ]);
      });
      continue;
    }
    // Nested data (landmarks, boxes) is drawn on the photo, not listed; flat groups (regions, signals) are.
    const nested = (/** @type {unknown} */ v) => !!v && typeof v === 'object';
    if (Array.isArray(value) ? value.some(nested) : nested(value) && Object.values(value).some(nested)) continue;
    rows.push([FIELD_LABELS[field] ?? humanize(field), formatValue(value)]);
  }
  return rows;
}

/**
 * @param {Inspections | null} inspections
 * @param {boolean} processing
 */
function renderInspections(inspections, processing) {
  const items = [];
  for (const { field, title } of STAGES) {
    const stage = /** @type {StageInspection | undefined} */ (inspections?.[field]);
    if (!stage && field === 'livenessCheck' && !els.liveness.checked) continue;
    if (!stage && field === 'repeatFace') continue;
    const verdict = stage?.result ?? (processing ? 'pending' : 'absent');

    const li = document.createElement('li');
    li.className = 'stage';
    li.dataset.testid = `stage-${field}`;
    li.dataset.verdict = verdict;

    const h3 = document.createElement('h3');
    const name = document.createElement('span');
    name.textContent = title;
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.dataset.testid = `stage-verdict-${field}`;
    badge.textContent = VERDICTS[verdict] ?? (verdict === 'pending' ? 'Checking…' : 'Not run');
    h3.append(name, badge);
    li.append(h3);

    if (stage) {
      const reasons = stage.reasons ?? [];
      if (reasons.length) {
        const ul = document.createElement('ul');
        ul.dataset.testid = `stage-reasons-${field}`;
        for (const code of reasons) {
          const item = document.createElement('li');
          item.dataset.reason = code;
          item.textContent = HINTS[code] ? `${REASONS[code] ?? code}. ${HINTS[code]}` : (REASONS[code] ?? code);
          item.title = code;
          ul.append(item);
        }
        li.append(ul);
      }
      const rows = breakdownRows(stage.breakdown ?? {});
      if (rows.length) {
        const dl = document.createElement('dl');
        dl.dataset.testid = `stage-scores-${field}`;
        for (const [label, value] of rows) {
          const dt = document.createElement('dt');
          dt.textContent = label;
          const dd = document.createElement('dd');
          dd.textContent = value;
          dl.append(dt, dd);
        }
        li.append(dl);
      }
    }
    items.push(li);
  }
  els.stages.replaceChildren(...items);

  const outcome = inspections?.outcome;
  if (outcome && !processing) {
    els.outcome.dataset.outcome = outcome;
    els.outcome.textContent = VERDICTS[outcome] ?? outcome;
    els.outcomeText.textContent = OUTCOME_TEXT[outcome] ?? '';
  } else if (!processing && els.status.dataset.status === 'failed') {
    els.outcome.dataset.outcome = 'failed';
    els.outcome.textContent = 'Failed';
    els.outcomeText.textContent = 'The inspection could not finish; try again later.';
  }
}

/**
 * Points of a landmarks value, whatever its shape ([x, y] pairs, {x, y}, nested arrays or named groups).
 * @param {unknown} value
 * @param {[number, number][]} out
 */
function collectPoints(value, out) {
  if (Array.isArray(value)) {
    if (value.length >= 2 && typeof value[0] === 'number' && typeof value[1] === 'number') {
      out.push([value[0], value[1]]);
      return out;
    }
    for (const v of value) collectPoints(v, out);
  } else if (value && typeof value === 'object') {
    const o = /** @type {Record<string, unknown>} */ (value);
    if (typeof o.x === 'number' && typeof o.y === 'number' && typeof o.width !== 'number') {
      out.push([o.x, o.y]);
      return out;
    }
    for (const [k, v] of Object.entries(o)) if (k !== 'meshBox') collectPoints(v, out);
  }
  return out;
}

/** @param {unknown} v @returns {v is Box} */
function isBox(v) {
  const b = /** @type {any} */ (v);
  return !!b && ['x', 'y', 'width', 'height'].every((k) => typeof b[k] === 'number');
}

/**
 * Draws the photo, the detected face boxes and landmarks.
 * @param {Blob} blob
 * @param {Inspections | null} inspections
 */
async function drawImage(blob, inspections) {
  const bitmap = await createImageBitmap(blob);
  const canvas = els.canvas;
  const scale = Math.min(1, 960 / bitmap.width);
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();

  const faces = /** @type {StageInspection | undefined} */ (inspections?.facesAnalysis);
  const list = faces?.breakdown?.faces;
  if (!Array.isArray(list)) return;
  const color = faces?.result === 'clear' ? '#1a9f5b' : '#e08a00';
  const line = Math.max(2, canvas.width / 240);
  let drawn = 0;
  for (const face of list) {
    if (!face || typeof face !== 'object' || !isBox(face.box)) continue;
    const { x, y, width, height } = face.box;
    ctx.strokeStyle = color;
    ctx.lineWidth = line;
    ctx.strokeRect(x * canvas.width, y * canvas.height, width * canvas.width, height * canvas.height);
    drawn += 1;

    // Landmarks are ratios, or pixels of the analysis image whose size the pixel box tells.
    const points = collectPoints(face.landmarks, []);
    if (!points.length) continue;
    let toX = (/** @type {number} */ px) => px * canvas.width;
    let toY = (/** @type {number} */ py) => py * canvas.height;
    const ratios = points.every(([px, py]) => Math.abs(px) <= 1.5 && Math.abs(py) <= 1.5);
    if (!ratios) {
      if (!isBox(face.boxPixels) || !face.box.width || !face.box.height) continue;
      const analysisW = face.boxPixels.width / face.box.width;
      const analysisH = face.boxPixels.height / face.box.height;
      toX = (px) => (px / analysisW) * canvas.width;
      toY = (py) => (py / analysisH) * canvas.height;
    }
    ctx.fillStyle = '#2f6fde';
    const r = Math.max(1.5, canvas.width / 400);
    for (const [px, py] of points) {
      ctx.beginPath();
      ctx.arc(toX(px), toY(py), r, 0, Math.PI * 2);
      ctx.fill();
    }
  }
  canvas.dataset.faces = String(drawn);
}

// ---------------------------------------------------------------------------------------------------------------
// Wiring

function init() {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get('key');
  els.key.value = fromUrl || localStorage.getItem(KEY_STORE) || '';
  if (fromUrl) {
    localStorage.setItem(KEY_STORE, fromUrl);
    // Keep the key out of the address bar and the history once it is stored.
    params.delete('key');
    const rest = params.toString();
    history.replaceState(null, '', `${location.pathname}${rest ? `?${rest}` : ''}`);
  }
  // Enter in the key field must not navigate away (the CSP forbids form submission anyway).
  $('key-form').addEventListener('submit', (event) => event.preventDefault());
  els.key.addEventListener('change', () => {
    localStorage.setItem(KEY_STORE, els.key.value.trim());
    els.clientId.textContent = 'created on first upload';
  });
  els.showKey.addEventListener('click', () => {
    const hidden = els.key.type === 'password';
    els.key.type = hidden ? 'text' : 'password';
    els.showKey.textContent = hidden ? 'Hide' : 'Show';
  });
  els.file.addEventListener('change', () => {
    const file = els.file.files?.[0];
    if (file) pick(file, file.name);
  });
  els.cameraStart.addEventListener('click', () => (state.stream ? stopCamera() : startCamera()));
  els.cameraSnap.addEventListener('click', () => {
    snapshot().catch((err) => showError(String(err)));
  });
  els.upload.addEventListener('click', () => {
    uploadAndInspect();
  });
  document.body.dataset.ready = 'true';
}

init();
