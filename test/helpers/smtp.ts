/**
 * An SMTP server for tests (smtp-server) on a loopback port chosen at run time: no TLS, any or no
 * auth, and every message kept with its envelope, headers and decoded text body. `rejectRcpt` makes
 * it refuse recipients with a given reply code (4xx transient, 5xx permanent).
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  headers: Map<string, string>;
  text: string;
}

export interface SmtpTestServer {
  host: string;
  port: number;
  messages: ReceivedMail[];
  /** Reply code to refuse every recipient with, or undefined to take them. */
  rejectRcpt: number | undefined;
  stop(): Promise<void>;
}

function decodeQuotedPrintable(s: string): string {
  const bytes = s
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

function parseMessage(raw: string): { headers: Map<string, string>; text: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  let text = raw.slice(split + 4);
  const encoding = headers.get('content-transfer-encoding')?.toLowerCase();
  if (encoding === 'quoted-printable') text = decodeQuotedPrintable(text);
  else if (encoding === 'base64') text = Buffer.from(text, 'base64').toString('utf8');
  return { headers, text: text.replace(/\r\n/g, '\n') };
}

export async function startSmtpServer(): Promise<SmtpTestServer> {
  const state: SmtpTestServer = {
    host: '127.0.0.1',
    port: 0,
    messages: [],
    rejectRcpt: undefined,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth: (auth, _session, cb) => cb(null, { user: auth.username ?? 'anyone' }),
    onRcptTo: (_address, _session, cb) => {
      if (state.rejectRcpt === undefined) return cb();
      const err = new Error(`recipient refused (${state.rejectRcpt})`) as Error & { responseCode: number };
      err.responseCode = state.rejectRcpt;
      cb(err);
    },
    onData: (stream, session, cb) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const from = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
        state.messages.push({
          from,
          to: session.envelope.rcptTo.map((r) => r.address),
          ...parseMessage(Buffer.concat(chunks).toString('utf8')),
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  state.port = (server.server.address() as AddressInfo).port;
  return state;
}
