/**
 * T1059 Command and Scripting Interpreter: a shell, or a binary never executed before, runs in a pod or on a host
 * (the sensor's exec records). T1059.004 when it is a Unix shell.
 *
 * What is normal: a pod whose entrypoint is `sh -c ...` runs shells as it starts, a new pod runs binaries its name
 * never ran, and some hosts run shells all day (cron, init scripts). So a pod or host younger than `minEntityAgeS`
 * only learns (how often it runs a shell, and which shell command lines), and nothing counts while the features
 * stage's first-seen history is young. After that a new binary counts, and a shell counts where shells are rare
 * (in at most `maxUsualShellShare` of its windows) unless every command line the window names was seen on this entity
 * before (a routine job re-running, or one already reported). How often shells run is learnt from every window, those
 * with a finding too: it is the frequency of a rare event, not a level an attack could drag up, and without it a
 * host whose cron runs a shell every few minutes would be reported forever.
 */
import { z } from 'zod';
import type { FeatureVector } from '../../schemas/feature-vector.ts';
import type { WindowDetectorFactory } from '../detector.ts';
import type { Finding } from '../../findings/finding.ts';
import { TACTICS, TECHNIQUES } from '../../findings/threat.ts';
import { count, examplesOf, historyAgeSeconds } from '../vector.ts';
import { entityKindsConfig, gatedDetector } from '../window-detector.ts';
import { formatNumber, windowFinding, type FeatureEvidence } from '../window-finding.ts';

export const COMMAND_INTERPRETER_DETECTOR = 'command_interpreter';

export const CommandInterpreterConfig = z.strictObject({
  ...entityKindsConfig(['pod', 'host'], ['pod', 'host']),
  /** Event-time seconds the first-seen history must have learnt before a binary counts as new. */
  minHistoryAgeS: z.number().min(0).default(300),
  /** A pod or host younger than this (event time since its first window) may run shells as it starts. */
  minEntityAgeS: z.number().min(0).default(120),
  /** Shells are usual for an entity that ran one in more than this share of its windows. */
  maxUsualShellShare: z.number().min(0).max(1).default(0.05),
  /** Weight of a new window in the learnt share of windows with a shell, once the entity is settled. */
  alpha: z.number().gt(0).max(1).default(0.02),
});
export type CommandInterpreterConfig = z.infer<typeof CommandInterpreterConfig>;

interface WorkloadState {
  firstStartMs: number;
  lastEndMs: number;
  /** Share of windows that ran a shell: the mean while the entity is young, then an EWMA. */
  shellShare: number;
  /** Windows since the first, those without a vector included. */
  windows: number;
  /** Shell command lines seen on this entity (the most recent `MAX_KNOWN_SHELLS`). */
  knownShells: string[];
}

const MAX_KNOWN_SHELLS = 64;
const MAX_COMMAND_CHARS = 256;

const SHELL_RISK = 0.6;
const NEW_BINARY_RISK = 0.5;

export const commandInterpreter: WindowDetectorFactory<CommandInterpreterConfig> = {
  id: COMMAND_INTERPRETER_DETECTOR,
  input: 'window',
  config: CommandInterpreterConfig,
  create(config, settings) {
    const store = settings.store<WorkloadState>('workloads');
    return gatedDetector(config, (v: FeatureVector): Finding | undefined => {
      const shells = count(v, 'shell_exec_count');
      const newBinaries = count(v, 'new_binary_count');
      const state = store.get(v.entityId) ?? { firstStartMs: v.windowStartMs, lastEndMs: -Infinity, shellShare: 0, windows: 0, knownShells: [] };
      const replay = v.windowEndMs <= state.lastEndMs;
      const historyWarm = (historyAgeSeconds(v) ?? 0) >= config.minHistoryAgeS;
      const settled = v.windowStartMs - state.firstStartMs >= config.minEntityAgeS * 1000;
      // Command lines are remembered per entity: bounded, so one huge argument list cannot grow the state.
      const shellNames = examplesOf(v, 'shell_execs').map((c) => c.slice(0, MAX_COMMAND_CHARS));
      // On a replay the window's own command lines are already known: judge them as the first time did.
      const known = replay ? [] : state.knownShells;
      const onlyKnownShells = shellNames.length > 0 && shellNames.every((c) => known.includes(c));
      const evidence: FeatureEvidence[] = [];
      if (shells > 0 && historyWarm && settled && state.shellShare <= config.maxUsualShellShare && !onlyKnownShells) {
        evidence.push({ feature: 'shell_exec_count', actual: shells, typical: state.shellShare, evidence: 1 + Math.log2(shells) });
      }
      if (newBinaries > 0 && historyWarm && settled) evidence.push({ feature: 'new_binary_count', actual: newBinaries, typical: 0, evidence: 1 + Math.log2(newBinaries) });
      if (!replay) {
        // Windows without a vector had no exec at all: they count as windows without a shell.
        const windowMs = v.windowEndMs - v.windowStartMs;
        const skipped = state.windows === 0 ? 0 : Math.max(0, Math.round((v.windowStartMs - state.lastEndMs) / windowMs));
        const ran = shells > 0 ? 1 : 0;
        if (settled) {
          const decayed = state.shellShare * (1 - config.alpha) ** skipped;
          state.shellShare = decayed + config.alpha * (ran - decayed);
        } else state.shellShare = (state.shellShare * state.windows + ran) / (state.windows + skipped + 1);
        state.windows += skipped + 1;
        state.lastEndMs = v.windowEndMs;
        for (const c of shellNames) if (!state.knownShells.includes(c)) state.knownShells.push(c);
        if (state.knownShells.length > MAX_KNOWN_SHELLS) state.knownShells.splice(0, state.knownShells.length - MAX_KNOWN_SHELLS);
        store.set(v.entityId, state);
      }
      if (evidence.length === 0) return undefined;
      const shell = evidence.some((e) => e.feature === 'shell_exec_count');
      const binaryNames = examplesOf(v, 'new_binaries');
      const what = [
        ...(shell ? [`${formatNumber(shells)} shell exec${shells === 1 ? '' : 's'}` + (shellNames.length ? ` (${shellNames.join(', ')})` : '')] : []),
        ...(evidence.some((e) => e.feature === 'new_binary_count') ? [`${formatNumber(newBinaries)} binar${newBinaries === 1 ? 'y' : 'ies'} never run before` + (binaryNames.length ? ` (${binaryNames.join(', ')})` : '')] : []),
      ];
      return windowFinding(v, {
        detector: COMMAND_INTERPRETER_DETECTOR,
        ruleName: shell ? 'Shell executed in a workload' : 'New binary executed in a workload',
        ruleDescription: 'A shell, or a binary absent from the learned history, was executed in a pod or on a host',
        kind: 'intrusion',
        threat: { tactic: TACTICS.execution, technique: TECHNIQUES.commandInterpreter, ...(shell ? { subtechnique: TECHNIQUES.unixShell } : {}) },
        base: shell ? SHELL_RISK : NEW_BINARY_RISK,
        evidence,
        message: `${v.entityId}: ${what.join(' and ')}`,
      });
    });
  },
};
