/** `wisp up`: runs the platform in the foreground until SIGINT/SIGTERM. */
import { systemClock, type Clock } from '../../clock.js';
import type { LeaderElected, LeaderElectedDeps, LeaderElectionOptions } from '../../platform/leader.js';
import type { PlatformOptions, StartPlatform } from '../../platform/types.js';
import { resolveLeaderElection, resolveUpOptions, type UpFlags } from '../config.js';
import { describeStartError, formatUpBanner } from '../format/up.js';
import { writeLine, type CliIo } from '../io.js';

export interface UpDeps {
  /** Default: `startPlatform` from src/platform, loaded on demand. */
  startPlatform?: StartPlatform;
  /** Subscribes to shutdown signals; returns an unsubscribe. Default: SIGINT and SIGTERM of this process. */
  onSignal?: (handler: (signal: string) => void) => () => void;
  /** Ends the process at once on a second signal. Default: `process.exit`. */
  forceExit?: (code: number) => void;
  /** `--leader-elect`: default `startLeaderElected` from src/platform/leader.ts, loaded on demand. */
  startLeaderElected?: (options: PlatformOptions, le: LeaderElectionOptions, deps: LeaderElectedDeps) => Promise<LeaderElected>;
  /** Times the bound on stopping after a lost Lease. Default: the system clock. */
  clock?: Clock;
}

function processSignals(handler: (signal: string) => void): () => void {
  const onSig = (sig: NodeJS.Signals): void => handler(sig);
  process.on('SIGINT', onSig);
  process.on('SIGTERM', onSig);
  return () => {
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
  };
}

async function loadStartPlatform(): Promise<StartPlatform> {
  const mod = (await import('../../platform/index.js')) as { startPlatform: StartPlatform };
  return mod.startPlatform;
}

async function loadStartLeaderElected(): Promise<NonNullable<UpDeps['startLeaderElected']>> {
  const mod = (await import('../../platform/leader.js')) as { startLeaderElected: NonNullable<UpDeps['startLeaderElected']> };
  return mod.startLeaderElected;
}

export async function runUp(io: CliIo, flags: UpFlags, deps: UpDeps = {}): Promise<number> {
  const options = resolveUpOptions(flags, io.env);
  const leaderElection = resolveLeaderElection(flags, io.env, options);
  const onSignal = deps.onSignal ?? processSignals;
  const forceExit = deps.forceExit ?? ((code: number) => process.exit(code));

  // Listen for signals from the start, so Ctrl-C during start-up still shuts down cleanly.
  let signalled: (sig: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => (signalled = resolve));
  let signals = 0;
  const unsubscribe = onSignal((sig) => {
    signals += 1;
    if (signals === 1) signalled(sig);
    else {
      writeLine(io.stderr, `wisp up: ${sig} again, exiting without draining`);
      forceExit(1);
    }
  });

  try {
    if (leaderElection !== undefined) return await runLeaderElected(io, options, leaderElection, stopped, { ...deps, forceExit });
    let platform;
    try {
      const start = deps.startPlatform ?? (await loadStartPlatform());
      platform = await start(options);
    } catch (err) {
      writeLine(io.stderr, describeStartError(err, options));
      return 1;
    }
    io.stdout.write(formatUpBanner(platform, options));
    const sig = await stopped;
    writeLine(io.stderr, `wisp up: ${sig} received, draining in-flight requests and stopping replicas`);
    try {
      await platform.close();
    } catch (err) {
      writeLine(io.stderr, `wisp up: shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
      return 1;
    }
    writeLine(io.stderr, 'wisp up: stopped');
    return 0;
  } finally {
    unsubscribe();
  }
}

/**
 * `wisp up --leader-elect` (semantics in src/platform/leader.ts): a standby until the Lease is held, then the platform;
 * a signal stops it and releases the Lease (exit 0); a lost Lease stops it and exits 1 (`leaderelection lost`), the
 * stop bounded by leaseDuration − renewDeadline, the time before another replica may take over.
 */
async function runLeaderElected(
  io: CliIo,
  options: PlatformOptions,
  le: LeaderElectionOptions,
  stopped: Promise<string>,
  deps: UpDeps & { forceExit: (code: number) => void },
): Promise<number> {
  let run: LeaderElected;
  try {
    const start = deps.startLeaderElected ?? (await loadStartLeaderElected());
    // The platform's modules load when the Lease is held: the standby answers first.
    const startPlatform: StartPlatform = async (o) => (deps.startPlatform ?? (await loadStartPlatform()))(o);
    run = await start(options, le, { startPlatform, print: (line) => writeLine(io.stdout, line), ...(deps.clock && { clock: deps.clock }) });
  } catch (err) {
    writeLine(io.stderr, describeStartError(err, options));
    return 1;
  }
  const shutdown = async (sig: string): Promise<number> => {
    writeLine(io.stderr, `wisp up: ${sig} received, stopping and releasing the lease ${run.lease}`);
    try {
      await run.close();
    } catch (err) {
      writeLine(io.stderr, `wisp up: shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
      return 1;
    }
    writeLine(io.stderr, 'wisp up: stopped');
    return 0;
  };

  const first = await Promise.race([
    run.leading.then(
      (platform) => ({ kind: 'leading' as const, platform }),
      (err: unknown) => ({ kind: 'failed' as const, err }),
    ),
    stopped.then((sig) => ({ kind: 'signal' as const, sig })),
    run.lost.then((err) => ({ kind: 'lost' as const, err })),
  ]);
  if (first.kind === 'signal') return shutdown(first.sig);
  if (first.kind === 'failed') {
    const missing = (first.err as { code?: unknown }).code === 'WISP_ERR_LEASE_NAMESPACE_MISSING';
    writeLine(io.stderr, describeStartError(first.err, options) + (missing ? ', or choose another with --leader-elect-namespace' : ''));
    await run.close().catch(() => undefined);
    return 1;
  }
  let lostErr: Error;
  if (first.kind === 'leading') {
    io.stdout.write(formatUpBanner(first.platform, options));
    const next = await Promise.race([stopped.then((sig) => ({ kind: 'signal' as const, sig })), run.lost.then((err) => ({ kind: 'lost' as const, err }))]);
    if (next.kind === 'signal') return shutdown(next.sig);
    lostErr = next.err;
  } else lostErr = first.err;

  // Lost: stop acting now. The others take over no sooner than leaseDuration after our last renewal, and we gave up
  // at renewDeadline after it: what is left of that is the time to stop in.
  writeLine(io.stderr, `wisp up: leaderelection lost: ${lostErr.message}; stopping`);
  const clock = deps.clock ?? systemClock;
  const boundMs = Math.max(0, run.timings.leaseDurationMs - run.timings.renewDeadlineMs);
  const bound = clock.setTimeout(() => {
    writeLine(io.stderr, `wisp up: not stopped within ${boundMs} ms of losing the lease, exiting`);
    deps.forceExit(1);
  }, boundMs);
  try {
    await run.abandon();
  } catch (err) {
    writeLine(io.stderr, `wisp up: stopping after the lost lease failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    bound.cancel();
  }
  return 1;
}
