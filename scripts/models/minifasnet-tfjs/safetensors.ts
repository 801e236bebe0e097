/**
 * Minimal safetensors reader: 8-byte little-endian header length N, then N bytes of JSON mapping each tensor name
 * to { dtype, shape, data_offsets: [begin, end] } (offsets relative to the end of the header), then the raw
 * little-endian tensor data. Only what MiniFASNet needs is decoded (F32; I64 scalars are skipped by callers).
 */

export interface SafeTensor {
  dtype: string;
  shape: number[];
  /** Values as float32 for F32/F16/F64 tensors. */
  data: Float32Array;
}

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Parses a safetensors buffer; returns tensors by name and the optional __metadata__. */
export function parseSafetensors(buf: Uint8Array): {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
} {
  if (buf.byteLength < 8) throw new SafetensorsError('file too short');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(buf.byteLength - 8) || headerLen > 100_000_000n) {
    throw new SafetensorsError(`invalid header length ${headerLen}`);
  }
  const n = Number(headerLen);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n))) as Record<string, unknown>;
  } catch {
    throw new SafetensorsError('header is not valid JSON');
  }
  const dataStart = 8 + n;
  const dataLen = buf.byteLength - dataStart;
  const tensors = new Map<string, SafeTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const entry = raw as HeaderEntry;
    const width = BYTES[entry.dtype];
    if (!width) throw new SafetensorsError(`${name}: unsupported dtype ${entry.dtype}`);
    const [begin, end] = entry.data_offsets;
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (begin < 0 || end > dataLen || end - begin !== count * width) {
      throw new SafetensorsError(
        `${name}: data offsets [${begin}, ${end}] do not match shape ${JSON.stringify(entry.shape)}`,
      );
    }
    const data = new Float32Array(count);
    const base = dataStart + begin;
    for (let i = 0; i < count; i++) {
      const off = base + i * width;
      switch (entry.dtype) {
        case 'F32':
          data[i] = view.getFloat32(off, true);
          break;
        case 'F64':
          data[i] = view.getFloat64(off, true);
          break;
        case 'F16':
          data[i] = halfToFloat(view.getUint16(off, true));
          break;
        case 'BF16':
          data[i] = new Float32Array(new Uint32Array([view.getUint16(off, true) << 16]).buffer)[0] ?? 0;
          break;
        case 'I64':
          data[i] = Number(view.getBigInt64(off, true));
          break;
        case 'I32':
          data[i] = view.getInt32(off, true);
          break;
        case 'I16':
          data[i] = view.getInt16(off, true);
          break;
        case 'I8':
          data[i] = view.getInt8(off);
          break;
        default:
          data[i] = view.getUint8(off);
      }
    }
    tensors.set(name, { dtype: entry.dtype, shape: entry.shape, data });
  }
  return { tensors, metadata };
}
