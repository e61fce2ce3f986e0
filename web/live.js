// A small graphql-transport-ws client: one socket, several subscriptions, and reconnects that
// resume each subscription after the last `seq` it delivered (or what its `resume` says, e.g. a
// conversation's last message position), so nothing is lost in between.

const UNAUTHORIZED = 4403;

export class LiveDesk {
  /**
   * @param {object} options
   * @param {string} options.token the bearer token, sent in connection_init
   * @param {(state: "connecting"|"live"|"offline") => void} options.onState
   * @param {() => void} options.onUnauthorized the server refused the token
   */
  constructor({ token, onState, onUnauthorized }) {
    this.token = token;
    this.onState = onState;
    this.onUnauthorized = onUnauthorized;
    this.subscriptions = new Map(); // id -> {query, variables, after, next, resume, error}
    this.socket = null;
    this.acked = false; // the server accepted this socket: subscriptions may be sent
    this.stopped = false;
    this.retryDelay = 500;
  }

  /** `next(data)` receives each result; the result's `seq` is remembered for reconnects
   * (`resume(result)`: the number to resume after instead, if the subscription is not the
   * log's). `error(errors)`, if given, hears that the server ended it with errors (the session
   * is not visible, say): it is then over, not started again on a reconnect.
   * Sent at once when the socket is up, else when it is. An id is used once: a subscription
   * ended by `unsubscribe` is not started again under its id (the server may not have let go
   * of it yet). */
  subscribe(id, query, { after = null, variables = {}, next, resume = null, error = null }) {
    const sub = { query, variables, after, next, resume, error };
    this.subscriptions.set(id, sub);
    if (this.acked) this.sendSubscribe(id, sub);
  }

  /** Ends a subscription: on the server at once (e.g. presence: the others see one leave). */
  unsubscribe(id) {
    if (!this.subscriptions.delete(id)) return;
    if (this.acked) this.send({ id, type: "complete" });
  }

  sendSubscribe(id, sub) {
    const variables = { ...sub.variables, after: sub.after };
    this.send({ id, type: "subscribe", payload: { query: sub.query, variables } });
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    this.socket = null; // its close is expected: no state change, no reconnect
    this.acked = false;
    socket?.close(1000, "signed out");
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/graphql`, "graphql-transport-ws");
    this.socket = socket;
    this.acked = false;
    this.onState("connecting");
    socket.onopen = () => {
      this.send({ type: "connection_init", payload: { Authorization: `Bearer ${this.token}` } });
    };
    socket.onmessage = (event) => this.receive(JSON.parse(event.data));
    socket.onclose = (event) => {
      if (socket !== this.socket) return;
      this.acked = false;
      this.onState("offline");
      if (event.code === UNAUTHORIZED) return this.onUnauthorized();
      if (!this.stopped) this.retryTimer = setTimeout(() => this.connect(), this.nextDelay());
    };
  }

  nextDelay() {
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, 10000);
    return delay;
  }

  receive(message) {
    switch (message.type) {
      case "connection_ack":
        this.retryDelay = 500;
        this.acked = true;
        for (const [id, sub] of this.subscriptions) this.sendSubscribe(id, sub);
        this.onState("live");
        break;
      case "ping":
        this.send({ type: "pong" });
        break;
      case "next": {
        const sub = this.subscriptions.get(message.id);
        const { data, errors } = message.payload;
        if (sub && !data && errors?.length) this.failed(message.id, sub, errors);
        if (!sub || !data) break;
        const result = Object.values(data)[0];
        const mark = sub.resume ? sub.resume(result) : result?.seq;
        if (typeof mark === "number") sub.after = Math.max(sub.after ?? 0, mark);
        sub.next(result);
        break;
      }
      case "error": {
        console.error("subscription", message.id, message.payload);
        const sub = this.subscriptions.get(message.id);
        if (sub) this.failed(message.id, sub, message.payload);
        break;
      }
      default:
        break; // "complete", "pong"
    }
  }

  /** The server ended a subscription with errors: over, if its owner hears of it. */
  failed(id, sub, errors) {
    if (!sub.error) return; // kept: a reconnect starts it again
    this.subscriptions.delete(id);
    sub.error(errors);
  }

  send(message) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }
}
