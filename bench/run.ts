// `npm run bench [-- --quick]`: every benchmark, printed as Markdown tables and written to bench/results.json.
import { writeFileSync } from 'node:fs';
import { BUDGETS, budgetRows, checkBudgets, type BudgetResult } from './budgets.ts';
import { markdownTable, type Row } from './lib/stats.ts';
import { SUITES } from './suites.ts';

const quick = process.argv.includes('--quick');
// `--check`: a missed budget fails the run (exit 1), as a failed suite does.
const check = process.argv.includes('--check');
// `npm run bench -- --only cost` runs the suites whose title contains the word.
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1]?.toLowerCase() : undefined;

// Each suite's rows, target and duration; written after every suite, so a failed or interrupted run keeps what it had.
const results: Record<string, { target: string; seconds: number; rows: Row[]; error?: string }> = {};
let budget: BudgetResult[] = [];
const startedAt = new Date();
const write = (complete: boolean) =>
  writeFileSync(
    new URL('./results.json', import.meta.url),
    `${JSON.stringify({ quick, only: only ?? null, complete, node: process.version, at: startedAt.toISOString(), seconds: (Date.now() - startedAt.getTime()) / 1000, budget, results }, null, 2)}\n`,
  );
console.log(`# Iron Cage benchmarks${quick ? ' (quick)' : ''}\n\nNode ${process.version}, ${startedAt.toISOString()}\n`);
for (const suite of SUITES.filter((s) => !only || s.title.toLowerCase().includes(only))) {
  const t0 = performance.now();
  try {
    const rows = await suite.run(quick);
    results[suite.title] = { target: suite.target, seconds: (performance.now() - t0) / 1000, rows };
    console.log(`## ${suite.title}\n\nTarget: ${suite.target}\n\n${markdownTable(rows)}\n`);
  } catch (error) {
    // One broken suite does not cost the others their figures; the run still ends with a failure.
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    results[suite.title] = { target: suite.target, seconds: (performance.now() - t0) / 1000, rows: [], error: message };
    console.log(`## ${suite.title}\n\nFAILED: ${message}\n`);
    process.exitCode = 1;
  }
  write(false);
}
// The budgets of the suites this run ran (all of them, unless --only picked some); a failed suite's are "not measured".
budget = checkBudgets(
  Object.fromEntries(Object.entries(results).map(([title, result]) => [title, result.error ? undefined : result.rows])),
  BUDGETS.filter((b) => b.suite in results),
);
const missed = budget.filter((result) => result.met === false);
console.log(`## Performance budget\n\n${markdownTable(budgetRows(budget))}\n`);
console.log(missed.length === 0 ? 'Every measured budget met.\n' : `${missed.length} budget(s) missed${check ? ' (--check: the run fails)' : ' (run with --check to fail on a miss)'}.\n`);
if (check && missed.length > 0) process.exitCode = 1;
write(true);
const total = (Date.now() - startedAt.getTime()) / 1000;
console.log(`Total: ${total.toFixed(0)} s (${Object.entries(results).map(([title, r]) => `${title.split(' (')[0]}: ${r.seconds.toFixed(0)} s`).join('; ')})`);
