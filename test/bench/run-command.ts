import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Runs `cmd args` to completion and resolves with its stdout and stderr together; rejects with them on a non-zero
 * exit. The child sits in `children` while it runs, so the bench's cleanup kills it if the bench is interrupted.
 */
export function runCommand(cmd: string, args: string[], children: Set<ChildProcess>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      children.delete(child);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited with ${code}: ${out}`));
    });
  });
}
