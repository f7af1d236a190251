/**
 * The function of the scale bench's part (c): a replica that starts slowly. It waits `START_DELAY_MS` (default
 * 3000) before it listens on $PORT, so requests sent to its Service at zero wait in Wisp meanwhile; then it answers
 * every request 200 with a short body at once.
 */
import { createServer } from 'node:http';

const delay = Number(process.env['START_DELAY_MS'] ?? 3000);
const body = Buffer.from('ok\n');
const server = createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.maxConnections = 65_536;
// The epoch ms it listens at, for the bench: first response − this = what Wisp took to dispatch the waiting requests.
setTimeout(() => server.listen(Number(process.env['PORT']), '127.0.0.1', () => console.log(`LISTENING ${(performance.timeOrigin + performance.now()).toFixed(1)}`)), delay);
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
