/**
 * The analyst-query corpus (issue 23): BigQuery Standard SQL as analysts write it, each case with
 * the answer BigQuery gives (derived from the fixture rows by hand or plain code, following
 * BigQuery's documentation), run through the real @google-cloud/bigquery client against the local
 * endpoint. Each case is
 *   pass     the result equals the expected rows (and column types, where the case lists them), or
 *            for an error case, the endpoint errors with a matching message
 *   refused  the endpoint says "unsupported locally" (or a fixture table it needs could not be
 *            created for that reason)
 *   wrong    anything else: another error, a different answer, or rows where BigQuery errors.
 * The report goes to test-artifacts/bigquery-corpus.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BigQuery } from '@google-cloud/bigquery';
import type { LocalBigQuery } from '../../shared/bigquery-local';
import { startLocalBigQueryWithDataset } from '../support/local-bigquery';
import { createFixtures, DATASET, schemas } from './bigquery-corpus/fixtures';
import { compare, normaliseRows, show, type Case, type ResultField, type Row } from './bigquery-corpus/case';
import { corpus } from './bigquery-corpus/queries';

type Outcome = 'pass' | 'refused' | 'wrong';
interface Verdict {
  id: string;
  topic: string;
  outcome: Outcome;
  detail: string;
  sql: string;
}

const UNSUPPORTED = /unsupported locally/i;

let local: LocalBigQuery;
let bigquery: BigQuery;
let fixtureFailures: Record<string, string> = {};

beforeAll(async () => {
  const started = await startLocalBigQueryWithDataset(DATASET);
  ({ local, bigquery } = started);
  fixtureFailures = await createFixtures(started.dataset);
});

afterAll(async () => {
  await local?.stop();
});

async function run(c: Case): Promise<{ rows: Row[]; fields: ResultField[] }> {
  const [job] = await bigquery.createQueryJob({
    query: c.sql,
    useLegacySql: false,
    ...(c.params !== undefined ? { params: c.params } : {}),
    ...(c.paramTypes !== undefined ? { types: c.paramTypes } : {}),
  } as Parameters<BigQuery['createQueryJob']>[0]);
  const [rows, , response] = (await job.getQueryResults({ autoPaginate: false, maxResults: 10000 })) as unknown as [
    Row[],
    unknown,
    { schema?: { fields?: ResultField[] } },
  ];
  return { rows, fields: response?.schema?.fields ?? [] };
}

/** The fixture tables a case reads that could not be created, with why. */
function missingTables(c: Case): string[] {
  return Object.keys(schemas)
    .filter((name) => fixtureFailures[name] && new RegExp(`\\bshop\`?\\.\`?${name}\\b`, 'i').test(c.sql))
    .map((name) => `fixture table ${name} could not be created: ${fixtureFailures[name]}`);
}

async function judge(c: Case): Promise<Verdict> {
  const base = { id: c.id, topic: c.topic, sql: c.sql };
  const missing = missingTables(c);
  let result: { rows: Row[]; fields: ResultField[] };
  try {
    result = await run(c);
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    if (missing.length) {
      const refused = missing.every((m) => UNSUPPORTED.test(m));
      return { ...base, outcome: refused ? 'refused' : 'wrong', detail: missing.join('; ') };
    }
    if (UNSUPPORTED.test(message)) return { ...base, outcome: 'refused', detail: message };
    if (c.expectedError) {
      return c.expectedError.test(message)
        ? { ...base, outcome: 'pass', detail: `errored as expected: ${message}` }
        : { ...base, outcome: 'wrong', detail: `expected an error matching ${c.expectedError}, got error: ${message}` };
    }
    return { ...base, outcome: 'wrong', detail: `error: ${message}` };
  }
  let got: Row[];
  try {
    got = normaliseRows(result.rows, result.fields);
  } catch (error) {
    return { ...base, outcome: 'wrong', detail: `could not normalise the result: ${(error as Error).message}; raw ${show(result.rows.slice(0, 3))}` };
  }
  if (c.expectedError) {
    return { ...base, outcome: 'wrong', detail: `expected an error matching ${c.expectedError}, got rows: ${show(got.slice(0, 3))}` };
  }
  const diff = compare(c, got, result.fields);
  return diff ? { ...base, outcome: 'wrong', detail: diff } : { ...base, outcome: 'pass', detail: '' };
}

describe('analyst query corpus', () => {
  it('has distinct ids and every case states an expectation', () => {
    const ids = corpus.map((c) => c.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    expect(corpus.filter((c) => !c.expected && !c.expectedError).map((c) => c.id)).toEqual([]);
  });

  it('answers as BigQuery does, or refuses clearly', async () => {
    const verdicts: Verdict[] = [];
    for (const c of corpus) verdicts.push(await judge(c));
    const count = (o: Outcome) => verdicts.filter((v) => v.outcome === o).length;
    const byTopic: Record<string, Record<Outcome, number>> = {};
    for (const v of verdicts) {
      byTopic[v.topic] ??= { pass: 0, refused: 0, wrong: 0 };
      byTopic[v.topic][v.outcome]++;
    }
    const summary = { cases: verdicts.length, pass: count('pass'), refused: count('refused'), wrong: count('wrong'), fixtureFailures, byTopic };
    const file = path.join(process.cwd(), 'test-artifacts', 'bigquery-corpus.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ summary, cases: verdicts }, null, 2));
    const lines = verdicts.filter((v) => v.outcome !== 'pass').map((v) => `  ${v.outcome.padEnd(7)} ${v.id}: ${v.detail.slice(0, 400)}`);
    console.log(
      `bigquery corpus: ${summary.cases} cases, ${summary.pass} pass, ${summary.refused} refused, ${summary.wrong} wrong ` +
        `(${((100 * summary.pass) / summary.cases).toFixed(1)}% pass; report ${path.relative(process.cwd(), file)})\n` +
        `  by topic: ${Object.entries(byTopic)
          .map(([topic, n]) => `${topic} ${n.pass}/${n.pass + n.refused + n.wrong}`)
          .join(', ')}` +
        (lines.length ? `\n${lines.join('\n')}` : ''),
    );
    expect(summary.cases).toBeGreaterThanOrEqual(150);
    expect(verdicts.filter((v) => v.outcome === 'wrong').map((v) => `${v.id}: ${v.detail}`)).toEqual([]);
    expect(summary.pass / summary.cases).toBeGreaterThanOrEqual(0.95);
  });
});
