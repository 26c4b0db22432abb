/**
 * The stored tensors of an ONNX file, read straight from the protobuf wire format (protobuf
 * encoding spec: varint keys, field number << 3 | wire type), without the project's ONNX decoder:
 * an independent count to hold inspect's against. Field numbers from onnx.proto: ModelProto.graph 7;
 * GraphProto.node 1, initializer 5; NodeProto.op_type 4, attribute 5; AttributeProto.name 1, t 5;
 * TensorProto.dims 1, data_type 2, raw_data 9 and the typed data fields 4-7, 10, 11.
 */

export interface WireTensor {
  /** 'initializer' or the Constant node's 'value' attribute. */
  storage: 'initializer' | 'Constant';
  dims: number[];
  /** TensorProto.DataType: 1 FLOAT, 6 INT32, 7 INT64, 9 BOOL, ... */
  dataType: number;
  /** Bytes of its data as stored (raw_data or the typed field's payload). */
  dataBytes: number;
}

interface Field { no: number; wire: number; varint: number; bytes: Uint8Array }

/** Varints from `p` on, each read from where the last one ended. */
class Cursor {
  constructor(readonly buf: Uint8Array, public p = 0) {}

  varint(): number {
    let v = 0;
    let m = 1;
    let b: number;
    do {
      b = this.buf[this.p++];
      v += (b & 0x7f) * m;
      m *= 128;
    } while (b & 0x80);
    return v;
  }
}

function* fields(buf: Uint8Array): Generator<Field> {
  const at = new Cursor(buf);
  const empty = new Uint8Array(0);
  while (at.p < buf.length) {
    const key = at.varint();
    const no = Math.floor(key / 8);
    const wire = key % 8;
    const length = wire === 2 ? at.varint() : wire === 1 ? 8 : wire === 5 ? 4 : 0;
    if (wire === 0) yield { no, wire, varint: at.varint(), bytes: empty };
    else if (length > 0 || wire === 2) {
      yield { no, wire, varint: 0, bytes: buf.subarray(at.p, at.p + length) };
      at.p += length;
    } else throw new Error(`protobuf wire type ${wire} at byte ${at.p}`);
  }
}

const ofField = (buf: Uint8Array, no: number) => [...fields(buf)].filter((f) => f.no === no);
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

/** Repeated int64 dims, packed (wire type 2) or not. */
function dimsOf(tensor: Uint8Array): number[] {
  const dims: number[] = [];
  for (const f of ofField(tensor, 1)) {
    if (f.wire === 0) dims.push(f.varint);
    else for (const at = new Cursor(f.bytes); at.p < f.bytes.length;) dims.push(at.varint());
  }
  return dims;
}

function tensorOf(bytes: Uint8Array, storage: WireTensor['storage']): WireTensor {
  const dataType = ofField(bytes, 2)[0]?.varint ?? 0;
  const dataBytes = [...fields(bytes)].filter((f) => [4, 5, 6, 7, 9, 10, 11].includes(f.no)).reduce((s, f) => s + f.bytes.length, 0);
  return { storage, dims: dimsOf(bytes), dataType, dataBytes };
}

/** Every initializer and every Constant node's tensor value of the model's main graph. */
export function storedTensorsOnWire(model: Uint8Array): WireTensor[] {
  const graph = ofField(model, 7)[0]?.bytes ?? new Uint8Array(0);
  const stored = ofField(graph, 5).map((f) => tensorOf(f.bytes, 'initializer'));
  for (const { bytes: node } of ofField(graph, 1)) {
    if (text(ofField(node, 4)[0]?.bytes ?? new Uint8Array(0)) !== 'Constant') continue;
    for (const { bytes: attr } of ofField(node, 5)) {
      const value = ofField(attr, 5)[0];
      if (text(ofField(attr, 1)[0].bytes) === 'value' && value) stored.push(tensorOf(value.bytes, 'Constant'));
    }
  }
  return stored;
}
