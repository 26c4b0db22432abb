/**
 * Vision Transformer (Dosovitskiy et al. 2021) with the math of torchvision's `vit_b_16`: patch
 * embedding conv, class token + position embedding, pre-LN encoder blocks (LayerNorm eps 1e-6,
 * multi-head self-attention, MLP with exact GELU), final LayerNorm, linear head on the class token.
 *
 * The batch dimension stays symbolic without Shape/Expand: the class token is put in front of the
 * patch tokens by Pad-ding the tokens with one zero row and adding [class_token; 0...] + pos_embedding,
 * a [1, T+1, D] tensor computed from parameters only (broadcast over the batch).
 */
import { BATCH, GraphBuilder, type Dim } from './graph-builder.ts';

export interface VitConfig {
  name: string;
  /** Pixels; square input. */
  inputSize: number;
  /** Pixels per patch side. */
  patch: number;
  hidden: number;
  heads: number;
  mlp: number;
  blocks: number;
  classes: number;
}

export const VIT_B16: VitConfig = {
  name: 'vit-b16', inputSize: 224, patch: 16, hidden: 768, heads: 12, mlp: 3072, blocks: 12, classes: 1000,
};

export const VIT_TINY: VitConfig = {
  name: 'vit-tiny', inputSize: 32, patch: 4, hidden: 64, heads: 4, mlp: 128, blocks: 4, classes: 10,
};

/** torchvision ViT LayerNorm epsilon. */
const LN_EPSILON = 1e-6;
const ZERO = { kind: 'constant', value: 0 } as const;
const ONE = { kind: 'constant', value: 1 } as const;
/** ViT's truncated-normal std for class token and position embedding. */
const EMBED_INIT = { kind: 'normal', std: 0.02 } as const;

/** Uniform with variance 1/fan_in (LeCun); output units zero-mean over their fan-in. */
function lecunUniform(fanIn: number, zeroMean: 'rows' | 'columns') {
  return { kind: 'uniform', bound: Math.sqrt(3 / fanIn), zeroMean } as const;
}

export function buildVit(config: VitConfig): GraphBuilder {
  const b = new GraphBuilder(config.name);
  const tokens = (config.inputSize / config.patch) ** 2 + 1;
  // Op constants shared by all blocks (not parameters, see graph-builder.ts).
  const c = {
    splitHeads: b.int64('const.split_heads', [0, 0, config.heads, config.hidden / config.heads]),
    mergeHeads: b.int64('const.merge_heads', [0, 0, config.hidden]),
    attnScale: b.scalar('const.attn_scale', 1 / Math.sqrt(config.hidden / config.heads)),
    sqrt2: b.scalar('const.sqrt2', Math.SQRT2),
    one: b.scalar('const.one', 1),
    half: b.scalar('const.half', 0.5),
  };
  let x = embed(b, config);
  for (let i = 0; i < config.blocks; i++) x = encoderBlock(b, config, `block${i}`, x, tokens, c);

  x = layerNorm(b, 'encoder.ln', x);
  const classIndex = b.int64('const.class_index', [0], []);
  x = b.node('Gather', 'head.class_token', [x, classIndex], [BATCH, config.hidden], { axis: 1 });
  const w = b.param('head.weight', [config.classes, config.hidden], lecunUniform(config.hidden, 'rows'));
  const bias = b.param('head.bias', [config.classes], ZERO);
  b.output(b.node('Gemm', 'head', [x, w, bias], [BATCH, config.classes], { transB: 1 }, 'logits'));
  return b;
}

/** Patch embedding, class token, position embedding: [N,3,S,S] -> [N,T+1,D]. */
function embed(b: GraphBuilder, config: VitConfig): string {
  const { inputSize: size, patch, hidden: d } = config;
  const side = size / patch;
  const t = side * side;
  const input = b.input('input', [BATCH, 3, size, size]);
  const fanIn = 3 * patch * patch;
  const w = b.param('embed.conv_proj.weight', [d, 3, patch, patch], lecunUniform(fanIn, 'rows'));
  const bias = b.param('embed.conv_proj.bias', [d], ZERO);
  let x = b.node('Conv', 'embed.conv_proj', [input, w, bias], [BATCH, d, side, side],
    { kernel_shape: [patch, patch], strides: [patch, patch] });
  // [0, D, -1]: 0 copies the (symbolic) batch size, -1 is the token count.
  x = b.node('Reshape', 'embed.flatten', [x, b.int64('const.flatten_patches', [0, d, -1])], [BATCH, d, t]);
  x = b.node('Transpose', 'embed.tokens', [x], [BATCH, t, d], { perm: [0, 2, 1] });
  // Pad pads: [x1_begin, x2_begin, x3_begin, x1_end, x2_end, x3_end] (ONNX Pad-13+).
  x = b.node('Pad', 'embed.tokens_padded', [x, b.int64('const.pad_tokens', [0, 1, 0, 0, 0, 0])], [BATCH, t + 1, d]);
  // Parameter-only subgraph, placed just before its use so it never widens a cut.
  const classToken = b.param('embed.class_token', [1, 1, d], EMBED_INIT);
  const position = b.param('embed.pos_embedding', [1, t + 1, d], EMBED_INIT);
  const padded = b.node('Pad', 'embed.class_token_padded',
    [classToken, b.int64('const.pad_class_token', [0, 0, 0, 0, t, 0])], [1, t + 1, d]);
  const classPos = b.node('Add', 'embed.class_pos', [padded, position], [1, t + 1, d]);
  return b.node('Add', 'embed.out', [x, classPos], [BATCH, t + 1, d]);
}

interface Constants { splitHeads: string; mergeHeads: string; attnScale: string; sqrt2: string; one: string; half: string }

/** Pre-LN block: x + Attention(LN(x)), then + MLP(LN(.)). */
function encoderBlock(b: GraphBuilder, config: VitConfig, p: string, x: string, tokens: number, c: Constants): string {
  const d = config.hidden;
  const seq: Dim[] = [BATCH, tokens, d];
  const attn = attention(b, config, p, layerNorm(b, `${p}.ln1`, x), tokens, c);
  const residual = b.node('Add', `${p}.residual`, [x, attn], seq);
  let h = layerNorm(b, `${p}.ln2`, residual);
  h = linear(b, `${p}.fc1`, h, d, config.mlp, tokens);
  h = gelu(b, `${p}.gelu`, h, b.shape(h), c);
  h = linear(b, `${p}.fc2`, h, config.mlp, d, tokens);
  return b.node('Add', `${p}.out`, [residual, h], seq);
}

function attention(b: GraphBuilder, config: VitConfig, p: string, x: string, tokens: number, c: Constants): string {
  const { hidden: d, heads } = config;
  const hd = d / heads;
  const split = (name: string, perm: number[], shape: Dim[]) => {
    const projected = linear(b, `${p}.${name}`, x, d, d, tokens);
    const heads4 = b.node('Reshape', `${p}.${name}_heads`, [projected, c.splitHeads], [BATCH, tokens, heads, hd]);
    return b.node('Transpose', `${p}.${name}_t`, [heads4], shape, { perm });
  };
  const q = split('q', [0, 2, 1, 3], [BATCH, heads, tokens, hd]);
  const k = split('k', [0, 2, 3, 1], [BATCH, heads, hd, tokens]);
  const v = split('v', [0, 2, 1, 3], [BATCH, heads, tokens, hd]);
  const square: Dim[] = [BATCH, heads, tokens, tokens];
  let s = b.node('MatMul', `${p}.scores`, [q, k], square);
  s = b.node('Mul', `${p}.scores_scaled`, [s, c.attnScale], square);
  s = b.node('Softmax', `${p}.attn_probs`, [s], square, { axis: -1 });
  let ctx = b.node('MatMul', `${p}.context`, [s, v], [BATCH, heads, tokens, hd]);
  ctx = b.node('Transpose', `${p}.context_t`, [ctx], [BATCH, tokens, heads, hd], { perm: [0, 2, 1, 3] });
  ctx = b.node('Reshape', `${p}.context_merged`, [ctx, c.mergeHeads], [BATCH, tokens, d]);
  return linear(b, `${p}.attn_out`, ctx, d, d, tokens);
}

/** x @ W + b with W stored [in, out] (MatMul broadcasts over the batch and token dims). */
function linear(b: GraphBuilder, name: string, x: string, inDim: number, outDim: number, tokens: number): string {
  const w = b.param(`${name}.weight`, [inDim, outDim], lecunUniform(inDim, 'columns'));
  const bias = b.param(`${name}.bias`, [outDim], ZERO);
  const mm = b.node('MatMul', `${name}_matmul`, [x, w], [BATCH, tokens, outDim]);
  return b.node('Add', name, [mm, bias], [BATCH, tokens, outDim]);
}

function layerNorm(b: GraphBuilder, name: string, x: string): string {
  const shape = b.shape(x);
  const d = shape[shape.length - 1] as number;
  const scale = b.param(`${name}.scale`, [d], ONE);
  const bias = b.param(`${name}.bias`, [d], ZERO);
  return b.node('LayerNormalization', name, [x, scale, bias], shape, { axis: -1, epsilon: { float: LN_EPSILON } });
}

/** Exact GELU, 0.5 * x * (1 + erf(x / √2)), as torch.onnx exports it (opset 17 has no Gelu op). */
function gelu(b: GraphBuilder, name: string, x: string, shape: Dim[], c: Constants): string {
  const scaled = b.node('Div', `${name}_div`, [x, c.sqrt2], shape);
  const erf = b.node('Erf', `${name}_erf`, [scaled], shape);
  const onePlus = b.node('Add', `${name}_add`, [erf, c.one], shape);
  const product = b.node('Mul', `${name}_mul`, [x, onePlus], shape);
  return b.node('Mul', name, [product, c.half], shape);
}
