#!/usr/bin/env -S node --initial-heap-size=64 --heap-growing-percent=100 --single-threaded-gc
// The `dynasplit` command. Its V8 flags, which NODE_OPTIONS refuses (`node bin/dynasplit.js` needs
// them given; local-servers/processes.ts NODE_FLAGS lists them, docs/performance.md measures them):
// --initial-heap-size=64 starts the old generation at 64 MB, so the buffers large tensors pass
// through do not set off a full garbage collection every few requests; --heap-growing-percent=100
// lets it grow to twice what a full collection keeps, and --single-threaded-gc collects on the main
// thread alone, so a node with a thousand connections on a small shared host does not stall in
// collections every half second or wait on helper threads the other processes hold off the cores.
// Sources are TypeScript run through tsx's loader, so the command works
// straight after `npm ci` with no build step. tsx's register() loads in this process (a loader
// thread), not in a child: a signal to this process reaches the command.
import { clearInterval, setInterval } from 'node:timers';
import { register } from 'tsx/esm/api';

stopWhenOrphaned();
register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));

/**
 * `npx dynasplit ...` runs this under `npm exec` and `sh -c`: a SIGTERM to npx ends npm and the shell
 * but is not passed on, which would leave this process serving under PID 1 (or a subreaper). The
 * launcher going away is taken as the signal it did not forward: the command stops as on SIGTERM.
 * Started by PID 1 itself (systemd, a container's init), there is no launcher to watch; with
 * DYNASPLIT_DETACHED=1 (`nohup ... &` from a shell that then exits) it is not watched either.
 */
function stopWhenOrphaned() {
  const launcher = process.ppid;
  if (launcher <= 1 || process.env.DYNASPLIT_DETACHED === '1') return;
  const watch = setInterval(() => {
    if (process.ppid === launcher) return;
    clearInterval(watch);
    process.kill(process.pid, 'SIGTERM');
  }, 250); // ms: a quarter second from the launcher's exit to the stop
  watch.unref(); // a finished command exits without waiting for it
}
