import { SchemaValidationError, topicSchemas } from '../../shared/schemas';
import { defaultSpec } from '../support/specs';

const spec = defaultSpec();
const orders = topicSchemas(spec, 'orders');
const analytics = topicSchemas(spec, 'analytics');

function problem(fn: () => unknown): SchemaValidationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SchemaValidationError) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('topic schemas (avsc)', () => {
  it('keeps revisions side by side and writes the newest accepted one', () => {
    expect(orders.revisions.map((r) => r.name)).toEqual(['v1', 'v2']);
    expect(orders.current.name).toBe('v2');
  });

  it('fills defaults so a producer may omit optional fields', () => {
    expect(orders.normalize({ orderId: 'o-1', customerId: 'c-1', sequence: 1 })).toEqual({
      orderId: 'o-1',
      customerId: 'c-1',
      sequence: 1,
      amountCents: 0,
      currency: 'USD',
      itemCount: 0,
      reason: '',
      carrier: '',
    });
  });

  it('names the field that is missing', () => {
    const error = problem(() => orders.normalize({ customerId: 'c-1', sequence: 1 }));
    expect(error.field).toBe('orderId');
    expect(error.message).toMatch(/field "orderId" is required \(a string\)/);
  });

  it('names the field with the wrong type', () => {
    const error = problem(() => orders.normalize({ orderId: 'o-1', customerId: 'c-1', sequence: '1' }));
    expect(error.field).toBe('sequence');
    expect(error.message).toMatch(/field "sequence" must be an integer \(int\), got "1"/);
  });

  it('refuses unknown fields, so a renamed field fails at the producer', () => {
    const error = problem(() => analytics.normalize({ userId: 'u', post_id: 'p' }));
    expect(error.field).toBe('post_id');
    expect(error.message).toMatch(/field "post_id" is not in the schema/);
  });

  it('refuses a field the older revision does not have when writing v1', () => {
    const error = problem(() => orders.normalize({ orderId: 'o', customerId: 'c', sequence: 1, carrier: 'ups' }, 'v1'));
    expect(error.field).toBe('carrier');
  });

  it('refuses a revision the topic does not accept', () => {
    expect(problem(() => orders.normalize({}, 'v9')).message).toMatch(/revision v9 is not accepted/);
  });

  it('reads v1 data as the current revision, new fields at their defaults', () => {
    expect(orders.read({ orderId: 'o', customerId: 'c', sequence: 2, amountCents: 5, currency: 'EUR', itemCount: 1, reason: '' }, 'v1')).toMatchObject({
      sequence: 2,
      currency: 'EUR',
      carrier: '',
    });
  });

  it('refuses a payload that is not an object', () => {
    expect(problem(() => orders.normalize([1, 2])).message).toMatch(/must be a JSON object, got an array/);
  });
});
