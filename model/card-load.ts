/**
 * Finding and reading a model's card: `NAME.card.json` beside `NAME.onnx` (or a file given
 * explicitly), its labels file resolved beside the card. A model without a card gets DEFAULT_CARD.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { DEFAULT_CARD, parseModelCard, type ModelCard } from './card.ts';

export interface LoadedCard {
  card: ModelCard;
  /** The card file read; undefined when the model has none (the default card). */
  source?: string;
  /** The classification labels, line i = class i, when the card names a labels file. */
  labels?: string[];
  /**
   * The card file has an `input` section: the model must then have the image input it describes.
   * Without one, a model whose input is no RGB or grayscale image takes tensor frames only (card-use.ts).
   */
  describesInput?: boolean;
}

export interface LoadCardOptions {
  /** A card file to read instead of the one beside the model (which must then exist). */
  path?: string;
  /** Dim values given on the command line: they win over the card's. */
  dims?: Record<string, number>;
}

/** `dir/NAME.onnx` -> `dir/NAME.card.json` (a name without .onnx gets .card.json appended). */
export function cardPath(modelPath: string): string {
  return `${modelPath.replace(/\.onnx$/i, '')}.card.json`;
}

export function loadModelCard(modelPath: string, options: LoadCardOptions = {}): LoadedCard {
  const source = options.path ?? cardPath(modelPath);
  if (!existsSync(source)) {
    if (options.path !== undefined) {
      throw new DynasplitError(ErrorCodes.FILE_NOT_FOUND, `model card not found: ${source}`, { details: { file: source } });
    }
    return { card: withDims(DEFAULT_CARD, options.dims) };
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(source, 'utf8'));
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.BAD_MODEL_CARD, `${source}: not valid JSON: ${(cause as Error).message}`, {
      cause, details: { file: source, field: '' },
    });
  }
  const card = withDims(parseModelCard(json, source), options.dims);
  const labelsFile = card.output.kind === 'classification' ? card.output.labels : undefined;
  const describesInput = typeof json === 'object' && json !== null && Object.hasOwn(json, 'input');
  return { card, source, labels: labelsFile === undefined ? undefined : readLabels(source, labelsFile), describesInput };
}

/** The card with `dims` over its own. */
export function withDims(card: ModelCard, dims: Record<string, number> = {}): ModelCard {
  return { ...card, dims: { ...card.dims, ...dims } };
}

/** One label per line, relative to the card's directory; blank trailing lines dropped. */
function readLabels(source: string, file: string): string[] {
  const path = resolve(dirname(source), file);
  if (!existsSync(path)) {
    throw new DynasplitError(ErrorCodes.BAD_MODEL_CARD, `${source}: output.labels names ${path}, which does not exist`, {
      details: { file: source, field: 'output.labels' },
    });
  }
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  return lines;
}
