/** Every error storepulse raises on purpose. `code` says what kind; `cause` keeps the original. */
export type StorepulseErrorCode =
  | 'USAGE' // bad flags or arguments: exit code 2
  | 'CONFIG' // invalid config file or value: exit code 2
  | 'INPUT' // a dataset or stream that cannot be read at all
  | 'NOT_FOUND' // a stream that does not exist (yet): a reader may wait for its writer to create it
  | 'IO' // file system or network failure
  | 'STATE' // data folder or store in an unexpected state
  | 'INTERNAL';

export class StorepulseError extends Error {
  readonly code: StorepulseErrorCode;
  /**
   * The same operation may succeed if tried again (throttling, a network failure, a server fault).
   * Set where the failure is understood, so that the retry loop (core/retry.ts) and the notification
   * outbox decide from the error alone rather than from lists of their own.
   */
  readonly retryable: boolean;

  constructor(
    code: StorepulseErrorCode,
    message: string,
    options?: { cause?: unknown; retryable?: boolean },
  ) {
    super(message, options);
    this.name = 'StorepulseError';
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }

  get exitCode(): number {
    return this.code === 'USAGE' || this.code === 'CONFIG' ? 2 : 1;
  }
}

/** The message of anything thrown: an Error's message, else its text. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A file-system or network failure, as `what: <the system's message>`, keeping the original as cause. */
export function ioError(what: string, err: unknown): StorepulseError {
  return new StorepulseError('IO', `${what}: ${errorMessage(err)}`, { cause: err });
}
