// `iron run <agent>`: one agent caged, live progress, a summary, and the agent's exit code.
import type { Runtime } from '../runtime.ts';
import { metricsTable } from './summary.ts';
import { followAgent } from './progress.ts';

/** Exit code when the cage itself stopped the agent (budget, or a plugin's decision). */
export const EXIT_CAGE_STOPPED = 86;
/** Exit code for a configuration or start-up problem (sysexits' EX_CONFIG). */
export const EXIT_CONFIG = 78;

export async function runAgent(runtime: Runtime, target: string, args: string[]): Promise<number> {
  const agentId = await runtime.startAgent(target, { args, output: 'forward' });
  const stopFollowing = followAgent(runtime, agentId, { tty: Boolean(process.stderr.isTTY), write: (text) => process.stderr.write(text) });
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\niron: ${signal}: stopping the agent\n`);
    void runtime.stopAgent(agentId);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const metrics = await runtime.waitForAgent(agentId);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  stopFollowing();
  process.stderr.write(`\n${metricsTable([metrics])}\n`);
  for (const error of metrics.errors.slice(-3)) process.stderr.write(`  ${error.code}: ${error.message}\n`);
  if (metrics.status === 'budget_exceeded') return EXIT_CAGE_STOPPED;
  if (metrics.status === 'stopped') return EXIT_CAGE_STOPPED;
  if (typeof metrics.exitCode === 'number') return metrics.exitCode;
  return metrics.status === 'completed' ? 0 : 1;
}
