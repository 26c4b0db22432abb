/**
 * Renders Vega-Lite specs headless: compiled to Vega, laid out by a View with no renderer (`none`
 * needs no canvas) and written as SVG; PNG is drawn from that SVG by resvg. The specs themselves are
 * built by eval/report-specs.ts from plain data.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type PlotFormat = 'svg' | 'png';

/** PNG pixels per SVG unit: 2 stays sharp on high-density screens. */
const PNG_SCALE = 2;

/** Vega and Vega-Lite log warnings to the console by default; library code hands them to the caller. */
function warningsTo(warn: (message: string) => void): vega.LoggerInterface {
  return vega.logger(vega.Warn, undefined, (_method, level, args) => warn(`${level} ${args.map(String).join(' ')}`));
}

export async function renderSvg(spec: TopLevelSpec, warn: (message: string) => void = () => {}): Promise<string> {
  const logger = warningsTo(warn);
  const view = new vega.View(vega.parse(compile(spec, { logger }).spec), { renderer: 'none', logger });
  try {
    return roundCoordinates(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/**
 * Numbers inside tags cut to two decimals (a hundredth of a pixel): Vega writes coordinates at full
 * double precision (`translate(68.78353909222047,157.72222222222223)`), a third of a scatter point's
 * bytes. Text between tags (labels) is left as it is.
 */
export function roundCoordinates(svg: string): string {
  return svg.replace(/<[^>]*>/g, (tag) => tag.replace(/(\d\.\d{2})\d+/g, '$1'));
}

/**
 * PNG of an SVG. resvg draws text only with fonts it has loaded: without the system's, every label
 * and title would silently vanish. Vega asks for `sans-serif`, which resvg maps to an installed face.
 */
export function svgToPng(svg: string): Buffer {
  return new Resvg(svg, { fitTo: { mode: 'zoom', value: PNG_SCALE }, font: { loadSystemFonts: true } }).render().asPng();
}

/** The file's bytes in `format`. */
export async function renderPlot(spec: TopLevelSpec, format: PlotFormat, warn?: (message: string) => void): Promise<string | Buffer> {
  const svg = await renderSvg(spec, warn);
  return format === 'png' ? svgToPng(svg) : svg;
}
