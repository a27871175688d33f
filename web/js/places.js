// Offline place lookup: a short list of German cities, so that a place can be
// typed without any third-party geocoding service, plus a coordinate parser.

const PLACES = [
  ["Berlin", 52.5200, 13.4050], ["Hamburg", 53.5511, 9.9937], ["München", 48.1372, 11.5756, "Munich"],
  ["Köln", 50.9375, 6.9603, "Cologne"], ["Frankfurt am Main", 50.1109, 8.6821, "Frankfurt"],
  ["Stuttgart", 48.7758, 9.1829], ["Düsseldorf", 51.2277, 6.7735], ["Leipzig", 51.3397, 12.3731],
  ["Dortmund", 51.5136, 7.4653], ["Essen", 51.4556, 7.0116], ["Bremen", 53.0793, 8.8017],
  ["Dresden", 51.0504, 13.7373], ["Hannover", 52.3759, 9.7320, "Hanover"], ["Nürnberg", 49.4521, 11.0767, "Nuremberg"],
  ["Duisburg", 51.4344, 6.7623], ["Bochum", 51.4818, 7.2162], ["Wuppertal", 51.2562, 7.1508],
  ["Bielefeld", 52.0302, 8.5325], ["Bonn", 50.7374, 7.0982], ["Münster", 51.9607, 7.6261],
  ["Mannheim", 49.4875, 8.4660], ["Karlsruhe", 49.0069, 8.4037], ["Augsburg", 48.3705, 10.8978],
  ["Wiesbaden", 50.0782, 8.2398], ["Mönchengladbach", 51.1805, 6.4428], ["Gelsenkirchen", 51.5177, 7.0857],
  ["Aachen", 50.7753, 6.0839], ["Braunschweig", 52.2689, 10.5268], ["Kiel", 54.3233, 10.1228],
  ["Chemnitz", 50.8278, 12.9214], ["Halle (Saale)", 51.4969, 11.9688, "Halle"], ["Magdeburg", 52.1205, 11.6276],
  ["Freiburg im Breisgau", 47.9990, 7.8421, "Freiburg"], ["Krefeld", 51.3388, 6.5853], ["Mainz", 49.9929, 8.2473],
  ["Lübeck", 53.8655, 10.6866], ["Erfurt", 50.9848, 11.0299], ["Rostock", 54.0924, 12.0991],
  ["Kassel", 51.3127, 9.4797], ["Potsdam", 52.3906, 13.0645], ["Saarbrücken", 49.2402, 6.9969],
  ["Koblenz", 50.3569, 7.5890], ["Trier", 49.7490, 6.6371], ["Passau", 48.5667, 13.4319],
  ["Regensburg", 49.0134, 12.1016], ["Würzburg", 49.7913, 9.9534], ["Ahrweiler", 50.5430, 7.0950],
  ["Wien", 48.2082, 16.3738, "Vienna"], ["Zürich", 47.3769, 8.5417, "Zurich"],
];

function norm(s) {
  return s.toLocaleLowerCase("de").normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/ß/g, "ss").trim();
}

/** Names for a <datalist>. */
export function placeNames() {
  return PLACES.map((p) => p[0]);
}

/**
 * Parse "50.94, 6.96", "50.94 6.96", "50,94; 6,96" or a known place name.
 * Returns {lat, lon, label} or null.
 */
export function parsePlace(text) {
  const s = text.trim();
  if (!s) return null;
  let m = s.match(/^(-?\d{1,2}(?:\.\d+)?)\s*[,;\s]\s*(-?\d{1,3}(?:\.\d+)?)$/);
  if (!m) {
    m = s.match(/^(-?\d{1,2}(?:,\d+)?)\s*[;\s]\s*(-?\d{1,3}(?:,\d+)?)$/);
    if (m) m = [m[0], m[1].replace(",", "."), m[2].replace(",", ".")];
  }
  if (m) {
    const lat = Number(m[1]);
    const lon = Number(m[2]);
    if (isFinite(lat) && isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
      return { lat, lon, label: null };
    }
    return null;
  }
  const q = norm(s);
  const hit = PLACES.find((p) => norm(p[0]) === q || (p[3] && norm(p[3]) === q)) ||
    PLACES.find((p) => norm(p[0]).startsWith(q) || (p[3] && norm(p[3]).startsWith(q)));
  return hit ? { lat: hit[1], lon: hit[2], label: hit[0] } : null;
}
