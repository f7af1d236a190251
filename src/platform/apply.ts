import { qualifiedSingular } from '../api/kinds.js';
import type { LoadedObject } from '../api/load.js';
import { applyObject, type ApplyOptions } from '../control/apply.js';
import type { ResourceStore } from '../control/resource-store.js';
import type { ApplyOutcome } from './types.js';

/** Raised when manifests given to `wisp up -f` are invalid; it lists every one of them. */
export class StartupManifestError extends Error {
  readonly code = 'WISP_ERR_STARTUP_MANIFEST';
}

/**
 * Applies the manifests given to `wisp up -f` in order, as `wisp apply -f` would. Valid objects are
 * stored; if any object is invalid, start-up fails with every error (file, document, field, reason).
 */
export async function applyAll(store: ResourceStore, objects: readonly LoadedObject[], opts: ApplyOptions = {}): Promise<ApplyOutcome[]> {
  const problems: string[] = [];
  const outcomes: ApplyOutcome[] = [];
  for (const { object, source } of objects) {
    try {
      const applied = await applyObject(store, object, opts);
      outcomes.push({
        ref: `${qualifiedSingular(applied.info)}/${applied.object.metadata.name}`,
        namespace: applied.object.metadata.namespace,
        result: applied.result,
        warnings: applied.warnings,
      });
    } catch (err) {
      problems.push(`${source}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (problems.length > 0) throw new StartupManifestError(`invalid manifests:\n${problems.join('\n')}`);
  return outcomes;
}
