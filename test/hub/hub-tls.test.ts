import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { decodeClientFrame, encodeFrame } from '../../lib/hub/protocol/codec';
import { FrameReader } from '../../lib/hub/protocol/frame-reader';
import { Hub } from '../../lib/hub/server/hub';
import { makeTempDir, removeTempDir } from '../fixtures/helpers';
import { needsTools } from '../fixtures/tools';

describe('Hub over TLS', () => {
  before(needsTools('openssl'));
  let dir: string | undefined;
  let hub: Hub | undefined;
  afterEach(async () => {
    await hub?.stop();
    removeTempDir(dir);
  });

  it('serves the comm-ipc handshake over TLS with a verified certificate', async () => {
    dir = makeTempDir('hubtls');
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    hub = new Hub({ serverId: 'T' });
    hub.on('clientError', () => undefined);
    const addr = (await hub.listen({ host: '127.0.0.1', port: 0, tls: { key: fs.readFileSync(key), cert: fs.readFileSync(cert) } })) as { port: number; tls: boolean };
    expect(addr.tls).to.equal(true);
    const socket = tls.connect({ host: '127.0.0.1', port: addr.port, ca: fs.readFileSync(cert), servername: 'localhost' });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    const reader = new FrameReader(1 << 20);
    const got = new Promise<Record<string, unknown>>((resolve) =>
      socket.on('data', (c: Buffer) => {
        const [first] = reader.push(c);
        if (first) resolve(decodeClientFrame(first));
      }),
    );
    socket.write(encodeFrame({ type: 'identify', client_id: 'tls-client' }));
    expect(await got).to.deep.include({ type: 'identified', client_id: 'tls-client', server_id: 'T' });
    socket.destroy();
  });
});
