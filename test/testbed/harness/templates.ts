// The files a VM sees: /etc/hosts, /etc/ssh/sshd_config, monit control files, and the BOSH jobs
// (bpm stand-in, TKGI's etcd job, dummy kube processes). The etcd job follows TKGI's and CFCR's
// (bin/etcd, etcdctl, utils.sh, post-start, authentication-setup, drain): see test/testbed/README.md.
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

/** The stemcell's monit checks every 10 s; BOSH_ETCD_TESTBED_MONIT_CYCLE or `up --monit-cycle` changes it. */
export const STEMCELL_MONIT_CYCLE_S = 10;

export function monitrc(cycleSeconds = STEMCELL_MONIT_CYCLE_S): string {
  return `# monit of one testbed VM, as BOSH's /var/vcap/bosh/etc/monitrc
set daemon ${cycleSeconds}
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

/**
 * A minimal bpm. Like bpm, a job's processes form one unit (here: a session of their own, as the
 * container would be), the pidfile holds the start script's pid (the job's script does not `exec`
 * its program), and stop is SIGTERM, up to 15 s, then SIGQUIT, then SIGKILL when the unit goes.
 */
export const BPM = `#!/bin/bash
# bpm stand-in for the testbed: bpm start|stop <job>
# start: runs /var/vcap/jobs/<job>/bin/<job> as vcap in a session of its own, stdout/stderr appended
#        to /var/vcap/sys/log/<job>/<job>.std{out,err}.log, pid in /var/vcap/sys/run/bpm/<job>/<job>.pid;
#        fails (exit 1, no pidfile) when the job's script exits before its program is running, so
#        monit reports the start failure like it does for a crashing bpm container.
# stop:  SIGTERM to the job's processes, up to 15 s, then SIGQUIT, 2 s, then SIGKILL (bpm's order).
set -u
cmd=\${1:-}; job=\${2:-}
[ -n "$job" ] || { echo "usage: bpm start|stop <job>" >&2; exit 2; }
RUN=/var/vcap/sys/run/bpm/$job; LOG=/var/vcap/sys/log/$job; PIDFILE=$RUN/$job.pid
alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
# the job's processes: the session the start script leads
members() { pgrep -s "$1" 2>/dev/null; }
program_running() {
  local p exe
  for p in $(members "$1"); do
    exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
    case "$exe" in */bash|*/setpriv|*/setsid) ;; *) return 0 ;; esac
  done
  return 1
}
case "$cmd" in
start)
  mkdir -p "$RUN" "$LOG"; chown vcap:vcap "$LOG"
  if alive; then exit 0; fi
  setsid setpriv --reuid=vcap --regid=vcap --init-groups -- "/var/vcap/jobs/$job/bin/$job" \\
    >>"$LOG/$job.stdout.log" 2>>"$LOG/$job.stderr.log" </dev/null &
  pid=$!
  echo "$pid" > "$PIDFILE"
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; echo "bpm: $job exited during start, see $LOG/$job.stderr.log" >&2; exit 1; }
    program_running "$pid" && exit 0
    sleep 0.05
  done
  exit 0
  ;;
stop)
  if [ -f "$PIDFILE" ]; then
    pid=$(cat "$PIDFILE")
    signal_all() { local p; for p in $(members "$pid"); do kill "-$1" "$p" 2>/dev/null; done; }
    gone() { [ -z "$(members "$pid")" ]; }
    signal_all TERM; signal_all CONT
    for _ in $(seq 1 150); do gone && break; sleep 0.1; done
    if ! gone; then
      signal_all QUIT
      for _ in $(seq 1 20); do gone && break; sleep 0.1; done
      signal_all KILL
    fi
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

/** The etcd package's folder on a VM (TKGI's job runs the binaries from there). */
export const ETCD_PACKAGE_BIN = '/var/vcap/packages/etcd/bin';

/** The job's etcdctl wrapper: the root client certificate for v3, etcdctl.crt for v2 (as TKGI's). */
export const ETCDCTL = `#!/bin/bash

source /var/vcap/jobs/etcd/bin/utils.sh

if [[ "\${LOCAL:-}" == "true" ]]; then
  etcd_endpoints="\${etcd_endpoint_address}"
fi

if [[ "\${ETCDCTL_API:-}" == "3" ]]; then
  ${ETCD_PACKAGE_BIN}/etcdctl \\
    --cacert /var/vcap/jobs/etcd/config/etcdctl-ca.crt \\
    --cert /var/vcap/jobs/etcd/config/etcdctl-root.crt \\
    --key /var/vcap/jobs/etcd/config/etcdctl-root.key \\
    --endpoints "\${etcd_endpoints}" \\
    "$@"
else
  ${ETCD_PACKAGE_BIN}/etcdctl \\
    --ca-file /var/vcap/jobs/etcd/config/etcdctl-ca.crt \\
    --cert-file /var/vcap/jobs/etcd/config/etcdctl.crt \\
    --key-file /var/vcap/jobs/etcd/config/etcdctl.key \\
    --endpoints "\${etcd_endpoints}" \\
    "$@"
fi
`;

/** TLS cipher suites of TKGI's etcd job (kept in sync there with the Kubernetes components). */
export const ETCD_CIPHER_SUITES = 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384';

/**
 * The job's start script (run by bpm as vcap). Same decisions as TKGI's; etcd is not `exec`ed, as
 * there. The only testbed addition is the one-shot marker /var/vcap/data/etcd/initial-cluster-new
 * that `up` leaves so the first bring-up forms the whole cluster at once (a real deploy brings
 * masters up one by one). Listening: TKGI's job listens on 0.0.0.0; the testbed's VMs share one
 * network namespace, so each listens on its own 127.x address instead.
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

# --enable-v2 is included because flannel uses the v2 API.
${ETCD_PACKAGE_BIN}/etcd \\
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
  --peer-key-file="/var/vcap/jobs/etcd/config/peer.key" \\
  --cipher-suites=${ETCD_CIPHER_SUITES} \\
  --experimental-peer-skip-client-san-verification=true \\
  --enable-v2=true${quotaBackendBytes ? ` \\\n  --quota-backend-bytes=${quotaBackendBytes}` : ''}
`;
}

/**
 * post-start (run by the agent as root after monit started the jobs): wait up to 120 s for the local
 * member to be healthy, then authentication-setup.
 */
export const POST_START = `#!/bin/bash
set -euo pipefail
for _ in $(seq 1 120); do
  if LOCAL=true ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl --dial-timeout=1s --command-timeout=2s endpoint health >/dev/null 2>&1; then
    exec /var/vcap/jobs/etcd/bin/authentication-setup
  fi
  sleep 1
done
echo "post-start: the local etcd member did not become healthy within 120 s" >&2
exit 1
`;

/**
 * authentication-setup as TKGI's job runs it: the root user, the job's users with their roles, then
 * \`auth enable\` (idempotent). Users come from the job's \`users\` property; the testbed's are the
 * root user (v3, and v2 where etcdctl still speaks it) and TKGI's etcdClient user (read and write on
 * every key). The root client certificate (CN root) authenticates as root.
 */
export function authenticationSetup(withV2: boolean): string {
  return `#!/usr/bin/env bash
set -euo pipefail

source /var/vcap/jobs/etcd/bin/utils.sh

etcdctl_v3() {
  ETCDCTL_API=3 ${ETCD_PACKAGE_BIN}/etcdctl \\
    --cacert /var/vcap/jobs/etcd/config/etcdctl-ca.crt \\
    --cert /var/vcap/jobs/etcd/config/etcdctl-root.crt \\
    --key /var/vcap/jobs/etcd/config/etcdctl-root.key \\
    --endpoints "\${etcd_endpoints}" \\
    "$@"
}

etcdctl_v2() {
  ETCDCTL_API=2 ${ETCD_PACKAGE_BIN}/etcdctl \\
    --ca-file /var/vcap/jobs/etcd/config/etcdctl-ca.crt \\
    --cert-file /var/vcap/jobs/etcd/config/etcdctl-root.crt \\
    --key-file /var/vcap/jobs/etcd/config/etcdctl-root.key \\
    --endpoints "\${etcd_endpoints}" \\
    "$@"
}

add_user_v3() {
  if ! etcdctl_v3 user get "$1" >/dev/null 2>&1; then
    etcdctl_v3 user add "$1:$2" --interactive=false
  fi
}

ROOT_PASSWORD="$(head -c 12 /dev/urandom | base64)"
echo "Set up user root"
add_user_v3 root "$ROOT_PASSWORD"
${
  withV2
    ? `if ! etcdctl_v2 user get root >/dev/null 2>&1; then
  echo "$ROOT_PASSWORD" | etcdctl_v2 user add root
fi`
    : '# etcdctl 3.5 no longer speaks the v2 API: v3 only'
}

echo "Set up user etcdClient"
add_user_v3 etcdClient "$(head -c 12 /dev/urandom | base64)"
if ! etcdctl_v3 role get etcdClient-role >/dev/null 2>&1; then
  etcdctl_v3 role add etcdClient-role
fi
etcdctl_v3 role grant-permission etcdClient-role readwrite "" --prefix=true
etcdctl_v3 user grant-role etcdClient etcdClient-role

${
  withV2
    ? `set +e
result=$(etcdctl_v2 auth enable 2>&1)
status=$?
set -e
if [ "$status" -ne 0 ] && ! [[ "$result" =~ "auth: already enabled" ]]; then
  echo "Error enable auth: $result"
  exit 1
fi
`
    : ''
}etcdctl_v3 auth enable
`;
}

/** drain: removes the member only when the persistent disk goes (BOSH_JOB_NEXT_STATE). */
export function drainScript(selfId: string): string {
  return `#!/bin/bash
set -eo pipefail

exec 3>&1
exec 1>> /var/vcap/sys/log/etcd/drain.stdout.log
exec 2>> /var/vcap/sys/log/etcd/drain.stderr.log

output_for_bosh() {
  exit_code=$?
  if [ $exit_code -eq 0 ]; then echo "$(date): etcd member removed"; else echo "$(date): drain failed"; fi
  echo $exit_code >&3
}
trap output_for_bosh EXIT

export ETCDCTL_API=3
if echo "\${BOSH_JOB_NEXT_STATE:-}" | grep '"persistent_disk":0'; then
  member_id="$(/var/vcap/jobs/etcd/bin/etcdctl member list | grep "${selfId}" | cut -d',' -f1)"
  /var/vcap/jobs/etcd/bin/etcdctl member remove "\${member_id}"
fi
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
