/** `wisp up`: runs the platform in the foreground until SIGINT/SIGTERM. */
import type { StartPlatform } from '../../platform/types.js';
import { resolveUpOptions, type UpFlags } from '../config.js';
import { describeStartError, formatUpBanner } from '../format/up.js';
import { writeLine, type CliIo } from '../io.js';

export interface UpDeps {
  /** Default: `startPlatform` from src/platform, loaded on demand. */
  startPlatform?: StartPlatform;
  /** Subscribes to shutdown signals; returns an unsubscribe. Default: SIGINT and SIGTERM of this process. */
  onSignal?: (handler: (signal: string) => void) => () => void;
  /** Ends the process at once on a second signal. Default: `process.exit`. */
  forceExit?: (code: number) => void;
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

export async function runUp(io: CliIo, flags: UpFlags, deps: UpDeps = {}): Promise<number> {
  const options = resolveUpOptions(flags, io.env);
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
