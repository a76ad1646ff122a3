import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';

/** The files of a throwaway certificate authority and the server certificate it signed for 127.0.0.1. */
export interface TestTls {
  /** The CA certificate: what clients trust (`NODE_EXTRA_CA_CERTS`, the CDK CLI's `AWS_CA_BUNDLE`). */
  caFile: string;
  /** The server certificate followed by the CA's: what the server presents. */
  chainFile: string;
  keyFile: string;
  /** The system roots plus the CA, for clients whose CA setting replaces the roots (Python's boto3). */
  bundleFile: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}

/**
 * Creates a CA valid for a day and a server certificate for `127.0.0.1` and `localhost`. A CA (not
 * a self-signed server certificate) because OpenSSL, under Node and Python alike, refuses a
 * self-signed leaf as its own trust anchor.
 */
export function createTestTls(dir: string): TestTls {
  mkdirSync(dir, { recursive: true });
  const file = (name: string) => join(dir, name);
  openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
    '-days',
    '1',
    '-subj',
    '/CN=Sandtrap e2e CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
    '-subj',
    '/CN=127.0.0.1',
  ]);
  writeFileSync(
    file('server.ext'),
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ].join('\n'),
  );
  openssl([
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file('server.pem'),
    '-days',
    '1',
    '-extfile',
    file('server.ext'),
  ]);
  const ca = readFileSync(file('ca.pem'), 'utf8');
  writeFileSync(file('chain.pem'), `${readFileSync(file('server.pem'), 'utf8')}${ca}`);
  writeFileSync(file('bundle.pem'), `${rootCertificates.join('\n')}\n${ca}`);
  return {
    caFile: file('ca.pem'),
    chainFile: file('chain.pem'),
    keyFile: file('server.key'),
    bundleFile: file('bundle.pem'),
  };
}

/** The environment under which every client of a TLS endpoint trusts the test CA. */
export function trustEnv(tls: TestTls): Record<string, string> {
  // Node reads NODE_EXTRA_CA_CERTS at start-up; the CDK CLI builds its own agent from AWS_CA_BUNDLE.
  return { NODE_EXTRA_CA_CERTS: tls.caFile, AWS_CA_BUNDLE: tls.bundleFile };
}
