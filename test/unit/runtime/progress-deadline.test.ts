import { describe, expect, it } from 'vitest';
import { listeningPortsOf, parseProcNetTcp, progressDeadlineFailure, socketInode } from '../../../src/runtime/local/listening.js';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0C05 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:9E29 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0
   2: 0100007F:0C05 0100007F:D2A0 01 00000000:00000000 00:00000000 00000000     0        0 4243 1 0000000000000000 20 4 30 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5151 1 0000000000000000 100 0 0 10 0
`;

describe('listening ports from /proc', () => {
  it('reads LISTEN entries (state 0A) of /proc/net/tcp and tcp6, not connections', () => {
    expect(parseProcNetTcp(TCP)).toEqual([
      { port: 3077, inode: '4242' },
      { port: 40489, inode: '777' },
    ]);
    expect(parseProcNetTcp(TCP6)).toEqual([{ port: 8080, inode: '5151' }]);
    expect(parseProcNetTcp('')).toEqual([]);
  });

  it('matches fd socket inodes to listening ports, sorted and unique', () => {
    expect(socketInode('socket:[4242]')).toBe('4242');
    expect(socketInode('pipe:[4242]')).toBeUndefined();
    expect(socketInode('/dev/null')).toBeUndefined();
    const entries = [...parseProcNetTcp(TCP), ...parseProcNetTcp(TCP6), { port: 3077, inode: '9' }];
    expect(listeningPortsOf(entries, new Set(['5151', '4242', '9', '1']))).toEqual([3077, 8080]);
    expect(listeningPortsOf(entries, new Set())).toEqual([]);
  });
});

describe('progressDeadlineFailure', () => {
  it('names the port the process listens on instead of $PORT', () => {
    const f = progressDeadlineFailure({ port: 40777, deadlineMs: 30_000, listening: [3077] });
    expect(f.reason).toBe('ProgressDeadlineExceeded');
    expect(f.message).toContain('listening on 3077; listen on $PORT (40777)');
    expect(f.message).toContain('progress deadline (30s');
  });

  it('says when nothing listens, and when $PORT listens but the probe fails', () => {
    expect(progressDeadlineFailure({ port: 5, deadlineMs: 1500, listening: [] }).message).toMatch(/\(1\.5s.*: nothing listens on \$PORT \(5\)/);
    expect(progressDeadlineFailure({ port: 5, deadlineMs: 1000, listening: undefined }).message).toContain('nothing listens on $PORT (5)');
    expect(progressDeadlineFailure({ port: 5, deadlineMs: 1000, listening: [5, 6] }).message).toContain('listens on $PORT but its readiness probe has not passed');
  });
});
