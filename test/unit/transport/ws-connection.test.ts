import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket, WebSocketServer } from 'ws';
import { BufferPool } from '../../../src/protocol';
import { WsConnection } from '../../../src/transport/ws-connection';

// The moment a close begins is reported before the close completes: an I/O thread uses it to stop
// the main thread choosing the connection (src/transport/threads/io-thread.ts).

test('onClosing is heard once when the close handshake begins, from either side, before onClose', async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  const port = (wss.address() as { port: number }).port;
  try {
    for (const side of ['remote', 'local'] as const) {
      const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
      const client = new WebSocket(`ws://127.0.0.1:${port}`);
      const conn = new WsConnection(await accepted, false, new BufferPool(), { interval: 0, timeout: 0 });
      await new Promise((resolve) => client.once('open', resolve));
      const heard: string[] = [];
      conn.onClosing = () => heard.push(`closing, open: ${conn.open}`);
      const closed = new Promise<void>((resolve) => {
        conn.onClose = (code) => {
          heard.push(`close ${code}`);
          resolve();
        };
      });
      if (side === 'remote') client.close(4321, 'bye');
      else conn.close(4322, 'bye');
      await closed;
      assert.deepEqual(heard, ['closing, open: true', side === 'remote' ? 'close 4321' : 'close 4322'], side);
    }
  } finally {
    wss.close();
  }
});
