/**
 * Counting a sensor's answers, so a test injects its fault after N answers rather than after N ms
 * (a slow machine answers fewer requests in a second; an answer count means the same run-to-run).
 */
export interface AnswerCounter {
  /** Hand to runSensor's deps. */
  onProgress(sent: number, answered: number, total: number): void;
  /** Answers so far. */
  answered(): number;
  /** Resolves once `count` answers have come in (at once if they have). */
  after(count: number): Promise<void>;
}

export function answerCounter(): AnswerCounter {
  let answered = 0;
  const waiting: { count: number; resolve: () => void }[] = [];
  const wake = (): void => {
    for (let i = waiting.length - 1; i >= 0; i--) {
      if (answered >= waiting[i].count) waiting.splice(i, 1)[0].resolve();
    }
  };
  return {
    onProgress: (_sent, count) => {
      answered = count;
      wake();
    },
    answered: () => answered,
    after: (count) => new Promise<void>((resolve) => {
      waiting.push({ count, resolve });
      wake();
    }),
  };
}
