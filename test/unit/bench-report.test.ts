/** The bench page: a bar per result, goals marked, missed goals said, text escaped. */
import { benchVerdict, renderBenchReport } from '../../bench/report';
import type { BenchResult } from '../../bench/types';

const results: BenchResult[] = [
  { name: 'publish (MeshPublisher)', baseline: 'raw client', ratio: 0.93, goal: 0.8, detail: '10000 messages' },
  { name: 'dashboard pull', baseline: 'raw client', ratio: 0.38, goal: 0.8, detail: 'CPU <node> & emulators' },
  { name: 'dashboard emulator push', baseline: 'GCP setting', ratio: 2.1, detail: '200 events' },
];

it('says ok, missed, or nothing to meet', () => {
  expect(results.map(benchVerdict)).toEqual(['ok', 'missed', 'info']);
});

it('draws a bar per result scaled to the largest ratio, with a goal mark where there is a goal', () => {
  const html = renderBenchReport(results, new Date('2026-11-23T10:00:00Z'), '2 cores');
  const bars = [...html.matchAll(/<rect class="bar (\w+)" x="(\d+)" y="\d+" width="([\d.]+)"/g)].map((m) => ({ verdict: m[1], width: Number(m[3]) }));
  expect(bars.map((b) => b.verdict)).toEqual(['ok', 'missed', 'info']);
  // Widths are proportional to the ratios.
  expect(bars[0].width / bars[2].width).toBeCloseTo(0.93 / 2.1, 5);
  expect(bars[1].width / bars[2].width).toBeCloseTo(0.38 / 2.1, 5);
  expect(html.match(/<line class="goal"/g)).toHaveLength(2);
  expect(html).toContain('&ge; 0.8 MISSED');
  expect(html).toContain('2026-11-23T10:00:00.000Z on 2 cores');
});

it('escapes what the benches write', () => {
  const html = renderBenchReport(results, new Date(), 'm');
  expect(html).toContain('CPU &#60;node&#62; &#38; emulators');
  expect(html).not.toContain('<node>');
});
