// CSV generation (RFC 4180 quoting) with a guard against spreadsheet formula
// injection: cells starting with = + - @ (or a tab / carriage return) get a
// leading apostrophe so that spreadsheets show them as text.

export function csvCell(value) {
  let s = value === null || value === undefined ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  if (/[",\r\n]/.test(s) || s.startsWith(" ") || s.endsWith(" ")) s = '"' + s.replace(/"/g, '""') + '"';
  return s;
}

/** rows: array of arrays. Returns CSV text with CRLF line ends and a BOM for spreadsheets. */
export function toCsv(rows) {
  return "\uFEFF" + rows.map((r) => r.map(csvCell).join(",")).join("\r\n") + "\r\n";
}
