// The files a VM sees: /etc/hosts, /etc/ssh/sshd_config, monit control files, and the BOSH jobs
// (bpm stand-in, the cfcr etcd job, dummy kube processes). Modelled on cloudfoundry-incubator/
// cfcr-etcd-release jobs/etcd/templates/bin/{etcd,etcdctl,utils.sh}.erb.
import { ETCD_DOMAIN, masterFqdn } from './layout';

export interface MasterInfo {
  index: number;
  id: string;
  ip: string;
}

export function hostsFile(net: string, masters: MasterInfo[], hostHostname: string): string {
  const lines = [
    '127.0.0.1 localhost',
    // etcd's peer listener reverse-resolves the peer's source address (always 127.0.0.1 on loopback)
    // and matches it against the wildcard certificate: give 127.0.0.1 a *.etcd.cfcr.internal name.
    `127.0.0.1 loopback.${ETCD_DOMAIN}`,
    // sudo wants the machine's hostname to resolve
    `127.0.1.1 ${hostHostname}`,
    `${net}.2 director.cfcr.internal`,
    `${net}.10 jumpbox.cfcr.internal`,
    ...masters.map((m) => `${m.ip} ${masterFqdn(m.index)}`),
  ];
  return lines.join('\n') + '\n';
}

export function sshdConfig(ip: string): string {
  return `# sshd of one testbed VM (mounted over /etc/ssh inside the VM's mount namespace)
ListenAddress ${ip}:22
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_rsa_key
PidFile /var/vcap/sys/run/sshd.pid
AuthorizedKeysFile /etc/ssh/authorized_keys/%u
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM yes
AllowTcpForwarding yes
PrintMotd no
MaxSessions 50
MaxStartups 100:30:200
Subsystem sftp /usr/lib/openssh/sftp-server
`;
}

export function monitrc(): string {
  return `# monit of one testbed VM, as BOSH's /var/vcap/bosh/etc/monitrc
set daemon 1
set logfile /var/vcap/monit/monit.log
set pidfile /var/vcap/monit/monit.pid
set idfile /var/vcap/monit/monit.id
set statefile /var/vcap/monit/monit.state
set httpd unixsocket /var/vcap/monit/monit.sock
  allow localhost
include /var/vcap/monit/job/*.monitrc
`;
}

export function monitJob(job: string): string {
  return `check process ${job}
  with pidfile /var/vcap/sys/run/bpm/${job}/${job}.pid
  start program "/var/vcap/jobs/bpm/bin/bpm start ${job}" with timeout 10 seconds
  stop program "/var/vcap/jobs/bpm/bin/bpm stop ${job}" with timeout 30 seconds
  group vcap
`;
}

/** A minimal bpm: runs /var/vcap/jobs/<job>/bin/<job> as vcap with the job's logs and a pidfile. */
export const BPM = `#!/bin/bash
# bpm stand-in for the testbed: bpm start|stop <job>
# start: runs /var/vcap/jobs/<job>/bin/<job> as vcap, stdout/stderr appended to
#        /var/vcap/sys/log/<job>/<job>.std{out,err}.log, pid in /var/vcap/sys/run/bpm/<job>/<job>.pid;
#        fails (exit 1, no pidfile) when the job's script exits before exec'ing its program, so
#        monit reports the start failure like it does for a crashing bpm container.
# stop:  SIGTERM, up to 10 s, then SIGKILL.
set -u
cmd=\${1:-}; job=\${2:-}
[ -n "$job" ] || { echo "usage: bpm start|stop <job>" >&2; exit 2; }
RUN=/var/vcap/sys/run/bpm/$job; LOG=/var/vcap/sys/log/$job; PIDFILE=$RUN/$job.pid
alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
case "$cmd" in
start)
  mkdir -p "$RUN" "$LOG"; chown vcap:vcap "$LOG"
  if alive; then exit 0; fi
  setpriv --reuid=vcap --regid=vcap --init-groups -- "/var/vcap/jobs/$job/bin/$job" \\
    >>"$LOG/$job.stdout.log" 2>>"$LOG/$job.stderr.log" </dev/null &
  pid=$!
  echo "$pid" > "$PIDFILE"
  for _ in $(seq 1 300); do
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || { rm -f "$PIDFILE"; echo "bpm: $job exited during start, see $LOG/$job.stderr.log" >&2; exit 1; }
    case "$exe" in */bash|*/setpriv) sleep 0.05 ;; *) exit 0 ;; esac
  done
  exit 0
  ;;
stop)
  if [ -f "$PIDFILE" ]; then
    pid=$(cat "$PIDFILE")
    kill -TERM "$pid" 2>/dev/null; kill -CONT "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    rm -f "$PIDFILE"
  fi
  exit 0
  ;;
*) echo "usage: bpm start|stop <job>" >&2; exit 2 ;;
esac
`;

/** A dummy long-running job (kube-apiserver & co. on masters, kubelet on workers). */
export const DUMMY_JOB = `#!/bin/bash
# testbed stand-in for a Kubernetes process: just stays up
exec sleep infinity
`;

export function utilsSh(self: MasterInfo, all: MasterInfo[]): string {
  const client = (i: number) => `https://${masterFqdn(i)}:2379`;
  const peer = (i: number) => `https://${masterFqdn(i)}:2380`;
  return `
etcd_endpoint_address="${client(self.index)}"
etcd_endpoints="${all.map((m) => client(m.index)).join(',')}"

etcd_peer_address="${peer(self.index)}"
etcd_peers="${all.map((m) => `${m.id}=${peer(m.index)}`).join(',')}"
`;
}

export const ETCDCTL = `#!/bin/bash

source /var/vcap/jobs/etcd/bin/utils.sh

if [[ "\${LOCAL:-}" == "true" ]]; then
  etcd_endpoints="\${etcd_endpoint_address}"
fi

if [[ "\${ETCDCTL_API:-}" == "3" ]]; then
  /usr/bin/etcdctl \\
    --cacert /var/vcap/jobs/etcd/config/etcdctl-ca.crt \\
    --cert /var/vcap/jobs/etcd/config/etcdctl.crt \\
    --key /var/vcap/jobs/etcd/config/etcdctl.key \\
    --endpoints "\${etcd_endpoints}" \\
    "$@"
else
  /usr/bin/etcdctl \\
    --ca-file /var/vcap/jobs/etcd/config/etcdctl-ca.crt \\
    --cert-file /var/vcap/jobs/etcd/config/etcdctl.crt \\
    --key-file /var/vcap/jobs/etcd/config/etcdctl.key \\
    --endpoints "\${etcd_endpoints}" \\
    "$@"
fi
`;

/**
 * The job's start script (run by bpm as vcap). Same decisions as the real one; the only testbed
 * addition is the one-shot marker /var/vcap/data/etcd/initial-cluster-new that `up` leaves so the
 * first bring-up forms the whole cluster at once (a real deploy brings masters up one by one).
 */
export function etcdStartScript(self: MasterInfo, bootstrap: boolean, quotaBackendBytes?: number): string {
  const memberDecision = bootstrap
    ? `  # bootstrap instance without data: a brand-new single-member cluster (split brain if others exist!)
  CLUSTER_STATE="new"
  CLUSTER="${self.id}=\${etcd_peer_address}"`
    : `  MEMBER_ADD_OUTPUT="$(ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl member add ${self.id} --peer-urls "\${etcd_peer_address}")"
  CLUSTER="$(echo "\${MEMBER_ADD_OUTPUT}" | grep "ETCD_INITIAL_CLUSTER=" | cut -d'=' -f2- | tr -d '"')"`;
  return `#!/bin/bash

set -euo pipefail
source /var/vcap/jobs/etcd/bin/utils.sh

# bootstrap: ${bootstrap}
# When bootstrap is true and there is no existing etcd member directory, we are the first node of a
# new cluster: bootstrap a single node cluster. When bootstrap is false and there is no member
# directory, we are a new node in an existing cluster: add ourselves as a member and start with the
# ETCD_INITIAL_CLUSTER that member add returns. With a member directory: start normally.

CLUSTER_STATE="existing"
CLUSTER=$etcd_peers

INITIAL_MARKER=/var/vcap/data/etcd/initial-cluster-new
if [ ! -d /var/vcap/store/etcd/member ] && [ -f "$INITIAL_MARKER" ]; then
  # testbed only: first bring-up of the whole deployment forms the cluster from the full peer list
  rm -f "$INITIAL_MARKER"
  CLUSTER_STATE="new"
elif [ ! -d /var/vcap/store/etcd/member ]; then
${memberDecision}
fi

exec /usr/bin/etcd \\
  --name="${self.id}" \\
  --data-dir="/var/vcap/store/etcd" \\
  --listen-peer-urls="https://${self.ip}:2380" \\
  --initial-advertise-peer-urls="\${etcd_peer_address}" \\
  --listen-client-urls="https://${self.ip}:2379" \\
  --advertise-client-urls="\${etcd_endpoint_address}" \\
  --initial-cluster="\${CLUSTER}" \\
  --initial-cluster-state="\${CLUSTER_STATE}" \\
  --client-cert-auth \\
  --trusted-ca-file="/var/vcap/jobs/etcd/config/etcd-ca.crt" \\
  --cert-file="/var/vcap/jobs/etcd/config/etcd.crt" \\
  --key-file="/var/vcap/jobs/etcd/config/etcd.key" \\
  --peer-client-cert-auth \\
  --peer-trusted-ca-file="/var/vcap/jobs/etcd/config/peer-ca.crt" \\
  --peer-cert-file="/var/vcap/jobs/etcd/config/peer.crt" \\
  --peer-key-file="/var/vcap/jobs/etcd/config/peer.key"${quotaBackendBytes ? ` \\\n  --quota-backend-bytes=${quotaBackendBytes}` : ''}
`;
}

/** The VM's boot: mounts its folders over the shared paths, then starts its daemons. */
export function bootScript(vmDir: string, withMonit: boolean): string {
  return `set -e
mount --bind ${vmDir}/vcap /var/vcap
mount --bind ${vmDir}/hosts /etc/hosts
mount --bind ${vmDir}/ssh /etc/ssh
${withMonit ? `mount --bind ${vmDir}/vcap/bosh/etc/monitrc /etc/monit/monitrc` : ''}
/usr/sbin/sshd -f /etc/ssh/sshd_config
${withMonit ? '/usr/bin/monit -c /etc/monit/monitrc' : ''}
`;
}
