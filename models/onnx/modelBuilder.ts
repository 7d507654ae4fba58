import { onnx } from 'onnx-proto';

/**
 * A small writer of ONNX models from TypeScript, so training code here can export what
 * onnxruntime-node serves without a Python toolchain. It covers what our models use:
 * float/int64 tensors, nodes with scalar and list attributes, and graph inputs/outputs.
 */

export type ElementType = 'float32' | 'int64' | 'string';

const elementTypeCode: Record<ElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  string: onnx.TensorProto.DataType.STRING,
};

/** A dimension is a fixed size or a symbolic name such as 'batch'. */
export type Dimension = number | string;

export interface ValueSpec {
  name: string;
  type: ElementType;
  shape: Dimension[];
}

export type AttributeValue =
  number | string | number[] | string[] | { ints: number[] } | { floats: number[] };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  /** Operator domain; '' is the default ONNX domain, 'ai.onnx.ml' holds tree ensembles and the like. */
  domain?: string;
  attributes?: Record<string, AttributeValue>;
}

export interface InitializerSpec {
  name: string;
  dims: number[];
  float32?: Float32Array | number[];
  /** Whole numbers; an Int32Array is widened to int64 without a BigInt per value (large index tables). */
  int64?: number[] | Int32Array;
}

export interface ModelSpec {
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: NodeSpec[];
  initializers?: InitializerSpec[];
  graphName?: string;
  /** Free-form key/values stored in the model (version, training data range...). */
  metadata?: Record<string, string>;
  opsetVersion?: number;
  mlOpsetVersion?: number;
}

function valueInfo(spec: ValueSpec): onnx.IValueInfoProto {
  return {
    name: spec.name,
    type: {
      tensorType: {
        elemType: elementTypeCode[spec.type],
        shape: {
          dim: spec.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

function attribute(name: string, value: AttributeValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: Buffer.from(value, 'utf8') };
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { name, type: T.INT, i: value } : { name, type: T.FLOAT, f: value };
  }
  if (Array.isArray(value)) {
    if (value.length > 0 && typeof value[0] === 'string') {
      return { name, type: T.STRINGS, strings: (value as string[]).map((s) => Buffer.from(s, 'utf8')) };
    }
    const numbers = value as number[];
    return numbers.every((v) => Number.isInteger(v))
      ? { name, type: T.INTS, ints: numbers }
      : { name, type: T.FLOATS, floats: numbers };
  }
  // Explicit forms: a list of whole numbers that must still be stored as floats (or the reverse).
  if ('ints' in value) return { name, type: T.INTS, ints: value.ints };
  return { name, type: T.FLOATS, floats: value.floats };
}

/** Little-endian int64 bytes: each value's low word, then its sign extension as the high word. */
function toInt64(values: number[] | Int32Array): Uint8Array {
  if (!(values instanceof Int32Array)) {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  const words = new Int32Array(values.length * 2);
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    words[2 * i] = value;
    words[2 * i + 1] = value < 0 ? -1 : 0;
  }
  return new Uint8Array(words.buffer);
}

function initializer(spec: InitializerSpec): onnx.ITensorProto {
  const size = spec.dims.reduce((a, b) => a * b, 1);
  if (spec.float32) {
    if (spec.float32.length !== size)
      throw new Error(
        `initializer ${spec.name}: ${spec.float32.length} values for dims ${spec.dims.join('x')}`,
      );
    const data = spec.float32 instanceof Float32Array ? spec.float32 : Float32Array.from(spec.float32);
    // raw_data keeps large weight matrices compact and fast to parse.
    return {
      name: spec.name,
      dims: spec.dims,
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  }
  if (spec.int64) {
    if (spec.int64.length !== size)
      throw new Error(
        `initializer ${spec.name}: ${spec.int64.length} values for dims ${spec.dims.join('x')}`,
      );
    const data = toInt64(spec.int64);
    return {
      name: spec.name,
      dims: spec.dims,
      dataType: onnx.TensorProto.DataType.INT64,
      rawData: data,
    };
  }
  throw new Error(`initializer ${spec.name} has no data`);
}

/** Serialises a model description to ONNX protobuf bytes. */
export function buildModel(spec: ModelSpec): Uint8Array {
  const usesMl = spec.nodes.some((n) => n.domain === 'ai.onnx.ml');
  const opsetImport: onnx.IOperatorSetIdProto[] = [{ domain: '', version: spec.opsetVersion ?? 17 }];
  if (usesMl) opsetImport.push({ domain: 'ai.onnx.ml', version: spec.mlOpsetVersion ?? 3 });
  const model: onnx.IModelProto = {
    irVersion: 8,
    producerName: 'nextoffer',
    producerVersion: '1',
    opsetImport,
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: spec.graphName ?? 'graph',
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
      initializer: (spec.initializers ?? []).map(initializer),
      node: spec.nodes.map((n, index) => ({
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        name: n.name ?? `${n.op}_${index}`,
        domain: n.domain ?? '',
        attribute: Object.entries(n.attributes ?? {}).map(([k, v]) => attribute(k, v)),
      })),
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(model)).finish();
}
