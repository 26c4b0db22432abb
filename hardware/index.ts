/**
 * The hardware library: device profiles and their knobs, emulated compute time (time dilation), host
 * calibration, CPU frequency control (cpufreq sysfs or emulated) and energy meters (RAPL, an MQTT
 * smart plug, or modelled from a profile). Every figure says whether it is measured, emulated or
 * modelled (docs/hardware.md).
 */
export { profileKnobs, resolveAccelerator, resolveCloudMode, validConfiguration, NO_ACCELERATOR } from './profile.ts';
export { listProfiles, loadProfile } from './profile-load.ts';
export type {
  AcceleratorMode, AcceleratorSpec, CloudMode, CpuSpec, DeviceKind, DeviceProfile, PartPlacement, ProfileKnobs, Validity,
} from './profile.ts';
export { validateProfile } from './profile-validate.ts';
export {
  amdahlSpeedup, cpuGflops, deviceComputeMs, deviceGflops, dilation, emulatedComputeMs, emulationDelayMs, hostGflops, predictedComputeMs,
} from './emulation.ts';
export type { DeviceSetting, DilationSetting } from './emulation.ts';
export { calibrateHost, amdahlFraction, DEFAULT_CALIBRATION_MS } from './calibrate.ts';
export type { CalibrateOptions } from './calibrate.ts';
export { createFrequencyController } from './frequency-factory.ts';
export type { FrequencyController, FrequencyControllerOptions } from './frequency.ts';
export { createSysfsFrequencyController, DEFAULT_SYSFS_ROOT } from './sysfs-frequency.ts';
export type { SysfsFrequencyOptions } from './sysfs-frequency.ts';
export { createEmulatedFrequencyController } from './emulated-frequency.ts';
export { shareOf } from './energy.ts';
export type { EnergyMark, EnergyMeter, EnergyMeterKind, EnergyReading, FigureSource, Usage } from './energy.ts';
export { createEnergyMeter } from './energy-factory.ts';
export { createRaplMeter, counterDelta, DEFAULT_POWERCAP_ROOT } from './rapl-meter.ts';
export type { RaplMeterOptions } from './rapl-meter.ts';
export { createMqttPowerMeter, DEFAULT_SAMPLE_PERIOD_MS } from './mqtt-power-meter.ts';
export type { MqttPowerMeter, MqttPowerMeterOptions } from './mqtt-power-meter.ts';
export { PowerSeries, parsePowerPayload } from './power-series.ts';
export type { PowerSample } from './power-series.ts';
export { activePowerW, createModelledMeter, idlePowerW, modelledJoules } from './modelled-meter.ts';
export type { ModelledMeterOptions } from './modelled-meter.ts';
export { startNodeHardware, processHost, profileByName, HOST_PROFILE } from './node-hardware.ts';
export type { NodeHardware, NodeHardwareOptions } from './node-hardware.ts';
