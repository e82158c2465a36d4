/**
 * How much memory the mesh's emulators hold, sampled while a fault run goes on: the Pub/Sub
 * emulator is what gives out first under a long run (10 GB and 3,800 threads once: a thread per
 * call a client abandoned, see shared/consumer/subscriber-rpc.ts), so the run prints both rather
 * than leaving them to be guessed. Linux /proc only; elsewhere nothing is sampled.
 */
import * as fs from 'node:fs';

export interface GroupUsage {
  /** Resident memory, bytes. */
  rssBytes: number;
  threads: number;
}

/** Resident memory and threads of every process in process group `pgid` (an emulator's wrapper and its JVM). */
export function groupUsage(pgid: number): GroupUsage | undefined {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return undefined;
  }
  const pageBytes = 4096;
  let found = false;
  const usage: GroupUsage = { rssBytes: 0, threads: 0 };
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command (which may hold spaces) start after the last ')': state ppid pgrp ...;
      // num_threads is field 20 and rss field 24 of the whole line.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid || fields[0] === 'Z') continue; // a zombie holds nothing
      found = true;
      usage.threads += Number(fields[17]);
      usage.rssBytes += Number(fields[21]) * pageBytes;
    } catch {
      // gone meanwhile
    }
  }
  return found ? usage : undefined;
}

/** Resident memory of process group `pgid`, bytes. */
export const groupRssBytes = (pgid: number): number | undefined => groupUsage(pgid)?.rssBytes;

export interface MemorySampler {
  /** Peak resident bytes per emulator since start. */
  readonly peak: Record<string, number>;
  /** The latest sample, as a line: `pubsub 1.2 GB (40 threads), firestore 0.8 GB (60 threads)`. */
  line(): string;
  stop(): void;
}

/** Samples each emulator's process group every `everyMs` (the pid may change when it restarts). */
export function sampleEmulatorMemory(emulators: Record<string, { pid: number }>, everyMs = 5000): MemorySampler {
  const peak: Record<string, number> = {};
  const latest: Record<string, GroupUsage> = {};
  const sample = () => {
    for (const [name, emulator] of Object.entries(emulators)) {
      const usage = groupUsage(emulator.pid);
      if (usage === undefined) continue;
      latest[name] = usage;
      peak[name] = Math.max(peak[name] ?? 0, usage.rssBytes);
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  timer.unref();
  return {
    peak,
    line: () =>
      Object.entries(latest)
        .map(([name, usage]) => `${name} ${gigabytes(usage.rssBytes)} (${usage.threads} threads)`)
        .join(', '),
    stop: () => clearInterval(timer),
  };
}

export const gigabytes = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GB`;
