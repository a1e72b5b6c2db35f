const UNITS = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
] as const;

/**
 * `atMs` relative to `nowMs` in the largest whole unit, refined by the next one when it is not zero:
 * "in 3 days", "in 3 days 4 hours", "2 hours 5 minutes ago", "in 40 seconds"; "now" within a second.
 */
export function relativeTime(atMs: number, nowMs: number): string {
  const delta = atMs - nowMs;
  const distance = Math.abs(delta);
  const index = UNITS.findIndex(([, size]) => distance >= size);
  if (index < 0) return 'now';
  const [name, size] = UNITS[index]!;
  const parts = [plural(Math.floor(distance / size), name)];
  const next = UNITS[index + 1];
  if (next) {
    const count = Math.floor((distance % size) / next[1]);
    if (count > 0) parts.push(plural(count, next[0]));
  }
  return delta > 0 ? `in ${parts.join(' ')}` : `${parts.join(' ')} ago`;
}

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}
