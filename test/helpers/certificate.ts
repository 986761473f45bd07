import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A self-signed certificate made with openssl for one test run: an EC key (made in milliseconds
 * where RSA takes up to a second), valid a day, for `subjectAltName` (e.g. `IP:127.0.0.1`).
 */
export function selfSignedCertificate(commonName: string, subjectAltName: string): { key: Buffer; cert: Buffer } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roletalk-cert-'));
  try {
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-sha256', '-days', '1',
        '-subj', `/CN=${commonName}`, '-addext', `subjectAltName=${subjectAltName}`,
        '-keyout', keyFile, '-out', certFile,
      ],
      { stdio: 'ignore' },
    );
    return { key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
