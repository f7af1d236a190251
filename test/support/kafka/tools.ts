/**
 * Running the external tools (java, mvn) with bounded time, and clear failures when they are missing.
 */
import { spawn } from 'node:child_process';
import { KafkaSupportError, USE_EXISTING_CLUSTER_HINT } from './errors.js';
import { LineTail } from './config.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Runs a command to completion (killed after `timeoutMs`), keeping the last lines of its stdout+stderr. */
export function runCommand(cmd: string, args: readonly string[], opts: { env: Env; timeoutMs: number; cwd?: string }): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env as NodeJS.ProcessEnv, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: opts.timeoutMs, killSignal: 'SIGKILL' });
    const tail = new LineTail(60);
    child.stdout.setEncoding('utf8').on('data', (c: string) => tail.push(c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => tail.push(c));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, output: tail.text() }));
  });
}

function isMissingCommand(err: unknown): boolean {
  return err instanceof Error && 'code' in err && (err.code === 'ENOENT' || err.code === 'EACCES');
}

/** Fails with WISP_ERR_KAFKA_JAVA_MISSING / _TOO_OLD unless a Java 11+ `java` is on the env's PATH. Returns the major version. */
export async function requireJava(env: Env): Promise<number> {
  let res: CommandResult;
  try {
    res = await runCommand('java', ['-version'], { env, timeoutMs: 30_000 });
  } catch (err) {
    if (!isMissingCommand(err)) throw err;
    throw new KafkaSupportError(
      'WISP_ERR_KAFKA_JAVA_MISSING',
      `Cannot start a local Kafka: \`java\` was not found on PATH (${env['PATH'] ?? '<unset>'}). ` +
        'Kafka 3.9 needs a Java 17 runtime: install one (Debian/Ubuntu: `apt-get install openjdk-17-jre-headless`; ' +
        `macOS: \`brew install openjdk@17\`), ${USE_EXISTING_CLUSTER_HINT}.`,
      { cause: err },
    );
  }
  const m = /version "(\d+)(?:\.(\d+))?/.exec(res.output);
  const major = m ? (m[1] === '1' ? Number(m[2] ?? 0) : Number(m[1])) : undefined;
  if (res.code !== 0 || major === undefined) {
    throw new KafkaSupportError('WISP_ERR_KAFKA_JAVA_MISSING', `Cannot start a local Kafka: \`java -version\` failed (exit ${String(res.code)}): ${res.output}`);
  }
  if (major < 11) {
    throw new KafkaSupportError(
      'WISP_ERR_KAFKA_JAVA_TOO_OLD',
      `Cannot start a local Kafka: \`java\` is version ${major}, Kafka 3.9 needs 11 or newer (17 recommended); install openjdk-17, ${USE_EXISTING_CLUSTER_HINT}.`,
    );
  }
  return major;
}

/** Fails with WISP_ERR_KAFKA_MVN_MISSING unless `mvn` is on the env's PATH. */
export async function requireMaven(env: Env): Promise<void> {
  try {
    const res = await runCommand('mvn', ['-v', '-B', '-q'], { env, timeoutMs: 60_000 });
    if (res.code === 0) return;
    throw new KafkaSupportError('WISP_ERR_KAFKA_MVN_MISSING', `Cannot fetch Kafka's jars: \`mvn -v\` failed (exit ${String(res.code)}): ${res.output}`);
  } catch (err) {
    if (!isMissingCommand(err)) throw err;
    throw new KafkaSupportError(
      'WISP_ERR_KAFKA_MVN_MISSING',
      `Cannot fetch Kafka's jars: \`mvn\` (Apache Maven) was not found on PATH (${env['PATH'] ?? '<unset>'}) and the jar cache is empty. ` +
        'Install Maven (Debian/Ubuntu: `apt-get install maven`; macOS: `brew install maven`) with Maven Central reachable, ' +
        `${USE_EXISTING_CLUSTER_HINT}.`,
      { cause: err },
    );
  }
}
