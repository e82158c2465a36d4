/**
 * CPU seconds spent by a process group (an emulator's wrapper and its JVM), read from /proc: on a
 * 2-core machine the emulators and the bench share the CPU, so a bench run says where it went.
 * Linux only; elsewhere it reports NaN and the bench prints no split.
 */
import * as fs from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export function groupCpuSeconds(pgid: number): number {
  let ticks = 0;
  let found = false;
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return NaN;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== pgid) continue;
    found = true;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return found ? ticks / TICKS_PER_SECOND : NaN;
}

/** This process's CPU seconds (user + system). */
export function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

export interface CpuSplit {
  node: number;
  pubsub: number;
  firestore: number;
}

/** Measures the CPU each part spends while `f` runs (NaN for an emulator the run has not started). */
export async function cpuSplitOf<T>(groups: { pubsub: number; firestore?: number }, f: () => Promise<T>): Promise<{ result: T; cpu: CpuSplit }> {
  const firestoreCpu = () => (groups.firestore === undefined ? NaN : groupCpuSeconds(groups.firestore));
  const before = { node: ownCpuSeconds(), pubsub: groupCpuSeconds(groups.pubsub), firestore: firestoreCpu() };
  const result = await f();
  return {
    result,
    cpu: {
      node: ownCpuSeconds() - before.node,
      pubsub: groupCpuSeconds(groups.pubsub) - before.pubsub,
      firestore: firestoreCpu() - before.firestore,
    },
  };
}

/** "node 1.3 s, Pub/Sub emulator 1.4 s, Firestore emulator 2.2 s" per `per` messages, in ms. */
export function describeCpu(cpu: CpuSplit, messages: number): string {
  if (Number.isNaN(cpu.pubsub)) return '';
  const ms = (s: number) => ((s * 1000) / messages).toFixed(2);
  const parts = [`node ${ms(cpu.node)}`, `Pub/Sub emulator ${ms(cpu.pubsub)}`];
  if (!Number.isNaN(cpu.firestore)) parts.push(`Firestore emulator ${ms(cpu.firestore)}`);
  return `CPU ms/msg: ${parts.join(', ')}`;
}
