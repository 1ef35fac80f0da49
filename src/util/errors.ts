// Turns a failure of the services into what the operator reads: what failed, and what to do.
// Used by the tree's message rows, the health panel, the wizard and the command notifications.
// The services know best what to advise: an error's own `advice` (StepError and any error that
// carries one) is kept, and so is a message that already says what to do; the generic advice of
// the error's kind is only a fallback. No `vscode` import here.

export interface Explained {
  /** What failed, with the service's own message. */
  text: string;
  /** What to do about it (empty only when nothing better than the text can be said). */
  advice: string;
  /** The raw message, for the log and tooltips. */
  detail: string;
}

interface ServiceError {
  name?: string;
  kind?: string;
  message?: string;
  advice?: unknown;
}

/** A sentence of the message starts with an instruction ("Check …", "Run …", "Retry."). */
const SAYS_WHAT_TO_DO =
  /(^|[.:;!?]\s+|\s—\s)(check|run|set|use|retry|refresh|log in|start|trust|accept|add|wait|fix|give|open|compare|make sure|see|investigate|remove|restart|ask)\b/i;

export function saysWhatToDo(message: string): boolean {
  return SAYS_WHAT_TO_DO.test(message);
}

function headlineAndAdvice(err: ServiceError, what: string): { headline: string; advice: string } {
  const kind = err.kind;
  switch (err.name) {
    case 'BoshError':
      switch (kind) {
        case 'unreachable':
          return {
            headline: `Director unreachable while ${what}`,
            advice: 'Check BOSH_ENVIRONMENT and the jump host (BOSH_ALL_PROXY).',
          };
        case 'tls':
          return {
            headline: `Director TLS check failed while ${what}`,
            advice: "Check BOSH_CA_CERT (the Director's CA).",
          };
        case 'auth':
          return {
            headline: `Director refused the credentials while ${what}`,
            advice: 'Check BOSH_CLIENT / BOSH_CLIENT_SECRET (or log in again).',
          };
        case 'config':
          return {
            headline: 'BOSH environment not usable',
            advice: 'Check the boshEtcd.environments setting or the BOSH_* environment variables.',
          };
        case 'not-found':
          return { headline: `Not found on the Director while ${what}`, advice: 'Refresh the BOSH view.' };
        case 'task':
          return { headline: `Director task failed while ${what}`, advice: 'See `bosh task` on the Director.' };
        default:
          return { headline: `Director error while ${what}`, advice: 'Refresh to retry; see the BOSH etcd log.' };
      }
    case 'SshError':
      switch (kind) {
        case 'hostkey-changed':
          return {
            headline: `SSH host key changed while ${what}`,
            advice:
              'Refusing to connect. If the VM was recreated, refresh; otherwise investigate (possible interception).',
          };
        case 'hostkey-unknown':
          return {
            headline: `SSH host key not trusted while ${what}`,
            advice: 'Accept its fingerprint or add it to known_hosts.',
          };
        case 'auth':
          return {
            headline: `SSH login refused while ${what}`,
            advice: "Check the Director's SSH setup or the boshEtcd.ssh.* settings.",
          };
        case 'timeout':
        case 'connect':
          return {
            headline: `SSH connection failed while ${what}`,
            advice: 'Check that the VM is up and reachable (through the jump host, if any).',
          };
        case 'dropped':
          return { headline: `SSH connection dropped while ${what}`, advice: 'Retry; check the network / jump host.' };
        default:
          return { headline: `SSH failed while ${what}`, advice: 'Retry; see the BOSH etcd log.' };
      }
    case 'EtcdError':
      switch (kind) {
        case 'unreachable':
        case 'timeout':
          return {
            headline: `etcd unreachable while ${what}`,
            advice: 'Check `monit summary` on the masters and the etcd health panel.',
          };
        case 'tls':
          return {
            headline: `etcd TLS failed while ${what}`,
            advice: 'Check the etcdctl certificates in /var/vcap/jobs/etcd/config.',
          };
        case 'unhealthy':
          return { headline: `etcd cluster unhealthy while ${what}`, advice: 'Open the etcd health panel.' };
        default:
          return { headline: `etcd error while ${what}`, advice: 'Open the etcd health panel; refresh to retry.' };
      }
    default: {
      const msg = String(err.message ?? '');
      if (/timed out/i.test(msg))
        return {
          headline: `Timed out while ${what}`,
          advice: 'The Director, SSH or etcd did not answer; refresh to retry.',
        };
      if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/.test(msg))
        return { headline: `Network error while ${what}`, advice: 'Check BOSH_ENVIRONMENT / the jump host.' };
      return { headline: `Failed while ${what}`, advice: '' };
    }
  }
}

export function explainError(e: unknown, what: string): Explained {
  const err = (e && typeof e === 'object' ? e : {}) as ServiceError;
  const msg = String(err.message ?? e);
  const { headline, advice: generic } = headlineAndAdvice({ name: err.name, kind: err.kind, message: msg }, what);
  const own = typeof err.advice === 'string' && err.advice.trim() ? err.advice.trim() : undefined;
  const advice = own ?? (saysWhatToDo(msg) ? '' : generic);
  return { text: `${headline}: ${msg}`, advice, detail: msg };
}

/** The sentence a notification shows: what failed, then what to do. */
export function explainForOperator(e: unknown, what: string): string {
  const x = explainError(e, what);
  if (!x.advice) return x.text;
  return `${/[.!?]$/.test(x.text) ? x.text : `${x.text}.`} ${x.advice}`;
}
