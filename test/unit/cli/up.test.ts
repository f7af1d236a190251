import { describe, expect, it } from 'vitest';
import type { Platform, PlatformOptions } from '../../../src/platform/types.js';
import { waitFor } from '../../support/wait.js';
import { run } from './run.js';

/** Signals delivered by the test instead of the process. */
function signals() {
  const handlers = new Set<(sig: string) => void>();
  return {
    onSignal: (h: (sig: string) => void) => {
      handlers.add(h);
      return () => handlers.delete(h);
    },
    send: (sig: string) => {
      for (const h of [...handlers]) h(sig);
    },
    get listening() {
      return handlers.size;
    },
  };
}

function platformFor(options: PlatformOptions, onClose: () => Promise<void>): Platform {
  const host = `http://${options.host}`;
  return {
    urls: { ingress: `${host}:${options.ingressPort}`, broker: `${host}:${options.brokerPort}`, api: `${host}:${options.apiPort}` },
    applied: [{ ref: 'service.serving.knative.dev/hello', namespace: 'default', result: 'created', warnings: [] }],
    tokenFile: `${options.stateDir}/token`,
    close: onClose,
  };
}

describe('wisp up', () => {
  it('passes flags over env to startPlatform, prints the banner, and closes on SIGINT with exit 0', async () => {
    const sig = signals();
    let seen: PlatformOptions | undefined;
    let closed = 0;
    let stdout = '';
    const done = run(['up', '-f', 'examples/quickstart', '--api-port', '9191', '--broker-class', 'Kafka'], {
      env: { WISP_API_PORT: '1', WISP_INGRESS_PORT: '9180', WISP_STATE_DIR: '/tmp/wisp-state' },
      onStdout: (t) => (stdout = t),
      deps: {
        up: {
          onSignal: sig.onSignal,
          forceExit: () => {
            throw new Error('must not force exit');
          },
          startPlatform: async (options) => {
            seen = options;
            return platformFor(options, async () => void (closed += 1));
          },
        },
      },
    });
    await waitFor(() => stdout.includes('Wisp is up.'), { what: 'banner' });
    expect(seen).toMatchObject({ apiPort: 9191, ingressPort: 9180, brokerPort: 8081, brokerClass: 'Kafka', stateDir: '/tmp/wisp-state', manifests: ['examples/quickstart'] });
    expect(stdout).toContain('service.serving.knative.dev/hello created\nWisp is up.\n');
    expect(stdout).toContain("curl -H 'Host: hello.default.localhost' http://127.0.0.1:9180");
    expect(stdout).toContain('npx wisp get ksvc --server http://127.0.0.1:9191');
    sig.send('SIGINT');
    const res = await done;
    expect(res.code).toBe(0);
    expect(closed).toBe(1);
    expect(res.stderr).toContain('SIGINT received');
    expect(sig.listening).toBe(0);
  });

  it('a second signal while draining forces exit 1', async () => {
    const sig = signals();
    const forced: number[] = [];
    let release: () => void = () => undefined;
    const draining = new Promise<void>((r) => (release = r));
    let stdout = '';
    let closing = false;
    const done = run(['up'], {
      onStdout: (t) => (stdout = t),
      deps: {
        up: {
          onSignal: sig.onSignal,
          forceExit: (code) => {
            forced.push(code);
            release();
          },
          startPlatform: async (options) =>
            platformFor(options, async () => {
              closing = true;
              await draining;
            }),
        },
      },
    });
    await waitFor(() => stdout.includes('Wisp is up.'));
    sig.send('SIGTERM');
    await waitFor(() => closing, { what: 'close() called' });
    sig.send('SIGTERM');
    await done;
    expect(forced).toEqual([1]);
  });

  it('a port in use fails start-up with one line naming the flag, exit 1', async () => {
    const res = await run(['up', '--ingress-port', '18080'], {
      deps: {
        up: {
          onSignal: () => () => undefined,
          startPlatform: async () => {
            throw Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:18080'), { code: 'EADDRINUSE', port: 18080 });
          },
        },
      },
    });
    expect(res).toEqual({ code: 1, stdout: '', stderr: 'wisp up: port 18080 is in use (--ingress-port)\n' });
  });
});
