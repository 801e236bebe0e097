import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

// errors only: converted graphs carry attributes newer runtimes warn about on every load
ort.env.logLevel = 'error';

/** One loaded ONNX model: its session plus what identifies the file (for the versions the API reports). */
export interface OnnxModel {
  name: string;
  session: ort.InferenceSession;
  sha256: string;
  inputName: string;
}

export interface RuntimeOptions {
  /** Threads one model run may use (ORT intra-op). 1 suits one worker process per core. */
  threads: number;
}

/**
 * Loads a model from its file (the bytes are hashed so the versions name exactly what ran). Throws with the model's
 * name when the file is missing or not a valid model: the engine must fail closed.
 */
export async function loadOnnxModel(name: string, path: string, opts: RuntimeOptions): Promise<OnnxModel> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`model ${name}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: opts.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // errors only: converted graphs carry attributes newer runtimes warn about on every load
      logSeverityLevel: 3,
      // spinning threads burn a core while waiting; the workers share cores with other processes
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
  } catch (err) {
    throw new Error(`model ${name}: ${path} is not a loadable ONNX model: ${(err as Error).message}`, { cause: err });
  }
  const inputName = session.inputNames[0];
  if (!inputName) throw new Error(`model ${name}: no input`);
  return { name, session, sha256: createHash('sha256').update(bytes).digest('hex'), inputName };
}

/** Runs a single-input model and returns every output as a flat Float32Array with its dims. */
export async function runOnnx(
  model: OnnxModel,
  data: Float32Array,
  dims: number[],
): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const input = new ort.Tensor('float32', data, dims);
  const out = await model.session.run({ [model.inputName]: input });
  const result: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
  for (const [key, t] of Object.entries(out)) {
    if (t.type !== 'float32') throw new Error(`model ${model.name}: output ${key} is ${t.type}, expected float32`);
    result[key] = { data: t.data as Float32Array, dims: t.dims };
  }
  input.dispose();
  return result;
}

export function onnxRuntimeVersion(): string {
  return ort.env.versions?.node ?? 'unknown';
}
