import { isAbsolute, resolve } from 'node:path';
import type { RevisionWorkload } from '../types.js';
import { CommandRequiredError, ImageNotRunnableLocallyError } from './errors.js';

/** What to exec for one replica. Pure: computed from the workload, the port and the parent's environment. */
export interface SpawnPlan {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

export function containerName(workload: RevisionWorkload): string {
  return workload.container.name ?? 'user-container';
}

/**
 * Throws ImageNotRunnableLocallyError / CommandRequiredError when the container cannot run as a process.
 * Like Knative, `command` is the entrypoint; locally there is no image entrypoint, so `args` alone is an error.
 */
export function checkRunnable(workload: RevisionWorkload): string[] {
  const c = workload.container;
  const name = containerName(workload);
  const command = c.command ?? [];
  if (command.length === 0 || command[0] === '') {
    if (c.args !== undefined && c.args.length > 0) throw new CommandRequiredError(name, 'args are set but command is missing');
    if (c.image !== undefined && c.image !== '') throw new ImageNotRunnableLocallyError(name, c.image);
    throw new CommandRequiredError(name, 'neither command nor image is set');
  }
  return command;
}

/** `port` is undefined for a workload that does not listen: it gets none of Serving's variables. */
export function planSpawn(workload: RevisionWorkload, port: number | undefined, parentEnv: NodeJS.ProcessEnv): SpawnPlan {
  const command = checkRunnable(workload);
  const c = workload.container;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parentEnv)) if (v !== undefined) env[k] = v;
  if (port !== undefined) {
    env.PORT = String(port);
    env.K_SERVICE = workload.service;
    env.K_CONFIGURATION = workload.configuration;
    env.K_REVISION = workload.revision;
  }
  for (const e of c.env ?? []) env[e.name] = e.value ?? '';
  for (const [k, v] of Object.entries(workload.env ?? {})) env[k] = v;
  const wd = c.workingDir;
  const cwd = wd === undefined || wd === '' ? workload.baseDir : isAbsolute(wd) ? wd : resolve(workload.baseDir, wd);
  const [file, ...rest] = command as [string, ...string[]];
  return { file, args: [...rest, ...(c.args ?? [])], cwd, env };
}
