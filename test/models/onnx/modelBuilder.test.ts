import { InferenceSession, Tensor } from 'onnxruntime-node';
import { buildModel } from '../../../models/onnx/modelBuilder';

describe('buildModel', () => {
  it('writes a MatMul + Add model that onnxruntime-node runs', async () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', type: 'float32', shape: ['batch', 2] }],
      outputs: [{ name: 'y', type: 'float32', shape: ['batch', 3] }],
      initializers: [
        { name: 'W', dims: [2, 3], float32: [1, 2, 3, 4, 5, 6] },
        { name: 'b', dims: [3], float32: [0.5, 0, -1] },
      ],
      nodes: [
        { op: 'MatMul', inputs: ['x', 'W'], outputs: ['xw'] },
        { op: 'Add', inputs: ['xw', 'b'], outputs: ['y'] },
      ],
      metadata: { version: 'test' },
    });
    const session = await InferenceSession.create(bytes);
    const out = await session.run({ x: new Tensor('float32', Float32Array.from([1, 1, 0, 2]), [2, 2]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([5.5, 7, 8, 8.5, 10, 11]);
  });

  it('writes an ai.onnx.ml tree ensemble with list attributes', async () => {
    // One stump: x0 <= 0.5 → leaf 0 (weight 1), else leaf 1 (weight 3).
    const bytes = buildModel({
      inputs: [{ name: 'x', type: 'float32', shape: ['batch', 1] }],
      outputs: [{ name: 'y', type: 'float32', shape: ['batch', 1] }],
      nodes: [
        {
          op: 'TreeEnsembleRegressor',
          domain: 'ai.onnx.ml',
          inputs: ['x'],
          outputs: ['y'],
          attributes: {
            n_targets: 1,
            nodes_treeids: [0, 0, 0],
            nodes_nodeids: [0, 1, 2],
            nodes_featureids: [0, 0, 0],
            nodes_values: { floats: [0.5, 0, 0] },
            nodes_modes: ['BRANCH_LEQ', 'LEAF', 'LEAF'],
            nodes_truenodeids: [1, 0, 0],
            nodes_falsenodeids: [2, 0, 0],
            target_treeids: [0, 0],
            target_nodeids: [1, 2],
            target_ids: [0, 0],
            target_weights: { floats: [1, 3] },
          },
        },
      ],
    });
    const session = await InferenceSession.create(bytes);
    const out = await session.run({ x: new Tensor('float32', Float32Array.from([0.2, 0.9]), [2, 1]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([1, 3]);
  });

  it('writes int64 initializers from an Int32Array exactly as from plain numbers, negatives included', async () => {
    const values = [5, -3, 0, 2147483647, -2147483648];
    const spec = (int64: number[] | Int32Array) =>
      buildModel({
        inputs: [{ name: 'x', type: 'int64', shape: [1] }],
        outputs: [{ name: 'y', type: 'int64', shape: [values.length] }],
        initializers: [{ name: 'table', dims: [values.length], int64 }],
        nodes: [{ op: 'Add', inputs: ['table', 'x'], outputs: ['y'] }],
      });
    const fromTyped = spec(Int32Array.from(values));
    expect(Buffer.from(fromTyped).equals(Buffer.from(spec(values)))).toBe(true);
    const session = await InferenceSession.create(fromTyped);
    const out = await session.run({ x: new Tensor('int64', BigInt64Array.from([0n]), [1]) });
    expect(Array.from(out.y!.data as BigInt64Array, Number)).toEqual(values);
    await session.release();
  });
});
