import type { Condition, ConditionStatus } from '../api/types.js';

/** A condition as a reconciler computes it; `lastTransitionTime` is filled in by setConditions. */
export interface DesiredCondition {
  type: string;
  status: ConditionStatus;
  reason?: string;
  message?: string;
}

/**
 * Merges computed conditions into the previous ones, keeping `lastTransitionTime` when a condition's
 * status did not change (Knative's apis.ConditionSet semantics). Sorted by type with Ready first.
 */
export function setConditions(previous: readonly Condition[] | undefined, next: readonly DesiredCondition[], now: number): Condition[] {
  const stamp = new Date(now).toISOString();
  const out = next.map((c) => {
    const before = previous?.find((p) => p.type === c.type);
    const merged: Condition = { type: c.type, status: c.status };
    if (c.reason) merged.reason = c.reason;
    if (c.message) merged.message = c.message;
    merged.lastTransitionTime = before && before.status === c.status && before.lastTransitionTime ? before.lastTransitionTime : stamp;
    return merged;
  });
  return out.sort((a, b) => (a.type === 'Ready' ? -1 : b.type === 'Ready' ? 1 : a.type.localeCompare(b.type)));
}

export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type = 'Ready'): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

/** Ready is the conjunction of its dependents: the first False wins, then the first Unknown. */
export function readyFrom(dependents: readonly DesiredCondition[]): DesiredCondition {
  const bad = dependents.find((c) => c.status === 'False') ?? dependents.find((c) => c.status === 'Unknown');
  if (!bad) return { type: 'Ready', status: 'True' };
  const out: DesiredCondition = { type: 'Ready', status: bad.status };
  if (bad.reason) out.reason = bad.reason;
  if (bad.message) out.message = bad.message;
  return out;
}
