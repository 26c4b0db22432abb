import { Tensor } from './schemas/index.ts';
const scales = new Float32Array(14336).map(() => Math.random());
const f = () => Tensor.encode({ name: 'x', shape: [1, 64, 224, 224], codec: 4, axis: -1, scales: Array.from(scales), zero_points: [] }).finish();
for (let i = 0; i < 50; i++) f();
const t = performance.now(); for (let i = 0; i < 200; i++) f(); console.log('header with 14336 scales', ((performance.now() - t) / 200).toFixed(3), 'ms');
const g = () => Tensor.encode({ name: 'x', shape: [1, 64, 224, 224], codec: 4, axis: -1, scales: [], zero_points: [] }).finish();
const t2 = performance.now(); for (let i = 0; i < 2000; i++) g(); console.log('header without', ((performance.now() - t2) / 2000).toFixed(4), 'ms');
