/** Log lines kept in memory, for tests to read back what the runtime and the jobs logged. */
import type { LineWriter } from '../../functions/core/logger';

export function memoryWriter(): { write: LineWriter; lines: string[]; entries(): Record<string, unknown>[] } {
  const lines: string[] = [];
  return {
    lines,
    write: (line) => lines.push(line),
    entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
