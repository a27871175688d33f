// A small slippy map with plain <img> raster tiles (Web Mercator). It stays fully
// usable when tiles cannot load: the background is a grid, clicks still pick a
// point, and the picked coordinates are shown as text by the caller.
//
// Positions are set through the CSSOM (element.style), which a strict CSP
// without 'unsafe-inline' allows.

import { tileUrl, tileAttribution, tileAttributionUrl, defaultCenter, defaultZoom } from "../config.js";
import { t } from "./i18n.js";
import { el } from "./util.js";

const TILE = 256;
const MIN_ZOOM = 3;
const MAX_ZOOM = 18;

function project(lat, lon, z) {
  const size = TILE * 2 ** z;
  const clamped = Math.max(-85.05112878, Math.min(85.05112878, lat));
  const s = Math.sin((clamped * Math.PI) / 180);
  return {
    x: ((lon + 180) / 360) * size,
    y: (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * size,
  };
}

function unproject(x, y, z) {
  const size = TILE * 2 ** z;
  const lon = (x / size) * 360 - 180;
  const n = Math.PI - (2 * Math.PI * y) / size;
  const lat = (180 / Math.PI) * Math.atan(0.5 * (Math.exp(n) - Math.exp(-n)));
  return { lat, lon: ((((lon + 180) % 360) + 360) % 360) - 180 };
}

function metresPerPixel(lat, z) {
  return (156543.03392 * Math.cos((lat * Math.PI) / 180)) / 2 ** z;
}

export class TileMap {
  /**
   * @param {HTMLElement} container an empty element; it becomes the map
   * @param {{center?: {lat,lon}, zoom?: number, onPick?: (p: {lat, lon}) => void, label?: string}} opts
   */
  constructor(container, opts = {}) {
    this.root = container;
    this.center = opts.center || { ...defaultCenter };
    this.zoom = opts.zoom || defaultZoom;
    this.onPick = opts.onPick || null;
    this.pin = null;
    this.radiusKm = null;
    this.tiles = new Map();
    this.failed = 0;
    this.loaded = 0;

    container.classList.add("map");
    container.tabIndex = 0;
    container.setAttribute("role", "application");
    if (opts.label) container.setAttribute("aria-label", opts.label);

    this.layer = el("div", { class: "map-tiles", "aria-hidden": "true" });
    this.circle = el("div", { class: "map-circle", hidden: true, "aria-hidden": "true" });
    this.pinEl = el("div", { class: "map-pin", hidden: true, "aria-hidden": "true" });
    this.cross = el("div", { class: "map-cross", "aria-hidden": "true" });
    this.zoomIn = el("button", { type: "button", class: "map-btn", "aria-label": "+", onclick: (e) => { e.stopPropagation(); this.setZoom(this.zoom + 1); } }, "+");
    this.zoomOut = el("button", { type: "button", class: "map-btn", "aria-label": "−", onclick: (e) => { e.stopPropagation(); this.setZoom(this.zoom - 1); } }, "−");
    this.note = el("p", { class: "map-note", hidden: true });
    const attribution = el("div", { class: "map-attrib" },
      el("a", { href: tileAttributionUrl, target: "_blank", rel: "noopener" }, tileAttribution));
    container.append(this.layer, this.circle, this.pinEl, this.cross,
      el("div", { class: "map-controls" }, this.zoomIn, this.zoomOut), this.note, attribution);
    if (!tileUrl) container.classList.add("map-no-tiles");

    this._bindPointer();
    this._bindKeys();
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(() => this.render()).observe(container);
    }
    this.render();
  }

  setCenter(p, zoom) {
    this.center = { lat: p.lat, lon: p.lon };
    if (zoom) this.zoom = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, zoom));
    this.render();
  }

  setZoom(z) {
    this.zoom = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, z));
    this.render();
  }

  /** Show the pin at p (or hide it with null). Does not call onPick. */
  setPin(p) {
    this.pin = p ? { lat: p.lat, lon: p.lon } : null;
    this.render();
  }

  setRadius(km) {
    this.radiusKm = km && km > 0 ? km : null;
    this.render();
  }

  /** Zoom so that the radius circle (or a city-sized area) fits around the pin. */
  fit() {
    const c = this.pin || this.center;
    const w = this.root.clientWidth || 320;
    const h = this.root.clientHeight || 240;
    const km = this.radiusKm || 3;
    let z = MAX_ZOOM;
    while (z > MIN_ZOOM && (2 * km * 1000) / metresPerPixel(c.lat, z) > Math.min(w, h) * 0.85) z -= 1;
    this.setCenter(c, z);
  }

  _topLeft() {
    const c = project(this.center.lat, this.center.lon, this.zoom);
    return { x: c.x - this.root.clientWidth / 2, y: c.y - this.root.clientHeight / 2 };
  }

  render() {
    const w = this.root.clientWidth;
    const h = this.root.clientHeight;
    if (!w || !h) return;
    const tl = this._topLeft();
    const z = this.zoom;
    const n = 2 ** z;

    if (tileUrl) {
      const wanted = new Set();
      const x0 = Math.floor(tl.x / TILE);
      const x1 = Math.floor((tl.x + w) / TILE);
      const y0 = Math.max(0, Math.floor(tl.y / TILE));
      const y1 = Math.min(n - 1, Math.floor((tl.y + h) / TILE));
      for (let ty = y0; ty <= y1; ty++) {
        for (let tx = x0; tx <= x1; tx++) {
          const wx = ((tx % n) + n) % n;
          const key = `${z}/${tx}/${ty}`;
          wanted.add(key);
          let img = this.tiles.get(key);
          if (!img) {
            img = el("img", { class: "map-tile", alt: "", draggable: "false", decoding: "async" });
            img.addEventListener("load", () => { this.loaded += 1; this._updateNote(); });
            img.addEventListener("error", () => {
              img.classList.add("failed");
              this.failed += 1;
              this._updateNote();
            });
            img.src = tileUrl.replace("{z}", z).replace("{x}", wx).replace("{y}", ty);
            this.tiles.set(key, img);
            this.layer.append(img);
          }
          img.style.transform = `translate(${Math.round(tx * TILE - tl.x)}px, ${Math.round(ty * TILE - tl.y)}px)`;
        }
      }
      for (const [key, img] of this.tiles) {
        if (!wanted.has(key)) {
          img.remove();
          this.tiles.delete(key);
        }
      }
    }

    // Grid background that moves with the map, so panning is visible without tiles.
    this.root.style.backgroundPosition = `${Math.round(-tl.x % 64)}px ${Math.round(-tl.y % 64)}px`;

    if (this.pin) {
      const p = project(this.pin.lat, this.pin.lon, z);
      const px = p.x - tl.x;
      const py = p.y - tl.y;
      this.pinEl.hidden = false;
      this.pinEl.style.transform = `translate(${Math.round(px)}px, ${Math.round(py)}px)`;
      if (this.radiusKm) {
        const r = (this.radiusKm * 1000) / metresPerPixel(this.pin.lat, z);
        const d = Math.min(Math.round(2 * r), 20000);
        this.circle.hidden = false;
        this.circle.style.width = `${d}px`;
        this.circle.style.height = `${d}px`;
        this.circle.style.transform = `translate(${Math.round(px - d / 2)}px, ${Math.round(py - d / 2)}px)`;
      } else {
        this.circle.hidden = true;
      }
    } else {
      this.pinEl.hidden = true;
      this.circle.hidden = true;
    }
  }

  _updateNote() {
    const broken = this.failed > 0 && this.loaded === 0;
    this.root.classList.toggle("map-no-tiles", broken || !tileUrl);
    this.note.hidden = !broken;
    this.note.textContent = t("map.noTiles");
  }

  _pointToLatLon(clientX, clientY) {
    const rect = this.root.getBoundingClientRect();
    const tl = this._topLeft();
    return unproject(tl.x + clientX - rect.left, tl.y + clientY - rect.top, this.zoom);
  }

  _pick(p) {
    this.setPin(p);
    if (this.onPick) this.onPick({ lat: Math.round(p.lat * 1e6) / 1e6, lon: Math.round(p.lon * 1e6) / 1e6 });
  }

  _bindPointer() {
    let start = null;
    let dragging = false;
    this.root.addEventListener("pointerdown", (e) => {
      if (e.button !== 0 || e.target.closest("button, a")) return;
      start = { x: e.clientX, y: e.clientY, c: project(this.center.lat, this.center.lon, this.zoom) };
      dragging = false;
      this.root.setPointerCapture(e.pointerId);
    });
    this.root.addEventListener("pointermove", (e) => {
      if (!start) return;
      const dx = e.clientX - start.x;
      const dy = e.clientY - start.y;
      if (!dragging && Math.hypot(dx, dy) > 6) dragging = true;
      if (dragging) {
        this.center = unproject(start.c.x - dx, start.c.y - dy, this.zoom);
        this.render();
      }
    });
    const end = (e, cancelled) => {
      if (!start) return;
      if (!dragging && !cancelled) this._pick(this._pointToLatLon(e.clientX, e.clientY));
      start = null;
      dragging = false;
    };
    this.root.addEventListener("pointerup", (e) => end(e, false));
    this.root.addEventListener("pointercancel", (e) => end(e, true));
    this.root.addEventListener("dblclick", (e) => {
      if (e.target.closest("button, a")) return;
      this.setZoom(this.zoom + 1);
    });
  }

  _bindKeys() {
    this.root.addEventListener("keydown", (e) => {
      if (e.target !== this.root) return;
      const step = 80;
      const c = project(this.center.lat, this.center.lon, this.zoom);
      let handled = true;
      switch (e.key) {
        case "ArrowLeft": this.center = unproject(c.x - step, c.y, this.zoom); break;
        case "ArrowRight": this.center = unproject(c.x + step, c.y, this.zoom); break;
        case "ArrowUp": this.center = unproject(c.x, c.y - step, this.zoom); break;
        case "ArrowDown": this.center = unproject(c.x, c.y + step, this.zoom); break;
        case "+": case "=": this.zoom = Math.min(MAX_ZOOM, this.zoom + 1); break;
        case "-": this.zoom = Math.max(MIN_ZOOM, this.zoom - 1); break;
        case "Enter": case " ": this._pick(this.center); break;
        default: handled = false;
      }
      if (handled) {
        e.preventDefault();
        this.render();
      }
    });
  }
}
