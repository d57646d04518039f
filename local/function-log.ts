/**
 * Where the functions' JSON log lines go in local mode: appended to a file (the stand-in for Cloud
 * Logging; `tail -f` or `jq` it), with WARNING and above also echoed, briefly, to the console.
 * Writes are synchronous like the runtime's stdout writer, so no line is lost at shutdown; lines
 * arriving after close (a job still finishing as the fleet stops) are dropped.
 */
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { LineWriter } from '../functions/core/logger';

const NOTABLE = new Set(['WARNING', 'ERROR', 'CRITICAL', 'ALERT', 'EMERGENCY']);

export interface LineFile {
  readonly path: string;
  readonly write: LineWriter;
  close(): void;
}

export function openLineFile(file: string): LineFile {
  mkdirSync(path.dirname(file), { recursive: true });
  let fd: number | undefined = openSync(file, 'a');
  return {
    path: file,
    write: (line) => {
      if (fd !== undefined) writeSync(fd, line.endsWith('\n') ? line : `${line}\n`);
    },
    close: () => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/** A LineWriter for Runtime: every line to the file, notable ones also to `echo`. */
export function openFunctionLog(file: string, echo: (entry: Record<string, unknown>) => void): LineFile {
  const target = openLineFile(file);
  let open = true;
  return {
    path: target.path,
    close: () => {
      open = false;
      target.close();
    },
    write: (line) => {
      if (!open) return;
      target.write(line);
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (NOTABLE.has(String(entry.severity))) echo(entry);
    },
  };
}

/** How much of the end of the log file a details page reads: the recent past, not the whole history. */
const TAIL_BYTES = 512 * 1024;

/** A job's last `limit` log lines, oldest first, as "time severity event: message". */
export function recentJobLines(file: string, jobId: string, limit = 40): string[] {
  if (!existsSync(file)) return [];
  const size = statSync(file).size;
  const start = Math.max(0, size - TAIL_BYTES);
  const buffer = Buffer.alloc(size - start);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, buffer.length, start);
  } finally {
    closeSync(fd);
  }
  const lines: string[] = [];
  for (const line of buffer.toString('utf8').split('\n')) {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // the cut first line, or a partial last one
    }
    const labels = entry['logging.googleapis.com/labels'] as Record<string, string> | undefined;
    if (labels?.job !== jobId) continue;
    const tick = labels.tick ? ` tick ${labels.tick} try ${labels.attempt ?? '?'}` : '';
    lines.push(
      `${String(entry.time)} ${String(entry.severity)} ${String(entry.event ?? '-')}${tick}: ${String(entry.message ?? '')}`,
    );
  }
  return lines.slice(-limit);
}
