// `bosh-etcd snapshot save|list|verify|delete`: local etcd snapshots of a deployment.
// No `vscode` import here.
import { isCancelled } from '../util/cancel';
import {
  defaultSnapshotDir,
  deleteSnapshot,
  listSnapshots,
  saveSnapshot,
  SnapshotError,
  verifySnapshot,
  type SnapshotEntry,
} from '../snapshots';
import { EXIT } from './exitCodes';
import { readWords, takeCommonOption, unexpectedWord, type CommonOptions } from './args';
import { formatSize as fmtSize, type CliIo } from './io';
import { withDeployment } from './session';

export const SNAPSHOT_USAGE = `  bosh-etcd snapshot save   --deployment D [--dir DIR] [--member master/UUID] [--known-hosts FILE]
  bosh-etcd snapshot list   [--dir DIR] [--deployment D] [--quick]
  bosh-etcd snapshot verify FILE
  bosh-etcd snapshot delete FILE

snapshot save streams a snapshot from one healthy member (a follower unless --member names one) to
DIR/<deployment>-<time>-rev<revision>.db (mode 0600) with its metadata in a .json beside it; the
file appears only once complete and verified. DIR defaults to ~/.bosh-etcd/snapshots
(or BOSH_ETCD_SNAPSHOT_DIR). list verifies every file unless --quick; verify checks etcd's trailing
sha256, the sha256 in the metadata and the bbolt database, and prints what
\`etcdctl snapshot status\` would (revision, total keys, hash).

exit codes: 0 ok, 1 the save failed or a file failed verification (list, verify) or could not be
  deleted, 2 usage, 3 save refused: no healthy member (or the one named is not), 5 cancelled (no
  file kept), 6 configuration/connection error, unknown deployment or an unknown --member`;

interface SnapshotArgs extends Pick<CommonOptions, 'deployment' | 'knownHosts'> {
  sub: string;
  file?: string;
  dir?: string;
  member?: string;
  quick: boolean;
  help: boolean;
}

function parse(argv: string[]): SnapshotArgs | string {
  const a: SnapshotArgs = { sub: '', quick: false, help: false };
  try {
    readWords(argv, (x, value) => {
      if (takeCommonOption(a, x, value, ['deployment', 'knownHosts'])) return;
      if (x === '--dir') a.dir = value();
      else if (x === '--member' || x === '--instance' || x === '-i') a.member = value();
      else if (x === '--quick') a.quick = true;
      else if (x === '--help' || x === '-h') a.help = true;
      else if (x.startsWith('-')) throw unexpectedWord(x);
      else if (!a.sub) a.sub = x;
      else if (!a.file) a.file = x;
      else throw unexpectedWord(x);
    });
  } catch (e) {
    return (e as Error).message;
  }
  return a;
}

export function fmtAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i])).join('  ');
  return [fmt(head), ...rows.map(fmt)].join('\n').replace(/ +$/gm, '');
}

function verifiedCell(e: SnapshotEntry): string {
  if (!e.verification) return e.metadata ? 'not checked' : 'not checked (no metadata)';
  return e.verification.ok ? 'ok' : `FAILED: ${e.verification.reason}`;
}

async function save(a: SnapshotArgs, io: CliIo, dir: string): Promise<number> {
  return withDeployment(
    io,
    a.deployment,
    {
      knownHosts: a.knownHosts,
      onInterrupt: 'cancelling the snapshot (no partial file is kept)',
      what: 'taking a snapshot',
    },
    async ({ session, signal, deployment }) => {
      try {
        io.out.write(`Taking a snapshot of ${deployment}'s etcd into ${dir}…\n`);
        const r = await saveSnapshot(session, {
          dir,
          member: a.member,
          signal,
          log: (l) => io.out.write(`  ${l}\n`),
        });
        const m = r.metadata;
        io.out.write(
          `Saved ${r.file}\n` +
            `  ${fmtSize(m.size)}, revision ${m.revision}, ${m.totalKeys} keys, etcd ${m.etcdVersion}, cluster ${m.clusterId}\n` +
            `  from ${m.member.name} (member ${m.member.id}), sha256 ${m.sha256}\n` +
            `  metadata ${r.metadataFile}\n`,
        );
        return EXIT.OK;
      } catch (e) {
        if (isCancelled(e)) {
          io.err.write(`CANCELLED: ${(e as Error).message}\n`);
          return EXIT.CANCELLED;
        }
        if (e instanceof SnapshotError) {
          io.err.write(`bosh-etcd: ${e.message}\n  what to do: ${e.advice}\n`);
          return e.kind === 'unhealthy' ? EXIT.REFUSED : e.kind === 'config' ? EXIT.CONFIG : EXIT.FAILED;
        }
        throw e;
      }
    },
  );
}

/** Runs `bosh-etcd snapshot <argv…>`; returns the exit code. */
export async function snapshotCommand(argv: string[], io: CliIo): Promise<number> {
  const a = parse(argv);
  if (typeof a !== 'string' && a.help) {
    io.out.write(`usage:\n${SNAPSHOT_USAGE}\n`);
    return EXIT.OK;
  }
  if (typeof a === 'string' || !['save', 'list', 'verify', 'delete'].includes(a.sub)) {
    const why = typeof a === 'string' ? a : a.sub ? `unknown snapshot command ${a.sub}` : 'no snapshot command';
    io.err.write(`bosh-etcd: ${why}\nusage:\n${SNAPSHOT_USAGE}\n`);
    return EXIT.USAGE;
  }
  const dir = a.dir ?? io.env.BOSH_ETCD_SNAPSHOT_DIR ?? defaultSnapshotDir();
  if ((a.sub === 'verify' || a.sub === 'delete') && !a.file) {
    io.err.write(`bosh-etcd: snapshot ${a.sub} needs the snapshot FILE (bosh-etcd snapshot list shows them)\n`);
    return EXIT.USAGE;
  }
  if ((a.sub === 'save' || a.sub === 'list') && a.file) {
    io.err.write(`bosh-etcd: unexpected argument ${a.file}\nusage:\n${SNAPSHOT_USAGE}\n`);
    return EXIT.USAGE;
  }
  switch (a.sub) {
    case 'save':
      return save(a, io, dir);
    case 'list': {
      const list = await listSnapshots(dir, { deployment: a.deployment, verify: !a.quick });
      if (!list.length) {
        io.out.write(`No snapshots${a.deployment ? ` of ${a.deployment}` : ''} in ${dir}.\n`);
        return EXIT.OK;
      }
      const rows = list.map((e) => [
        e.name,
        e.deployment ?? '?',
        fmtAge(e.ageMs),
        fmtSize(e.size),
        e.revision ?? '?',
        e.metadata?.member.name ?? (e.metadataError ? `metadata unreadable: ${e.metadataError}` : 'no metadata'),
        verifiedCell(e),
      ]);
      io.out.write(
        `${dir}:\n${table(['FILE', 'DEPLOYMENT', 'AGE', 'SIZE', 'REVISION', 'MEMBER', 'VERIFIED'], rows)}\n`,
      );
      return list.some((e) => e.verification && !e.verification.ok) ? EXIT.FAILED : EXIT.OK;
    }
    case 'verify': {
      const r = await verifySnapshot(a.file!);
      if (!r.ok) {
        io.err.write(`REFUSED ${r.file}: ${r.reason}\n  what to do: ${r.advice}\n`);
        return EXIT.FAILED;
      }
      io.out.write(
        `OK ${r.file}\n  ${fmtSize(r.size)}, revision ${r.status.revision}, ${r.status.totalKeys} total keys, hash ${r.status.hash}, sha256 ${r.sha256}\n` +
          (r.metadata
            ? `  matches its metadata: ${r.metadata.deployment}, taken ${r.metadata.takenAt} from ${r.metadata.member.name}\n`
            : r.metadataError
              ? `  WARNING: ${r.metadataError}; checked etcd’s own sha256 and the database only\n`
              : '  no metadata beside it: checked etcd’s own sha256 and the database only\n'),
      );
      return EXIT.OK;
    }
    default: {
      try {
        for (const p of deleteSnapshot(a.file!)) io.out.write(`Deleted ${p}\n`);
        return EXIT.OK;
      } catch (e) {
        io.err.write(`bosh-etcd: ${(e as Error).message}\n`);
        return EXIT.FAILED;
      }
    }
  }
}
