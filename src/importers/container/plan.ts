/**
 * What a ContainerSource runs (pure): its template's one container as a local process, with `K_SINK` (the resolved
 * sink) and `K_CE_OVERRIDES` (`{"extensions":{...}}`, only when `spec.ceOverrides` is set) injected into its
 * environment the way Knative's SinkBinding injects them; or why it cannot run (an image-only container).
 */
import { DEFAULT_TERMINATION_GRACE_SECONDS, type ContainerSourceSpec } from '../../api/containersource.js';
import { SOURCE_DIR_ANNOTATION, type Container, type KObject } from '../../api/types.js';
import { LocalRuntimeError } from '../../runtime/local/errors.js';
import { checkRunnable } from '../../runtime/local/spawn-plan.js';
import type { SourcePlan } from '../source-reconciler.js';
import { sinkEnv } from '../sink-env.js';

/** What a runner needs of a ContainerSource, resolved. JSON-serialisable: its JSON is the restart signature. */
export interface ContainerRunSpec {
  namespace: string;
  name: string;
  container: Container;
  /** Folder relative `workingDir` resolves against: the applied file's folder. */
  baseDir: string;
  /** SIGTERM → SIGKILL budget when the process is stopped (`terminationGracePeriodSeconds`). */
  graceSeconds: number;
  /** `K_SINK` and, with ceOverrides, `K_CE_OVERRIDES`: set after the container's own `env`. */
  env: Record<string, string>;
}

/** The run spec of a ContainerSource whose sink resolved to `sinkUri`, or why it cannot run as a local process. */
export function planContainerSource(source: KObject, sinkUri: string, defaultBaseDir: string): SourcePlan<ContainerRunSpec> {
  const spec = (source.spec ?? {}) as ContainerSourceSpec;
  const { namespace, name } = source.metadata;
  const containers = spec.template?.spec?.containers ?? [];
  const container = containers[0];
  if (container === undefined || containers.length !== 1) {
    return { problem: { reason: 'InvalidTemplate', message: `spec.template.spec.containers: want exactly one container, got ${containers.length}` } };
  }
  const runSpec: ContainerRunSpec = {
    namespace,
    name,
    container,
    baseDir: source.metadata.annotations?.[SOURCE_DIR_ANNOTATION] ?? defaultBaseDir,
    graceSeconds: spec.template?.spec?.terminationGracePeriodSeconds ?? DEFAULT_TERMINATION_GRACE_SECONDS,
    env: sinkEnv(sinkUri, spec.ceOverrides),
  };
  try {
    checkRunnable({ key: `${namespace}/${name}`, namespace, service: name, configuration: name, revision: name, container, baseDir: runSpec.baseDir, timeoutSeconds: runSpec.graceSeconds });
  } catch (err) {
    if (err instanceof LocalRuntimeError && 'reason' in err) return { problem: { reason: String(err.reason), message: err.message } };
    throw err;
  }
  return { runSpec };
}
