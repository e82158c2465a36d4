/**
 * Loads mesh.yaml into a typed MeshSpec. A spec with any error is rejected whole, with one message
 * per error naming the file, line:column, the path in the document and the reason.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseDocument, isAlias, isMap, isScalar, isSeq, visit, type Document, type Node } from 'yaml';
import { meshDocument, type MeshDocument } from './document';
import { DEFAULT_REPLAY_CEILING, parseDuration, parseRate } from './duration';
import { DEFAULT_EVENT_TIME_BOUNDS } from '../envelope/time';
import { ownershipIssues, undefinedOwners } from './ownership';
import { checkRules, type RuleIssue } from './rules';
import { DEFAULT_CANARY_POLICY, type MeshSpec, type RecoverySpec } from './types';
import { UserError } from '../errors';

export interface SpecIssue {
  file: string;
  line: number;
  column: number;
  /** Dotted path in the document, e.g. consumers.processor-orders.exactlyOnce */
  path: string;
  message: string;
}

export class MeshSpecError extends UserError {
  override readonly name = 'MeshSpecError';
  constructor(readonly issues: SpecIssue[]) {
    super(`mesh spec has ${issues.length} error${issues.length === 1 ? '' : 's'}:\n${issues.map(formatIssue).join('\n')}`);
  }
}

export function formatIssue(issue: SpecIssue): string {
  // Line 0: the issue has no place in the text (the file cannot be read).
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file;
  return `${where} ${issue.path || '(document)'}: ${issue.message}`;
}

/** The spec at the repository root, unless MESH_SPEC points elsewhere. */
export function defaultSpecPath(): string {
  return process.env.MESH_SPEC ?? path.resolve(__dirname, '..', '..', 'mesh.yaml');
}

/** `strict`: also what a deployment needs of a spec beyond running it (`mesh validate`: ownership.ts). */
export interface LoadSpecOptions {
  strict?: boolean;
}

export function loadSpec(file = defaultSpecPath(), options: LoadSpecOptions = {}): MeshSpec {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(absolute, 'utf8');
  } catch (error) {
    throw new MeshSpecError([{ file: absolute, line: 0, column: 0, path: '', message: `cannot read spec: ${(error as Error).message}` }]);
  }
  return parseSpec(text, absolute, options);
}

/** Parses spec text; `file` names it in messages and anchors relative schema folders. */
export function parseSpec(text: string, file: string, options: LoadSpecOptions = {}): MeshSpec {
  const lineCounter = new LineCounter();
  // merge: `<<: *defaults` works, as YAML users expect for shared consumer settings (YAML 1.1 merge keys).
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  const locate = (at: (string | number)[], message: string): SpecIssue => {
    const { line, column } = locationOf(doc, lineCounter, at);
    return { file, line, column, path: at.join('.'), message };
  };
  if (doc.errors.length) {
    throw new MeshSpecError(
      doc.errors.map((e) => {
        // Without prettyErrors the parser leaves linePos unset; the offset is always there.
        const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, path: '', message: `YAML: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  const parsed = meshDocument.safeParse(withoutExtensions(toPlain(doc, lineCounter, file)));
  if (!parsed.success) {
    throw new MeshSpecError(
      parsed.error.issues.map((issue) => {
        const at = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
        // Point at the misspelt key itself rather than its parent object.
        if (issue.code === 'unrecognized_keys')
          return locate([...at, issue.keys[0]], `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`);
        return locate(at, issue.message);
      }),
    );
  }
  const spec = normalize(parsed.data, file);
  const issues: RuleIssue[] = [...checkRules(spec), ...undefinedOwners(spec), ...(options.strict ? ownershipIssues(spec) : [])];
  if (issues.length) throw new MeshSpecError(issues.map((i) => locate(i.path, i.message)));
  return spec;
}

/**
 * The document as plain data. A merge key (`<<`) must merge a mapping (or a list of them), through
 * an anchor defined before it; anything else is refused here with its line, in plain words (the YAML
 * library would throw a bare "Merge sources must be maps").
 */
function toPlain(doc: Document, counter: LineCounter, file: string): unknown {
  const issues: SpecIssue[] = [];
  visit(doc, {
    Pair(_, pair) {
      // With merge on, the parser gives the key a Symbol('<<') value.
      const keyNode = pair.key;
      const key = isScalar(keyNode) ? keyNode.value : undefined;
      if (!isScalar(keyNode) || !(key === '<<' || (typeof key === 'symbol' && key.description === '<<'))) return;
      const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
      for (const source of sources) {
        const target = isAlias(source) ? source.resolve(doc) : source;
        if (isMap(target)) continue;
        const where = counter.linePos(keyNode.range?.[0] ?? 0);
        const what = isAlias(source)
          ? target
            ? `*${source.source}, which is not a mapping`
            : `*${source.source}, an anchor not defined before it`
          : 'a value that is not a mapping';
        issues.push({
          file,
          line: where.line,
          column: where.col,
          path: '',
          message: `"<<" merges the keys of a mapping (e.g. <<: *defaults, with &defaults on a mapping); here it is given ${what}`,
        });
      }
    },
  });
  if (issues.length) throw new MeshSpecError(issues);
  return doc.toJS();
}

/**
 * Top-level keys starting with `x-` are the spec's extension fields, ignored (as in Compose files):
 * the place for anchors that `<<:` merges elsewhere, e.g. `x-consumer-defaults: &defaults {...}`.
 */
export const EXTENSION_KEY = /^x-/;

function withoutExtensions(value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => !EXTENSION_KEY.test(key)));
}

function normalize(doc: MeshDocument, file: string): MeshSpec {
  const base = path.dirname(file);
  const spec: MeshSpec = {
    file,
    project: doc.project,
    owners: Object.fromEntries(
      Object.entries(doc.owners).map(([name, o]) => [
        name,
        {
          name,
          description: o.description,
          channels: o.channels.map((c) =>
            'email' in c
              ? { kind: 'email' as const, address: c.email }
              : 'pubsub' in c
                ? { kind: 'pubsub' as const, topic: c.pubsub }
                : { kind: 'existing' as const, name: c.channel },
          ),
        },
      ]),
    ),
    topics: {},
    consumers: {},
    services: {},
    warehouse: doc.warehouse,
    local: {
      ...doc.local,
      dataDir: path.resolve(base, doc.local.dataDir),
      firestoreExportEverySeconds: parseDuration(doc.local.firestoreExportEvery),
      parityEverySeconds: parseDuration(doc.local.parityEvery),
    },
    recovery: normalizeRecovery(doc.recovery),
    alerts: {
      anomalies: normalizeAnomalyAlert(doc.alerts.anomalies),
      parity: { enabled: doc.alerts.parity.enabled, staleAfterSeconds: parseDuration(doc.alerts.parity.staleAfter) },
    },
    parity: {
      schedule: doc.parity.schedule.trim() === 'off' ? undefined : doc.parity.schedule.trim(),
      sinceSeconds: parseDuration(doc.parity.since),
      granularity: doc.parity.window === '1m' ? 'minute' : 'hour',
      settleSeconds: parseDuration(doc.parity.settle),
    },
  };
  for (const [name, t] of Object.entries(doc.topics)) {
    spec.topics[name] = {
      name,
      description: t.description,
      owner: t.owner,
      schema: {
        dir: path.resolve(base, t.schema.dir),
        revisions: t.schema.revisions,
        accept: t.schema.accept ?? { first: t.schema.revisions[0], last: t.schema.revisions[t.schema.revisions.length - 1] },
        compatibility: t.compatibility,
        deprecationWindowSeconds: parseDuration(t.deprecationWindow),
      },
      approval: t.approval?.required === false || !t.approval ? undefined : { approvers: t.approval.approvers, from: t.approval.from ?? t.schema.revisions[0] },
      impact: t.impact,
      eventTypes: t.eventTypes,
      retentionSeconds: parseDuration(t.retention),
      orderingKeyField: t.orderingKey,
      eventTime: {
        maxAgeSeconds: t.eventTime?.maxAge === undefined ? DEFAULT_EVENT_TIME_BOUNDS.maxAgeSeconds : parseDuration(t.eventTime.maxAge),
        maxAheadSeconds: t.eventTime?.maxAhead === undefined ? DEFAULT_EVENT_TIME_BOUNDS.maxAheadSeconds : parseDuration(t.eventTime.maxAhead),
      },
    };
  }
  for (const [name, s] of Object.entries(doc.services)) {
    spec.services[name] = { name, description: s.description, localPort: s.localPort, concurrency: s.concurrency, uses: s.uses, consumers: [] };
  }
  for (const [name, c] of Object.entries(doc.consumers)) {
    spec.consumers[name] = {
      name,
      description: c.description,
      owner: c.owner,
      topic: c.topic,
      reads: c.reads,
      recovery: c.recovery ? { rtoSeconds: parseDuration(c.recovery.rto), rpoSeconds: parseDuration(c.recovery.rpo) } : undefined,
      delivery: c.delivery,
      service: c.service,
      table: c.table,
      ordering: c.ordering,
      exactlyOnce: c.exactlyOnce,
      filter: c.filter,
      ackDeadlineSeconds: parseDuration(c.ackDeadline),
      retry: { minBackoffSeconds: parseDuration(c.retry.minBackoff), maxBackoffSeconds: parseDuration(c.retry.maxBackoff) },
      deadLetter: { maxAttempts: c.deadLetter.maxAttempts, triageSlaSeconds: parseDuration(c.deadLetter.triageSla) },
      replay: c.replay?.retention !== undefined ? { retentionSeconds: parseDuration(c.replay.retention) } : undefined,
      replayCeilingPerSecond: parseRate(c.replay?.ceiling ?? DEFAULT_REPLAY_CEILING),
      flowControl: c.flowControl,
      lagSlo: { oldestUnackedSeconds: parseDuration(c.lagSlo.oldestUnacked), backlog: c.lagSlo.backlog },
      canary: {
        errorMargin: c.canary?.errorMargin === undefined ? DEFAULT_CANARY_POLICY.errorMargin : Number(c.canary.errorMargin.slice(0, -1)) / 100,
        minEvents: c.canary?.minEvents ?? DEFAULT_CANARY_POLICY.minEvents,
      },
    };
    if (c.service && spec.services[c.service]) spec.services[c.service].consumers.push(name);
  }
  return spec;
}

function normalizeRecovery(doc: MeshDocument['recovery']): RecoverySpec {
  const { backups } = doc.firestore;
  return {
    firestore: {
      pointInTimeRecovery: doc.firestore.pointInTimeRecovery,
      backups:
        backups.every === 'never'
          ? undefined
          : {
              every: backups.every,
              ...(backups.every === 'weekly' ? { day: backups.day ?? 'sunday' } : backups.day ? { day: backups.day } : {}),
              retentionSeconds: parseDuration(backups.retention),
            },
    },
    warehouse: { timeTravelSeconds: parseDuration(doc.warehouse.timeTravel) },
  };
}

function normalizeAnomalyAlert(doc: MeshDocument['alerts']['anomalies']): MeshSpec['alerts']['anomalies'] {
  return { enabled: doc.enabled, threshold: doc.threshold, windowSeconds: parseDuration(doc.window) };
}

/** Line and column of the deepest node that exists along `at` (1-based). */
function locationOf(doc: Document, counter: LineCounter, at: (string | number)[]): { line: number; column: number } {
  let node: unknown = doc.contents;
  let offset = doc.contents?.range?.[0] ?? 0;
  for (const key of at) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number' && node.items[key]) {
      node = node.items[key];
      offset = (node as Node).range?.[0] ?? offset;
    } else break;
  }
  const pos = counter.linePos(offset);
  return { line: pos.line, column: pos.col };
}
