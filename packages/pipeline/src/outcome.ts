import {
  ReasonCode,
  STAGE_FIELD,
  STAGES,
  type TStage,
  type TStageInspection,
  type TVerdict,
  ZStageInspection,
} from '@selfie/contracts';

/**
 * Stages a photo goes through: liveness only when it was asked for, repeatFace only when the photo's account had it
 * enabled at upload (`performRepeatFace` on the record).
 */
export function expectedStages(performLivenessCheck: boolean, performRepeatFace = false): TStage[] {
  return STAGES.filter((s) => (s !== 'liveness' || performLivenessCheck) && (s !== 'repeatFace' || performRepeatFace));
}

/** The stages that run after faces analysis, in the flow under `finalize`. */
export function dependentStages(performLivenessCheck: boolean, performRepeatFace = false): TStage[] {
  return expectedStages(performLivenessCheck, performRepeatFace).filter((s) => s !== 'faces');
}

/** What a dependent stage records when faces analysis did not find exactly one face. */
export function notProcessed(reason: string = ReasonCode.NO_SINGLE_FACE): TStageInspection {
  return { result: 'not_processed', breakdown: {}, reasons: [reason] };
}

/**
 * Overall outcome: `attention` when any stage needs attention (a definite finding, e.g. NO_FACE_DETECTED, wins over
 * stages that could not run because of it); otherwise `not_processed` when a stage could not run; `clear` only when
 * every stage is clear. Same precedence as the face engine's `inspectAll` (used by the evaluation).
 */
export function computeOutcome(verdicts: readonly TVerdict[]): TVerdict {
  if (verdicts.includes('attention')) return 'attention';
  if (verdicts.length === 0 || verdicts.includes('not_processed')) return 'not_processed';
  return 'clear';
}

export type FinalDecision =
  | { status: 'complete'; outcome: TVerdict }
  | { status: 'failed'; reason: string; failedStages: TStage[] };

/** Reads the stored inspections of a photo: complete when every expected stage wrote a valid result. */
export function decideFinal(
  inspections: Record<string, unknown> | undefined,
  performLivenessCheck: boolean,
  performRepeatFace = false,
): FinalDecision {
  const verdicts: TVerdict[] = [];
  const failedStages: TStage[] = [];
  for (const stage of expectedStages(performLivenessCheck, performRepeatFace)) {
    const parsed = ZStageInspection.safeParse(inspections?.[STAGE_FIELD[stage]]);
    if (parsed.success) verdicts.push(parsed.data.result);
    else failedStages.push(stage);
  }
  if (failedStages.length > 0) return { status: 'failed', reason: ReasonCode.STAGE_FAILED, failedStages };
  return { status: 'complete', outcome: computeOutcome(verdicts) };
}
