// A WebSocket that authenticates with a hello message and reconnects with
// jittered exponential backoff. Used by the volunteer page (/ws/volunteer) and
// by the console and dashboard (/ws/dashboard).

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 30000;

export function wsUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

/**
 * States reported through onState: "connecting", "online" (after the server's
 * first answer), "waiting" (backoff, with retryAt), "stopped".
 */
export class LiveSocket {
  /**
   * @param {object} o
   * @param {string} o.path e.g. "/ws/volunteer"
   * @param {() => string|null} [o.token] returns the token to send in hello
   * @param {() => Promise<object|null>} [o.hello] instead of o.token: returns the
   *   hello message itself (e.g. with a fresh ticket); an ApiError with status
   *   401 or 403 counts as unauthorized, any other failure is retried
   * @param {(msg: object) => void} o.onMessage every parsed server message
   * @param {(state: string, info: object) => void} o.onState connection state changes
   * @param {() => void} o.onUnauthorized close code 4401: the token is unknown
   * @param {string[]} o.readyTypes message types that prove the hello was accepted
   */
  constructor(o) {
    this.path = o.path;
    this.hello = o.hello || (() => {
      const token = o.token();
      return token ? { type: "hello", token } : null;
    });
    this.opening = 0;
    this.onMessage = o.onMessage;
    this.onState = o.onState || (() => {});
    this.onUnauthorized = o.onUnauthorized || (() => {});
    this.readyTypes = new Set(o.readyTypes || ["welcome", "snapshot"]);
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.running = false;
    this.online = false;
    this.state = "stopped";
    this.retryAt = 0;

    this._wake = () => {
      if (this.running && this.state === "waiting") this.connectNow();
    };
    window.addEventListener("online", this._wake);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this._wake();
    });
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.attempt = 0;
    this._open();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    this.online = false;
    if (ws) {
      try { ws.close(1000); } catch { /* ignore */ }
    }
    this._setState("stopped");
  }

  /** Skip the backoff wait and connect at once. */
  connectNow() {
    if (!this.running) return;
    clearTimeout(this.timer);
    this.timer = null;
    if (!this.ws) this._open();
  }

  /** Send a message; returns false when not connected. */
  send(msg) {
    if (!this.ws || !this.online || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  isOnline() {
    return this.online;
  }

  _setState(state, info = {}) {
    this.state = state;
    this.onState(state, info);
  }

  async _open() {
    const seq = ++this.opening;
    let hello;
    try {
      hello = await this.hello();
    } catch (e) {
      if (seq !== this.opening || !this.running) return;
      if (e && (e.status === 401 || e.status === 403)) this._unauthorized();
      else this._scheduleRetry();
      return;
    }
    // stop(), or a newer attempt, came while the hello was being prepared.
    if (seq !== this.opening || !this.running || this.ws) return;
    if (!hello) {
      this.stop();
      return;
    }
    this._setState("connecting");
    let ws;
    try {
      ws = new WebSocket(wsUrl(this.path));
    } catch {
      this._scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      ws.send(JSON.stringify(hello));
    });
    ws.addEventListener("message", (ev) => {
      if (this.ws !== ws) return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (!msg || typeof msg !== "object" || typeof msg.type !== "string") return;
      if (!this.online && this.readyTypes.has(msg.type)) {
        this.online = true;
        this.attempt = 0;
        this._setState("online");
      }
      try {
        this.onMessage(msg);
      } catch (e) {
        // A rendering bug must not kill the connection.
        console.warn("helferruf: message handler failed", e);
      }
    });
    ws.addEventListener("close", (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.online = false;
      if (!this.running) return;
      if (ev.code === 4401) {
        this._unauthorized(ev.code);
        return;
      }
      // 1008 (policy, e.g. rate limit) and 1013 (overloaded): back off harder.
      if (ev.code === 1008 || ev.code === 1013) this.attempt = Math.max(this.attempt, 4);
      this._scheduleRetry(ev.code);
    });
    // "error" is always followed by "close"; nothing to do here.
  }

  _unauthorized(code) {
    this.running = false;
    this._setState("stopped", { code });
    this.onUnauthorized();
  }

  _scheduleRetry(code) {
    const exp = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** this.attempt);
    // Jitter: between half and all of the exponential delay, so that many
    // clients cut off at once do not come back at once.
    const delay = Math.round(exp / 2 + Math.random() * (exp / 2));
    this.attempt = Math.min(this.attempt + 1, 16);
    this.retryAt = Date.now() + delay;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.running && !this.ws) this._open();
    }, delay);
    this._setState("waiting", { retryAt: this.retryAt, code });
  }
}

/**
 * Render the connection state into a status element (with a "connect now"
 * button while waiting). Returns the onState callback.
 */
export function connectionIndicator(node, button, tr) {
  let tick = null;
  let last = { state: "stopped", info: {} };
  const render = () => {
    const { state, info } = last;
    node.dataset.state = state;
    clearInterval(tick);
    tick = null;
    if (button) button.hidden = state !== "waiting";
    if (state === "online") node.textContent = tr("conn.online");
    else if (state === "connecting") node.textContent = tr("conn.connecting");
    else if (state === "waiting") {
      const update = () => {
        const s = Math.max(0, Math.ceil((info.retryAt - Date.now()) / 1000));
        node.textContent = navigator.onLine === false ? tr("conn.browserOffline") : tr("conn.retryIn", { s });
      };
      update();
      tick = setInterval(update, 1000);
    } else node.textContent = ""; // stopped: signed out, nothing to show
  };
  const onState = (state, info) => {
    last = { state, info };
    render();
  };
  onState.rerender = render;
  return onState;
}
