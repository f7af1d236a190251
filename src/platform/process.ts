/**
 * What every `wisp up` process starts with, whichever component it runs: the logger, the state dir and its lock, the
 * control API's credentials, the metrics registry, the ordered closers; and how it opens the control API.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { resolve } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { systemClock, type Clock } from '../clock.js';
import { buildApiServer, type ApiServerOptions } from '../control/api-server.js';
import { isLoopbackBindAddress } from '../control/auth.js';
import { ensureToken } from '../control/token.js';
import { createLogger, type Logger } from './logger.js';
import { acquireStateLock } from './state-lock.js';
import type { PlatformOptions } from './types.js';

export type Closer = () => Promise<void> | void;

export interface ProcessBase {
  clock: Clock;
  log: Logger;
  stateDir: string;
  /** Run in reverse order by closeAll(); the state-dir lock is released last. */
  closers: Closer[];
  closeAll(): Promise<void>;
  apiToken: { token: string; file: string };
  apiTls: { cert: Buffer; key: Buffer } | undefined;
  registry: Registry;
}

export async function beginProcess(options: PlatformOptions): Promise<ProcessBase> {
  const clock = systemClock;
  const log = createLogger({ level: options.logLevel ?? 'info', format: options.logFormat ?? 'text' });
  const stateDir = resolve(options.stateDir);
  await mkdir(stateDir, { recursive: true });
  // One wisp up per state dir, taken before anything else is touched (orphan reaping, ports); released last.
  const lock = await acquireStateLock({ dir: stateDir, shownAs: options.stateDir });
  const closers: Closer[] = [() => lock.release()];
  const closeAll = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        log.warn(`shutdown: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };
  try {
    // The control API's credentials first: a token file open to others, or a TLS pair that cannot be used, stops start-up
    // before any replica runs.
    const apiToken = await ensureToken(stateDir, options.apiToken);
    const apiTls = options.apiTls ? await readTlsPair(options.apiTls) : undefined;
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'wisp_process_' });
    return { clock, log, stateDir, closers, closeAll, apiToken, apiTls, registry };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** Opens the control API on `--api-host`/`--api-port`; its close joins `closers`. */
export async function listenControlApi(
  options: Pick<PlatformOptions, 'apiHost' | 'apiPort'>,
  api: Omit<ApiServerOptions, 'allowedHosts'> & { closers: Closer[]; tls?: { cert: Buffer; key: Buffer } },
): Promise<{ apiUrl: string; port: number }> {
  const { closers, tls, ...rest } = api;
  const server = buildApiServer({
    ...rest,
    // Bound to loopback, any other Host is a browser tricked by DNS rebinding; bound wider, the token alone guards it.
    allowedHosts: isLoopbackBindAddress(options.apiHost) ? 'loopback' : 'any',
    ...(tls && { tls }),
  });
  // Fastify opens one server per address of `localhost` (127.0.0.1 and ::1), and only its main server carries the
  // connection guard: bind the name to 127.0.0.1, one guarded server.
  await server.listen({ port: options.apiPort, host: options.apiHost === 'localhost' ? '127.0.0.1' : options.apiHost });
  closers.push(() => server.close());
  const port = portOf(server.server.address());
  return { apiUrl: `${tls ? 'https' : 'http'}://${urlHost(options.apiHost)}:${port}`, port };
}

/** A bind address as the host of a URL a client can use: the wildcard becomes 127.0.0.1, IPv6 gets brackets. */
export function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export function portOf(addr: ReturnType<import('node:net').Server['address']>): number {
  return typeof addr === 'object' && addr ? addr.port : 0;
}

/** The port of an http(s) URL, its scheme's default when it names none. */
export function portOfUrl(url: string): number {
  const u = new URL(url);
  return u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

/** Reads and checks the control API's certificate and key (a key that does not match is refused here, in one line). */
async function readTlsPair(files: { certFile: string; keyFile: string }): Promise<{ cert: Buffer; key: Buffer }> {
  const read = async (file: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (err) {
      throw new Error(`cannot read the control API's TLS ${what} ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
  const cert = await read(files.certFile, 'certificate (--api-tls-cert)');
  const key = await read(files.keyFile, 'key (--api-tls-key)');
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new Error(
      `the control API's TLS certificate ${files.certFile} and key ${files.keyFile} cannot be used: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  return { cert, key };
}
