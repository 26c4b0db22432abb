/**
 * Generates the tiny zoo models once per test run into a temporary directory shared by all test
 * files (`inject('zooDir')`), and removes it afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { generateModel } from '../model/zoo/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    zooDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'dynasplit-zoo-'));
  for (const name of ['vgg16-tiny', 'vit-tiny']) await generateModel(name, dir);
  project.provide('zooDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
