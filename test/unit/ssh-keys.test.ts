// Key pairs, fingerprints, known_hosts and quoting, cross-checked against OpenSSH's own tools
// (ssh-keygen) and a real /bin/sh.
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  boshSshUserName,
  buildRemoteCommand,
  checkKnownHosts,
  generateRsaKeyPair,
  generateRsaKeyPairAsync,
  generateFirstRsaKeyPair,
  hostFieldMatches,
  hostKeyAlgorithms,
  knownHostsName,
  knownKeyTypesFor,
  parseKnownHosts,
  parsePublicKeyLine,
  sha256Fingerprint,
} from '../../src/ssh/keys';
import { shellQuote } from '../../src/util/shell';

describe('ssh keys', function () {
  this.timeout(30_000); // RSA key generation takes ~1 s on a busy 2-core machine
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-keys-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  function keygen(...args: string[]): string {
    return execFileSync('ssh-keygen', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  it('generates an RSA 2048 pair whose public line is what ssh-keygen derives from the private key', () => {
    const kp = generateRsaKeyPair();
    assert.match(kp.privateKey, /^-----BEGIN RSA PRIVATE KEY-----\n/);
    assert.match(kp.publicKey, /^ssh-rsa AAAA[0-9A-Za-z+/=]+$/);
    const f = path.join(tmp, 'id_rsa');
    fs.writeFileSync(f, kp.privateKey, { mode: 0o600 });
    const derived = keygen('-y', '-f', f).trim().split(/\s+/).slice(0, 2).join(' ');
    assert.strictEqual(kp.publicKey, derived);
    assert.match(keygen('-l', '-f', f), /^2048 SHA256:/);
    assert.notStrictEqual(generateRsaKeyPair().publicKey, kp.publicKey);
  });

  it('generates the same kind of pair off the event loop (generateRsaKeyPairAsync): timers keep firing meanwhile', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const [kp, other] = await Promise.all([generateRsaKeyPairAsync(), generateRsaKeyPairAsync()]);
    clearInterval(timer);
    assert.ok(ticks > 0, 'the event loop ran while the keys were generated');
    assert.notStrictEqual(other.publicKey, kp.publicKey);
    const f = path.join(tmp, 'id_rsa_async');
    fs.writeFileSync(f, kp.privateKey, { mode: 0o600 });
    assert.strictEqual(kp.publicKey, keygen('-y', '-f', f).trim().split(/\s+/).slice(0, 2).join(' '));
    assert.match(keygen('-l', '-f', f), /^2048 SHA256:/);
  });

  it('generateFirstRsaKeyPair: takes the first generation that ends, survives one failure, at most one per core', async () => {
    const pair = (k: string) => ({ privateKey: `priv-${k}`, publicKey: `ssh-rsa ${k}` });
    const later = <T>(ms: number, v: () => T) => new Promise<T>((res) => setTimeout(() => res(v()), ms));
    let started = 0;
    const slowThenFast = () => {
      started++;
      return started === 1 ? later(80, () => pair('slow')) : later(5, () => pair('fast'));
    };
    assert.strictEqual((await generateFirstRsaKeyPair(2, slowThenFast, 4)).publicKey, 'ssh-rsa fast');
    assert.strictEqual(started, 2);

    started = 0;
    const firstFails = () => {
      started++;
      return started === 1 ? Promise.reject(new Error('no entropy')) : later(20, () => pair('second'));
    };
    assert.strictEqual((await generateFirstRsaKeyPair(2, firstFails, 2)).publicKey, 'ssh-rsa second');

    started = 0;
    const allFail = () => Promise.reject(new Error(`failed ${++started}`));
    await assert.rejects(generateFirstRsaKeyPair(2, allFail, 2), /failed 1/);

    started = 0;
    await generateFirstRsaKeyPair(2, slowThenFast, 1);
    assert.strictEqual(started, 1, 'one core: one generation');

    const real = await generateFirstRsaKeyPair();
    const f = path.join(tmp, 'id_rsa_first');
    fs.writeFileSync(f, real.privateKey, { mode: 0o600 });
    assert.strictEqual(real.publicKey, keygen('-y', '-f', f).trim().split(/\s+/).slice(0, 2).join(' '));
  });

  it('prints SHA256 fingerprints exactly like ssh-keygen -l (ed25519 and rsa)', () => {
    for (const type of ['ed25519', 'rsa']) {
      const f = path.join(tmp, `hk_${type}`);
      fs.rmSync(f, { force: true });
      fs.rmSync(f + '.pub', { force: true });
      keygen('-q', '-t', type, '-N', '', '-f', f);
      const line = fs.readFileSync(f + '.pub', 'utf8');
      const { type: t, blob } = parsePublicKeyLine(line);
      assert.strictEqual(t, type === 'rsa' ? 'ssh-rsa' : 'ssh-ed25519');
      const expected = keygen('-l', '-E', 'sha256', '-f', f + '.pub').split(/\s+/)[1];
      assert.strictEqual(sha256Fingerprint(blob), expected);
      assert.doesNotMatch(sha256Fingerprint(blob), /=$/);
    }
  });

  it('rejects a public key line whose declared type does not match its blob', () => {
    const kp = generateRsaKeyPair();
    assert.throws(() => parsePublicKeyLine(kp.publicKey.replace('ssh-rsa', 'ssh-ed25519')), /ssh-rsa/);
    assert.throws(() => parsePublicKeyLine('garbage'), /Not an OpenSSH public key/);
  });

  describe('known_hosts', () => {
    let edLine: string, edBlob: Buffer, ed2Blob: Buffer, rsaBlob: Buffer;
    before(() => {
      for (const n of ['a', 'b']) keygen('-q', '-t', 'ed25519', '-N', '', '-f', path.join(tmp, `kh_${n}`));
      keygen('-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', path.join(tmp, 'kh_r'));
      edLine = fs.readFileSync(path.join(tmp, 'kh_a.pub'), 'utf8').trim();
      edBlob = parsePublicKeyLine(edLine).blob;
      ed2Blob = parsePublicKeyLine(fs.readFileSync(path.join(tmp, 'kh_b.pub'), 'utf8')).blob;
      rsaBlob = parsePublicKeyLine(fs.readFileSync(path.join(tmp, 'kh_r.pub'), 'utf8')).blob;
    });

    it('matches plain entries, host lists, [host]:port and wildcards', () => {
      const [type, b64] = edLine.split(/\s+/);
      const entries = parseKnownHosts(
        [
          '# comment',
          '',
          `10.0.0.5,master-0.example ${type} ${b64}`,
          `[10.0.0.6]:2222 ${type} ${b64}`,
          `*.etcd.internal,!bad.etcd.internal ${type} ${b64}`,
        ].join('\n'),
      );
      assert.strictEqual(entries.length, 3);
      assert.deepStrictEqual(checkKnownHosts(entries, '10.0.0.5', 22, edBlob), { verdict: 'match' });
      assert.deepStrictEqual(checkKnownHosts(entries, 'master-0.example', 22, edBlob), { verdict: 'match' });
      assert.deepStrictEqual(checkKnownHosts(entries, '10.0.0.6', 2222, edBlob), { verdict: 'match' });
      assert.deepStrictEqual(checkKnownHosts(entries, '10.0.0.6', 22, edBlob), { verdict: 'unknown' });
      assert.deepStrictEqual(checkKnownHosts(entries, 'm1.etcd.internal', 22, edBlob), { verdict: 'match' });
      assert.deepStrictEqual(checkKnownHosts(entries, 'bad.etcd.internal', 22, edBlob), { verdict: 'unknown' });
      assert.strictEqual(knownHostsName('h', 2222), '[h]:2222');
    });

    it('reports a different key of the same type as changed (with the line), another type as unknown', () => {
      const entries = parseKnownHosts(`x\n10.0.0.5 ${edLine}\n`);
      assert.deepStrictEqual(checkKnownHosts(entries, '10.0.0.5', 22, ed2Blob), { verdict: 'changed', line: 2 });
      assert.deepStrictEqual(checkKnownHosts(entries, '10.0.0.5', 22, rsaBlob), { verdict: 'unknown' });
    });

    it('reads entries hashed by ssh-keygen -H', () => {
      const f = path.join(tmp, 'known_hosts');
      fs.writeFileSync(f, `10.0.0.7 ${edLine}\n[10.0.0.8]:2200 ${edLine}\n`);
      keygen('-H', '-f', f);
      const text = fs.readFileSync(f, 'utf8');
      assert.match(text, /^\|1\|/);
      assert.doesNotMatch(text, /10\.0\.0\.7/);
      const entries = parseKnownHosts(text);
      assert.deepStrictEqual(checkKnownHosts(entries, '10.0.0.7', 22, edBlob), { verdict: 'match' });
      assert.deepStrictEqual(checkKnownHosts(entries, '10.0.0.8', 2200, edBlob), { verdict: 'match' });
      assert.deepStrictEqual(checkKnownHosts(entries, '10.0.0.7', 22, ed2Blob), { verdict: 'changed', line: 1 });
      assert.deepStrictEqual(checkKnownHosts(entries, '10.0.0.9', 22, edBlob), { verdict: 'unknown' });
      assert.strictEqual(hostFieldMatches(text.split(' ')[0], '10.0.0.70'), false);
    });

    it('offers the host key types known for the host first (so a pinned RSA key can match an sshd that prefers ed25519)', () => {
      const rsaLine = `ssh-rsa ${rsaBlob.toString('base64')}`;
      const entries = parseKnownHosts(`10.0.0.5 ${rsaLine}\n10.0.0.6 ${edLine}\n`);
      assert.deepStrictEqual(knownKeyTypesFor(entries, '10.0.0.5', 22), ['ssh-rsa']);
      assert.deepStrictEqual(knownKeyTypesFor(entries, '10.0.0.7', 22), []);
      assert.deepStrictEqual(hostKeyAlgorithms(['ssh-rsa'], true), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
      const withRest = hostKeyAlgorithms(['ssh-rsa'], false);
      assert.deepStrictEqual(withRest.slice(0, 3), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
      assert.ok(withRest.includes('ssh-ed25519'));
      assert.strictEqual(new Set(withRest).size, withRest.length);
      assert.strictEqual(hostKeyAlgorithms([], false)[0], 'ssh-ed25519');
    });

    it('treats a @revoked key as changed and ignores @cert-authority lines', () => {
      const entries = parseKnownHosts(`@revoked * ${edLine}\n@cert-authority * ${edLine}\n`);
      assert.strictEqual(checkKnownHosts(entries, 'any', 22, edBlob).verdict, 'changed');
      assert.strictEqual(checkKnownHosts(entries, 'any', 22, ed2Blob).verdict, 'unknown');
    });
  });

  describe('quoting', () => {
    const nasty = [
      '',
      'plain',
      "it's",
      'a b',
      '$(touch /tmp/pwned)',
      '`id`',
      '"dq"',
      'semi;colon',
      'new\nline',
      '\\back',
      '*',
      "''",
      'ünïcode',
    ];

    it('shellQuote makes every string one literal word for /bin/sh', () => {
      for (const s of nasty) {
        const out = execFileSync('/bin/sh', ['-c', `printf '%s' ${shellQuote(s)}`], { encoding: 'utf8' });
        assert.strictEqual(out, s, `round trip of ${JSON.stringify(s)}`);
      }
    });

    it('buildRemoteCommand exports env values literally and wraps in sudo -n sh -c', () => {
      const cmd = buildRemoteCommand('printf "%s|%s" "$A" "$(id -u)"', {
        sudo: true,
        env: { A: "x'; echo injected; '" },
      });
      assert.match(cmd, /^sudo -n sh -c '/);
      const out = execFileSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' });
      assert.strictEqual(out, "x'; echo injected; '|0");
      assert.throws(() => buildRemoteCommand('true', { env: { 'A;rm': 'x' } }), /Invalid environment variable name/);
      assert.strictEqual(buildRemoteCommand('echo hi'), 'echo hi');
    });
  });

  it('names temporary users like bosh-cli: bosh_ + 15 hex chars (20 in all)', () => {
    const names = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const n = boshSshUserName();
      assert.match(n, /^bosh_[0-9a-f]{15}$/);
      names.add(n);
    }
    assert.strictEqual(names.size, 20);
  });
});
