/**
 * Test certificates for the KDD error cases: a client certificate that has expired (signed by the control
 * plane's CA with validity in 2020, through `openssl ca`, whose -startdate/-enddate allow past dates), and a
 * second, unrelated CA.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Writes `<name>.crt/.key` in `dir`: a system:masters client certificate of the CA in `dir`, expired. */
export async function expiredClientCert(dir: string, name: string): Promise<void> {
  const db = join(dir, `${name}-ca-db`);
  await mkdir(db, { recursive: true });
  await writeFile(join(db, 'index.txt'), '');
  await writeFile(join(db, 'serial'), '1000\n');
  const config = [
    '[ca]',
    'default_ca = test',
    '[test]',
    `database = ${join(db, 'index.txt')}`,
    `serial = ${join(db, 'serial')}`,
    `new_certs_dir = ${db}`,
    'default_md = sha256',
    'policy = any',
    'copy_extensions = none',
    '[any]',
    'organizationName = optional',
    'commonName = supplied',
    '[client]',
    'extendedKeyUsage = clientAuth',
    '',
  ].join('\n');
  await writeFile(join(db, 'ca.cnf'), config);
  const req = ['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`];
  await run('openssl', [...req, '-subj', '/O=system:masters/CN=expired-admin'], { cwd: dir });
  const ca = ['ca', '-batch', '-config', join(db, 'ca.cnf'), '-cert', 'ca.crt', '-keyfile', 'ca.key'];
  const dates = ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-extensions', 'client'];
  await run('openssl', [...ca, ...dates, '-in', `${name}.csr`, '-out', `${name}.crt`], { cwd: dir });
}

/** Writes `<name>.crt/.key` in `dir`: a self-signed CA unrelated to the control plane's. */
export async function otherCa(dir: string, name: string): Promise<void> {
  const args = ['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1'];
  await run('openssl', [...args, '-subj', '/CN=some-other-ca'], { cwd: dir });
}
