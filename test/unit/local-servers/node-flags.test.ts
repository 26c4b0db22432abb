import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_FLAGS } from '../../../local-servers/index.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The node flags of a command line: the words from `node` up to the script. */
function flagsOf(command: string): string[] {
  const words = command.trim().split(/\s+/);
  const node = words.findIndex((w) => w === 'node' || w.endsWith('/node'));
  const flags: string[] = [];
  for (const word of words.slice(node + 1)) {
    if (!word.startsWith('--') || word === '--import') break;
    flags.push(word);
  }
  return flags;
}

describe('the V8 flags every dynasplit process starts with', () => {
  it('are the same in the shebang, the deploy kit\'s units, the npm scripts and the spawned nodes', () => {
    const shebang = read('bin/dynasplit.js').split('\n')[0];
    expect(shebang.startsWith('#!/usr/bin/env -S node ')).toBe(true);
    expect(flagsOf(shebang.slice('#!/usr/bin/env -S '.length))).toEqual(NODE_FLAGS);

    const units = readdirSync(join(ROOT, 'deploy', 'systemd')).filter((f) => f.endsWith('.service'));
    expect(units.length).toBeGreaterThan(0);
    for (const unit of units) {
      const exec = read(join('deploy', 'systemd', unit)).split('\n').find((l) => l.startsWith('ExecStart='));
      expect(exec, unit).toBeDefined();
      expect(flagsOf(exec!.slice('ExecStart='.length)), unit).toEqual(NODE_FLAGS);
    }

    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    for (const name of ['start', 'bench']) expect(flagsOf(scripts[name]), name).toEqual(NODE_FLAGS);
  });

  it('are flags this node takes: a misspelt one would stop every node at start (`bad option`, exit 9)', () => {
    const run = spawnSync(process.execPath, [...NODE_FLAGS, '-e', 'process.stdout.write("ok")'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('ok');
  });
});
