// Follows the live event WebSocket: reconnects with backoff and resumes
// where it left off (`stream` + `last_event_id`); a `resync` frame means
// events were missed and the lists must be reloaded from the API.

export class Live {
  /**
   * `onEvent(event)` for every event, `onResync()` when the console must
   * reload, `onState(connected)` when the connection comes or goes,
   * `onRefused()` when the socket cannot open (maybe the session ended).
   */
  constructor({ onEvent, onResync, onState, onRefused }) {
    Object.assign(this, { onEvent, onResync, onState, onRefused });
    this.stream = null;
    this.lastId = null;
    this.delayMs = 500;
    this.socket = null;
    this.stopped = false;
    this.timer = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close();
    this.socket = null;
  }

  connect() {
    const params = new URLSearchParams();
    if (this.stream !== null && this.lastId !== null) {
      params.set('stream', this.stream);
      params.set('last_event_id', String(this.lastId));
    }
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const suffix = params.toString() ? `?${params}` : '';
    const socket = new WebSocket(`${scheme}//${location.host}/api/v1/events${suffix}`);
    this.socket = socket;
    let opened = false;
    socket.addEventListener('open', () => {
      opened = true;
      this.delayMs = 500;
      this.onState(true);
    });
    socket.addEventListener('message', (message) => {
      let frame;
      try { frame = JSON.parse(message.data); } catch { return; }
      if (frame.type === 'hello') {
        const resumed = this.stream === frame.stream && this.lastId !== null;
        this.stream = frame.stream;
        if (!resumed) {
          this.lastId = frame.id;
          // A first connection (or a new server) starts from fresh lists.
          this.onResync();
        }
        return;
      }
      if (frame.type === 'resync') {
        this.stream = frame.stream ?? this.stream;
        if (typeof frame.id === 'number') this.lastId = frame.id;
        this.onResync();
        return;
      }
      if (typeof frame.id === 'number') this.lastId = frame.id;
      this.onEvent(frame);
    });
    socket.addEventListener('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.onState(false);
      if (!opened) this.onRefused();
      if (this.stopped) return;
      const jitter = Math.random() * 0.3 * this.delayMs;
      this.timer = setTimeout(() => this.connect(), this.delayMs + jitter);
      this.delayMs = Math.min(this.delayMs * 2, 15000);
    });
  }
}
