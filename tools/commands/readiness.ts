/**
 * `mesh readiness [--topic T] [--strict] [--gcp] [--json]`: the seeds' launch checklist per topic and
 * consumer (shared/readiness), from the spec, the repository and the warehouse's replay audit. Prints
 * a table per topic, then what is missing with how to fix it. Exit 0, or 1 under --strict when any
 * item is not ok (an unknown one too: what cannot be shown ready is not ready).
 */
import type { Command } from 'commander';
import { UserError } from '../../shared/errors';
import { CHECKLIST_ITEMS, launchChecklist, missingItems, type ChecklistItem, type TopicReadiness } from '../../shared/readiness';
import { loadSpec } from '../../shared/spec';
import { gatherFacts } from '../readiness/facts';
import { printTable } from '../table';
import { targetOptions, type TargetOptions } from './target-options';

interface ReadinessOptions extends TargetOptions {
  topic?: string;
  strict?: boolean;
  json?: boolean;
  root: string;
}

const status = (item: ChecklistItem) => (item.ok ? 'ok' : item.unknown ? 'UNKNOWN' : 'MISSING');
/** The table keeps to a line per check; the list of what is missing below has every detail in full. */
const DETAIL_WIDTH = 90;
const shorten = (text: string) => (text.length > DETAIL_WIDTH ? `${text.slice(0, DETAIL_WIDTH - 1)}\u2026` : text);
const row = (subject: string, item: ChecklistItem) => [subject, CHECKLIST_ITEMS[item.id].title, status(item), shorten(item.detail)];

function printTopic(topic: TopicReadiness): void {
  console.log(`\ntopic ${topic.topic} (impact ${topic.impact})`);
  printTable(
    ['for', 'check', 'status', 'detail'],
    [...topic.items.map((i) => row(`topic ${topic.topic}`, i)), ...topic.consumers.flatMap((c) => c.items.map((i) => row(c.consumer, i)))],
  );
}

export function register(program: Command): void {
  targetOptions(
    program
      .command('readiness')
      .description('the launch checklist per topic and consumer: owners, compatibility rules, alerts, runbooks, replay tested, RTO/RPO')
      .option('--topic <name>', 'only this topic and its consumers')
      .option('--strict', 'exit 1 when anything is missing or unknown')
      .option('--json', 'print JSON')
      .option('--root <dir>', 'the repository root (docs/schemas.md, docs/runbooks/)', '.'),
  ).action(async (options: ReadinessOptions) => {
    const spec = loadSpec(program.opts().spec);
    if (options.topic && !spec.topics[options.topic])
      throw new UserError(`no topic "${options.topic}" in the spec (topics: ${Object.keys(spec.topics).join(', ')})`, { where: '--topic' });
    const consumers = Object.values(spec.consumers)
      .filter((c) => !options.topic || c.topic === options.topic)
      .map((c) => c.name);
    const facts = await gatherFacts(spec, options.root, consumers, options);
    const topics = launchChecklist(spec, facts, options.topic);
    const missing = topics.flatMap((t) => missingItems(t));
    process.exitCode = options.strict && missing.length ? 1 : 0;
    if (options.json) return void console.log(JSON.stringify({ ready: !missing.length, topics }, null, 2));

    for (const topic of topics) printTopic(topic);
    const total = topics.reduce((n, t) => n + t.items.length + t.consumers.reduce((m, c) => m + c.items.length, 0), 0);
    if (!missing.length) return void console.log(`\nready: all ${total} checks pass`);
    console.log(`\nmissing (${missing.length} of ${total} checks):`);
    for (const { subject, item } of missing) console.log(`- ${subject}: ${CHECKLIST_ITEMS[item.id].title}: ${item.detail}\n    fix: ${item.fix}`);
  });
}
