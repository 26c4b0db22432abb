/** Every fuzz property, in the order the long run reports them: decoders.test.ts runs them briefly, run.ts at length. */
import { csvProperties } from './csv.fuzz.ts';
import { framesProperties } from './frames.fuzz.ts';
import { mqttSessionProperties } from './mqtt-session.fuzz.ts';
import { onnxProperties } from './onnx.fuzz.ts';
import { policyProperties } from './policy.fuzz.ts';
import type { FuzzProperty } from './property.ts';
import { schemasProperties } from './schemas.fuzz.ts';
import { tensorProperties } from './tensor.fuzz.ts';
import { transportProperties } from './transport.fuzz.ts';

export const PROPERTIES: readonly FuzzProperty[] = [
  ...framesProperties,
  ...tensorProperties,
  ...policyProperties,
  ...csvProperties,
  ...onnxProperties,
  ...transportProperties,
  ...schemasProperties,
  ...mqttSessionProperties,
];
