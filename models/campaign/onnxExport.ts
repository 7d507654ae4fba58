import { buildModel } from '../onnx/modelBuilder';
import { GbdtModel } from './gbdt';

/** Names of the ONNX graph's input and output; the scorer in shared/campaign uses the same. */
export const CAMPAIGN_MODEL_INPUT = 'features';
export const CAMPAIGN_MODEL_OUTPUT = 'probability';

/**
 * Exports boosted trees as an ai.onnx.ml TreeEnsembleRegressor (summing the trees' log-odds onto the base
 * score) followed by Sigmoid, so onnxruntime returns the conversion probability directly.
 */
export function exportGbdtToOnnx(model: GbdtModel, metadata: Record<string, string> = {}): Uint8Array {
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const values: number[] = [];
  const modes: string[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const missingTrue: number[] = [];
  const targetTreeIds: number[] = [];
  const targetNodeIds: number[] = [];
  const targetIds: number[] = [];
  const targetWeights: number[] = [];
  model.trees.forEach((tree, treeId) => {
    tree.nodes.forEach((node, nodeId) => {
      treeIds.push(treeId);
      nodeIds.push(nodeId);
      if (node.leaf) {
        featureIds.push(0);
        values.push(0);
        modes.push('LEAF');
        trueIds.push(0);
        falseIds.push(0);
        missingTrue.push(0);
        targetTreeIds.push(treeId);
        targetNodeIds.push(nodeId);
        targetIds.push(0);
        targetWeights.push(node.value);
      } else {
        featureIds.push(node.feature);
        values.push(node.threshold);
        modes.push('BRANCH_LEQ');
        trueIds.push(node.left);
        falseIds.push(node.right);
        missingTrue.push(node.missingGoesLeft ? 1 : 0);
      }
    });
  });
  return buildModel({
    graphName: 'campaign_response',
    inputs: [{ name: CAMPAIGN_MODEL_INPUT, type: 'float32', shape: ['batch', model.featureCount] }],
    outputs: [{ name: CAMPAIGN_MODEL_OUTPUT, type: 'float32', shape: ['batch', 1] }],
    nodes: [
      {
        op: 'TreeEnsembleRegressor',
        domain: 'ai.onnx.ml',
        inputs: [CAMPAIGN_MODEL_INPUT],
        outputs: ['log_odds'],
        attributes: {
          n_targets: 1,
          aggregate_function: 'SUM',
          base_values: { floats: [model.baseScore] },
          nodes_treeids: { ints: treeIds },
          nodes_nodeids: { ints: nodeIds },
          nodes_featureids: { ints: featureIds },
          nodes_values: { floats: values },
          nodes_modes: modes,
          nodes_truenodeids: { ints: trueIds },
          nodes_falsenodeids: { ints: falseIds },
          nodes_missing_value_tracks_true: { ints: missingTrue },
          target_treeids: { ints: targetTreeIds },
          target_nodeids: { ints: targetNodeIds },
          target_ids: { ints: targetIds },
          target_weights: { floats: targetWeights },
        },
      },
      { op: 'Sigmoid', inputs: ['log_odds'], outputs: [CAMPAIGN_MODEL_OUTPUT] },
    ],
    metadata,
  });
}
