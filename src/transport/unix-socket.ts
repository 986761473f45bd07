import fs from 'node:fs';
import net from 'node:net';

/**
 * Before listening on a Unix socket path. A socket file that nothing accepts on any more (left
 * by a process that crashed or exited without closing) is removed, so the peer can take the
 * path again. A socket that accepts, or a file that is not a socket, stays, and listening then
 * fails with EADDRINUSE as Node reports it: only a connection refused proves the file stale.
 * Closing a listener removes its file (Node does so when a Unix-socket server closes).
 */
export async function removeStaleSocket(socketPath: string): Promise<void> {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(socketPath);
  } catch {
    return;
  }
  if (!stat.isSocket()) return;
  const refused = await new Promise<boolean>((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', (err: Error & { code?: string }) => resolve(err.code === 'ECONNREFUSED'));
  });
  if (!refused) return;
  try {
    fs.unlinkSync(socketPath);
  } catch {
    // Gone already, or not ours to remove: listen reports what is wrong.
  }
}
