/**
 * The controller's structured logger: one line per entry, JSON (`{"level","time","msg",...fields}`) for log
 * collectors or text (`TIME LEVEL msg k=v …`) for people. Every field goes through redact.ts, so Secret data,
 * tokens and keys never reach the output, and a log call never throws.
 */
import type { Writable } from 'node:stream';
import { toLoggable } from './redact.js';

/** Severity, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Extra context of a log entry. */
export type LogFields = Record<string, unknown>;

/** Writes log entries at or above its level; `child` binds fields to every entry it writes. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** How `createLogger` writes. */
export interface LoggerOptions {
  level: LogLevel;
  format: 'json' | 'text';
  /** Default: process.stdout. */
  stream?: Writable;
  /** Default: the current time. */
  clock?: () => Date;
}

const SEVERITY: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
/** Keys the line itself owns; a field with one of these names is written as `fields.<name>`. */
const OWN_KEYS = new Set(['level', 'time', 'msg']);

/**
 * A Logger writing entries at `level` and above to `stream`, one line each. Errors in fields are written as
 * `{name, message, reason}`, with `stack` only when `level` is `debug`. Never throws: a stream that fails is
 * ignored.
 */
export function createLogger(options: LoggerOptions): Logger {
  const stream = options.stream ?? process.stdout;
  const clock = options.clock ?? ((): Date => new Date());
  const threshold = SEVERITY[options.level];
  const stack = options.level === 'debug';

  const write = (level: LogLevel, msg: string, bound: LogFields, fields: LogFields | undefined): void => {
    if (SEVERITY[level] < threshold) return;
    let line: string;
    try {
      const time = clock().toISOString();
      const safe = toLoggable({ ...bound, ...fields }, { stack }) as Record<string, unknown>;
      line = options.format === 'json' ? jsonLine(level, time, msg, safe) : textLine(level, time, msg, safe);
    } catch {
      line = JSON.stringify({ level, msg: String(msg), logError: 'fields could not be written' });
    }
    try {
      stream.write(`${line}\n`);
    } catch {
      // A broken log stream must not take the controller down.
    }
  };

  const make = (bound: LogFields): Logger => ({
    debug: (msg, fields) => write('debug', msg, bound, fields),
    info: (msg, fields) => write('info', msg, bound, fields),
    warn: (msg, fields) => write('warn', msg, bound, fields),
    error: (msg, fields) => write('error', msg, bound, fields),
    child: (fields) => make({ ...bound, ...fields }),
  });
  return make({});
}

function renamed(fields: Record<string, unknown>): Array<[string, unknown]> {
  return Object.entries(fields).map(([k, v]) => [OWN_KEYS.has(k) ? `fields.${k}` : k, v]);
}

function jsonLine(level: LogLevel, time: string, msg: string, fields: Record<string, unknown>): string {
  return JSON.stringify({ level, time, msg: String(msg), ...Object.fromEntries(renamed(fields)) });
}

function textLine(level: LogLevel, time: string, msg: string, fields: Record<string, unknown>): string {
  const parts = [time, level.toUpperCase(), String(msg).replace(/\r/g, '\\r').replace(/\n/g, '\\n')];
  for (const [key, value] of renamed(fields)) parts.push(`${key}=${textValue(value)}`);
  return parts.join(' ');
}

/** Strings bare when they hold no space, quote, `=` or backslash; everything else as JSON. */
function textValue(value: unknown): string {
  if (typeof value === 'string' && value !== '' && !/[\s"=\\]/.test(value)) return value;
  return JSON.stringify(value);
}
