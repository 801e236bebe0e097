import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../human-loader.js';
import { enlargedBox } from './crop.js';
import { parseSafetensors, SafetensorsError } from './safetensors.js';

function build(header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('parseSafetensors', () => {
  it('reads F32 tensors, shapes and metadata from a hand-built file', () => {
    const values = new Float32Array([1.5, -2, 3.25, 0, 7, -0.5]);
    const i64 = new BigInt64Array([42n]);
    const data = new Uint8Array(values.byteLength + i64.byteLength);
    data.set(new Uint8Array(values.buffer), 0);
    data.set(new Uint8Array(i64.buffer), values.byteLength);
    const file = build(
      {
        __metadata__: { format: 'pt' },
        w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
        n: { dtype: 'I64', shape: [], data_offsets: [24, 32] },
      },
      data,
    );
    const { tensors, metadata } = parseSafetensors(file);
    expect(metadata).toEqual({ format: 'pt' });
    expect(tensors.get('w')?.shape).toEqual([2, 3]);
    expect(Array.from(tensors.get('w')?.data ?? [])).toEqual([1.5, -2, 3.25, 0, 7, -0.5]);
    expect(tensors.get('n')?.data[0]).toBe(42);
  });

  it('rejects truncated files and inconsistent offsets', () => {
    expect(() => parseSafetensors(new Uint8Array(4))).toThrow(SafetensorsError);
    const bad = build({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 8] } }, new Uint8Array(8));
    expect(() => parseSafetensors(bad)).toThrow(/do not match/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 1000n, true);
    expect(() => parseSafetensors(huge)).toThrow(/header length/);
  });

  it('parses the shipped MiniFASNet weights', () => {
    const file = join(packageRoot, 'models', 'minifasnet', 'minifasnet_v2_scale2.7.safetensors');
    const { tensors } = parseSafetensors(readFileSync(file));
    expect(tensors.get('conv1.conv.weight')?.shape).toEqual([32, 3, 3, 3]);
    expect(tensors.get('conv_6_dw.conv.weight')?.shape).toEqual([512, 1, 5, 5]);
    expect(tensors.get('prob.weight')?.shape).toEqual([3, 128]);
  });
});

describe('enlargedBox', () => {
  it('scales around the centre when the box fits', () => {
    expect(enlargedBox(1000, 1000, { x: 400, y: 400, width: 100, height: 100 }, 2)).toEqual({
      x0: 350,
      y0: 350,
      x1: 550,
      y1: 550,
    });
  });
  it('shifts the enlarged box back inside the image and caps the scale', () => {
    const r = enlargedBox(640, 480, { x: 0, y: 10, width: 100, height: 100 }, 2.7);
    expect(r.x0).toBe(0);
    expect(r.x1).toBe(270);
    expect(r.y0).toBe(0);
    const capped = enlargedBox(200, 200, { x: 50, y: 50, width: 100, height: 100 }, 4);
    expect(capped).toEqual({ x0: 0, y0: 0, x1: 199, y1: 199 });
  });
});
