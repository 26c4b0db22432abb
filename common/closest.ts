/** "Did you mean": the candidate nearest a misspelled word (commands, options, zoo model names). */

/** The candidate nearest to `word` (Levenshtein distance up to 2), if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  return candidates.map((c) => ({ c, d: editDistance(word, c) })).filter(({ d }) => d <= 2).sort((a, b) => a.d - b.d)[0]?.c;
}

/** Insertions, deletions and substitutions, one each. */
export function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}
