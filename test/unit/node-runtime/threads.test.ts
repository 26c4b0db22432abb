import { describe, expect, it } from 'vitest';
import { sessionThreads } from '../../../node-runtime/index.ts';

describe('sessionThreads', () => {
  it('keeps the threads asked for, on the host and when emulating', () => {
    expect(sessionThreads({ threads: 3, profile: 'host' })).toBe(3);
    expect(sessionThreads({ threads: 3, profile: 'rpi4' })).toBe(3);
  });

  it('runs an emulating node on one thread, and leaves the host to onnxruntime, when none are asked for', () => {
    expect(sessionThreads({ threads: 0, profile: 'rpi4' })).toBe(1);
    expect(sessionThreads({ threads: 0, profile: 'gpu-server' })).toBe(1);
    expect(sessionThreads({ threads: 0, profile: 'host' })).toBe(0);
  });

  it('is a function of the options: they are read, not changed', () => {
    const options = Object.freeze({ threads: 0, profile: 'jetson-nano' });
    expect(sessionThreads(options)).toBe(1);
    expect(options.threads).toBe(0);
  });
});
