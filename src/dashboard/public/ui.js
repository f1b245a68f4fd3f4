// preact + htm, the page's whole toolkit (served from the installed packages). Job data is
// only ever passed as text children or attributes, which preact escapes: never as HTML.
import { h, render } from './vendor/preact.js';
import { useCallback, useEffect, useRef, useState } from './vendor/hooks.js';
import htm from './vendor/htm.js';

export const html = htm.bind(h);
export { render, useCallback, useEffect, useRef, useState };

export const fmtTime = (ms) => (ms === undefined || ms === null ? '' : new Date(ms).toLocaleString());
export const fmtMs = (ms) => (ms === undefined || ms === null ? '—' : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`);
export const fmtBytes = (b) => `${(b / 1048576).toFixed(1)} MiB`;
export const STATES = ['pending', 'reserved', 'started', 'retrying', 'succeeded', 'failed', 'cancelled', 'expired'];

export function State({ state }) {
  return html`<span class=${`state state-${state}`}>${state}</span>`;
}
