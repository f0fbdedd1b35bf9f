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

  constructor(code: StorepulseErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorepulseError';
    this.code = code;
  }

  get exitCode(): number {
    return this.code === 'USAGE' || this.code === 'CONFIG' ? 2 : 1;
  }
}
