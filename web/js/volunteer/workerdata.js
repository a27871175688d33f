// Volunteer page: what the service worker (/sw.js) needs to act for the
// volunteer while no page is open: the volunteer token (for accept and
// receipts over HTTP) and the language (for the notification's words). It
// lives in IndexedDB, which the worker can read; never in the Cache API or a
// URL. The worker leaves the ids of calls declined from a notification here
// for the page to pass on (see takeDeclined).

const DB = "helferruf-worker"; // the same database and store as in sw.js

// The same small helper stands in sw.js: the service worker is a classic script (it runs
// in every browser with Web Push, where a module worker would need `type: "module"`
// support in all of them), so it cannot import this ES module.

function kv(mode, fn) {
  return new Promise((resolve, reject) => {
    if (!("indexedDB" in window)) { resolve(undefined); return; }
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore("kv");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction("kv", mode);
      const req = fn(tx.objectStore("kv"));
      tx.oncomplete = () => { db.close(); resolve(req ? req.result : undefined); };
      tx.onerror = tx.onabort = () => { db.close(); reject(tx.error); };
    };
  });
}

/** Hand the token and language to the worker (both may be null to remove them). */
export async function shareWithWorker({ token, lang }) {
  try {
    await kv("readwrite", (s) => {
      if (token !== undefined) { if (token) s.put(token, "token"); else s.delete("token"); }
      if (lang !== undefined) { if (lang) s.put(lang, "lang"); else s.delete("lang"); }
      return null;
    });
  } catch { /* storage blocked: notification buttons will ask to open the page */ }
}

/** Calls declined from a notification and not passed on yet (left in place). */
export async function peekDeclined() {
  try {
    const ids = await kv("readonly", (s) => s.get("declined"));
    return Array.isArray(ids) ? ids.filter((id) => typeof id === "string") : [];
  } catch {
    return [];
  }
}

/** Calls declined from a notification since the page last looked; emptied by reading. */
export async function takeDeclined() {
  try {
    const ids = await kv("readonly", (s) => s.get("declined"));
    if (!Array.isArray(ids) || ids.length === 0) return [];
    await kv("readwrite", (s) => s.delete("declined"));
    return ids.filter((id) => typeof id === "string");
  } catch {
    return [];
  }
}

/** Remove everything the worker was given (sign-out, erasure). */
export async function clearWorkerData() {
  try {
    await kv("readwrite", (s) => s.clear());
  } catch { /* nothing to clear */ }
}
