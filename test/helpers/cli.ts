/** Runs the `dynasplit` command in this process, as tests do: what it printed and its exit code. */
import { main, type Io } from '../../cli/index.ts';

export async function runCli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, isTTY: false };
  const code = await main(argv, io);
  return { code, out, err };
}
