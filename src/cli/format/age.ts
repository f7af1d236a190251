/** kubectl's short human duration: `5s`, `3m`, `2h`, `4d`, `1y`. Pure. */
export function shortDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h`;
  if (hours < 24 * 365) return `${Math.floor(hours / 24)}d`;
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** The AGE of an object created at `timestamp` (RFC 3339), seen at `now` (ms since epoch). */
export function age(timestamp: string | undefined, now: number): string {
  if (timestamp === undefined) return '<unknown>';
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) return '<unknown>';
  return shortDuration(now - t);
}
