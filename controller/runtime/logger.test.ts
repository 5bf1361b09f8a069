import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { StalledError, TransientError } from '../../shared/errors.js';
import { createLogger, type LoggerOptions } from './logger.js';

const T = new Date('2026-01-02T03:04:05.678Z');

/** A logger writing into an array of lines. */
function capture(options: Omit<LoggerOptions, 'stream' | 'clock'>): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, log: createLogger({ ...options, stream, clock: () => T }) };
}

describe('createLogger', () => {
  it('writes JSON lines with level, time, msg, then the fields', () => {
    const { lines, log } = capture({ level: 'info', format: 'json' });
    log.info('unsealed', { key: undefined, object: 'prod/db', attempt: 2 });
    assert.deepEqual(lines, ['{"level":"info","time":"2026-01-02T03:04:05.678Z","msg":"unsealed","object":"prod/db","attempt":2}']);
  });

  it('writes text lines TIME LEVEL msg k=v, quoting values that need it', () => {
    const { lines, log } = capture({ level: 'info', format: 'text' });
    log.warn('two\nlines', { object: 'prod/db', note: 'has space', empty: '', n: 3, ok: true, nested: { a: [1, 'b'] } });
    assert.deepEqual(lines, [
      '2026-01-02T03:04:05.678Z WARN two\\nlines object=prod/db note="has space" empty="" n=3 ok=true nested={"a":[1,"b"]}',
    ]);
  });

  it('drops entries below its level', () => {
    const { lines, log } = capture({ level: 'warn', format: 'json' });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { msg: string }).msg),
      ['w', 'e'],
    );
  });

  it('child binds fields; call fields win; the line keeps its own level/time/msg', () => {
    const { lines, log } = capture({ level: 'debug', format: 'json' });
    const child = log.child({ component: 'unseal', object: 'a/b' }).child({ worker: 1 });
    child.debug('x', { object: 'c/d', msg: 'shadow', level: 'shadow' });
    assert.deepEqual(JSON.parse(lines[0]!), {
      level: 'debug',
      time: '2026-01-02T03:04:05.678Z',
      msg: 'x',
      component: 'unseal',
      object: 'c/d',
      worker: 1,
      'fields.msg': 'shadow',
      'fields.level': 'shadow',
    });
  });

  it('redacts secret-bearing keys at any depth, case-insensitively', () => {
    const { lines, log } = capture({ level: 'info', format: 'json' });
    log.info('object', {
      secret: { metadata: { name: 'db' }, data: { password: 'cGxhaW4=' }, stringData: { a: 'plain' }, type: 'Opaque' },
      spec: { encryptedData: { a: 'AgB...' }, template: { metadata: { name: 'db' } } },
      headers: { Authorization: 'Bearer abc', 'X-Other': 'ok' },
      TOKEN: 't',
      nested: [{ privateKey: 'k', Key: 'k2', 'tls.key': 'pem', plaintext: 'p', ciphertext: 'c', Password: 'p', keyName: 'fine' }],
    });
    assert.deepEqual(JSON.parse(lines[0]!), {
      level: 'info',
      time: '2026-01-02T03:04:05.678Z',
      msg: 'object',
      secret: '[REDACTED]',
      spec: { encryptedData: '[REDACTED]', template: { metadata: { name: 'db' } } },
      headers: { Authorization: '[REDACTED]', 'X-Other': 'ok' },
      TOKEN: '[REDACTED]',
      nested: [
        {
          privateKey: '[REDACTED]',
          Key: '[REDACTED]',
          'tls.key': '[REDACTED]',
          plaintext: '[REDACTED]',
          ciphertext: '[REDACTED]',
          Password: '[REDACTED]',
          keyName: 'fine',
        },
      ],
    });
    assert.equal(lines[0]!.includes('plain"'), false);
    assert.equal(lines[0]!.includes('cGxhaW4='), false);
  });

  it('redacts in text format too, and inside Maps', () => {
    const { lines, log } = capture({ level: 'info', format: 'text' });
    log.info('m', { token: 'abc', m: new Map<string, unknown>([['data', 'x'], ['n', 1]]) });
    assert.deepEqual(lines, ['2026-01-02T03:04:05.678Z INFO m token=[REDACTED] m={"data":"[REDACTED]","n":1}']);
  });

  it('writes errors as {name, message, reason}, with the stack only at debug level', () => {
    const info = capture({ level: 'info', format: 'json' });
    const cause = new Error('socket hang up');
    info.log.error('failed', { err: new TransientError('ApiUnavailable', 'cannot get Secret prod/db', { cause }), plain: new TypeError('bad') });
    assert.deepEqual(JSON.parse(info.lines[0]!), {
      level: 'error',
      time: '2026-01-02T03:04:05.678Z',
      msg: 'failed',
      err: { name: 'TransientError', message: 'cannot get Secret prod/db', reason: 'ApiUnavailable' },
      plain: { name: 'TypeError', message: 'bad' },
    });
    const debug = capture({ level: 'debug', format: 'json' });
    const err = new StalledError('NoKey', 'no key opens it');
    debug.log.error('failed', { err });
    assert.deepEqual(JSON.parse(debug.lines[0]!).err, { name: 'StalledError', message: 'no key opens it', reason: 'NoKey', stack: err.stack });
  });

  it('never throws on circular, deep, binary or hostile values', () => {
    const { lines, log } = capture({ level: 'info', format: 'json' });
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    a.list = [a, { back: a }];
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 12; i++) deep = { d: deep };
    const hostile = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get() {
        throw new Error('no');
      },
    });
    const shared = { x: 1 };
    log.info('odd', {
      a,
      deep,
      hostile,
      buf: Buffer.from('secret bytes'),
      big: 10n,
      when: new Date(0),
      nan: Number.NaN,
      fn: function named() {},
      set: new Set([1, 2]),
      twice: [shared, shared],
    });
    const out = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.deepEqual(out.a, { name: 'a', self: '[Circular]', list: ['[Circular]', { back: '[Circular]' }] });
    let d = out.deep as Record<string, unknown>;
    // The fields object is level 0, `deep` level 1: the value at level 10 is cut.
    for (let i = 0; i < 8; i++) d = d.d as Record<string, unknown>;
    assert.deepEqual(d, { d: '[Truncated]' });
    assert.deepEqual(out.hostile, { boom: '[Unreadable]' });
    assert.equal(out.buf, '[Binary 12 bytes]');
    assert.equal(out.big, '10');
    assert.equal(out.when, '1970-01-01T00:00:00.000Z');
    assert.equal(out.nan, 'NaN');
    assert.equal(out.fn, '[Function named]');
    assert.deepEqual(out.set, [1, 2]);
    assert.deepEqual(out.twice, [{ x: 1 }, { x: 1 }]);
  });

  it('survives a stream that throws', () => {
    const stream = new Writable({ write: () => undefined });
    stream.write = () => {
      throw new Error('EPIPE');
    };
    const log = createLogger({ level: 'info', format: 'json', stream });
    assert.doesNotThrow(() => log.info('x'));
  });
});
