/**
 * Certificates made at test time with Debian's `openssl`, in a temp directory: a CA, a server
 * certificate for 127.0.0.1/localhost, a client certificate (mTLS), one for the wrong host, an
 * expired one (through `openssl ca -startdate/-enddate`, as `x509 -days` cannot go negative), and a
 * self-signed one. Each is PEM text; `files` gives their paths for the CLI's `--tls-*` flags.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface KeyPair { key: string, cert: string, keyFile: string, certFile: string }

export interface TestCerts {
  dir: string
  ca: string
  caFile: string
  /** For 127.0.0.1 and localhost, signed by the CA. */
  server: KeyPair
  /** A client certificate (CN=sink-client) signed by the CA. */
  client: KeyPair
  /** For wrong.example only, signed by the CA. */
  wrongHost: KeyPair
  /** For 127.0.0.1, signed by the CA, valid in January 2020 only. */
  expired: KeyPair
  /** For 127.0.0.1, signed by itself. */
  selfSigned: KeyPair
  remove: () => void
}

const CONFIG = `[ ca ]
default_ca = test
[ test ]
dir = .
database = db/index.txt
serial = db/serial
new_certs_dir = db
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[ any ]
commonName = supplied
[ server ]
subjectAltName = IP:127.0.0.1,DNS:localhost
extendedKeyUsage = serverAuth
[ wrong ]
subjectAltName = DNS:wrong.example
extendedKeyUsage = serverAuth
[ client ]
extendedKeyUsage = clientAuth
`

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

/** Makes every certificate; `remove()` deletes the directory. */
export function makeTestCerts (): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'hsc-tls-'))
  const run = (...args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] }) }
  mkdirSync(join(dir, 'db'))
  writeFileSync(join(dir, 'db/index.txt'), '')
  writeFileSync(join(dir, 'db/serial'), '01\n')
  writeFileSync(join(dir, 'ca.cnf'), CONFIG)
  run('req', '-x509', ...KEY, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3', '-subj', '/CN=hsc test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
  const pair = (name: string): KeyPair => {
    const keyFile = join(dir, `${name}.key`)
    const certFile = join(dir, `${name}.pem`)
    return { keyFile, certFile, key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') }
  }
  const signed = (name: string, cn: string, section: string, dates: string[] = ['-days', '3']): KeyPair => {
    run('req', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`)
    run('ca', '-config', 'ca.cnf', '-batch', '-notext', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-extensions', section, '-in', `${name}.csr`, '-out', `${name}.pem`, ...dates)
    return pair(name)
  }
  const server = signed('server', '127.0.0.1', 'server')
  const client = signed('client', 'sink-client', 'client')
  const wrongHost = signed('wrong', 'wrong.example', 'wrong')
  const expired = signed('expired', '127.0.0.1', 'server', ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z'])
  run('req', '-x509', ...KEY, '-keyout', 'self.key', '-out', 'self.pem', '-days', '3', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1')
  const selfSigned = pair('self')
  return {
    dir,
    ca: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    caFile: join(dir, 'ca.pem'),
    server,
    client,
    wrongHost,
    expired,
    selfSigned,
    remove: () => rmSync(dir, { recursive: true, force: true })
  }
}
