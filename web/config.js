// Deployment settings for the Helferruf web pages. Edit this file to adapt a
// deployment; no build step is involved.

/** Raster tile URL template ({z}/{x}/{y}); set to "" to draw no tiles at all. */
export const tileUrl = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";

/** Attribution shown on every map (required by the OpenStreetMap tile policy). */
export const tileAttribution = "© OpenStreetMap";
export const tileAttributionUrl = "https://www.openstreetmap.org/copyright";

/** Where a map opens when nothing better is known (Cologne). */
export const defaultCenter = { lat: 50.9375, lon: 6.9603 };
export const defaultZoom = 12;

/**
 * Protocol 1.1 funnel messages ("received", "seen"). A 1.0 server answers them
 * with an `unknown_type` error frame, which the pages ignore.
 */
export const sendFunnel = true;
