/**
 * node:test's `test(name, fn)` on top of vitest, as far as aedes-persistence's abstract suite
 * (abstract.js) uses it: `t.assert.*` (node:assert's top-level functions, as node:test binds them),
 * `t.plan(n)` (checked when the test's promise settles) and `t.diagnostic` (dropped).
 */
import assert from 'node:assert';
import { it } from 'vitest';

export interface NodeTestContext {
  assert: Pick<typeof assert, 'equal' | 'notEqual' | 'deepEqual' | 'ok' | 'ifError'>;
  plan(count: number): void;
  diagnostic(message: string): void;
}

export type NodeTest = (name: string, fn: (t: NodeTestContext) => Promise<void> | void) => void;

/** Registers each node:test test as a vitest test. */
export const nodeTest: NodeTest = (name, fn) => {
  it(name, async () => {
    let planned: number | undefined;
    let made = 0;
    const counted = <A extends unknown[]>(check: (...args: A) => void) => (...args: A): void => {
      made += 1;
      check(...args);
    };
    const t: NodeTestContext = {
      assert: {
        equal: counted(assert.equal), notEqual: counted(assert.notEqual), deepEqual: counted(assert.deepEqual),
        ok: counted(assert.ok), ifError: counted(assert.ifError),
      },
      plan: (count) => { planned = count; },
      diagnostic: () => {},
    };
    await fn(t);
    if (planned !== undefined) assert.equal(made, planned, `planned ${planned} assertions, made ${made}`);
  });
};
