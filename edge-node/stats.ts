/** Counters of an edge node, for logs, tests and (later) metrics. */
import type { ResultProperties } from '../schemas/index.ts';
import type { PolicyStoreStats } from './policy-store.ts';

export class EdgeStats {
  frames = 0;
  results = 0;
  fallbacks = 0;
  duplicates = 0;
  readonly errors: Record<string, number> = {};
  readonly fallbackCauses: Record<string, number> = {};
  readonly configurations: Record<string, number> = {};

  frame(): void {
    this.frames++;
  }

  duplicate(): void {
    this.duplicates++;
  }

  error(code: string): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }

  result(result: ResultProperties, fallbackCode?: string): void {
    this.results++;
    const name = result.configuration?.name ?? '?';
    this.configurations[name] = (this.configurations[name] ?? 0) + 1;
    if (result.edge_fallback) {
      this.fallbacks++;
      if (fallbackCode) this.fallbackCauses[fallbackCode] = (this.fallbackCauses[fallbackCode] ?? 0) + 1;
    }
  }

  snapshot(policies: PolicyStoreStats) {
    return {
      frames: this.frames,
      results: this.results,
      errors: { ...this.errors },
      fallbacks: this.fallbacks,
      fallbackCauses: { ...this.fallbackCauses },
      duplicates: this.duplicates,
      configurations: { ...this.configurations },
      policies,
    };
  }
}
