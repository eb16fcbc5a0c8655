import type { Logger } from '../logger';
import { type DimensionName, emfRecord, type MetricName } from './metrics';

/** The per-metric dimensions a call site knows (`ModelVersion`, `Code`, `Unit`). */
export type MetricDimensions = Partial<Record<DimensionName, string>>;

/**
 * Where the handlers' metrics go (the port): CloudWatch through EMF log lines in Lambda, the
 * logger locally. The sink adds `service` and `Stage`; call sites name the rest. A metric whose
 * dimension set is incomplete is dropped with a warning rather than failing the request: it
 * would be invisible to the dashboard anyway, and the contract tests catch it before a deploy.
 */
export interface MetricsSink {
  emit(name: MetricName, value: number, dimensions?: MetricDimensions): void;
}

/** `service` and `Stage`: on every metric of one handler. */
export interface MetricBase {
  service: string;
  Stage: string;
}

/**
 * EMF: one JSON line per metric value, written with `write` (in Lambda, stdout, where CloudWatch
 * Logs extracts the metric; no API call on the request path).
 */
export function emfMetrics(
  base: MetricBase,
  write: (line: string) => void,
  opts: { now?: () => number; onInvalid?: (err: Error) => void } = {},
): MetricsSink {
  const now = opts.now ?? Date.now;
  return {
    emit(name, value, dimensions = {}) {
      let line: string;
      try {
        line = JSON.stringify(emfRecord(name, value, { ...dimensions, ...base }, now()));
      } catch (err) {
        opts.onInvalid?.(err as Error);
        return;
      }
      write(line);
    },
  };
}

/** Lambda's stdout: EMF lines must be whole lines of their own. */
export function stdoutEmfMetrics(base: MetricBase, log?: Logger): MetricsSink {
  return emfMetrics(base, (line) => process.stdout.write(`${line}\n`), {
    onInvalid: (err) => log?.warn({ err }, 'metric dropped'),
  });
}

/**
 * Locally: the same records, checked against the contract, as debug log lines (`metric` holds the
 * EMF record), so a laptop shows what CloudWatch would receive. Built only when debug is on.
 */
export function logMetrics(base: MetricBase, log: Logger): MetricsSink {
  const sink = emfMetrics(base, (line) => log.debug({ metric: JSON.parse(line) as unknown }, 'metric'), {
    onInvalid: (err) => log.warn({ err }, 'metric dropped'),
  });
  return {
    // Below debug the record would be built, serialised and parsed for nothing, several times a
    // request; the level is read per call, so a logger turned to debug shows them at once.
    emit: (name, value, dimensions) => {
      if (log.isLevelEnabled('debug')) sink.emit(name, value, dimensions);
    },
  };
}
