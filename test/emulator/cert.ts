import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const certDir = fileURLToPath(new URL('../.certs/', import.meta.url));
export const keyPath = join(certDir, 'key.pem');
export const certPath = join(certDir, 'cert.pem');

const MIN_REMAINING_MS = 12 * 3600 * 1000;

function usable(): boolean {
  if (!existsSync(keyPath) || !existsSync(certPath)) return false;
  try {
    const cert = new X509Certificate(readFileSync(certPath));
    return cert.checkPrivateKey(createPrivateKey(readFileSync(keyPath))) && Date.parse(cert.validTo) - Date.now() > MIN_REMAINING_MS;
  } catch {
    return false;
  }
}

/**
 * Makes sure test/.certs/{key,cert}.pem exist and are valid for a while yet.
 * NODE_EXTRA_CA_CERTS is read once at process start (Node.js docs, cli.md "NODE_EXTRA_CA_CERTS"), so call this
 * before starting any process that has to trust the emulator.
 */
export function ensureCert(): { keyPath: string; certPath: string } {
  if (usable()) return { keyPath, certPath };
  mkdirSync(certDir, { recursive: true });
  // Write under unique names, then rename, so concurrent callers never see half a pair.
  const tmpKey = join(certDir, `key.${process.pid}.tmp`);
  const tmpCert = join(certDir, `cert.${process.pid}.tmp`);
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        tmpKey,
        '-out',
        tmpCert,
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    renameSync(tmpKey, keyPath);
    renameSync(tmpCert, certPath);
  } finally {
    rmSync(tmpKey, { force: true });
    rmSync(tmpCert, { force: true });
  }
  return { keyPath, certPath };
}

export function loadCert(): { key: Buffer; cert: Buffer } {
  ensureCert();
  return { key: readFileSync(keyPath), cert: readFileSync(certPath) };
}

// `node --import tsx test/emulator/cert.ts` prepares the cert and prints its path for NODE_EXTRA_CA_CERTS.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(ensureCert().certPath + '\n');
}
