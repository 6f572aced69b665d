import { pino, stdTimeFunctions, type Logger } from 'pino';
import type prettyModule from 'pino-pretty';
import { lazy } from '../kernel/lazy.js';

// (loaded only in pretty mode: a JSON log never needs it, and start-up counts)
const pretty = lazy<typeof prettyModule>('pino-pretty');

/**
 * How Hangar writes its log: `pretty` (one readable line each, for a person at a terminal) or
 * `json` (one pino JSON object a line, for a collector). HANGAR_LOG_FORMAT chooses; without it,
 * pretty when stdout is a terminal.
 */
export type LogFormat = 'pretty' | 'json';

export function createLogger(level: string, format: LogFormat): Logger {
  // ISO times rather than epoch milliseconds: a person reads a JSON log too.
  const options = { level, base: undefined, timestamp: stdTimeFunctions.isoTime };
  if (format === 'json') return pino(options);
  const stream = pretty()({
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: REQUEST_FIELDS.join(','),
    singleLine: true,
    sync: true,
    messageFormat: (line, messageKey) => (line.kind === 'request' ? requestLine(line as unknown as RequestLine) : String(line[messageKey] ?? '')),
  });
  return pino(options, stream);
}

/** What one answered request logs. */
export interface RequestLine {
  kind: 'request';
  method: string;
  path: string;
  status: number;
  ms: number;
  /** The account the credential belongs to ('' before authentication or on anonymous routes). */
  account: string;
  /** The API the path belongs to: a cloud's name, `admin`, or '' (health, metrics, pages). */
  cloud: string;
}

const REQUEST_FIELDS = ['kind', 'method', 'path', 'status', 'ms', 'account', 'cloud'];

/** `GET /compute/v1/instances 200 1.4 ms genesis account 6c1e…`: the pretty form of a request. */
function requestLine(line: RequestLine): string {
  const who = line.account === '' ? '' : `  account ${line.account}`;
  return `${line.method.padEnd(6)} ${line.path} ${line.status} ${line.ms.toFixed(1)} ms${line.cloud === '' ? '' : `  ${line.cloud}`}${who}`;
}

/** Paths probes and scrapers call every few seconds: never worth a line at info. */
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Writes one line per answered request. In pretty mode every request is a line at info (someone
 * is watching the terminal). In JSON mode, successful reads (GET/HEAD answered below 400) are
 * lines at debug: clients poll them many times a second while they wait on a lifecycle, so at
 * info they would drown the writes and failures a log is read for, and cost the hottest route
 * its throughput; the journal and the metrics count them anyway. Probes are debug everywhere.
 */
export function requestLogger(
  logger: Logger,
  format: LogFormat,
): (method: string, path: string, status: number, ms: number, account: string, cloud: string) => void {
  const infoOn = logger.isLevelEnabled('info');
  const debugOn = logger.isLevelEnabled('debug');
  if (!infoOn && !debugOn) return () => undefined;
  // (nothing is built for a request that is not written: this runs on every answer)
  return (method, path, status, ms, account, cloud) => {
    const quiet = PROBES.has(path) || (format === 'json' && status < 400 && (method === 'GET' || method === 'HEAD'));
    if (quiet ? !debugOn : !infoOn) return;
    const line: RequestLine = { kind: 'request', method, path, status, ms: Math.round(ms * 100) / 100, account, cloud };
    if (quiet) logger.debug(line, 'request');
    else if (status >= 500) logger.warn(line, 'request');
    else logger.info(line, 'request');
  };
}
