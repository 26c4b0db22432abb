/** Picks an EnergyMeter implementation by kind; each kind takes its own options. */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import type { EnergyMeter, EnergyMeterKind } from './energy.ts';
import { createModelledMeter, type ModelledMeterOptions } from './modelled-meter.ts';
import { createMqttPowerMeter, type MqttPowerMeterOptions } from './mqtt-power-meter.ts';
import { createRaplMeter, type RaplMeterOptions } from './rapl-meter.ts';

export function createEnergyMeter(kind: 'rapl', options?: RaplMeterOptions): Promise<EnergyMeter>;
export function createEnergyMeter(kind: 'mqtt', options: MqttPowerMeterOptions): Promise<EnergyMeter>;
export function createEnergyMeter(kind: 'modelled', options: ModelledMeterOptions): Promise<EnergyMeter>;
export function createEnergyMeter(kind: EnergyMeterKind, options?: RaplMeterOptions | MqttPowerMeterOptions | ModelledMeterOptions): Promise<EnergyMeter>;
/**
 * 'rapl': RAPL powercap counters (measured; throws now if unreadable); 'mqtt': a smart plug over
 * MQTT (measured); 'modelled': a device profile's power figures (modelled).
 */
export async function createEnergyMeter(
  kind: EnergyMeterKind,
  options?: RaplMeterOptions | MqttPowerMeterOptions | ModelledMeterOptions,
): Promise<EnergyMeter> {
  switch (kind) {
    case 'rapl':
      return createRaplMeter((options ?? {}) as RaplMeterOptions);
    case 'mqtt':
      return createMqttPowerMeter(required(kind, options, 'url') as MqttPowerMeterOptions);
    case 'modelled':
      return createModelledMeter(required(kind, options, 'profile') as ModelledMeterOptions);
    default:
      throw new DynasplitError(ErrorCodes.BAD_ARGS, `unknown energy meter '${String(kind)}' (rapl, mqtt, modelled)`);
  }
}

function required(kind: string, options: object | undefined, key: string): object {
  if (!options || !(key in options)) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `energy meter '${kind}' needs options.${key}`);
  }
  return options;
}
