/** startNodeRuntime against an in-process aedes broker (port 0) with the zoo's tiny model. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../../../broker/index.ts';
import { ErrorCodes } from '../../../common/index.ts';
import { startNodeRuntime, type NodeRuntimeOptions } from '../../../node-runtime/index.ts';
import { createMqttTransport } from '../../../transport/index.ts';

const MODEL = 'vgg16-tiny';
const unique = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}`;

let broker: BrokerHandle;
beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await broker?.close();
});

function options(over: Partial<NodeRuntimeOptions> = {}): NodeRuntimeOptions {
  const zoo = inject('zooDir');
  return {
    role: 'worker', nodeId: unique('node'), nodeClass: 'cloud', models: { [MODEL]: join(zoo, `${MODEL}.onnx`) }, modelCacheDir: zoo,
    workDir: join(zoo, unique('work')), memoryBudgetMb: 256, threads: 0, profile: 'rpi4', energyMeter: 'modelled',
    transport: 'mqtt', mqttUrl: broker.url, natsUrl: '', ...over,
  };
}

describe('startNodeRuntime', () => {
  it('loads the models, emulates the profile on one session thread, opens its transport, and closes once', async () => {
    const runtime = await startNodeRuntime(options({ role: 'edge' }));
    expect(runtime.models.names()).toEqual([MODEL]);
    expect(runtime.threads).toBe(1);
    expect(runtime.hardware.emulated).toBe(true);
    expect(runtime.hardware.profile.name).toBe('rpi4');
    expect(runtime.transport.kind).toBe('mqtt');
    const first = runtime.close();
    expect(runtime.close()).toBe(first);
    await first;
    // Its own transport is closed with it.
    await expect(runtime.transport.serve(async () => ({}))).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
  });

  it('leaves a transport it was handed open', async () => {
    const transport = await createMqttTransport({ url: broker.url, clientId: unique('t') });
    try {
      const runtime = await startNodeRuntime(options({ threads: 2, profile: 'host' }), { transport });
      expect(runtime.transport).toBe(transport);
      expect(runtime.threads).toBe(2);
      await runtime.close();
      const serving = await transport.serve(async () => ({}), { models: [MODEL] });
      await serving.close();
    } finally {
      await transport.close();
    }
  });

  it('refuses what it cannot set up with a coded error', async () => {
    // A real meter would measure this machine, not the emulated device.
    await expect(startNodeRuntime(options({ energyMeter: 'rapl' }))).rejects.toMatchObject({ code: ErrorCodes.BAD_ARGS });
    await expect(startNodeRuntime(options({ models: { [MODEL]: join(inject('zooDir'), 'missing.onnx') } })))
      .rejects.toMatchObject({ code: ErrorCodes.FILE_NOT_FOUND });
  });
});
