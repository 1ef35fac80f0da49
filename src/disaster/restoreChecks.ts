// Pre-checks of the restore from a snapshot, made before anything is stopped: the snapshot verified
// (src/snapshots/verify.ts: etcd's appended sha256, the metadata's sha256 and size, the bbolt walk),
// the etcd version it was taken with against the masters', the masters and their peers as the job's
// utils.sh computes them, and what an earlier, killed restore left. Pure functions over what the
// engine read; no `vscode` import here.
import type { Refusal } from '../recovery/events';
import type { VerifyResult } from '../snapshots/verify';
import { parseEtcdVersion, snapshotStatusTool, type EtcdVersion } from '../etcd/version';
import { nonEmptyLines, probeSections } from '../util/probeOutput';
import { bumpSupported, parseRestoreState, type Bump, type RestoreMember, type RestoreTool } from './restoreCommands';

/** What one master's restoreProbe said. */
export interface MasterFacts {
  /** 'group/uuid' */
  label: string;
  id: string;
  index: number | null;
  version?: EtcdVersion;
  /** `etcd --version`'s first line as printed (for messages). */
  versionText: string;
  etcdutl: boolean;
  /** `${etcd_peer_address}` of the job's utils.sh. */
  peerAddress: string | null;
  /** `${etcd_peers}` of the job's utils.sh: `<uuid>=<peer url>,…`. */
  peers: string | null;
  /** Left by an earlier restore run (src/disaster/restoreCommands.ts RESTORE_STATE_FILE). */
  state: { ts: string; sha256: string; phase: string } | null;
  /** Free space on /var/vcap/store (KiB) from the VM probe (src/recovery/vmProbe.ts); null when unknown. */
  freeKb?: number | null;
}

/** etcd preallocates its first WAL file (64 MiB) in the restored data directory. */
const WAL_BYTES = 64 * 1024 * 1024;

/** What a restore needs on /var/vcap/store: the snapshot file, the restored database, its WAL. */
export function spaceNeededBytes(snapshotSize: number): number {
  return 2 * snapshotSize + WAL_BYTES;
}

export function parseMasterFacts(m: { label: string; id: string; index: number | null }, out: string): MasterFacts {
  const s = probeSections(out);
  const versionText = nonEmptyLines(s.get('version'))[0] ?? '';
  const peers = nonEmptyLines(s.get('peers'));
  return {
    ...m,
    version: parseEtcdVersion(versionText),
    versionText,
    etcdutl: nonEmptyLines(s.get('etcdutl')).includes('present'),
    peerAddress: peers[0] ?? null,
    peers: peers[1] ?? null,
    state: parseRestoreState(s.get('state')),
  };
}

/** The snapshot as verified (on the workstation, or on the VMs for a path already there). */
export interface SnapshotFacts {
  /** The operator's path (workstation) or the path on every master. */
  file: string;
  source: 'workstation' | 'vm';
  sha256: string;
  size: number;
  revision: string;
  totalKeys: number;
  /** CRC-32C as `snapshot status` prints it (hex). */
  hash: string;
  /** From the metadata beside the file (absent without metadata). */
  takenAt?: string;
  etcdVersion?: string;
  clusterId?: string;
  deployment?: string;
}

const NOTHING_CHANGED = 'Nothing was stopped or changed.';

/** A failed verification as a refusal (what is wrong with the file, and what to do). */
export function snapshotRefusal(v: VerifyResult): Refusal | undefined {
  if (v.ok) return undefined;
  return {
    code: 'invalid-input',
    message: `The snapshot ${v.file} is refused (${v.problem}): ${v.reason}. ${NOTHING_CHANGED}`,
    advice: v.advice,
  };
}

export function snapshotFactsOf(v: VerifyResult & { ok: true }): SnapshotFacts {
  return {
    file: v.file,
    source: 'workstation',
    sha256: v.sha256,
    size: v.size,
    revision: v.status.revision,
    totalKeys: v.status.totalKeys,
    hash: v.status.hash.toString(16),
    takenAt: v.metadata?.takenAt,
    etcdVersion: v.metadata?.etcdVersion,
    clusterId: v.metadata?.clusterId,
    deployment: v.metadata?.deployment,
  };
}

/** `<uuid>=<url>,…` → pairs; undefined when malformed. */
export function parsePeers(text: string | null): RestoreMember[] | undefined {
  if (!text) return undefined;
  const out: RestoreMember[] = [];
  for (const part of text.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0 || i === part.length - 1) return undefined;
    out.push({ id: part.slice(0, i), peerUrl: part.slice(i + 1) });
  }
  return out;
}

export interface RestoreCheck {
  refusals: Refusal[];
  /** What the operator should know (shown with the plan). */
  notes: string[];
  /** Every master with its own peer URL, in the job's peer order (the --initial-cluster). */
  members: RestoreMember[];
  version?: EtcdVersion;
  tool: RestoreTool;
  /** etcdutl's --bump-revision/--mark-compacted can be used (etcd ≥ 3.5.10 with etcdutl). */
  bumpOffered: boolean;
  /** The timestamp of an unfinished restore of the same snapshot (resume it), else undefined. */
  resumeTs?: string;
  /** Masters already restored by that run (their data is the snapshot's). */
  alreadyRestored: string[];
}

/** The restore tool every master has (etcdutl only when all ship it and run 3.5+). */
export function toolOf(masters: MasterFacts[]): RestoreTool {
  return snapshotStatusTool(
    masters.find((m) => m.version)?.version,
    masters.length > 0 && masters.every((m) => m.etcdutl),
  );
}

const sameMinor = (a: EtcdVersion, b: EtcdVersion) => a.major === b.major && a.minor === b.minor;

/** Every rule the restore checks before anything is stopped. */
export function checkRestore(
  deployment: string,
  snap: SnapshotFacts,
  masters: MasterFacts[],
  opts: { bump?: Bump } = {},
): RestoreCheck {
  const refusals: Refusal[] = [];
  const notes: string[] = [];
  const refuse = (code: Refusal['code'], message: string, advice: string) =>
    refusals.push({ code, message: `${message} ${NOTHING_CHANGED}`, advice });
  if (!masters.length)
    refuse(
      'target-unknown',
      `Deployment ${deployment} has no etcd masters (instance group 'master').`,
      `Check the deployment name (bosh -d ${deployment} instances).`,
    );

  // The cluster's etcd version, from every master's package.
  const unknownVersion = masters.filter((m) => !m.version);
  for (const m of unknownVersion)
    refuse(
      'observation-failed',
      `Could not read the etcd version on ${m.label} (\`etcd --version\` printed ${JSON.stringify(m.versionText)}).`,
      `Check the VM (bosh -d ${deployment} ssh ${m.label}) and that the etcd job is deployed there.`,
    );
  const versions = [...new Set(masters.flatMap((m) => (m.version ? [m.version.text] : [])))];
  if (versions.length > 1)
    refuse(
      'members-disagree',
      `The masters run different etcd versions (${masters.map((m) => `${m.label}: ${m.version?.text ?? '?'}`).join(', ')}).`,
      'Finish the deployment (bosh deploy) so every master runs the same etcd, then restore.',
    );
  const version = masters.find((m) => m.version)?.version;
  const snapVersion = parseEtcdVersion(snap.etcdVersion);
  if (version && snapVersion && !sameMinor(version, snapVersion))
    refuse(
      'invalid-input',
      `The snapshot was taken from etcd ${snapVersion.text} but the cluster runs etcd ${version.text}: etcd ${snapVersion.major}.${snapVersion.minor} and ${version.major}.${version.minor} are different major versions of etcd's storage.`,
      `Restore a snapshot taken from etcd ${version.major}.${version.minor} (bosh-etcd snapshot list shows each one's version), or restore this one on a cluster running etcd ${snapVersion.major}.${snapVersion.minor}.`,
    );
  if (!snapVersion)
    notes.push(
      'The snapshot has no metadata naming its etcd version: its version could not be compared with the cluster’s.',
    );
  if (snap.deployment && snap.deployment !== deployment)
    notes.push(`The snapshot was taken from deployment ${snap.deployment}, not ${deployment}.`);

  // The peers: every master's utils.sh must agree, and name every master once with its own URL.
  let members: RestoreMember[] = [];
  const lists = [...new Set(masters.map((m) => m.peers ?? ''))];
  const parsed = parsePeers(lists[0] ?? null);
  if (masters.length && (lists.length !== 1 || !parsed)) {
    refuse(
      'peer-url-mismatch',
      `The masters' etcd job does not give one peer list (${masters.map((m) => `${m.label}: ${m.peers ?? 'none'}`).join('; ')}).`,
      `Check /var/vcap/jobs/etcd/bin/utils.sh on the masters; redeploy (bosh deploy) if they differ.`,
    );
  } else if (parsed) {
    members = parsed;
    const ids = new Set(parsed.map((p) => p.id));
    for (const m of masters) {
      const own = parsed.find((p) => p.id === m.id);
      if (!own || own.peerUrl !== m.peerAddress)
        refuse(
          'peer-url-mismatch',
          `${m.label}'s peer URL ${m.peerAddress ?? '(none)'} is not its entry in the job's peer list ${lists[0]}.`,
          'Check the etcd job on that master (utils.sh); redeploy (bosh deploy) if it is out of date.',
        );
    }
    const extra = parsed.filter((p) => !masters.some((m) => m.id === p.id));
    if (extra.length || ids.size !== parsed.length)
      refuse(
        'peer-url-mismatch',
        `The job's peer list names ${extra.map((p) => p.id).join(', ') || 'a member twice'}, not one entry per master of ${deployment}.`,
        `Compare bosh -d ${deployment} instances with /var/vcap/jobs/etcd/bin/utils.sh; redeploy if they differ.`,
      );
  }

  const need = spaceNeededBytes(snap.size);
  for (const m of masters)
    if (typeof m.freeKb === 'number' && m.freeKb * 1024 < need)
      refuse(
        'disk-space',
        `${m.label} has ${Math.floor(m.freeKb / 1024)} MiB free on /var/vcap/store; the restore needs about ${Math.ceil(need / 1024 / 1024)} MiB there (the snapshot, the restored database and its WAL; the old data is kept).`,
        `Free space on ${m.label}'s persistent disk (old etcd.bak-* folders you no longer need, or a larger disk), then restore.`,
      );

  const tool = toolOf(masters);
  const bumpOffered = bumpSupported(version, tool);
  if (opts.bump && !bumpOffered)
    refuse(
      'invalid-input',
      `--bump-revision/--mark-compacted need etcd 3.5.10 or later with etcdutl on every master; the cluster runs etcd ${version?.text ?? '?'}${tool === 'etcdutl' ? '' : ' without etcdutl'}.`,
      'Run the restore without --bump-revision/--mark-compacted (then restart the Kubernetes components that watch etcd).',
    );
  if (bumpOffered && !opts.bump)
    notes.push(
      'This etcd can restore with --bump-revision N --mark-compacted: Kubernetes watchers (informers) remember the last revision they saw; after a restore the revision goes back, so they may miss or misapply changes. Bumping the revision past anything a client saw and marking older revisions compacted makes every watcher re-list. Recommended when Kubernetes was running; e.g. --bump-revision 1000000000 --mark-compacted.',
    );

  // An unfinished restore of this same snapshot is resumed (same timestamp, masters done stay done).
  const ours = masters.filter((m) => m.state && m.state.sha256 === snap.sha256);
  const resumeTs = ours[0]?.state?.ts;
  const alreadyRestored = ours
    .filter((m) => m.state?.ts === resumeTs && m.state?.phase === 'restored')
    .map((m) => m.label);
  if (resumeTs)
    notes.push(
      `An earlier restore from this snapshot (${resumeTs}) did not finish: it is resumed${alreadyRestored.length ? ` (${alreadyRestored.join(', ')} already restored)` : ''}.`,
    );
  const others = masters.filter((m) => m.state && m.state.sha256 !== snap.sha256);
  if (others.length)
    notes.push(
      `${others.map((m) => m.label).join(', ')} hold the record of an unfinished restore from another snapshot (sha256 ${others[0].state!.sha256.slice(0, 16)}…): this restore replaces it.`,
    );
  return { refusals, notes, members, version, tool, bumpOffered, resumeTs, alreadyRestored };
}

/** The confirmation's words: the snapshot's revision and time, and that later writes are lost. */
export function confirmationText(deployment: string, snap: SnapshotFacts, masters: string[], bump?: Bump): string[] {
  const when = snap.takenAt ? `taken ${snap.takenAt}` : 'time unknown (no metadata)';
  return [
    `Restore deployment ${deployment} from snapshot ${snap.file}`,
    `  revision ${snap.revision}, ${snap.totalKeys} keys, ${when}, sha256 ${snap.sha256.slice(0, 16)}…`,
    `  on every master (${masters.length}): ${masters.join(', ')}`,
    `Every write to etcd after that snapshot (after revision ${snap.revision}${snap.takenAt ? `, ${snap.takenAt}` : ''}) is LOST.`,
    'kube-apiserver and etcd are stopped on every master for the whole restore; the current data is moved aside (kept).',
    ...(bump
      ? [
          `The revision is bumped by ${bump.revision}${bump.markCompacted ? ' and older revisions are marked compacted' : ''} (Kubernetes watchers re-list).`,
        ]
      : []),
  ];
}
