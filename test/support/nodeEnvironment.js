// onnxruntime-node builds output tensors with the host realm's typed arrays and then checks them with
// `instanceof` in the test realm; jest gives each test file its own realm, so share the typed arrays.
const { TestEnvironment } = require('jest-environment-node');

const sharedTypedArrays = [
  'ArrayBuffer',
  'Float32Array',
  'Float64Array',
  'Int8Array',
  'Int16Array',
  'Int32Array',
  'BigInt64Array',
  'Uint8Array',
  'Uint16Array',
  'Uint32Array',
  'BigUint64Array',
  'Uint8ClampedArray',
];

class SharedTypedArrayEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of sharedTypedArrays) this.global[name] = globalThis[name];
  }
}

module.exports = SharedTypedArrayEnvironment;
