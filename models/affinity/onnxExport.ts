import { buildModel, NodeSpec } from '../onnx/modelBuilder';
import { MODEL_INPUT_INDICES, MODEL_INPUT_WEIGHTS, MODEL_OUTPUT_SCORES } from '../../shared/affinity/bundle';
import { Weighting } from './ease';
import { NeighbourModel } from './sparseNeighbours';

/** The inputs and output of every affinity model, dense or sparse: what the serving path feeds and reads. */
function servingSignature(itemCount: number) {
  return {
    inputs: [
      { name: MODEL_INPUT_INDICES, type: 'int64' as const, shape: ['batch', 'history'] },
      { name: MODEL_INPUT_WEIGHTS, type: 'float32' as const, shape: ['batch', 'history'] },
    ],
    outputs: [{ name: MODEL_OUTPUT_SCORES, type: 'float32' as const, shape: ['batch', itemCount] }],
  };
}

/** The constants `historyWeightingNodes` needs: log1p adds one before the Log. */
function historyWeightingInitializers(weighting: Weighting) {
  return weighting === 'log1p' ? [{ name: 'one', dims: [1], float32: [1] }] : [];
}

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
  const weightingNodes = historyWeightingNodes(weighting);
  return buildModel({
    graphName: 'affinity_item_matrix',
    ...servingSignature(itemCount),
    initializers: [
      { name: 'item_weights_matrix', dims: [itemCount, itemCount], float32: weights },
      ...historyWeightingInitializers(weighting),
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

/** Turns the raw summed history weights into the model's history values, as training weighted them. */
function historyWeightingNodes(weighting: Weighting): NodeSpec[] {
  if (weighting === 'binary')
    return [{ op: 'Sign', inputs: [MODEL_INPUT_WEIGHTS], outputs: ['history_values'] }];
  if (weighting === 'log1p')
    return [
      { op: 'Add', inputs: [MODEL_INPUT_WEIGHTS, 'one'], outputs: ['weights_plus_one'] },
      { op: 'Log', inputs: ['weights_plus_one'], outputs: ['history_values'] },
    ];
  return [{ op: 'Identity', inputs: [MODEL_INPUT_WEIGHTS], outputs: ['history_values'] }];
}

/**
 * The sparse neighbour model (sparseNeighbours.ts) as an ONNX graph with the dense export's inputs and
 * output, so the serving code takes either: gather the neighbour rows of the history's items, weight
 * them by the history values, and add them into a zero score row with ScatterElements (reduction
 * "add", opset 16+; the builder writes opset 17). The cost per user is history × K, and the model holds
 * items × K ids and weights (12 bytes a slot) instead of items² weights.
 *
 *   item_indices [batch, history] ─Gather(ids)→ [batch, history, K] ─Reshape→ [batch, history·K]
 *                                 ─Gather(weights)→ [batch, history, K]
 *   item_weights [batch, history] ─weighting→ Unsqueeze → [batch, history, 1]
 *   Mul → [batch, history, K] ─Reshape→ [batch, history·K]
 *   zeros [batch, items] ─ScatterElements(axis 1, add)→ scores [batch, items]
 *
 * A padded history entry (index 0, weight 0) and an unused neighbour slot (the item itself, weight 0)
 * both add exactly 0.
 */
export function exportNeighboursToOnnx(
  model: NeighbourModel,
  weighting: Weighting,
  metadata: Record<string, string>,
): Uint8Array {
  const { itemCount, neighbours } = model;
  if (model.ids.length !== itemCount * neighbours || model.weights.length !== itemCount * neighbours)
    throw new Error(`neighbour tables must hold ${itemCount} × ${neighbours} entries`);
  return buildModel({
    graphName: 'affinity_item_neighbours',
    ...servingSignature(itemCount),
    initializers: [
      { name: 'neighbour_ids', dims: [itemCount, neighbours], int64: model.ids },
      { name: 'neighbour_weights', dims: [itemCount, neighbours], float32: model.weights },
      ...historyWeightingInitializers(weighting),
      { name: 'axis_two', dims: [1], int64: [2] },
      { name: 'keep_batch_flatten_rest', dims: [2], int64: [0, -1] },
      { name: 'item_count', dims: [1], int64: [itemCount] },
    ],
    nodes: [
      ...historyWeightingNodes(weighting),
      { op: 'Unsqueeze', inputs: ['history_values', 'axis_two'], outputs: ['history_columns'] },
      {
        op: 'Gather',
        inputs: ['neighbour_ids', MODEL_INPUT_INDICES],
        outputs: ['history_neighbour_ids'],
        attributes: { axis: 0 },
      },
      {
        op: 'Gather',
        inputs: ['neighbour_weights', MODEL_INPUT_INDICES],
        outputs: ['history_neighbour_weights'],
        attributes: { axis: 0 },
      },
      {
        op: 'Mul',
        inputs: ['history_neighbour_weights', 'history_columns'],
        outputs: ['contributions'],
      },
      {
        op: 'Reshape',
        inputs: ['history_neighbour_ids', 'keep_batch_flatten_rest'],
        outputs: ['target_ids'],
      },
      { op: 'Reshape', inputs: ['contributions', 'keep_batch_flatten_rest'], outputs: ['target_updates'] },
      {
        op: 'Shape',
        inputs: [MODEL_INPUT_INDICES],
        outputs: ['batch_size'],
        attributes: { start: 0, end: 1 },
      },
      {
        op: 'Concat',
        inputs: ['batch_size', 'item_count'],
        outputs: ['scores_shape'],
        attributes: { axis: 0 },
      },
      // ConstantOfShape's default value is a float32 zero.
      { op: 'ConstantOfShape', inputs: ['scores_shape'], outputs: ['zero_scores'] },
      {
        op: 'ScatterElements',
        inputs: ['zero_scores', 'target_ids', 'target_updates'],
        outputs: [MODEL_OUTPUT_SCORES],
        attributes: { axis: 1, reduction: 'add' },
      },
    ],
    metadata,
  });
}
