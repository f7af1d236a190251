import type { HandleOutcome } from '../types.js';

/** Whether a handler returned a well-formed outcome; every backend checks before acting on it. */
export function isHandleOutcome(v: unknown): v is HandleOutcome {
  if (typeof v !== 'object' || v === null) return false;
  const kind = (v as { kind?: unknown }).kind;
  if (kind === 'done') return true;
  return kind === 'retry' && typeof (v as { delayMs?: unknown }).delayMs === 'number';
}

/** A value as text for an error message, whatever it is. */
export function describeValue(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
