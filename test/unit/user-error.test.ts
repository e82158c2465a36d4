import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../../shared/errors';
import { PortTakenError } from '../../shared/emulators/ports';
import { ConsumerConfigError } from '../../shared/consumer/errors';
import { loadSpec, MeshSpecError } from '../../shared/spec';
import { describeFailure } from '../../tools/report-error';

const ROOT = path.resolve(__dirname, '..', '..');

describe('UserError', () => {
  it('formats where, message and hint as one line', () => {
    expect(new UserError('--rate must be positive', { where: '--rate', hint: 'e.g. --rate 200' }).format()).toBe(
      '--rate: --rate must be positive; e.g. --rate 200',
    );
    expect(new UserError('no consumer "x"').format()).toBe('no consumer "x"');
  });

  it('keeps the cause for logs without printing it', () => {
    const cause = new Error('ECONNREFUSED 127.0.0.1:8085');
    const error = new UserError('no Pub/Sub emulator answers', { cause });
    expect(error.cause).toBe(cause);
    expect(describeFailure(error)).toBe('mesh: no Pub/Sub emulator answers');
  });

  it('is the base of every expected failure, which keeps its own name', () => {
    const taken = new PortTakenError(8085, 'Pub/Sub emulator');
    expect(taken).toBeInstanceOf(UserError);
    expect(taken.name).toBe('PortTakenError');
    expect(new ConsumerConfigError('x')).toBeInstanceOf(UserError);
    expect(() => loadSpec(path.join(ROOT, 'no-such-spec.yaml'))).toThrow(MeshSpecError);
    try {
      loadSpec(path.join(ROOT, 'no-such-spec.yaml'));
    } catch (error) {
      expect(error).toBeInstanceOf(UserError);
    }
  });
});

describe('describeFailure (what the CLI prints)', () => {
  it('prints a user error in one line without a stack', () => {
    const text = describeFailure(new UserError('give the SQL to run'));
    expect(text.split('\n')).toHaveLength(1);
    expect(text).not.toMatch(/\n\s+at /);
  });

  it('prints a bug with its stack, saying it is one', () => {
    const text = describeFailure(new TypeError("Cannot read properties of undefined (reading 'x')"));
    expect(text).toMatch(/^mesh: unexpected error \(a bug/);
    expect(text).toMatch(/\n\s+at /);
  });

  it('prints a spec error as its located issues, one per line', () => {
    const error = new MeshSpecError([
      { file: 'mesh.yaml', line: 3, column: 5, path: 'consumers.a.topic', message: 'unknown topic "x"' },
      { file: 'mesh.yaml', line: 9, column: 5, path: 'consumers.b.exactlyOnce', message: 'pull only' },
    ]);
    expect(describeFailure(error).split('\n')).toEqual([
      'mesh spec has 2 errors:',
      'mesh.yaml:3:5 consumers.a.topic: unknown topic "x"',
      'mesh.yaml:9:5 consumers.b.exactlyOnce: pull only',
    ]);
  });

  it('the real CLI exits 1 with one line for a usage mistake', async () => {
    const run = promisify(execFile);
    const failure = await run(process.execPath, ['--import', 'tsx', 'tools/mesh.ts', 'query'], { cwd: ROOT }).catch((e: { code: number; stderr: string }) => e);
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr.trim()).toBe(
      'mesh: give the SQL to run, e.g. mesh query "SELECT COUNT(*) FROM orders_events", or --example <name> (see --examples)',
    );
  }, 30000);
});
