/** Talking to the pipeline from outside: publish a Frame, await its Result by request id. Library. */
export { connectFrameClient } from './frame-client.ts';
export type { Answer, FrameClient, FrameClientOptions, FrameClientStats, Sent } from './frame-client.ts';
export { servingEdge, waitForEdge } from './edge-wait.ts';
export type { ServingEdge } from './edge-wait.ts';
