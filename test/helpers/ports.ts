import net from 'node:net';

/**
 * A loopback port that was free a moment ago: the OS picks it and it is released at once, for a
 * server the test starts there, or as a port nothing listens on.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
