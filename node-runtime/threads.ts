/** How many intra-op threads a node's onnxruntime sessions run with. Pure. */
import { HOST_PROFILE } from '../hardware/index.ts';

export interface ThreadOptions {
  /** Threads asked for; 0 = not asked (onnxruntime's choice, or the emulation rule below). */
  threads: number;
  /** Device profile the node runs as; 'host' = this machine, measured. */
  profile: string;
}

/**
 * Session threads of a node: the ones asked for; otherwise one when the node emulates a device,
 * else 0 (onnxruntime's choice). An emulating node's device threads are modelled in the dilation,
 * and one host thread keeps its sessions from contending for cores (jitter the dilation would amplify).
 */
export function sessionThreads(options: ThreadOptions): number {
  if (options.threads) return options.threads;
  return options.profile === HOST_PROFILE ? 0 : 1;
}
