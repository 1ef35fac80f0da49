// The eight steps of a recovery, in the order they run.
import type { StepId } from '../events';
import type { RecoveryStep } from './step';
import { step as preflight } from './preflight';
import { step as snapshot } from './snapshot';
import { step as stop } from './stop';
import { step as remove } from './remove';
import { step as mkdir } from './mkdir';
import { step as add } from './add';
import { step as start } from './start';
import { step as postcheck } from './postcheck';

export const STEPS: readonly RecoveryStep[] = [preflight, snapshot, stop, remove, mkdir, add, start, postcheck];

export function stepOf(id: StepId): RecoveryStep {
  const s = STEPS.find((x) => x.id === id);
  if (!s) throw new Error(`BUG: no step ${id}`);
  return s;
}

export type { PlanFacts, RecoveryStep } from './step';
