import { buildModel, NodeSpec } from '../onnx/modelBuilder';
import { MODEL_INPUT_INDICES, MODEL_INPUT_WEIGHTS, MODEL_OUTPUT_SCORES } from '../../shared/affinity/bundle';
import { Weighting } from './ease';

/**
 * The affinity scorer as an ONNX graph: gather the item matrix's rows of the history's items, take
 * their weighted sum (one batched MatMul), so the cost per user is history × catalog rather than
 * catalog². Any item × item model scored as history · matrix fits it (EASE, its blend with RP3beta).
 *
 *   item_indices [batch, history] ─Gather(M)→ [batch, history, items]
 *   item_weights [batch, history] ─weighting→ Unsqueeze → [batch, 1, history]
 *   MatMul → [batch, 1, items] ─Squeeze→ scores [batch, items]
 *
 * The weighting (binary, raw or log1p) lives in the graph, so callers always pass raw summed weights.
 */
export function exportItemMatrixToOnnx(
  weights: Float32Array,
  itemCount: number,
  weighting: Weighting,
  metadata: Record<string, string>,
): Uint8Array {
  const weightingNodes: NodeSpec[] =
    weighting === 'binary'
      ? [{ op: 'Sign', inputs: [MODEL_INPUT_WEIGHTS], outputs: ['history_values'] }]
      : weighting === 'log1p'
        ? [
            { op: 'Add', inputs: [MODEL_INPUT_WEIGHTS, 'one'], outputs: ['weights_plus_one'] },
            { op: 'Log', inputs: ['weights_plus_one'], outputs: ['history_values'] },
          ]
        : [{ op: 'Identity', inputs: [MODEL_INPUT_WEIGHTS], outputs: ['history_values'] }];
  return buildModel({
    graphName: 'affinity_item_matrix',
    inputs: [
      { name: MODEL_INPUT_INDICES, type: 'int64', shape: ['batch', 'history'] },
      { name: MODEL_INPUT_WEIGHTS, type: 'float32', shape: ['batch', 'history'] },
    ],
    outputs: [{ name: MODEL_OUTPUT_SCORES, type: 'float32', shape: ['batch', itemCount] }],
    initializers: [
      { name: 'item_weights_matrix', dims: [itemCount, itemCount], float32: weights },
      ...(weighting === 'log1p' ? [{ name: 'one', dims: [1], float32: [1] }] : []),
      { name: 'axis_one', dims: [1], int64: [1] },
    ],
    nodes: [
      ...weightingNodes,
      { op: 'Unsqueeze', inputs: ['history_values', 'axis_one'], outputs: ['history_row'] },
      {
        op: 'Gather',
        inputs: ['item_weights_matrix', MODEL_INPUT_INDICES],
        outputs: ['history_item_rows'],
        attributes: { axis: 0 },
      },
      { op: 'MatMul', inputs: ['history_row', 'history_item_rows'], outputs: ['scores_row'] },
      { op: 'Squeeze', inputs: ['scores_row', 'axis_one'], outputs: [MODEL_OUTPUT_SCORES] },
    ],
    metadata,
  });
}
