/// <reference lib="dom" />
// The health panel's DOM helpers (browser side, bundled with panel.ts): elements built with
// textContent only (no HTML from data), and what a rendered button may do.
import type { PanelToHost } from './protocol';

/** What the buttons drawn in the tables and findings may do. */
export interface PanelActions {
  /** Starting a flow is offered (the host refuses it too when not); copying a command always is. */
  readonly canRecover: boolean;
  /** Sends a request to the host, numbered when it is sent (on the click). */
  request(make: (requestId: number) => PanelToHost): void;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export function byId(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (!e) throw new Error(`missing #${id}`);
  return e;
}

export function shortId(id: string): string {
  return id || '—';
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}
