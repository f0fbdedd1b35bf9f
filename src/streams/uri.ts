/** Stream URIs on the command line. `-` is a shell pipe of NDJSON records (stdout for writers, stdin for readers). */
import { StorepulseError } from '../core/errors.js';
import { PipeReader, PipeWriter } from './stdio/stream.js';
import type { StreamReader, StreamWriter } from './types.js';

const SUPPORTED = "'-' (NDJSON on stdout/stdin)";

function check(uri: string, flag: string): void {
  if (uri !== '-') {
    throw new StorepulseError(
      'USAGE',
      `${flag} ${uri}: unsupported stream; this version supports ${SUPPORTED}. ` +
        'Use `storepulse demo` for the whole pipeline in one process.',
    );
  }
}

export function openStreamWriter(uri: string): StreamWriter {
  check(uri, '--to');
  return new PipeWriter(process.stdout);
}

export function openStreamReader(uri: string): StreamReader {
  check(uri, '--from');
  return new PipeReader(process.stdin);
}
