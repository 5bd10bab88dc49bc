// The room's socket: opened again after each drop, with backoff; the status line; and the
// server's flood limit, mirrored, which every frame but typing notices is paced to.

import { CLOSE, LIMITS, TEXT, fill, keepsHistory, room } from "./protocol.js";

const MAX_RECONNECT_DELAY_MS = 30000;
// How long an error that concerns no message stays in the status line.
const ERROR_SHOWN_MS = 8000;

const statusLine = document.getElementById("status");

let handlers = null;
let socket = null;
let reconnectAttempts = 0;
// When a server going away (a deploy) asked this client to come back, in ms.
let reconnectAfter = null;
let hasConnected = false;
// Why the room refused this socket, told just before the close (4403).
let refusedBecause = null;

export function isOpen() {
  return socket !== null && socket.readyState === WebSocket.OPEN;
}

export function send(frame) {
  if (isOpen()) socket.send(JSON.stringify(frame));
}

// -- The status line -------------------------------------------------------------------------

let connectionStatus = { text: "", isError: false };
let errorTimer = null;

function renderStatus(text, isError) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", isError);
}

// The state of the connection, shown until it changes.
function setStatus(text, isError = false) {
  connectionStatus = { text, isError };
  clearTimeout(errorTimer);
  renderStatus(text, isError);
}

// An error the server sent about no message in particular, shown for a while.
export function showError(text) {
  clearTimeout(errorTimer);
  renderStatus(text, true);
  errorTimer = setTimeout(() => renderStatus(connectionStatus.text, connectionStatus.isError), ERROR_SHOWN_MS);
}

// -- The flood limit -------------------------------------------------------------------------

// The server's flood limit, mirrored: a token bucket of every frame but typing notices.
// The server's bucket is shared by all of a sender's tabs, so it can still refuse a frame;
// the refusal says when to send again (holdUntil).
const bucket = { tokens: LIMITS.frame_burst, updated: performance.now(), holdUntil: 0 };

function refill() {
  const now = performance.now();
  bucket.tokens = Math.min(
    LIMITS.frame_burst, bucket.tokens + ((now - bucket.updated) / 1000) * LIMITS.frames_per_second);
  bucket.updated = now;
  return now;
}

// Milliseconds until the server would take another frame.
export function waitForToken() {
  const now = refill();
  const forToken = bucket.tokens >= 1 ? 0 : ((1 - bucket.tokens) / LIMITS.frames_per_second) * 1000;
  return Math.max(forToken, bucket.holdUntil - now);
}

export function takeToken() {
  refill();
  bucket.tokens -= 1;
}

// Send nothing more for this long: the server asked so, or it helps a retry.
export function holdFor(seconds) {
  bucket.holdUntil = performance.now() + seconds * 1000;
}

// -- Connecting ------------------------------------------------------------------------------

// A server going away (a deploy) asks its clients to come back after this many seconds.
export function comeBackAfter(seconds) {
  reconnectAfter = seconds * 1000;
}

// The room refused this socket, for this reason; the close comes next.
export function refusedWith(reason) {
  refusedBecause = reason;
}

// Close codes after which reconnecting cannot help, and what the person is told.
const FINAL_CLOSES = {
  [CLOSE.login_required]: TEXT.login_required,
  [CLOSE.forbidden]: TEXT.session_ended,
  [CLOSE.too_many_sockets]: TEXT.too_many_sockets,
  [CLOSE.invalid_room]: TEXT.invalid_room,
};

// Keep a socket made by newSocket() open, for as long as reconnecting can help. Tell
// handlers: connecting() for each new socket, opened(reconnected) once it is open,
// frame(frame) for each frame the server sends, and closed() when it drops.
export function connect(given) {
  handlers = given;
  reconnect();
}

function socketUrl() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${window.location.host}/ws/chat/${encodeURIComponent(room)}/`;
}

function reconnect() {
  socket = new WebSocket(socketUrl());
  handlers.connecting();
  socket.addEventListener("open", () => {
    reconnectAttempts = 0;
    const reconnected = hasConnected;
    setStatus(reconnected && !keepsHistory ? TEXT.reconnected_without_history : TEXT.connected);
    hasConnected = true;
    handlers.opened(reconnected);
  });
  socket.addEventListener("message", (event) => handlers.frame(JSON.parse(event.data)));
  socket.addEventListener("close", (event) => {
    handlers.closed();
    if (event.code in FINAL_CLOSES) {
      // 4403 is a session ended, or a private room this user may not be in: the error
      // frame before the close says which.
      const forbidden = event.code === CLOSE.forbidden && refusedBecause;
      setStatus(forbidden ? refusedBecause : FINAL_CLOSES[event.code], true);
      return;
    }
    if (event.code === CLOSE.too_many_messages) {
      reconnectAttempts = Math.max(reconnectAttempts, 3);
    }
    // Exponential backoff with full jitter, so that clients dropped together by a server
    // restart do not all reconnect at the same instant; a server going away has spread
    // its clients' delays itself.
    const ceiling = Math.min(MAX_RECONNECT_DELAY_MS, 1000 * 2 ** reconnectAttempts);
    let delay = Math.random() * ceiling;
    if (event.code === CLOSE.going_away && reconnectAfter !== null) {
      delay = Math.min(reconnectAfter, MAX_RECONNECT_DELAY_MS);
    } else {
      reconnectAttempts += 1;
    }
    reconnectAfter = null;
    setStatus(fill(TEXT.reconnecting, { seconds: Math.ceil(delay / 1000) }), true);
    setTimeout(reconnect, delay);
  });
}
