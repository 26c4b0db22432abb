/**
 * Configurations (one point of the search space) and their stable names. Names are what metrics,
 * summaries and dashboards group by, so they are derived from the configuration alone.
 */
import type { ConfigurationProperties } from '../schemas/index.ts';

export type Configuration = ConfigurationProperties & { name: string; cut: string; codec: string };

export const EDGE_ONLY_CUT = 'output';
export const CLOUD_ONLY_CUT = 'input';

/** "edge-only", "cloud-only/fp32", "split@features.pool3/fp16", plus hardware settings that are set. */
export function configurationName(c: Omit<ConfigurationProperties, 'name'>): string {
  const base = c.cut === EDGE_ONLY_CUT ? 'edge-only' : c.cut === CLOUD_ONLY_CUT ? `cloud-only/${c.codec}` : `split@${c.cut}/${c.codec}`;
  const knobs = [
    c.edge_frequency_mhz ? `${c.edge_frequency_mhz}MHz` : '',
    c.edge_threads ? `${c.edge_threads}t` : '',
    c.edge_accelerator && c.edge_accelerator !== 'none' ? `edge:${c.edge_accelerator}` : '',
    c.cloud_accelerator && c.cut !== EDGE_ONLY_CUT ? `cloud:${c.cloud_accelerator}` : '',
  ].filter(Boolean);
  return knobs.length ? `${base}[${knobs.join(',')}]` : base;
}

export function configuration(c: Omit<ConfigurationProperties, 'name'> & { cut: string }): Configuration {
  const codec = c.cut === EDGE_ONLY_CUT ? '' : (c.codec || 'fp32');
  const full = { ...c, codec };
  return { ...full, name: configurationName(full) };
}
