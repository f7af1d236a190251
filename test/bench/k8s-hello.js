// Benchmark replica for `npm run bench:k8s`: the quickstart's hello function (examples/quickstart/hello.js, loaded
// unchanged), plus two response headers giving its own start as it measured it:
//   x-bench-process-start  performance.timeOrigin (epoch ms at which this Node process began)
//   x-bench-listen-at      epoch ms at which its HTTP server emitted 'listening'
// so the benchmark can subtract the replica's own process start → listening time from the first response time.
import { Server } from 'node:http';

const processStart = performance.timeOrigin;
let listenAt;
const emit = Server.prototype.emit;
Server.prototype.emit = function (event, ...args) {
  if (event === 'listening' && listenAt === undefined) listenAt = performance.timeOrigin + performance.now();
  if (event === 'request') {
    const res = args[1];
    res.setHeader('x-bench-process-start', String(processStart));
    res.setHeader('x-bench-listen-at', String(listenAt));
  }
  return emit.call(this, event, ...args);
};

await import('../../examples/quickstart/hello.js');
