import { describe, expect, it } from 'vitest';
import { checkMqttUrl, connectMqtt, ErrorCodes } from '../../../common/index.ts';

describe('checkMqttUrl', () => {
  it('accepts MQTT URLs of every scheme MQTT.js connects with', () => {
    for (const url of ['mqtt://127.0.0.1:1883', 'mqtts://broker.example:8883', 'ws://localhost:9001/mqtt', 'wss://b:443', 'tcp://h:1', 'mqtt://u:p@h:1883']) {
      expect(checkMqttUrl(url)).toBe(url);
    }
  });

  it('refuses a host:port without a scheme with BAD_ARGS and the URL it probably meant', () => {
    expect(() => checkMqttUrl('localhost:1883', '--mqtt')).toThrow(expect.objectContaining({
      code: ErrorCodes.BAD_ARGS,
      message: expect.stringMatching(/^--mqtt must be a URL with a scheme.*got 'localhost:1883' \(did you mean mqtt:\/\/localhost:1883\?\)$/),
    }));
    expect(() => checkMqttUrl('broker')).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_ARGS, message: expect.stringContaining('mqtt://broker') }));
    expect(() => checkMqttUrl('http://h:1883')).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_ARGS }));
  });

  it('keeps a password out of the message', () => {
    expect(() => checkMqttUrl('http://user:secret@h:1')).toThrow(expect.objectContaining({ message: expect.not.stringContaining('secret') }));
  });

  it('is applied by connectMqtt before any connection attempt', async () => {
    await expect(connectMqtt('localhost:1883', { clientId: 't' })).rejects.toMatchObject({ code: ErrorCodes.BAD_ARGS });
  });
});
