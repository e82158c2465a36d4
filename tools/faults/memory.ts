/**
 * How much memory the mesh's emulators hold, sampled while a fault run goes on: the Pub/Sub
 * emulator's heap is what gives out first under a long run (it reached 10.8 GB once), so the run
 * prints it rather than leaving it to be guessed. Linux /proc only; elsewhere nothing is sampled.
 */
import * as fs from 'node:fs';

/** Resident memory of every process in process group `pgid` (an emulator's wrapper and its JVM), in bytes. */
export function groupRssBytes(pgid: number): number | undefined {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return undefined;
  }
  const pageBytes = 4096;
  let total = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command (which may hold spaces) start after the last ')': state ppid pgrp ... rss is field 24.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      total += Number(fields[21]) * pageBytes;
    } catch {
      // gone meanwhile
    }
  }
  return total || undefined;
}

export interface MemorySampler {
  /** Peak resident bytes per emulator since start. */
  readonly peak: Record<string, number>;
  /** The latest sample, as a line: `pubsub 1.2 GB, firestore 0.8 GB`. */
  line(): string;
  stop(): void;
}

/** Samples each emulator's process group every `everyMs` (the pid may change when it restarts). */
export function sampleEmulatorMemory(emulators: Record<string, { pid: number }>, everyMs = 5000): MemorySampler {
  const peak: Record<string, number> = {};
  const latest: Record<string, number> = {};
  const sample = () => {
    for (const [name, emulator] of Object.entries(emulators)) {
      const bytes = groupRssBytes(emulator.pid);
      if (bytes === undefined) continue;
      latest[name] = bytes;
      peak[name] = Math.max(peak[name] ?? 0, bytes);
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  timer.unref();
  return {
    peak,
    line: () =>
      Object.entries(latest)
        .map(([name, bytes]) => `${name} ${gigabytes(bytes)}`)
        .join(', '),
    stop: () => clearInterval(timer),
  };
}

export const gigabytes = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GB`;
