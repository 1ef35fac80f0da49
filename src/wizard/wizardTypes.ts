// The recovery wizard's seams (wizardFlow.ts, chooseMember.ts): what it reads (the model), what
// it drives (the Ui, the engine, the run terminal, the review page) and what it returns. No
// `vscode` import: the VS Code side implements these in recoveryWizard.ts and recoveryTerminal.ts.
import type { EnvironmentConfig, InstanceInfo } from '../bosh/types';
import type { DeploymentSession } from '../session/types';
import type { Plan, RecoveryEvent, RecoveryOptions, RecoveryResult } from '../recovery/events';
import type { MonitorEntry } from '../diagnosis/monitor';
import type { Ui } from '../ui/ui';

export interface RunSink {
  write(text: string): void;
  /** The operator closed the terminal: stop before the next command. */
  onClose(cb: () => void): void;
  /** The run ended (the terminal stays open to read). */
  finished(outcome: string): void;
}

/** An environment as the wizard lists it: without a config it cannot be chosen. */
export interface WizardEnvironment {
  name: string;
  config?: EnvironmentConfig;
}

export interface WizardModel {
  environments(): Promise<WizardEnvironment[]>;
  deployments(envName: string): Promise<{ name: string }[]>;
  instances(envName: string, deployment: string): Promise<InstanceInfo[]>;
  /** The deployment's diagnosis (the shared monitor's: what the tree and the panel show), at most maxAgeMs old. */
  diagnosis(envName: string, deployment: string, opts?: { maxAgeMs?: number }): Promise<MonitorEntry>;
  deploymentSession(envName: string, deployment: string): Promise<DeploymentSession>;
  refreshDeployment(envName: string, deployment: string): void;
}

/** What every run flow (recovery, quorum, restore, maintenance) gets from its host; each flow's deps extend it. */
export interface FlowHost<M> {
  ui: Ui;
  model: M;
  /** false in an untrusted workspace: the flows refuse to run (settledTrust: waits for a grant still on its way). */
  trusted(): boolean | Promise<boolean>;
  transcriptDir(): string;
  /** The terminal every remote command of the run is echoed to. */
  openRunSink(title: string): RunSink;
  openFile(path: string): Promise<void>;
}

/** The modal's words: what the run does, what it costs, and the button that confirms it. */
export interface Consequence {
  message: string;
  detail: string;
  button: string;
}

/** The last question of every run flow, after its review page: a modal that names the consequence. */
export function confirmConsequence(ui: Ui, id: string, c: Consequence): Promise<boolean> {
  return ui.confirm({ id, message: c.message, detail: c.detail, confirmLabel: c.button, modal: true });
}

export interface WizardDeps extends FlowHost<WizardModel> {
  runRecovery(session: DeploymentSession, target: string, opts: RecoveryOptions): Promise<RecoveryResult>;
  downloadSnapshotDefault(): boolean;
  showReview(markdown: string, plan: Plan): Promise<void>;
  openHealthPanel(envName: string, deployment: string): void;
}

export interface WizardPreselect {
  envName?: string;
  deployment?: string;
  /** Instance UUID (= member name) to preselect. */
  instanceId?: string;
}

export interface WizardOptions {
  dryRun: boolean;
  learner: boolean;
  downloadSnapshot: boolean;
}

export interface WizardResult {
  outcome: RecoveryResult['outcome'] | 'aborted';
  results: RecoveryResult[];
  target?: string;
  options?: WizardOptions;
  /** Review pages shown (Markdown). */
  reviews: string[];
  events: RecoveryEvent[];
}
