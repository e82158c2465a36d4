/**
 * A parity report as the records the dashboard shows (shared/firestore/parity.ts): one per topic,
 * its verdict and its first differences.
 */
import type { Firestore } from '@google-cloud/firestore';
import { writeParityRecords, type ParityRecord } from '../../shared/firestore';
import { sampleText, verdictOf, type ParityReport } from './types';

export function parityRecords(report: ParityReport): ParityRecord[] {
  return report.topics.map((topic) => {
    const rows = report.rows.filter((r) => r.topic === topic);
    return {
      topic,
      verdict: verdictOf(rows),
      at: report.at,
      target: report.target,
      granularity: report.granularity,
      since: report.since,
      until: report.until,
      checks: rows.length,
      agree: rows.filter((r) => r.verdict === 'ok').length,
      pending: rows.filter((r) => r.verdict === 'pending').length,
      mismatches: rows.filter((r) => r.verdict === 'mismatch').length,
      differences: rows.flatMap((r) =>
        r.differences.map((d) => `${r.window} ${r.check} ${r.item}: ${d.sink}: ${d.summary}${d.sample.length ? `: ${sampleText(d.sample, 3)}` : ''}`),
      ),
    };
  });
}

export async function recordParity(db: Firestore, report: ParityReport): Promise<ParityRecord[]> {
  const records = parityRecords(report);
  if (records.length) await writeParityRecords(db, records);
  return records;
}
