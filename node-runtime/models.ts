/**
 * How a node takes its models: each spec resolved to a file (a zoo name is generated once), its
 * model card read (NAME.card.json beside it, or the card file given), the card's dims and the
 * node's --dim values bound, and the card checked against the model, all once at start: a model
 * whose dims stay open or whose card does not fit is refused before the node serves anything
 * (DYNASPLIT_ERR_UNRESOLVED_DIM naming the dim, DYNASPLIT_ERR_BAD_MODEL_CARD naming the field).
 */
import { basename } from 'node:path';
import { DynasplitError, ErrorCodes, silentLogger, type Logger } from '../common/index.ts';
import {
  checkCard, DEFAULT_CARD, imageInputOf, loadModelCard, requireFloatInputs, resolveModel, type ImageInput, type LoadedCard, type ModelStore, type TensorDesc,
} from '../model/index.ts';

/** A served model's card, applied: what frames of it carry and what its results say. */
export interface ServedCard {
  loaded: LoadedCard;
  /** The input an image (or a frame's unnamed tensor) feeds, and how an image becomes it; none when the default card fits no input. */
  image?: ImageInput;
}

/** The cards of a node's models, by model name. */
export class ModelCards {
  readonly #cards = new Map<string, ServedCard>();

  set(model: string, card: ServedCard): void {
    this.#cards.set(model, card);
  }

  /** The model's card; a model added without one (tests, tools) gets the default card for its inputs. */
  get(model: string, inputs: readonly TensorDesc[]): ServedCard {
    return this.#cards.get(model) ?? defaultServedCard(inputs);
  }
}

/** The default card (ImageNet preprocessing at the model's size, top-k classes) applied to a model's inputs. */
export function defaultServedCard(inputs: readonly TensorDesc[]): ServedCard {
  const loaded: LoadedCard = { card: DEFAULT_CARD };
  return { loaded, image: imageInputOf(loaded, inputs) };
}

export interface AddModelsOptions {
  /** name -> .onnx path or zoo name */
  models: Record<string, string>;
  /** name -> card file to read instead of the one beside the model */
  cards?: Record<string, string>;
  /** Symbolic dim values (--dim), over every card's own. */
  dims?: Record<string, number>;
  modelCacheDir: string;
}

/** Adds every model to the store with its card; throws (coded) on the first that cannot be served. */
export async function addModels(store: ModelStore, options: AddModelsOptions, logger: Logger = silentLogger()): Promise<ModelCards> {
  const cards = new ModelCards();
  for (const [name, spec] of Object.entries(options.models)) {
    const path = await resolveModel(spec, { cacheDir: options.modelCacheDir });
    const loaded = loadModelCard(path, { path: options.cards?.[name], dims: options.dims });
    const served = await store.add(name, path, loaded.card.dims);
    // Frames and the link carry float32 tensors only (schemas/tensor.proto).
    requireFloatInputs(path, served.inputs);
    checkCard(loaded, served.inspection);
    cards.set(name, { loaded, image: imageInputOf(loaded, served.inputs) });
    const { cutPoints, noCutsReason } = served.inspection;
    if (cutPoints.length === 0) {
      logger.warn({ model: name, reason: noCutsReason }, 'the model has no cut point the pipeline can split at: it runs edge-only or cloud-only');
    }
  }
  return cards;
}

/**
 * A `--model` value as [name, spec]: `NAME=FILE`, a zoo name (served under its own name), or a
 * path to an .onnx file (served under its file name without .onnx).
 */
export function parseModelSpec(entry: string): [string, string] {
  const eq = entry.indexOf('=');
  if (eq > 0) return [entry.slice(0, eq), entry.slice(eq + 1)];
  if (eq === 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, `--model takes NAME=FILE, FILE or a zoo name, got '${entry}'`);
  const looksLikeFile = /\.onnx$/i.test(entry) || entry.includes('/') || entry.includes('\\');
  return [looksLikeFile ? basename(entry).replace(/\.onnx$/i, '') : entry, entry];
}

/**
 * `--card FILE` (the one model's card) or `--card NAME=FILE` entries as name -> card file; a bare
 * FILE with several models is refused, since it cannot say whose card it is.
 */
export function parseCardSpecs(entries: readonly string[], modelNames: readonly string[]): Record<string, string> {
  const cards: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const named = eq > 0 && modelNames.includes(entry.slice(0, eq));
    if (named) {
      cards[entry.slice(0, eq)] = entry.slice(eq + 1);
    } else if (modelNames.length === 1) {
      cards[modelNames[0]] = entry;
    } else {
      throw new DynasplitError(ErrorCodes.BAD_ARGS,
        `--card '${entry}' names no served model; with several models give --card NAME=FILE (models: ${modelNames.join(', ')})`);
    }
  }
  return cards;
}
