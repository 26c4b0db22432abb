/** What a broker answers a SUBSCRIBE with, for tests of who may subscribe to what. */
import type { MqttClient } from '../../common/index.ts';

/** The SUBACK return code for one filter: the granted QoS, or 0x80 (mqtt.js rejects on it). */
export async function granted(client: MqttClient, filter: string): Promise<number | undefined> {
  try {
    return (await client.subscribeAsync(filter, { qos: 1 }))[0]?.qos;
  } catch (err) {
    const packet = (err as { packet?: { granted?: number[] } }).packet;
    if (packet?.granted) return packet.granted[0];
    throw err;
  }
}
