import { emulatorReorder, type OrderStepRecord } from '../support/order-sequence';

const steps = (...attempts: (number | undefined)[]): OrderStepRecord[] =>
  attempts.map((deliveryAttempt, i) => ({ eventId: `e${i + 1}`, sequence: i + 1, deliveryAttempt }));

describe('emulatorReorder (what processor-sigterm accepts from the emulator with StreamingPull)', () => {
  it("explains CI's case: created and paid went back, shipped came first and was an unknown-order anomaly", () => {
    expect(emulatorReorder(steps(2, 2, 1), ['e1', 'e2'], ['e3'])).toBe(
      'steps applied on delivery attempts 2, 2, 1: step 1 went back and a later one came first; 1 anomalies',
    );
  });

  it('reads steps in sequence, whatever order they are given in', () => {
    expect(emulatorReorder(steps(1, 2, 1).reverse(), ['e1', 'e3'], ['e2'])).toMatch(/attempts 1, 2, 1: step 2 went back/);
  });

  it('does not explain an order whose steps all came on their first delivery: that reorder would be ours', () => {
    expect(emulatorReorder(steps(1, 1, 1), ['e1', 'e2'], ['e3'])).toBeUndefined();
  });

  it('does not explain when only a later step went back (the earlier ones were not overtaken)', () => {
    expect(emulatorReorder(steps(1, 1, 3), ['e1', 'e2'], ['e3'])).toBeUndefined();
  });

  it('does not explain a lost step: in neither the history nor the anomalies', () => {
    expect(emulatorReorder(steps(2, 2, 1), ['e1', 'e2'], [])).toBeUndefined();
  });

  it('does not explain a step applied twice', () => {
    expect(emulatorReorder(steps(2, 2, 1), ['e1', 'e2', 'e2'], ['e3'])).toBeUndefined();
  });

  it('does not explain a step without its delivery attempt', () => {
    expect(emulatorReorder(steps(undefined, undefined, 1), ['e1', 'e2'], ['e3'])).toBeUndefined();
  });
});
