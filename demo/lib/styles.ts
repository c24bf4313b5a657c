/**
 * Styles shared by the components. Colours come from CSS custom properties (--lt-*) that the page
 * defines for light and dark schemes; every use has a fallback, so a component dropped into
 * another app still looks right without the page's stylesheet.
 */
import { css } from "lit";

export const base = css`
  :host {
    font-family: var(--lt-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
    color: var(--lt-fg, #1d1f27);
    box-sizing: border-box;
  }
  *, *::before, *::after { box-sizing: inherit; }
  [hidden] { display: none !important; }
  button {
    font: inherit;
    font-size: 0.9rem;
    padding: 0.45rem 0.9rem;
    border-radius: 0.5rem;
    border: 1px solid var(--lt-border, #d4d6e0);
    background: var(--lt-card, #fff);
    color: inherit;
    cursor: pointer;
    transition: background 0.15s, border-color 0.15s, transform 0.05s;
  }
  button:hover:not(:disabled) { border-color: var(--lt-accent, #5b4cdb); }
  button:active:not(:disabled) { transform: translateY(1px); }
  button:disabled { opacity: 0.5; cursor: not-allowed; }
  button.primary { background: var(--lt-accent, #5b4cdb); border-color: var(--lt-accent, #5b4cdb); color: var(--lt-accent-fg, #fff); font-weight: 600; }
  button.primary:hover:not(:disabled) { filter: brightness(1.08); }
  button:focus-visible, input:focus-visible, select:focus-visible { outline: 2px solid var(--lt-accent, #5b4cdb); outline-offset: 2px; }
  .muted { color: var(--lt-muted, #6b6f80); }
  .small { font-size: 0.8rem; }
  .mono { font-family: var(--lt-mono, ui-monospace, "SF Mono", Menlo, Consolas, monospace); font-variant-numeric: tabular-nums; }
  .empty {
    display: grid;
    place-items: center;
    text-align: center;
    color: var(--lt-muted, #6b6f80);
    font-size: 0.9rem;
    border: 1px dashed var(--lt-border, #d4d6e0);
    border-radius: var(--lt-radius, 0.75rem);
    padding: 1.5rem 1rem;
  }
  canvas.pixels { image-rendering: pixelated; image-rendering: crisp-edges; display: block; }
  h3 { font-size: 0.95rem; margin: 0 0 0.5rem; font-weight: 650; letter-spacing: 0.01em; }
`;
