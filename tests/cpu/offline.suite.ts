// Under scripts/offline.sh (npm test) the suite runs in a network namespace with loopback only: prove it.
// Skipped when VLLM_NODE_OFFLINE is not 1 (a plain `vitest run`).
import { promises as dns } from 'node:dns';
import { createServer, connect, type AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';

import { describe, expect, it } from 'vitest';

const offline = process.env.VLLM_NODE_OFFLINE === '1';

/** Resolves with 'connected' or the error code (or 'timeout'). */
function tryConnect(host: string, port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: string) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done('timeout'));
    socket.once('connect', () => done('connected'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

describe.skipIf(!offline)('offline (scripts/offline.sh)', () => {
  it('only the loopback interface exists', () => {
    expect(Object.keys(networkInterfaces())).toEqual(['lo']);
  });

  it('external addresses are unreachable', async () => {
    for (const [host, port] of [
      ['1.1.1.1', 443],
      ['8.8.8.8', 53],
      ['2606:4700:4700::1111', 443],
    ] as const) {
      const result = await tryConnect(host, port);
      expect(result, `${host}:${port}`).not.toBe('connected');
    }
  });

  it('DNS lookups fail (getaddrinfo and the resolver)', async () => {
    await expect(dns.lookup('huggingface.co')).rejects.toThrow();
    await expect(dns.resolve4('registry.npmjs.org')).rejects.toThrow();
  });

  it('loopback works (the suite starts vllm serve on 127.0.0.1)', async () => {
    const server = createServer((s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    expect(await tryConnect('127.0.0.1', port)).toBe('connected');
    await new Promise((resolve) => server.close(resolve));
  });
});
