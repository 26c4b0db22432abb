/**
 * Whether `work` resolves within `ms`: true when it does, false when the time runs out first (the
 * work goes on; nothing waits for it any more); a rejection of `work` in time rejects. The timer
 * is cleared either way, so it never keeps a stopping process alive.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work.then(() => true), new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}
