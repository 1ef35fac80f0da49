// What the classifier's rules share: one view per master, the majority cluster and its member
// list, the finding collector and the voter counts the per-instance rules fill in.
import type { InstanceInfo } from '../../bosh/types';
import type { EndpointStatus, EtcdMember } from '../../etcd/types';
import type { ClusterObservation, EndpointObservation, VmProbe } from '../observe';
import type { Finding, FindingInstance, FindingMember } from '../types';

export interface MasterView {
  inst: InstanceInfo;
  ep?: EndpointObservation;
  probe?: VmProbe;
  answered: boolean;
  /** Cluster id from here, else as the VM itself reports it. */
  clusterId?: string;
  memberId?: string;
  /** Director's view of the etcd process on the instance ('running', 'failing', …) or the aggregate. */
  directorEtcd: string | null;
}

/** A finding as a rule states it: without a title it is titled "<who>: <kind>". */
export type NewFinding = Omit<Finding, 'title'> & { title?: string };

export interface ClassifyContext {
  obs: ClusterObservation;
  /** The deployment's name, for bosh commands. */
  dep: string;
  views: MasterView[];
  /** The cluster id most masters report (null: none reports one). */
  majority: string | null;
  /** The masters that answer from here for the majority cluster. */
  main: MasterView[];
  /** The majority cluster's members (the leader's list when it answers); null when no list was read. */
  members: EtcdMember[] | null;
  /** The voting members of that list. */
  voters: EtcdMember[];
  /** Instances that answer for another cluster id (filled by the split-brain rule). */
  split: Set<string>;
  /** Filled by the per-instance rules: voters seen healthy, voters known down, members some instance owns. */
  healthyVoters: number;
  knownDownVoters: number;
  /** Instances of voters that cannot come back by starting them (data gone or not usable, another cluster). */
  replaceVoters: Set<string>;
  matched: Set<string>;
  add: (f: NewFinding) => void;
}

/** One master judged by the per-instance rules, with what the size and lag rules need. */
export interface InstanceTarget {
  view: MasterView;
  ref: FindingInstance;
  member: FindingMember | undefined;
  /** Its `endpoint status` from here, when it answered. */
  status: EndpointStatus | undefined;
}
