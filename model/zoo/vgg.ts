/**
 * VGG-16 (Simonyan & Zisserman 2015, configuration "D"), laid out as torchvision's `vgg16` at
 * inference: 13 conv3x3/pad 1 + ReLU in 5 stages, each stage ending in MaxPool 2x2/2, then Flatten and
 * three Gemm layers. Dropout and the adaptive average pool (7x7 -> 7x7 for 224x224 input) are
 * identities at inference and are left out.
 */
import { BATCH, GraphBuilder } from './graph-builder.ts';

export interface VggConfig {
  name: string;
  /** Pixels; square input. */
  inputSize: number;
  /** Output channels of each conv, per stage. */
  stages: number[][];
  /** Width of the two hidden fully connected layers. */
  hidden: number;
  classes: number;
}

export const VGG16: VggConfig = {
  name: 'vgg16',
  inputSize: 224,
  stages: [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
  hidden: 4096,
  classes: 1000,
};

/**
 * VGG16 on 64x64 input (Tiny-ImageNet-sized: 200 classes, a 512-512 classifier). The 13 convolutions
 * keep the full model's widths, so every cut keeps its shape: the tensors are the full model's / 12.25
 * (input 48 KiB, pool1 256 KiB, pool4 32 KiB: the same ratios to the input), the FLOPs before each
 * pooling layer the same share of the convolutions', the weights per layer the same (heads through pool4
 * fit a Coral's 8 MB, conv5 does not). 2.5 GFLOPs instead of 31: the demo's model (docs/demo.md).
 */
export const VGG16_64: VggConfig = {
  name: 'vgg16-64',
  inputSize: 64,
  stages: VGG16.stages,
  hidden: 512,
  classes: 200,
};

/** Same layers with channels / 8 on 32x32 input: small enough for unit tests. */
export const VGG16_TINY: VggConfig = {
  name: 'vgg16-tiny',
  inputSize: 32,
  stages: [[8, 8], [16, 16], [32, 32, 32], [64, 64, 64], [64, 64, 64]],
  hidden: 128,
  classes: 10,
};

/**
 * He/Kaiming-uniform (He et al. 2015), corrected for zero-mean rows (see WeightInit). He's variance
 * 2/fan_in assumes the layer sees E[x^2] = Var(pre)/2 of each ReLU output; a zero-mean filter
 * cancels the mean part, leaving only Var(relu(z)) = (1/2 - 1/(2π))·Var(z), so the variance is
 * 2/((1 - 1/π)·fan_in). Without the correction activations shrink ~0.68x per layer (logits ~0.03).
 */
function heUniform(fanIn: number) {
  return { kind: 'uniform', bound: Math.sqrt(6 / ((1 - 1 / Math.PI) * fanIn)), zeroMean: 'rows' } as const;
}
const ZERO = { kind: 'constant', value: 0 } as const;

export function buildVgg(config: VggConfig): GraphBuilder {
  const b = new GraphBuilder(config.name);
  let x = b.input('input', [BATCH, 3, config.inputSize, config.inputSize]);
  let channels = 3;
  let size = config.inputSize;
  config.stages.forEach((stage, s) => {
    stage.forEach((out, c) => {
      const layer = `features.conv${s + 1}_${c + 1}`;
      const fanIn = channels * 3 * 3;
      const w = b.param(`${layer}.weight`, [out, channels, 3, 3], heUniform(fanIn));
      const bias = b.param(`${layer}.bias`, [out], ZERO);
      x = b.node('Conv', layer, [x, w, bias], [BATCH, out, size, size],
        { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] });
      x = b.node('Relu', `features.relu${s + 1}_${c + 1}`, [x], [BATCH, out, size, size]);
      channels = out;
    });
    size = Math.floor(size / 2);
    x = b.node('MaxPool', `features.pool${s + 1}`, [x], [BATCH, channels, size, size],
      { kernel_shape: [2, 2], strides: [2, 2] });
  });

  let features = channels * size * size;
  x = b.node('Flatten', 'classifier.flatten', [x], [BATCH, features], { axis: 1 });
  const widths = [config.hidden, config.hidden, config.classes];
  widths.forEach((out, i) => {
    const layer = `classifier.fc${i + 1}`;
    const last = i === widths.length - 1;
    const w = b.param(`${layer}.weight`, [out, features], heUniform(features));
    const bias = b.param(`${layer}.bias`, [out], ZERO);
    // Gemm with transB=1: weight stored [out, in] as in torch.nn.Linear.
    x = b.node('Gemm', layer, [x, w, bias], [BATCH, out], { transB: 1 }, last ? 'logits' : layer);
    if (!last) x = b.node('Relu', `classifier.relu${i + 1}`, [x], [BATCH, out]);
    features = out;
  });
  b.output(x);
  return b;
}
