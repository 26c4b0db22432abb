#!/usr/bin/env python3
"""Regenerates test/fixtures/models/: small, randomly initialised PyTorch models exported with
torch.onnx.export, as users export their own models, plus what the exporter says about each.

Needs PyTorch, torchvision and onnx (Debian: apt-get install python3-torch python3-torchvision
python3-onnx). CI never runs this; it only reads the committed files.

For each fixture NAME this writes NAME.onnx and NAME.expected.json:
  inputs / outputs   name, dtype and the shape torch saw (at the `dims` below)
  dims               values for the symbolic dims other than the batch (pass as --dim)
  tensorShapes       every tensor's shape by ONNX's own shape inference with the inputs fixed at those
                     dims (an implementation independent of dynasplit's)
  torchShapes        shapes torch itself sees for some tensors ONNX shape inference cannot size
  exportedParams     elements of the float weights of rank >= 1 in the file (initializers and Constant
                     nodes), counted by onnx; torchParams: of the torch module's parameters and buffers
                     (more where the exporter folded batch norm into convolutions)
  probe              torch's outputs on a deterministic input: x[i] = sin(0.01 * i) (flat index)
  imageProbe         for some: torch's outputs on images written beside the model (NAME.KIND.png),
                     preprocessed by torchvision as a training script would
and, for some, the model card a user would write beside it (NAME.card.json, docs/models.md).

paddle-ocr-cls.* is not made here: it is a Paddle2ONNX export committed as it was shipped
(test/fixtures/models/PADDLE.md), and this script leaves it alone.

Usage: python3 scripts/make-model-fixtures.py [OUT_DIR] [NAME ...]   (only the fixtures named, when given)
"""
import json
import math
import os
import sys

import onnx
import onnx.numpy_helper
import onnx.shape_inference
import torch
import torch.nn as nn
import torchvision

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'models')


class Block(nn.Module):
    """A ResNet basic block (two 3x3 convs, batch norm, identity or 1x1 projection shortcut)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = nn.Sequential()
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.short(x))


class ResidualCnn(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.layers = nn.Sequential(Block(8, 8, 1), Block(8, 16, 2), Block(16, 16, 1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


class FullyConv(nn.Module):
    """A segmentation-style net: any H and W (multiples of 4), output at a quarter of the input size."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(16, 16, 3, 1, 1), nn.ReLU(), nn.Conv2d(16, 5, 1))

    def forward(self, x):
        return self.net(x)


class TwoInputs(nn.Module):
    """An image and a vector of side features (e.g. sensor metadata), fused before the classifier."""

    def __init__(self):
        super().__init__()
        self.cnn = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, 2, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.meta = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 10))

    def forward(self, image, meta):
        return self.head(torch.cat([self.cnn(image), self.meta(meta)], dim=1))


class TwoOutputs(nn.Module):
    """A shared backbone with a class head and a box head (a one-object detector)."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classes = nn.Linear(16, 10)
        self.box = nn.Sequential(nn.Linear(16, 4), nn.Sigmoid())

    def forward(self, x):
        f = self.backbone(x)
        return self.classes(f), self.box(f)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, x):
        return self.net(x)


class MaskedCnn(nn.Module):
    """A cheap gate, then the network on the gate's binary mask: the cut after the comparison carries
    a bool tensor (1 byte an element, the smallest in the model's first half), which the pipeline
    cannot send."""

    def __init__(self):
        super().__init__()
        self.gate = nn.Conv2d(3, 4, 3, 1, 1)
        self.body = nn.Sequential(nn.Conv2d(4, 32, 3, 1, 1), nn.ReLU(), nn.Conv2d(32, 32, 3, 1, 1), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))

    def forward(self, x):
        return self.body((self.gate(x) > 0.1).float())


class TabularMlp(nn.Module):
    """A classifier of a sensor's feature vector (10 readings, 3 classes): no image anywhere."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))

    def forward(self, x):
        return self.net(x)


class GrayCnn(nn.Module):
    """A grayscale classifier (a thermal camera's, a digit reader's): one input channel, 28x28."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 8, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, 1, 1), nn.ReLU(),
                                 nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))

    def forward(self, x):
        return self.net(x)


def gray_images(fx, module):
    """Two 28x28 PNGs, one in colour and one gray, and torch's logits for each as a user's training
    code would feed them: torchvision's Grayscale, ToTensor and Normalize on the PIL image."""
    from PIL import Image
    import torchvision.transforms as T
    mean, std = fx['card']['input']['mean'], fx['card']['input']['std']
    to_input = T.Compose([T.Grayscale(), T.ToTensor(), T.Normalize(mean, std)])
    images = {
        'color': Image.frombytes('RGB', (28, 28), bytes((i * 37 + (i // 3) * 11) % 256 for i in range(28 * 28 * 3))),
        'gray': Image.frombytes('L', (28, 28), bytes((i * 53 + (i // 28) * 7) % 256 for i in range(28 * 28))),
    }
    logits = {}
    for kind, image in images.items():
        file = f"{fx['name']}.{kind}.png"
        image.save(os.path.join(OUT, file))
        with torch.no_grad():
            logits[file] = [round(float(v), 7) for v in module(to_input(image).unsqueeze(0)).flatten()]
    return logits


def tiny_vit():
    # torchvision's own ViT: its class token is expanded to the batch (the Shape/Where/Expand subgraph).
    vit = torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                                               hidden_dim=32, mlp_dim=64, num_classes=10)
    # torchvision initialises the class token and the head to zeros: the logits would be all zero.
    nn.init.normal_(vit.class_token, std=0.5)
    nn.init.normal_(vit.heads.head.weight, std=0.5)
    return vit


def vit_hooks(vit):
    """Tensors of the ViT export that ONNX shape inference cannot size (their shapes come from
    Shape/Gather/Div arithmetic), each by the module whose input or output it is in torch."""
    hooks = [('/Concat_2_output_0', vit.encoder, 'in'), ('/encoder/ln/LayerNormalization_output_0', vit.encoder.ln, 'out'),
             ('/Gather_4_output_0', vit.heads, 'in')]
    for i, layer in enumerate(vit.encoder.layers):
        hooks.append((f'/encoder/layers/encoder_layer_{i}/Add_1_output_0', layer, 'out'))
    return hooks


def torch_shapes(module, hooks, args, model):
    """Shapes torch sees at module boundaries, by the ONNX names of the same tensors."""
    shapes = {}
    names = {o for n in model.graph.node for o in n.output}
    handles = []
    for name, sub, where in hooks:
        assert name in names, f'{name} is not a tensor of the export'
        if where == 'in':
            handles.append(sub.register_forward_pre_hook(lambda _m, inp, name=name: shapes.__setitem__(name, list(inp[0].shape))))
        else:
            handles.append(sub.register_forward_hook(lambda _m, _i, out, name=name: shapes.__setitem__(name, list(out.shape))))
    with torch.no_grad():
        module(*args)
    for h in handles:
        h.remove()
    return shapes


def initializers_to_constants(model):
    """Moves every initializer into a Constant node, as Paddle2ONNX writes weights."""
    graph = model.graph
    nodes = [onnx.helper.make_node('Constant', [], [t.name], name=f'const_{t.name}', value=t) for t in graph.initializer]
    names = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in names]
    del graph.initializer[:]
    del graph.input[:]
    graph.input.extend(inputs)
    old = list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes + old)
    return model


def with_inferred_value_info(model):
    """Runs ONNX shape inference over the dynamic-batch model, as many tools do before shipping one:
    the value_info it adds names the dims it cannot tie to an input `unk__N`."""
    return onnx.shape_inference.infer_shapes(model)


def exported_params(model):
    """Elements of the float weights of rank >= 1 the file stores, initializers and Constant nodes."""
    tensors = list(model.graph.initializer)
    tensors += [a.t for n in model.graph.node if n.op_type == 'Constant' for a in n.attribute if a.name == 'value']
    floats = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE}
    return sum(math.prod(t.dims) for t in tensors if len(t.dims) > 0 and t.data_type in floats)


def probe_input(shape, dtype):
    n = math.prod(shape)
    return torch.tensor([math.sin(0.01 * i) for i in range(n)], dtype=dtype).reshape(shape)


FIXTURES = [
    # name, module, inputs [(name, shape, dynamic axes)], outputs [(name, dynamic axes)], dims, export options
    dict(name='resnet-tiny', module=ResidualCnn, inputs=[('input', [1, 3, 32, 32], {0: 'batch'})],
         outputs=[('logits', {0: 'batch'})], dims={},
         export=dict(opset_version=13, do_constant_folding=False, keep_initializers_as_inputs=True)),
    dict(name='vit-tiny-torchvision', module=tiny_vit, inputs=[('input', [1, 3, 32, 32], {0: 'batch'})],
         outputs=[('logits', {0: 'batch'})], dims={}, export=dict(opset_version=17, do_constant_folding=True),
         post=with_inferred_value_info, hooks=vit_hooks,
         card={'input': {'resize': 36, 'crop': 32}, 'output': {'kind': 'classification', 'topK': 3, 'labels': 'vit-tiny-torchvision.labels.txt'}},
         labels=[f'class {i}' for i in range(10)]),
    dict(name='mlp-constant-weights', module=Mlp, inputs=[('input', [1, 3, 16, 16], {0: 'batch'})],
         outputs=[('logits', {0: 'batch'})], dims={}, export=dict(opset_version=13, do_constant_folding=True),
         post=initializers_to_constants),
    dict(name='fcn-dynamic-hw', module=FullyConv, inputs=[('input', [1, 3, 24, 40], {0: 'batch', 2: 'height', 3: 'width'})],
         outputs=[('mask', {0: 'batch', 2: 'mask_height', 3: 'mask_width'})], dims={'height': 24, 'width': 40},
         export=dict(opset_version=17, do_constant_folding=True),
         card={'dims': {'height': 24, 'width': 40}, 'output': {'kind': 'raw'}}),
    dict(name='two-inputs', module=TwoInputs, inputs=[('image', [1, 3, 32, 32], {0: 'batch'}), ('meta', [1, 4], {0: 'batch'})],
         outputs=[('logits', {0: 'batch'})], dims={}, export=dict(opset_version=17, do_constant_folding=True)),
    dict(name='two-outputs', module=TwoOutputs, inputs=[('input', [1, 3, 32, 32], {0: 'batch'})],
         outputs=[('logits', {0: 'batch'}), ('box', {0: 'batch'})], dims={}, export=dict(opset_version=17, do_constant_folding=True),
         card={'output': {'kind': 'raw'}}),
    dict(name='tabular-mlp', module=TabularMlp, inputs=[('readings', [1, 10], {0: 'batch'})],
         outputs=[('logits', {0: 'batch'})], dims={}, export=dict(opset_version=17, do_constant_folding=True),
         card={'output': {'kind': 'classification', 'topK': 3}}),
    dict(name='gray-cnn', module=GrayCnn, inputs=[('input', [1, 1, 28, 28], {0: 'batch'})],
         outputs=[('logits', {0: 'batch'})], dims={}, export=dict(opset_version=17, do_constant_folding=True),
         card={'input': {'mean': [0.1307], 'std': [0.3081]}, 'output': {'kind': 'classification', 'topK': 3}},
         images=gray_images),
    dict(name='masked-cnn', module=MaskedCnn, inputs=[('input', [1, 3, 32, 32], {0: 'batch'})],
         outputs=[('logits', {0: 'batch'})], dims={}, export=dict(opset_version=17, do_constant_folding=True)),
]


def export(fx):
    torch.manual_seed(0)
    module = fx['module']().eval()
    args = tuple(probe_input(shape, torch.float32) for _, shape, _ in fx['inputs'])
    path = os.path.join(OUT, fx['name'] + '.onnx')
    dynamic = {n: axes for n, _, axes in fx['inputs']}
    dynamic.update({n: axes for n, axes in fx['outputs']})
    torch.onnx.export(module, args, path, input_names=[n for n, _, _ in fx['inputs']],
                      output_names=[n for n, _ in fx['outputs']], dynamic_axes=dynamic, **fx['export'])
    model = onnx.load(path)
    if 'post' in fx:
        model = fx['post'](model)
        onnx.save(model, path)
    onnx.checker.check_model(model)
    with torch.no_grad():
        out = module(*args)
    outs = out if isinstance(out, tuple) else (out,)
    record = {
        'exporter': f'torch {torch.__version__}, torchvision {torchvision.__version__}, onnx {onnx.__version__}',
        'export': {k: v for k, v in fx['export'].items()},
        'dims': fx['dims'],
        'inputs': [{'name': n, 'dtype': 'float32', 'shape': list(a.shape)} for (n, _, _), a in zip(fx['inputs'], args)],
        'outputs': [{'name': n, 'dtype': 'float32', 'shape': list(o.shape)} for (n, _), o in zip(fx['outputs'], outs)],
        'exportedParams': exported_params(model),
        'torchParams': sum(t.numel() for t in list(module.parameters()) + list(module.buffers()) if t.is_floating_point()),
        'tensorShapes': inferred_shapes(model, {n: list(a.shape) for (n, _, _), a in zip(fx['inputs'], args)}),
        'torchShapes': torch_shapes(module, fx['hooks'](module), args, model) if 'hooks' in fx else {},
        'probe': {n: [round(float(v), 7) for v in o.flatten()] for (n, _), o in zip(fx['outputs'], outs)},
    }
    if 'images' in fx:
        # Images beside the model, and torch's logits for each as its training code feeds them.
        record['imageProbe'] = fx['images'](fx, module)
    with open(os.path.join(OUT, fx['name'] + '.expected.json'), 'w') as f:
        json.dump(record, f, indent=1)
        f.write('\n')
    if 'card' in fx:
        # The model card a user would write beside the model (docs/models.md).
        with open(os.path.join(OUT, fx['name'] + '.card.json'), 'w') as f:
            json.dump(fx['card'], f, indent=1)
            f.write('\n')
    if 'labels' in fx:
        with open(os.path.join(OUT, fx['card']['output']['labels']), 'w') as f:
            f.write(''.join(f'{label}\n' for label in fx['labels']))
    print(f"{path}: {os.path.getsize(path)} bytes")


def inferred_shapes(model, input_shapes):
    """Every tensor's shape by ONNX shape inference, the inputs fixed at the given shapes."""
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    del fixed.graph.value_info[:]
    for vi in fixed.graph.input:
        if vi.name in input_shapes:
            for d, v in zip(vi.type.tensor_type.shape.dim, input_shapes[vi.name]):
                d.Clear()
                d.dim_value = v
    for vi in fixed.graph.output:
        vi.type.tensor_type.ClearField('shape')
    inferred = onnx.shape_inference.infer_shapes(fixed, strict_mode=True, data_prop=True)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if vi.type.tensor_type.HasField('shape') and all(d.HasField('dim_value') for d in dims):
            shapes[vi.name] = [d.dim_value for d in dims]
    return shapes


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    wanted = set(sys.argv[2:])
    for fx in FIXTURES:
        if not wanted or fx['name'] in wanted:
            export(fx)
