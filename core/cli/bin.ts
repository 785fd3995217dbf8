#!/usr/bin/env node
// The `iron` executable: checks the Node.js version before anything else loads, then runs the CLI.
// Kept free of static imports and of syntax newer than Node 12's: it has to run on the old Node it refuses.

/** The oldest Node.js Iron Cage runs on (package.json `engines.node`). */
const MINIMUM = [22, 17];
/** sysexits' EX_CONFIG: the CLI's code for a configuration or start-up problem. */
const EXIT_CONFIG = 78;

const parts = process.versions.node.split('.').map(Number);
const tooOld = parts[0] < MINIMUM[0] || (parts[0] === MINIMUM[0] && parts[1] < MINIMUM[1]);

if (tooOld) {
  process.stderr.write(
    `iron: Node.js ${MINIMUM.join('.')} or newer is needed; this is Node.js ${process.versions.node} (${process.execPath}).\n` +
      '  Install Node.js 24 LTS (https://nodejs.org, or `nvm install 24`) and run iron with it.\n' +
      '  In a checkout of Iron Cage, npm scripts already run on the Node 24 it pins: `npm run iron -- …`.\n',
  );
  process.exitCode = EXIT_CONFIG;
} else {
  // Secrets leave the environment block agents could read (/proc/<pid>/environ) before anything else runs.
  const { scrubEnvironment } = await import('./secret-env.ts');
  scrubEnvironment();
  await import('./main.ts');
}
