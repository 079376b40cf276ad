/**
 * The Kibana saved objects with the trace link of the data view following `jaeger.uiUrl`: peregrine.ndjson is shipped
 * for the default address, `peregrine kibana export` writes it for the configured one.
 */
import { readFileSync } from 'node:fs';

export const SAVED_OBJECTS_FILE = new URL('./peregrine.ndjson', import.meta.url).pathname;
export const DATA_VIEW_ID = 'peregrine-findings';

export interface SavedObject {
  type: string;
  id: string;
  attributes: Record<string, unknown>;
  references: Array<{ name: string; type: string; id: string }>;
}

export function parseSavedObjects(ndjson: string): SavedObject[] {
  return ndjson.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as SavedObject);
}

/** Kibana's URL field format for a trace id: `<uiUrl>/trace/{{value}}`, as the findings' `event.url` is built. */
export function traceUrlTemplate(jaegerUiUrl: string): string {
  return `${jaegerUiUrl.replace(/\/+$/, '')}/trace/{{value}}`;
}

/** The saved objects with the data view's `trace.id` link pointing at `jaegerUiUrl`; everything else as it is. */
export function renderSavedObjects(ndjson: string, jaegerUiUrl: string): string {
  const objects = parseSavedObjects(ndjson);
  const view = objects.find((o) => o.type === 'index-pattern' && o.id === DATA_VIEW_ID);
  if (!view) throw new Error(`the saved objects have no data view ${DATA_VIEW_ID}`);
  const formats = JSON.parse(view.attributes.fieldFormatMap as string) as Record<string, { id: string; params: Record<string, string> }>;
  const trace = formats['trace.id'];
  if (trace?.id !== 'url') throw new Error(`data view ${DATA_VIEW_ID} shows trace.id without a URL format`);
  trace.params.urlTemplate = traceUrlTemplate(jaegerUiUrl);
  view.attributes.fieldFormatMap = JSON.stringify(formats);
  return objects.map((o) => JSON.stringify(o)).join('\n') + '\n';
}

export function exportSavedObjects(jaegerUiUrl: string): string {
  return renderSavedObjects(readFileSync(SAVED_OBJECTS_FILE, 'utf8'), jaegerUiUrl);
}
