// Authentication and TLS: a service that accepts only peers holding a shared key, over wss://
// with a certificate the client trusts. The certificate is made here with openssl, for the demo.
const { Peer } = require('roletalk');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function selfSignedCertificate() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roletalk-example-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'ignore' });
  const pair = { key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) };
  fs.rmSync(dir, { recursive: true, force: true });
  return pair;
}

async function main() {
  const { key, cert } = selfSignedCertificate();
  const vault = new Peer({ name: 'vault' }).addPresharedKey('team-a', 'correct horse battery staple');
  vault.role('secrets').onRequest('get', (ctx) => `secret for ${ctx.unit.name}`);
  await vault.listen({ port: 0, host: '127.0.0.1', ssl: { key, cert } });
  const url = `wss://127.0.0.1:${vault.port}`;

  const friend = new Peer({ name: 'friend' }).addPresharedKey('team-a', 'correct horse battery staple');
  const secrets = friend.destination('secrets');
  await friend.connect(url, { ca: cert });
  console.log('friend got:', (await secrets.request('get')).data);

  const stranger = new Peer({ name: 'stranger' }).addPresharedKey('team-a', 'a guess');
  await stranger.connect(url, { ca: cert, permanent: false }).catch((err) => console.log('stranger refused:', err.code));

  const untrusting = new Peer({ name: 'untrusting' }).addPresharedKey('team-a', 'correct horse battery staple');
  await untrusting.connect(url, { permanent: false }).catch((err) => console.log('without the certificate:', err.code ?? err.message));

  for (const peer of [friend, stranger, untrusting, vault]) await peer.close();
}
main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
