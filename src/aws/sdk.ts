/**
 * What the AWS backends (streams/kinesis, stores/dynamodb, notify/sns) share about the AWS SDK v3:
 * how a client is made (region, endpoint, HTTP handler, no SDK retries), which failures are worth
 * another try, and how a failure reads. Each backend keeps only what is its own: its calls, its
 * resource names, and the parts of a batch its service left undone.
 */
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { StorepulseError, type StorepulseErrorCode } from '../core/errors.js';
import { withRetry } from '../core/retry.js';

export type AwsService = 'Kinesis' | 'DynamoDB' | 'SNS' | 'S3';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AwsClientOptions {
  /** Default: AWS_REGION or AWS_DEFAULT_REGION, else the AWS config files' profile, else us-east-1. */
  region?: string;
  /** Another endpoint than AWS's, e.g. an emulator's http://127.0.0.1:4567. */
  endpoint?: string;
  /** Static credentials (emulators take any); otherwise the SDK's default provider chain. */
  credentials?: AwsCredentials;
  /** Connection and request timeouts, ms; default none (Kinesis GetRecords may be slow to answer). */
  timeoutMs?: number;
}

/** What an S3 client sets beyond the common configuration. */
export interface S3Config {
  forcePathStyle?: boolean;
  requestChecksumCalculation?: 'WHEN_REQUIRED';
  responseChecksumValidation?: 'WHEN_REQUIRED';
}

/**
 * S3 against another endpoint than AWS's (s3rver, MinIO, …): path-style addresses, since such a
 * server has no DNS name per bucket, and checksums only where S3 requires them, since the SDK's
 * default (CRC32 trailers in an `aws-chunked` body) is stored as object content by servers that do
 * not know it.
 */
export function s3EndpointConfig(endpoint: string | undefined): S3Config {
  if (!endpoint) return {};
  return {
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

/** The part of an SDK v3 client configuration that storepulse sets. */
interface ClientConfig extends S3Config {
  region?: string | (() => Promise<string>);
  endpoint?: string;
  credentials?: AwsCredentials;
  requestHandler?: NodeHttpHandler;
  maxAttempts?: number;
}

type Handler = (args: { request: unknown }) => Promise<unknown>;

/** The part of an SDK v3 client that storepulse uses here. */
interface SdkClient {
  config: { region: () => Promise<string> };
  middlewareStack: object;
  destroy(): void;
}

/**
 * The SDK prints a seven-line NodeVersionSupportWarning on stderr under Node < 22 once per process,
 * i.e. on every storepulse command that touches AWS, about SDK releases of 2027: noise in a command's
 * output that its user cannot act on there. The SDK's own switch silences that one warning and no
 * other, and an explicit setting of it by the user is kept.
 */
function quietSdkNodeNotice(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

/**
 * The region when none is given: the environment first (AWS_DEFAULT_REGION too, as the AWS CLI reads
 * it), then the SDK's own chain (the profile in the AWS config files), then us-east-1 rather than a
 * failure of every call. Looked up once per client, at its first call.
 */
function defaultRegion(Client: new (config: ClientConfig) => SdkClient): () => Promise<string> {
  let found: Promise<string> | undefined;
  const lookUp = async (): Promise<string> => {
    const env = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
    if (env) return env;
    const probe = new Client({});
    try {
      return await probe.config.region();
    } catch {
      return 'us-east-1';
    } finally {
      probe.destroy();
    }
  };
  return () => (found ??= lookUp());
}

/** Endpoint (scheme://host:port) that a failed request went to, for awsError's message. */
const endpointOf = new WeakMap<object, string>();

/** Records on each failure where the request went: AWS's own endpoint or the configured one. */
function rememberEndpoints(client: SdkClient): void {
  const stack = client.middlewareStack as {
    add(mw: (next: Handler) => Handler, opts: { step: 'finalizeRequest'; name: string }): void;
  };
  stack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        const r = args.request as { protocol?: string; hostname?: string; port?: number } | undefined;
        if (err && typeof err === 'object' && r?.hostname) {
          endpointOf.set(err, `${r.protocol ?? 'https:'}//${r.hostname}${r.port ? `:${r.port}` : ''}`);
        }
        throw err;
      }
    },
    { step: 'finalizeRequest', name: 'storepulseEndpointOfFailure' },
  );
}

/**
 * A client of `Client` (KinesisClient, DynamoDBClient, SNSClient, S3Client) as every backend makes
 * it; `serviceConfig` adds what one service needs (s3EndpointConfig). The caller owns it and destroys it.
 */
export function awsClient<C extends SdkClient>(
  Client: new (config: ClientConfig) => C,
  opts: AwsClientOptions = {},
  serviceConfig: S3Config = {},
): C {
  quietSdkNodeNotice();
  const timeouts = opts.timeoutMs
    ? { connectionTimeout: opts.timeoutMs, requestTimeout: opts.timeoutMs }
    : {};
  const client = new Client({
    region: opts.region ?? defaultRegion(Client),
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...serviceConfig,
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    // HTTP/1.1: the SDK's default handler negotiates HTTP/2 for some Kinesis calls, which
    // kinesis-local does not speak; AWS serves both, and every emulator HTTP/1.1.
    requestHandler: new NodeHttpHandler(timeouts),
    // storepulse's retries (core/retry.ts) are the only ones, so that maxRetries means what it says.
    maxAttempts: 1,
  });
  rememberEndpoints(client);
  return client;
}

// ---- failures ----

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** "Too fast, slow down", whatever the status (some services answer it with 400). */
const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
]);

/** A failure to reach the endpoint at all: the request was not served. */
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);

/** Server faults and timeouts. An abort is ours, not a refusal: what was cut short may be sent later. */
const TRANSIENT = new Set([
  'InternalFailure',
  'InternalFailureException',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'AbortError',
]);

/** Whether an AWS error name or Node error code means "try again later". */
export function retryableAwsCode(code: string): boolean {
  return THROTTLING.has(code) || /throttl/i.test(code) || NETWORK.has(code) || TRANSIENT.has(code);
}

/** The HTTP status of the answer to a failed call; undefined when there was none (a network failure). */
export function awsHttpStatus(err: unknown): number | undefined {
  return (err as ErrorLike | undefined)?.$metadata?.httpStatusCode;
}

/**
 * The AWS error name (ResourceNotFoundException, …) or Node error code (ECONNREFUSED, …) of a
 * failure, also behind a StorepulseError that awsError made of it.
 */
export function awsErrorCode(err: unknown): string {
  if (err instanceof StorepulseError) return awsErrorCode(err.cause);
  if (err && typeof err === 'object') {
    const e = err as ErrorLike;
    if (typeof e.code === 'string' && e.code) return e.code;
    if (typeof e.name === 'string' && e.name && e.name !== 'Error') return e.name;
    // Node wraps some socket errors: the code sits on the cause.
    if (e.cause !== undefined && e.cause !== err) return awsErrorCode(e.cause);
  }
  return 'Error';
}

/** Throttling, 429 and 5xx answers, network failures, timeouts: the same call may succeed later. */
function retryableFailure(err: unknown): boolean {
  if (err instanceof PartialBatchError && err.retryable !== undefined) return err.retryable;
  const status = awsHttpStatus(err);
  return status === 429 || (status !== undefined && status >= 500) || retryableAwsCode(awsErrorCode(err));
}

/**
 * What a batch call throws when the service did only part of the batch (PutRecords entries with an
 * ErrorCode, DynamoDB's unprocessed items), after keeping what was done: `code` is the service's code
 * for the rest, classified like a whole-call error of that name unless `retryable` says otherwise.
 */
export class PartialBatchError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable?: boolean,
  ) {
    super(message);
    this.name = code;
  }
}

/** A missing stream or shard is bad input; a missing table or bucket, a store not set up. */
const MISSING: Record<AwsService, StorepulseErrorCode> = {
  Kinesis: 'INPUT',
  DynamoDB: 'STATE',
  SNS: 'IO',
  S3: 'STATE',
};
/** The names a service gives "that resource does not exist". */
const NOT_FOUND = new Set(['ResourceNotFoundException', 'NoSuchBucket']);

function messageOf(err: unknown): string {
  const e = err as ErrorLike | undefined;
  if (typeof e?.message === 'string' && e.message) return e.message;
  // Node's AggregateError of a connect to every address of a host has an empty message.
  if (Array.isArray(e?.errors)) return e.errors.map(messageOf).filter(Boolean).join('; ');
  return typeof err === 'string' ? err : '';
}

/** What went wrong, in words: the unreachable endpoint, an answer that is no AWS answer, or the AWS error. */
function whatFailed(service: AwsService, err: unknown): string {
  const code = awsErrorCode(err);
  const message = messageOf(err);
  const status = awsHttpStatus(err);
  const endpoint = err && typeof err === 'object' ? endpointOf.get(err) : undefined;
  if (status === undefined && NETWORK.has(code)) {
    const detail = message && message !== code ? `: ${message}` : '';
    return `cannot reach ${endpoint ?? `the ${service} endpoint`} (${code}${detail})`;
  }
  // The SDK's names for an answer it could not read as an AWS error: a proxy's error page, another server.
  if (status !== undefined && (code === 'Unknown' || code === 'SyntaxError')) {
    return `${endpoint ?? `the ${service} endpoint`} answered HTTP ${status}, which is no ${service} answer`;
  }
  return message ? `${code}: ${message}` : code;
}

/**
 * A failed AWS call as a StorepulseError that names the call, the resource, the endpoint when it
 * could not be reached, the AWS error or network code, and the retries made; `retryable` set from
 * the failure. A StorepulseError thrown by storepulse's own code inside the call is kept as it is.
 */
export function awsError(
  service: AwsService,
  op: string,
  resource: string,
  err: unknown,
  retries = 0,
): StorepulseError {
  if (err instanceof StorepulseError) return err;
  const after = retries > 0 ? ` after ${retries} ${retries === 1 ? 'retry' : 'retries'}` : '';
  const code = NOT_FOUND.has(awsErrorCode(err)) ? MISSING[service] : 'IO';
  const message = `${op} on ${service} ${resource} failed${after}: ${whatFailed(service, err)}`;
  return new StorepulseError(code, message, { cause: err, retryable: retryableFailure(err) });
}

/** A backend's resource, for awsCall: e.g. { service: 'Kinesis', resource: 'stream "clicks"', maxRetries: 8 }. */
export interface AwsTarget {
  service: AwsService;
  resource: string;
  maxRetries: number;
}

/** One AWS call with storepulse's retries; fails with awsError's StorepulseError. */
export function awsCall<T>(
  target: AwsTarget,
  op: string,
  call: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  return withRetry(call, {
    maxRetries: target.maxRetries,
    signal,
    describe: (err, retries) => awsError(target.service, op, target.resource, err, retries),
  });
}
