/**
 * The one logger: pino, JSON lines on stdout, one object a line (`time`, `level`, fields, `message`), for
 * every process of the connector. The Temporal SDK's own logger (workers, workflows, activities) is routed
 * into it by `installRuntimeLogger`, so an operator reads one stream in one format. Secrets never reach
 * it: adapters keep credentials out of messages.
 */
import { DefaultLogger, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';
import { pino } from 'pino';

export type Fields = Record<string, unknown>;
type Level = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
let threshold: Level = (process.env.LOG_LEVEL?.toLowerCase() as Level | undefined) ?? 'info';
if (!(threshold in ORDER)) threshold = 'info';

/**
 * An error as a log field: its name, message and own fields (an ApplicationFailure's type, an upstream
 * error's status), its cause likewise; no stack. JSON.stringify alone keeps only the own fields, which
 * dropped the message of every activity failure the SDK logged.
 */
function errorFields(_key: string, value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const { stack: _stack, ...own } = value as Error & Record<string, unknown>;
  return { ...own, name: value.name, message: value.message, ...(value.cause ? { cause: value.cause } : {}) };
}

/**
 * Synchronous writes: a line logged just before the process exits (a failed start, a stop) is not lost.
 * The time is the entry's own (the SDK's are stamped where they happened), so pino adds none.
 */
const output = pino(
  {
    // The threshold is applied by write(), which the SDK's entries pass through too.
    level: 'debug',
    base: undefined,
    timestamp: false,
    messageKey: 'message',
    formatters: { level: (label) => ({ level: label }) },
  },
  pino.destination({ fd: 1, sync: true }),
);

function write(level: Level, message: string, fields: Fields = {}, time = new Date()): void {
  if (ORDER[level] < ORDER[threshold]) return;
  const plain = JSON.parse(JSON.stringify(fields, errorFields)) as Fields;
  output[level]({ time: time.toISOString(), ...plain }, message);
}

export const log = {
  debug: (message: string, fields?: Fields) => write('debug', message, fields),
  info: (message: string, fields?: Fields) => write('info', message, fields),
  warn: (message: string, fields?: Fields) => write('warn', message, fields),
  error: (message: string, fields?: Fields) => write('error', message, fields),
};

const SDK_LEVELS: Record<LogLevel, Level> = {
  TRACE: 'debug',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** SDK warnings that describe the connector's design, not a problem: the `sectigo` worker runs activities only. */
const EXPECTED_WARNINGS = new Set(['No workflows registered, not polling for workflow tasks']);

/**
 * Installs the Temporal runtime with its logs routed into this logger, at `level` and above (default
 * LOG_LEVEL, else info), and — given `sdkMetricsAddress` — its Prometheus exporter listening there (the
 * worker serves that text with its own metrics). Once per process, before any worker or connection.
 */
export function installRuntimeLogger(level?: Level, sdkMetricsAddress?: string): void {
  if (level) threshold = level;
  const sdkLevel = (Object.keys(SDK_LEVELS) as LogLevel[]).find((l) => SDK_LEVELS[l] === threshold) ?? 'INFO';
  const logger = new DefaultLogger(sdkLevel, (entry: LogEntry) => {
    // The task token is a credential of sorts (it completes the activity): it stays out of the log.
    const { sdkComponent, taskToken: _taskToken, ...meta } = entry.meta ?? {};
    write(
      EXPECTED_WARNINGS.has(entry.message) ? 'debug' : SDK_LEVELS[entry.level],
      entry.message,
      { ...(sdkComponent ? { component: sdkComponent } : {}), ...meta },
      new Date(Number(entry.timestampNanos / 1_000_000n)),
    );
  });
  Runtime.install({
    logger,
    telemetryOptions: {
      logging: { forward: { level: sdkLevel } },
      // Prometheus's conventions: counters end in _total, durations are in seconds and say so.
      ...(sdkMetricsAddress
        ? {
            metrics: {
              prometheus: {
                bindAddress: sdkMetricsAddress,
                countersTotalSuffix: true,
                unitSuffix: true,
                useSecondsForDurations: true,
              },
            },
          }
        : {}),
    },
  });
}
