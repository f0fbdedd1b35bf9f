import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PipeReader, PipeWriter } from '../../src/streams/stdio/stream.js';

describe('NDJSON pipe stream', () => {
  it('carries record bodies line by line with line numbers as sequence numbers', async () => {
    const pipe = new PassThrough();
    const writer = new PipeWriter(pipe);
    const reader = new PipeReader(pipe);
    const read = (async () => {
      const out = [];
      for await (const b of reader.batches()) out.push(...b.records);
      return out;
    })();
    await writer.putRecords([
      { partitionKey: '1', data: '{"a":1}' },
      { partitionKey: '2', data: '{"a":2}' },
    ]);
    pipe.write('\r\n{"a":3}\r\n{"a":');
    pipe.write('4}');
    await writer.close();
    const records = await read;
    expect(records.map((r) => [r.sequenceNumber, r.data])).toEqual([
      ['1', '{"a":1}'],
      ['2', '{"a":2}'],
      ['4', '{"a":3}'],
      ['5', '{"a":4}'],
    ]);
  });
});
