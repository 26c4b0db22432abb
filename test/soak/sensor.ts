/**
 * The soak's sensors: publish frames at a rate over a persistent MQTT session (so a broker restart
 * loses neither its subscription nor results queued for it), and keep the books the soak reports:
 * accepted (the broker's PUBACK came back), delivered (an accepted request got its first answer),
 * duplicates suppressed (answers beyond the first for a request id), and answers by error code.
 */
import { encodeTensor } from '../../codec/index.ts';
import { connectMqtt, seededTensor, type MqttClient } from '../../common/index.ts';
import { Frame, Result, topics } from '../../schemas/index.ts';

export interface SoakBooks {
  accepted: number;
  delivered: number;
  duplicatesSuppressed: number;
  errorsByCode: Record<string, number>;
}

export class SoakSensor {
  readonly #accepted = new Set<string>();
  /** request id -> error code, or '' for a prediction */
  readonly #answers = new Map<string, string>();
  /** request id -> [sent at, budget, answered at] (ms since the epoch), for budgetsMet */
  readonly #timing = new Map<string, [number, number, number?]>();
  readonly #tensors: Uint8Array[];
  #duplicates = 0;
  #sent = 0;
  /** times the connection closed (the broker cut it off, or restarted) */
  #disconnects = 0;
  #client!: MqttClient;

  private constructor(readonly sensorId: string, readonly model: string, shape: number[]) {
    this.#tensors = Array.from({ length: 8 }, (_, i) =>
      Frame.encode(Frame.create({ tensor: encodeTensor({ name: 'input', shape, data: seededTensor(shape, 7, `soak-${i}`) }, 'fp32') })).finish());
  }

  /**
   * Connects as `sensorId` (its account's own client id, docs/security.md "Client ids"); `url` carries
   * the account's login.
   */
  static async connect(url: string, sensorId: string, model: string, shape: number[]): Promise<SoakSensor> {
    const sensor = new SoakSensor(sensorId, model, shape);
    await connectMqtt(url, {
      clientId: sensorId,
      clean: false,
      prepare: (client) => {
        sensor.#client = client;
        client.on('message', (_topic, payload) => sensor.#onResult(payload));
        client.on('close', () => { sensor.#disconnects++; });
        client.on('error', () => undefined); // reconnects by itself; the books show what was lost, if anything
      },
    });
    await sensor.#client.subscribeAsync(topics.results(sensorId), { qos: 1 });
    return sensor;
  }

  /** Sends at `rate` frames/s for `seconds`, each with `budgetMs`; resolves when the last one is handed to the client. */
  async send(rate: number, seconds: number, budgetMs: number): Promise<number> {
    const count = Math.round(rate * seconds);
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const wait = started + (i * 1000) / rate - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      this.#publish(budgetMs);
    }
    return count;
  }

  /** Sends at `rate` frames/s, each with `budgetMs`, while `running()` says so; resolves with the count sent. */
  async sendWhile(rate: number, running: () => boolean, budgetMs: number): Promise<number> {
    const started = performance.now();
    let count = 0;
    while (running()) {
      const wait = started + (count * 1000) / rate - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      if (!running()) break;
      this.#publish(budgetMs);
      count++;
    }
    return count;
  }

  #publish(budgetMs: number): void {
    const requestId = `${this.sensorId}-${this.#sent}`;
    // The tensor field is encoded once; a frame is that plus its own small fields (protobuf concatenates).
    const head = Frame.encode(Frame.create({ request_id: requestId, sensor_id: this.sensorId, model: this.model, budget_ms: budgetMs, capture_at_ms: Date.now() })).finish();
    const payload = Buffer.concat([head, this.#tensors[this.#sent % this.#tensors.length]]);
    this.#sent++;
    this.#timing.set(requestId, [Date.now(), budgetMs]);
    // While the broker is away mqtt.js keeps the publish and sends it again on reconnect.
    this.#client.publish(topics.frames(this.sensorId), payload, { qos: 1 }, (err) => {
      if (!err) this.#accepted.add(requestId);
    });
  }

  #onResult(payload: Buffer): void {
    const result = Result.decode(payload);
    if (this.#answers.has(result.request_id)) {
      this.#duplicates++;
      return;
    }
    this.#answers.set(result.request_id, result.error?.code ?? '');
    const timing = this.#timing.get(result.request_id);
    if (timing) timing[2] = Date.now();
  }

  /** Of the frames sent in [fromMs, toMs) (ms since the epoch): how many, and how many were answered with a prediction within their budget. */
  budgetsMet(fromMs: number, toMs: number): { sent: number; met: number } {
    let sent = 0;
    let met = 0;
    for (const [id, [at, budget, answeredAt]] of this.#timing) {
      if (at < fromMs || at >= toMs) continue;
      sent++;
      if (this.#answers.get(id) === '' && answeredAt !== undefined && answeredAt - at <= budget) met++;
    }
    return { sent, met };
  }

  get sent(): number {
    return this.#sent;
  }

  /** Whether every frame sent before `toMs` (ms since the epoch) was acknowledged and answered. */
  settled(toMs: number): boolean {
    for (const [id, [at]] of this.#timing) {
      if (at < toMs && (!this.#accepted.has(id) || !this.#answers.has(id))) return false;
    }
    return true;
  }

  get disconnects(): number {
    return this.#disconnects;
  }

  /** Accepted requests still without an answer. */
  unanswered(): number {
    let missing = 0;
    for (const id of this.#accepted) if (!this.#answers.has(id)) missing++;
    return missing;
  }

  /** Requests handed to the client whose PUBACK has not come back yet. */
  unacknowledged(): number {
    return this.#sent - this.#accepted.size;
  }

  books(): SoakBooks {
    const errorsByCode: Record<string, number> = {};
    let delivered = 0;
    for (const id of this.#accepted) {
      const code = this.#answers.get(id);
      if (code === undefined) continue;
      delivered++;
      if (code) errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
    }
    return { accepted: this.#accepted.size, delivered, duplicatesSuppressed: this.#duplicates, errorsByCode };
  }

  /**
   * Ends the client and discards its session at the broker (a clean connection replaces it);
   * `force`: at once, dropping what it has not sent or had acknowledged.
   */
  async close(url: string, force = false): Promise<void> {
    await this.#client.endAsync(force);
    const discard = await connectMqtt(url, { clientId: this.sensorId, clean: true });
    await discard.endAsync();
  }
}

export function addBooks(all: SoakBooks[]): SoakBooks {
  const total: SoakBooks = { accepted: 0, delivered: 0, duplicatesSuppressed: 0, errorsByCode: {} };
  for (const books of all) {
    total.accepted += books.accepted;
    total.delivered += books.delivered;
    total.duplicatesSuppressed += books.duplicatesSuppressed;
    for (const [code, n] of Object.entries(books.errorsByCode)) total.errorsByCode[code] = (total.errorsByCode[code] ?? 0) + n;
  }
  return total;
}
