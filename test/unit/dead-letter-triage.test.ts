/**
 * Dead-letter triage as data (shared/operations/triage.ts) and the selection a redrive or purge
 * takes (shared/consumer/hold-actions.ts): grouping by consumer, owner and reason against the triage
 * SLA, and `--since`/`--until` read strictly.
 */
import type { HeldMessage } from '../../shared/consumer/dead-letter-hold';
import { selector } from '../../shared/consumer/hold-actions';
import { parseWhen, triageGroups } from '../../shared/operations';
import { UserError } from '../../shared/errors';
import { defaultSpec } from '../support/specs';

const NOW = Date.parse('2026-12-05T12:00:00Z');
const held = (reason: string, minutesAgo: number, eventId = `e-${reason}-${minutesAgo}`): HeldMessage => ({
  messageId: `m-${eventId}`,
  eventId,
  reason,
  deadLetteredAt: new Date(NOW - minutesAgo * 60_000).toISOString(),
  attributes: {},
});

describe('triageGroups', () => {
  const spec = defaultSpec();

  it('groups by consumer and reason with the owner, counts, and the oldest against the SLA; past-SLA first', () => {
    const groups = triageGroups(
      spec,
      {
        'processor-orders': [held('schema', 10), held('max-delivery-attempts', 300), held('schema', 30)],
        'dashboard-analytics': [held('missing-attribute', 5)],
        'warehouse-orders': [],
      },
      NOW,
    );
    expect(groups).toEqual([
      // 300 min > the default 4 h SLA.
      {
        consumer: 'processor-orders',
        owner: 'commerce',
        reason: 'max-delivery-attempts',
        count: 1,
        oldestAt: held('x', 300).deadLetteredAt,
        oldestSeconds: 18_000,
        triageSlaSeconds: 14_400,
        pastSla: true,
      },
      {
        consumer: 'processor-orders',
        owner: 'commerce',
        reason: 'schema',
        count: 2,
        oldestAt: held('x', 30).deadLetteredAt,
        oldestSeconds: 1800,
        triageSlaSeconds: 14_400,
        pastSla: false,
      },
      {
        consumer: 'dashboard-analytics',
        owner: spec.consumers['dashboard-analytics'].owner,
        reason: 'missing-attribute',
        count: 1,
        oldestAt: held('x', 5).deadLetteredAt,
        oldestSeconds: 300,
        triageSlaSeconds: 14_400,
        pastSla: false,
      },
    ]);
  });

  it("uses the consumer's own triage SLA", () => {
    const custom = defaultSpec();
    custom.consumers['processor-orders'].deadLetter.triageSlaSeconds = 600;
    const [group] = triageGroups(custom, { 'processor-orders': [held('schema', 11)] }, NOW);
    expect(group).toMatchObject({ triageSlaSeconds: 600, pastSla: true });
  });
});

describe('selector', () => {
  it('takes what every given criterion holds: reasons, events, and dead-lettered since (inclusive) / until (exclusive)', () => {
    const messages = [held('schema', 120), held('schema', 60), held('max-delivery-attempts', 30), held('schema', 5)];
    const pick = (select: Parameters<typeof selector>[0]) => messages.filter(selector(select)).map((m) => m.eventId);
    expect(pick({})).toHaveLength(4);
    expect(pick({ reasons: ['schema'] })).toEqual(['e-schema-120', 'e-schema-60', 'e-schema-5']);
    expect(pick({ since: new Date(NOW - 60 * 60_000) })).toEqual(['e-schema-60', 'e-max-delivery-attempts-30', 'e-schema-5']);
    expect(pick({ until: new Date(NOW - 60 * 60_000) })).toEqual(['e-schema-120']);
    expect(pick({ reasons: ['schema'], since: new Date(NOW - 90 * 60_000), until: new Date(NOW - 10 * 60_000) })).toEqual(['e-schema-60']);
    expect(pick({ eventIds: ['e-schema-5', 'nope'] })).toEqual(['e-schema-5']);
  });
});

describe('parseWhen', () => {
  it('reads a duration back from now, or an RFC 3339 time', () => {
    expect(parseWhen('2h', '--since', NOW).toISOString()).toBe('2026-12-05T10:00:00.000Z');
    expect(parseWhen('1h30m', '--since', NOW).toISOString()).toBe('2026-12-05T10:30:00.000Z');
    expect(parseWhen('2026-12-05T04:10:00Z', '--until', NOW).toISOString()).toBe('2026-12-05T04:10:00.000Z');
  });

  it.each(['yesterday', '2h ago', '12', '', 'Fri, 04 Dec 2026 10:00:00 GMT'])('refuses %p, naming the option', (text) => {
    expect(() => parseWhen(text, '--since', NOW)).toThrow(UserError);
    expect(() => parseWhen(text, '--since', NOW)).toThrow(/--since .* is neither an RFC 3339 time nor a duration/);
  });
});
