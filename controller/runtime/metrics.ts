/**
 * A small Prometheus metrics registry (counters, gauges, histograms) rendered in the text exposition format
 * 0.0.4. Each registry is private: the controller makes one and hands it to whatever records metrics, so tests
 * read exact values from their own registry and nothing is global.
 *
 * Output order is stable: metric families by name, series by their label values.
 */

/** Label values by label name; numbers are written as their decimal text. */
export type Labels = Readonly<Record<string, string | number>>;

/** Only goes up. */
export interface Counter {
  /** Adds `n` (default 1). Throws a RangeError when `n` is negative or not a number, or the labels do not match. */
  inc(labels?: Labels, n?: number): void;
}

/** Goes up and down. */
export interface Gauge {
  /** Sets the value. Throws a RangeError when the labels do not match the declared names. */
  set(labels: Labels, value: number): void;
  /** Adds `n` (default 1). Throws a RangeError when the labels do not match the declared names. */
  inc(labels?: Labels, n?: number): void;
  /** Subtracts `n` (default 1). Throws a RangeError when the labels do not match the declared names. */
  dec(labels?: Labels, n?: number): void;
}

/** Counts observations into cumulative buckets. */
export interface Histogram {
  /** Records one observation. Throws a RangeError when the labels do not match the declared names. */
  observe(labels: Labels, value: number): void;
  /** Starts timing; the returned function observes the elapsed seconds. Throws as `observe`. */
  startTimer(labels?: Labels): () => void;
}

/** Prometheus' default buckets, in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Kind = 'counter' | 'gauge' | 'histogram';

interface Series {
  values: string[];
  value: number;
  /** Histograms: observations per bucket (not cumulative), then sum. */
  buckets: number[];
  sum: number;
}

interface Family {
  name: string;
  help: string;
  kind: Kind;
  labelNames: string[];
  buckets: number[];
  series: Map<string, Series>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A set of metric families and the hooks that refresh values right before rendering. */
export class MetricsRegistry {
  private readonly families = new Map<string, Family>();
  private readonly collectors: Array<() => void> = [];
  private readonly now: () => number;

  /** `now` (milliseconds, default performance.now) times `startTimer`. */
  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? ((): number => performance.now());
  }

  /** Declares a counter. Throws a RangeError on an invalid or already registered name or label name. */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    const family = this.register(name, help, 'counter', labelNames, []);
    return {
      inc: (labels = {}, n = 1) => {
        if (!(n >= 0)) throw new RangeError(`${name}: a counter only goes up (got ${n})`);
        this.series(family, labels).value += n;
      },
    };
  }

  /** Declares a gauge. Throws a RangeError on an invalid or already registered name or label name. */
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    const family = this.register(name, help, 'gauge', labelNames, []);
    return {
      set: (labels, value) => {
        this.series(family, labels).value = value;
      },
      inc: (labels = {}, n = 1) => {
        this.series(family, labels).value += n;
      },
      dec: (labels = {}, n = 1) => {
        this.series(family, labels).value -= n;
      },
    };
  }

  /**
   * Declares a histogram with upper bounds `buckets` (+Inf is implied). Throws a RangeError on an invalid or
   * already registered name, an invalid label name or `le`, or buckets that are not strictly increasing.
   */
  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets: readonly number[] = DEFAULT_BUCKETS): Histogram {
    const bounds = buckets.filter((b) => b !== Number.POSITIVE_INFINITY);
    if (bounds.some((b, i) => Number.isNaN(b) || (i > 0 && b <= bounds[i - 1]!))) {
      throw new RangeError(`${name}: buckets must be strictly increasing numbers`);
    }
    if (labelNames.includes('le')) throw new RangeError(`${name}: "le" is reserved for histogram buckets`);
    const family = this.register(name, help, 'histogram', labelNames, bounds);
    const observe = (labels: Labels, value: number): void => {
      const series = this.series(family, labels);
      const index = bounds.findIndex((b) => value <= b);
      series.buckets[index === -1 ? bounds.length : index]! += 1;
      series.sum += value;
      series.value += 1;
    };
    return {
      observe,
      startTimer: (labels = {}) => {
        this.series(family, labels);
        const start = this.now();
        return () => observe(labels, (this.now() - start) / 1000);
      },
    };
  }

  /** Runs `fn` at the start of every `render`, to refresh values read from elsewhere. */
  onRender(fn: () => void): void {
    this.collectors.push(fn);
  }

  /** Every family in the text exposition format 0.0.4. A failing onRender hook is skipped, never thrown. */
  render(): string {
    for (const collect of this.collectors) {
      try {
        collect();
      } catch {
        // A broken collector must not take /metrics down with it.
      }
    }
    const lines: string[] = [];
    for (const family of [...this.families.values()].sort((a, b) => compare(a.name, b.name))) {
      lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.kind}`);
      const series = [...family.series.values()].sort((a, b) => compareValues(a.values, b.values));
      if (series.length === 0 && family.labelNames.length === 0) series.push(emptySeries([], family.buckets.length));
      for (const s of series) lines.push(...renderSeries(family, s));
    }
    return lines.length ? `${lines.join('\n')}\n` : '';
  }

  private register(name: string, help: string, kind: Kind, labelNames: readonly string[], buckets: number[]): Family {
    if (!METRIC_NAME.test(name)) throw new RangeError(`invalid metric name ${JSON.stringify(name)}`);
    if (this.families.has(name)) throw new RangeError(`metric ${name} is already registered`);
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith('__')) throw new RangeError(`${name}: invalid label name ${JSON.stringify(label)}`);
    }
    if (new Set(labelNames).size !== labelNames.length) throw new RangeError(`${name}: repeated label name`);
    const family: Family = { name, help, kind, labelNames: [...labelNames], buckets, series: new Map() };
    this.families.set(name, family);
    return family;
  }

  private series(family: Family, labels: Labels): Series {
    const given = Object.keys(labels);
    if (given.length !== family.labelNames.length || given.some((k) => !family.labelNames.includes(k))) {
      throw new RangeError(`${family.name}: labels must be {${family.labelNames.join(', ')}}, got {${given.join(', ')}}`);
    }
    const values = family.labelNames.map((n) => String(labels[n]));
    const key = JSON.stringify(values);
    let series = family.series.get(key);
    if (!series) {
      series = emptySeries(values, family.buckets.length);
      family.series.set(key, series);
    }
    return series;
  }
}

/**
 * Adds `process_resident_memory_bytes` and `process_heap_bytes` (V8 heap in use) to `registry`, refreshed
 * on every render from `memoryUsage` (default process.memoryUsage). Throws as `MetricsRegistry.gauge` when
 * they are already registered.
 */
export function collectDefault(
  registry: MetricsRegistry,
  memoryUsage: () => { rss: number; heapUsed: number } = () => process.memoryUsage(),
): void {
  const rss = registry.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.');
  const heap = registry.gauge('process_heap_bytes', 'V8 heap in use, in bytes.');
  registry.onRender(() => {
    const usage = memoryUsage();
    rss.set({}, usage.rss);
    heap.set({}, usage.heapUsed);
  });
}

function emptySeries(values: string[], bounds: number): Series {
  return { values, value: 0, buckets: new Array<number>(bounds + 1).fill(0), sum: 0 };
}

function renderSeries(family: Family, s: Series): string[] {
  const pairs = family.labelNames.map((n, i) => `${n}="${escapeLabel(s.values[i]!)}"`);
  const braces = (extra: string[] = []): string => {
    const all = [...pairs, ...extra];
    return all.length ? `{${all.join(',')}}` : '';
  };
  if (family.kind !== 'histogram') return [`${family.name}${braces()} ${formatNumber(s.value)}`];
  const lines: string[] = [];
  let cumulative = 0;
  family.buckets.forEach((bound, i) => {
    cumulative += s.buckets[i]!;
    lines.push(`${family.name}_bucket${braces([`le="${formatNumber(bound)}"`])} ${cumulative}`);
  });
  lines.push(`${family.name}_bucket${braces(['le="+Inf"'])} ${s.value}`);
  lines.push(`${family.name}_sum${braces()} ${formatNumber(s.sum)}`);
  lines.push(`${family.name}_count${braces()} ${s.value}`);
  return lines;
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareValues(a: string[], b: string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compare(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}
