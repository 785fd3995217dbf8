// `iron scan` as a user runs it, a real process: PERSON findings when the config or a flag asks for names, and a
// note on stderr when a bounded recognizer did not search a whole text.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const cli = new URL('./main.ts', import.meta.url).pathname;
const TEXT = 'Please draft a reply to Maria Garcia about her order, and copy jane.doe@example.org.';

/** Runs `iron scan …` in `cwd` with `input` on stdin. */
function scan(args: string[], cwd: string, input: string): Promise<{ code: number; lines: Array<Record<string, unknown>>; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [cli, 'scan', ...args], { cwd, env: { PATH: process.env.PATH ?? '' }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const lines = stdout.trim() === '' ? [] : stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, lines, stderr });
    });
    child.stdin!.end(input);
  });
}

function folder(config?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'iron-scan-person-'));
  if (config !== undefined) writeFileSync(join(dir, 'iron.config.yaml'), config);
  return dir;
}

describe('iron scan and the config', () => {
  it('says when the config it reads leaves safety off, since iron run with it would redact nothing of what it finds', async () => {
    const off = await scan(['-'], folder('safety: false\n'), TEXT);
    expect(off.stderr).toBe("iron scan: iron.config.yaml says safety: false, so `iron run` with it redacts nothing: these findings use the detector's defaults (add a safety: section to turn it on)\n");
    expect(off.lines.map((line) => line.type)).toEqual(['EMAIL_ADDRESS']);
    expect((await scan(['-'], folder('budget: { limit: 5 }\n'), TEXT)).stderr).toContain('iron.config.yaml has no safety section, so `iron run` with it redacts nothing');
    expect((await scan(['-'], folder('safety: {}\n'), TEXT)).stderr).toBe('');
    expect((await scan(['-'], folder(), TEXT)).stderr).toBe('');
  });

  it('says when the safety section lets every value through or leaves a type unreachable (outside review 11)', async () => {
    const all = await scan(['-'], folder("safety:\n  allow: ['/.*/']\n"), TEXT);
    expect(all.stderr).toContain('iron scan: safety.allow[0] ("/.*/") lets every value through');
    expect(all.lines).toEqual([]);
    expect((await scan(['-'], folder('safety:\n  minScore: 1\n'), TEXT)).stderr).toContain('iron scan: safety.minScore 1 is above what EMAIL_ADDRESS scores even for a clear value');
  });
});

describe('iron scan: PERSON', () => {
  it('reports names when the config in the working directory turns PERSON on', async () => {
    const result = await scan(['-', '--show-values'], folder('safety:\n  entities:\n    PERSON: pseudonymize\n'), TEXT);
    expect(result.code).toBe(0);
    expect(result.lines).toEqual([
      { type: 'PERSON', start: 24, end: 36, score: 0.85, line: 1, column: 25, value: 'Maria Garcia' },
      { type: 'EMAIL_ADDRESS', start: 63, end: 83, score: 0.95, line: 1, column: 64, value: 'jane.doe@example.org' },
    ]);
  });

  it('reports only names with -e PERSON, and none without it or a config (names are opt-in)', async () => {
    const dir = folder();
    expect((await scan(['-', '-e', 'PERSON'], dir, TEXT)).lines).toEqual([{ type: 'PERSON', start: 24, end: 36, score: 0.85, line: 1, column: 25 }]);
    expect((await scan(['-', '--person', '-e', 'person'], dir, TEXT)).lines.map((line) => line.type)).toEqual(['PERSON']);
    expect((await scan(['-'], dir, TEXT)).lines.map((line) => line.type)).toEqual(['EMAIL_ADDRESS']);
  });

  it('says on stderr, once, when names were searched in part of a long text only', async () => {
    const dir = folder('safety:\n  entities:\n    PERSON: detect\n  person:\n    maxChars: 2000\n');
    const text = `${TEXT}\n${'The quarterly report compares revenue with last year. '.repeat(100)}\nThen Maria Garcia signed.`;
    const result = await scan(['-'], dir, text);
    expect(result.lines.map((line) => [line.type, line.line])).toEqual([
      ['PERSON', 1],
      ['EMAIL_ADDRESS', 1],
    ]);
    expect(result.stderr).toMatch(new RegExp(`^iron scan: PERSON: names were searched in the first \\d+ of ${text.length} characters only`));
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('iron scan: custom recognizers', () => {
  it('reports the rest of a text a slow pattern could not search as one finding, and says so', async () => {
    // (Its lookahead keeps it on V8's engine, where it backtracks quadratically over a long word; start-up says what it misses.)
    const dir = folder("safety:\n  recognizers:\n    - type: CORP_USER\n      pattern: '\\w+@(?=corp)'\n      timeBudgetMs: 20\n");
    const text = `mail jane.doe@example.org ${'a'.repeat(300_000)}`;
    const result = await scan(['-', '-e', 'CORP_USER'], dir, text);
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatchObject({ type: 'CORP_USER', end: text.length, score: 1, line: 1 });
    expect(result.stderr).toMatch(new RegExp(`^iron scan: CORP_USER: its pattern ran out of its 20 ms after \\d+ of ${text.length} characters`, 'm'));
    expect(result.stderr).toMatch(/safety\.recognizers\[0\] \(CORP_USER\) can match without bound and then needs more after it, but has a lookahead or a backreference/);
  });
});
