import { describe, expect, it } from 'vitest';
import { computeOutcome, decideFinal, dependentStages } from './outcome.js';

const clear = { result: 'clear', breakdown: {}, reasons: [] };
const attention = { result: 'attention', breakdown: {}, reasons: ['SUNGLASSES'] };
const skipped = { result: 'not_processed', breakdown: {}, reasons: ['NO_SINGLE_FACE'] };

describe('outcome', () => {
  it('is clear only when every stage is clear; attention wins over not_processed', () => {
    expect(computeOutcome(['clear', 'clear'])).toBe('clear');
    expect(computeOutcome(['clear', 'attention', 'clear'])).toBe('attention');
    expect(computeOutcome(['clear', 'not_processed'])).toBe('not_processed');
    expect(computeOutcome(['attention', 'not_processed'])).toBe('attention');
    expect(computeOutcome([])).toBe('not_processed');
  });

  it('leaves liveness out when it was not requested', () => {
    expect(dependentStages(true)).toEqual(['obstruction', 'orientation', 'liveness', 'quality']);
    expect(dependentStages(false)).toEqual(['obstruction', 'orientation', 'quality']);
  });

  it('completes when every expected stage stored a result, fails (STAGE_FAILED) otherwise', () => {
    const all = {
      facesAnalysis: clear,
      facialObstructions: attention,
      facialOrientation: clear,
      livenessCheck: clear,
      captureQuality: clear,
    };
    expect(decideFinal(all, true)).toEqual({ status: 'complete', outcome: 'attention' });
    const { livenessCheck: _, ...noLiveness } = all;
    expect(decideFinal(noLiveness, false)).toEqual({ status: 'complete', outcome: 'attention' });
    expect(decideFinal(noLiveness, true)).toEqual({
      status: 'failed',
      reason: 'STAGE_FAILED',
      failedStages: ['liveness'],
    });
    expect(decideFinal({ ...all, facialOrientation: { result: 'bogus' } }, true)).toMatchObject({ status: 'failed' });
    const noFace = {
      facesAnalysis: attention,
      facialObstructions: skipped,
      facialOrientation: skipped,
      livenessCheck: skipped,
      captureQuality: skipped,
    };
    expect(decideFinal(noFace, true)).toEqual({ status: 'complete', outcome: 'attention' });
    // A poor capture alone makes the photo need attention; it never hides another stage's verdict.
    const blurred = { ...all, facialObstructions: clear, captureQuality: { ...attention, reasons: ['BLURRY'] } };
    expect(decideFinal(blurred, true)).toEqual({ status: 'complete', outcome: 'attention' });
  });
});
