// What the operator reads when a service fails: what failed and what to do, keeping the advice the
// service wrote rather than replacing it with a generic one.
import * as assert from 'assert';
import { BoshError } from '../../src/bosh/types';
import { SshError } from '../../src/ssh/types';
import { EtcdError } from '../../src/etcd/types';
import { StepError } from '../../src/recovery';
import { explainError, explainForOperator } from '../../src/util/errors';

describe('errors: explanations for the operator', () => {
  it("keeps the Director's own TLS advice instead of a generic 'check BOSH_CA_CERT'", () => {
    const msg =
      "TLS verification of the Director at https://10.0.0.5:25555 failed: Hostname/IP does not match certificate's altnames (ERR_TLS_CERT_ALTNAME_INVALID). The certificate does not name '10.0.0.5': use the address it was issued for (see its subject alternative names), and check BOSH_CA_CERT.";
    const x = explainError(new BoshError('tls', msg), 'listing deployments');
    assert.strictEqual(x.text, `Director TLS check failed while listing deployments: ${msg}`);
    assert.strictEqual(x.advice, '', 'the message already says what to do');
    assert.strictEqual(explainForOperator(new BoshError('tls', msg), 'listing deployments'), x.text);
  });

  it('keeps an `advice` the error carries and shows it after the text', () => {
    const e = new StepError('etcdctl member add failed: exit 1', 'Fix the cause, then run the recovery again.');
    const x = explainError(e, 'recovering master/0');
    assert.strictEqual(x.advice, 'Fix the cause, then run the recovery again.');
    assert.strictEqual(
      explainForOperator(e, 'recovering master/0'),
      'Failed while recovering master/0: etcdctl member add failed: exit 1. Fix the cause, then run the recovery again.',
    );
    const tagged = Object.assign(new BoshError('tls', 'certificate has expired'), { advice: 'Renew the Director CA.' });
    assert.match(explainForOperator(tagged, 'logging in'), /certificate has expired\. Renew the Director CA\.$/);
    assert.doesNotMatch(explainForOperator(tagged, 'logging in'), /BOSH_CA_CERT/);
  });

  it('adds the advice of the kind only when the service said nothing about what to do', () => {
    assert.strictEqual(
      explainForOperator(new SshError('connect', 'SSH connection to master/0 (10.0.8.11:22) failed: ECONNRESET.'), 'x'),
      'SSH connection failed while x: SSH connection to master/0 (10.0.8.11:22) failed: ECONNRESET. Check that the VM is up and reachable (through the jump host, if any).',
    );
    assert.strictEqual(
      explainForOperator(new EtcdError('unreachable', 'all endpoints failed'), 'reading the members'),
      'etcd unreachable while reading the members: all endpoints failed. Check `monit summary` on the masters and the etcd health panel.',
    );
    assert.strictEqual(
      explainForOperator(
        new SshError('timeout', 'SSH handshake timed out after 20 s. Check that sshd on the VM answers.'),
        'x',
      ),
      'SSH connection failed while x: SSH handshake timed out after 20 s. Check that sshd on the VM answers.',
    );
  });

  it('explains untyped failures: timeouts, network errors, anything else', () => {
    assert.match(
      explainForOperator(new Error('listing deployments timed out after 60 s'), 'y'),
      /^Timed out while y: .* refresh to retry\.$/,
    );
    assert.match(
      explainForOperator(new Error('connect ECONNREFUSED 1.2.3.4:25555'), 'y'),
      /^Network error while y: .*Check BOSH_ENVIRONMENT/,
    );
    assert.strictEqual(explainForOperator('boom', 'y'), 'Failed while y: boom');
    assert.strictEqual(explainError(undefined, 'y').detail, 'undefined');
  });
});
