/**
 * Producing with Debian's `kcat` (the command-line Kafka client a user would reach for), as the KafkaSource tests
 * do besides kafkajs. `.ci/run` installs it when it is missing.
 */
import { spawn } from 'node:child_process';

/** `kcat -P -b <brokers> <args>` with `lines` on stdin (one record each); resolves when kcat exited 0. */
export function kcatProduce(brokers: string, args: readonly string[], lines: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', ['-P', '-b', brokers, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new Error('kcat is not installed: apt-get install kcat (the KafkaSource tests produce with it)', { cause: err }) : err),
    );
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kcat exited ${code}: ${stderr}`))));
    child.stdin.end(lines.map((l) => `${l}\n`).join(''));
  });
}
