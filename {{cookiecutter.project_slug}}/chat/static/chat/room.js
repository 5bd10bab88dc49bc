// Chat room client: a plain JavaScript module, no build step.
// Text from the server is rendered with textContent and DOM methods, never as HTML.

// Frame types, error and close codes, and limits, as the server defines them
// (chat/protocol.py), handed over by the page.
const PROTOCOL = JSON.parse(document.getElementById("chat-protocol").textContent);
const TYPES = PROTOCOL.types;
const ERRORS = PROTOCOL.errors;
const CLOSE = PROTOCOL.close;
const LIMITS = PROTOCOL.limits;
const keepsHistory = PROTOCOL.keeps_history;
// Everything this client says, in the page's language (chat/client_texts.py).
const TEXT = JSON.parse(document.getElementById("chat-texts").textContent);
const LANGUAGE = document.documentElement.lang;

const MAX_RECONNECT_DELAY_MS = 30000;
const TYPING_SEND_INTERVAL_MS = 3000;
const TYPING_SHOWN_MS = 4000;
// A message the server has not answered in this time is shown as not sent, with a retry.
const ANSWER_TIMEOUT_MS = 5000;
// How long an error that concerns no message stays in the status line.
const ERROR_SHOWN_MS = 8000;
// A message the server could not save is sent again this many times, a little later
// each time, before it is shown as not sent.
const SAVE_ATTEMPTS = 3;

const chat = document.getElementById("chat");
const room = chat.dataset.room;
const me = chat.dataset.user;
const meIsGuest = chat.dataset.guest === "true";
const messageList = document.getElementById("messages");
const statusLine = document.getElementById("status");
const typingLine = document.getElementById("typing");
const presenceList = document.getElementById("presence");
const loadOlderButton = document.getElementById("load-older");
const emptyNote = document.getElementById("empty");
const form = document.getElementById("message-form");
const input = document.getElementById("message-input");

const shownIds = new Set();
const typing = new Map(); // display name -> timer that hides them
let lastId = null;
let socket = null;
let reconnectAttempts = 0;
let hasConnected = false;
let lastTypingSent = 0;
// What each history request asked for ("older" or "resume"), by the client_id the server
// echoes in its answer. The socket's first chat.history frame comes unasked, without one.
let historyRequests = new Map();
let olderExhausted = false;

// Ids for the frames this page sends. crypto.randomUUID() exists only on secure pages
// (HTTPS or localhost), not on a plain-HTTP page served from a LAN address, so: a random
// prefix per page, from crypto.getRandomValues(), which exists everywhere, and a counter.
const idPrefix = Array.from(crypto.getRandomValues(new Uint8Array(8)), (byte) =>
  byte.toString(16).padStart(2, "0")).join("");
let idCounter = 0;
function newClientId() {
  idCounter += 1;
  return `${idPrefix}-${idCounter}`;
}

function socketUrl() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${window.location.host}/ws/chat/${encodeURIComponent(room)}/`;
}

function isOpen() {
  return socket !== null && socket.readyState === WebSocket.OPEN;
}

// A text with its "{name}" fields filled in.
function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (field, name) => (name in values ? values[name] : field));
}

function send(frame) {
  if (isOpen()) socket.send(JSON.stringify(frame));
}

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
function showError(text) {
  clearTimeout(errorTimer);
  renderStatus(text, true);
  errorTimer = setTimeout(() => renderStatus(connectionStatus.text, connectionStatus.isError), ERROR_SHOWN_MS);
}

// -- The flood limit -----------------------------------------------------------------------

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
function waitForToken() {
  const now = refill();
  const forToken = bucket.tokens >= 1 ? 0 : ((1 - bucket.tokens) / LIMITS.frames_per_second) * 1000;
  return Math.max(forToken, bucket.holdUntil - now);
}

function takeToken() {
  refill();
  bucket.tokens -= 1;
}

function holdFor(seconds) {
  bucket.holdUntil = performance.now() + seconds * 1000;
}

// -- Messages on the page --------------------------------------------------------------------

// Times and dates in the page's language, in the browser's time zone.
const timeFormat = new Intl.DateTimeFormat(LANGUAGE, { hour: "numeric", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat(LANGUAGE, { dateStyle: "full", timeStyle: "medium" });
const dayFormat = new Intl.DateTimeFormat(LANGUAGE, { dateStyle: "long" });
const relativeDays = new Intl.RelativeTimeFormat(LANGUAGE, { numeric: "auto" });
const nameList = new Intl.ListFormat(LANGUAGE, { style: "long", type: "conjunction" });

function dayKey(date) {
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

// "Today", "Yesterday", or the date, in the page's language.
function dayLabel(date) {
  const today = new Date();
  const startOf = (day) => new Date(day.getFullYear(), day.getMonth(), day.getDate());
  const days = Math.round((startOf(date) - startOf(today)) / 86400000);
  if (days === 0 || days === -1) {
    const label = relativeDays.format(days, "day");
    return label.charAt(0).toUpperCase() + label.slice(1);
  }
  return dayFormat.format(date);
}

// The message's text, with http(s) links made clickable; everything else stays text.
const LINK = /\bhttps?:\/\/[^\s<>"]+/g;
const TRAILING_PUNCTUATION = /[.,;:!?'")\]]+$/;

function messageText(text) {
  const span = document.createElement("span");
  span.className = "text";
  // Korean wraps between words, not inside them (style.css).
  if (/[\uac00-\ud7a3]/.test(text)) span.lang = "ko";
  let shownUpTo = 0;
  for (const match of text.matchAll(LINK)) {
    const url = match[0].replace(TRAILING_PUNCTUATION, "");
    let href;
    try {
      href = new URL(url);
    } catch {
      continue;
    }
    if (href.protocol !== "http:" && href.protocol !== "https:") continue;
    span.append(text.slice(shownUpTo, match.index));
    const link = document.createElement("a");
    link.href = href.href;
    link.textContent = url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    span.append(link);
    shownUpTo = match.index + url.length;
  }
  span.append(text.slice(shownUpTo));
  return span;
}

function messageItem(frame) {
  const item = document.createElement("li");
  item.className = "message";
  item.classList.toggle("mine", frame.user === me);
  const author = document.createElement("span");
  author.className = "author";
  author.classList.toggle("guest", frame.guest === true);
  author.textContent = frame.user;
  const time = document.createElement("time");
  if (frame.ts) {
    const date = new Date(frame.ts);
    time.dateTime = frame.ts;
    time.textContent = timeFormat.format(date);
    time.title = fullFormat.format(date);
    item.dataset.day = dayKey(date);
    item.dataset.ts = frame.ts;
  }
  item.append(author, time, messageText(frame.message));
  return item;
}

// A day divider before each message that starts a new day; none elsewhere.
function updateDividers() {
  for (const divider of messageList.querySelectorAll("li.day")) divider.remove();
  let previousDay = null;
  for (const item of messageList.querySelectorAll("li.message[data-day]")) {
    if (item.dataset.day !== previousDay) {
      const divider = document.createElement("li");
      divider.className = "day";
      divider.setAttribute("role", "separator");
      divider.textContent = dayLabel(new Date(item.dataset.ts));
      item.before(divider);
      previousDay = item.dataset.day;
    }
  }
}

function atBottom() {
  return messageList.scrollHeight - messageList.scrollTop - messageList.clientHeight < 40;
}

function scrollToBottom() {
  messageList.scrollTop = messageList.scrollHeight;
}

// Messages are kept in id order, whatever order history, resumed and live messages
// arrive in, and each is shown once; messages still on their way come last. Returns
// whether the message was new to the page.
function placeMessage(frame) {
  if (frame.client_id) delivered(frame.client_id);
  if (frame.id !== undefined) {
    if (shownIds.has(frame.id)) return false;
    shownIds.add(frame.id);
    lastId = lastId === null ? frame.id : Math.max(lastId, frame.id);
  }
  const item = messageItem(frame);
  let later = messageList.querySelector("li.unsent");
  if (frame.id !== undefined) {
    item.dataset.id = frame.id;
    later = [...messageList.querySelectorAll("li[data-id]")].find(
      (shown) => Number(shown.dataset.id) > frame.id,
    ) || later;
  }
  messageList.insertBefore(item, later);
  return true;
}

function showMessage(frame) {
  const wasAtBottom = atBottom();
  if (!placeMessage(frame)) return;
  updateDividers();
  updateControls();
  if (wasAtBottom || frame.user === me) scrollToBottom();
}

function showHistory(frame) {
  const reply = historyRequests.get(frame.client_id) || "initial";
  historyRequests.delete(frame.client_id);
  const heightBefore = messageList.scrollHeight;
  const wasAtBottom = atBottom();
  frame.messages.forEach(placeMessage);
  // Once per page, not once per message.
  updateDividers();
  if (reply === "resume") {
    if (frame.more) requestResume();
  } else {
    olderExhausted = !frame.more;
  }
  if (reply === "older") {
    // Keep the messages the reader was looking at in place.
    messageList.scrollTop += messageList.scrollHeight - heightBefore;
  } else if (wasAtBottom) {
    scrollToBottom();
  }
  // The log is read out from here on: the history it opened with is not news.
  messageList.setAttribute("aria-busy", "false");
  updateControls();
}

// "Load older messages" while there are any; the empty room's note while there is nothing.
function updateControls() {
  const shown = messageList.querySelector("li.message") !== null;
  loadOlderButton.hidden = !keepsHistory || olderExhausted || !shown;
  emptyNote.hidden = shown;
}

function showTyping(name) {
  clearTimeout(typing.get(name));
  typing.set(name, setTimeout(() => {
    typing.delete(name);
    renderTyping();
  }, TYPING_SHOWN_MS));
  renderTyping();
}

function renderTyping() {
  const names = [...typing.keys()];
  if (names.length === 0) typingLine.textContent = "";
  else if (names.length === 1) typingLine.textContent = fill(TEXT.typing_one, { name: names[0] });
  else typingLine.textContent = fill(TEXT.typing_many, { names: nameList.format(names) });
}

function showPresence(frame) {
  presenceList.replaceChildren(...frame.users.map((name) => {
    const item = document.createElement("li");
    item.textContent = name;
    item.classList.toggle("guest", name.startsWith(PROTOCOL.guest_prefix));
    if (name === me) {
      item.classList.add("me");
      const you = document.createElement("span");
      you.className = "you";
      you.textContent = ` ${TEXT.you}`;
      item.append(you);
    }
    return item;
  }));
}

// -- Sending: the outbox ---------------------------------------------------------------------

// Every message typed and not yet confirmed by the server, in the order typed. One is on
// its way at a time, so they arrive in that order, paced to the flood limit. A message
// goes again after a reconnect; the server keeps one copy per client_id, so a message
// whose confirmation was lost is not shown twice. The outbox outlives a reload of the
// page (sessionStorage), so what was typed is never lost without being shown as not sent.
const OUTBOX_KEY = `chat-outbox:${room}`;
const outbox = [];
let inFlight = null;
let pumpTimer = null;

const UNSENT_LABELS = {
  queued: TEXT.queued,
  sending: TEXT.sending,
  failed: TEXT.failed,
};

function saveOutbox() {
  const kept = outbox.map(({ clientId, text, state }) => ({ clientId, text, failed: state === "failed" }));
  try {
    if (kept.length) sessionStorage.setItem(OUTBOX_KEY, JSON.stringify(kept));
    else sessionStorage.removeItem(OUTBOX_KEY);
  } catch {
    // Storage full or disabled: the outbox lasts as long as the page.
  }
}

function restoreOutbox() {
  let kept = [];
  try {
    kept = JSON.parse(sessionStorage.getItem(OUTBOX_KEY) || "[]");
  } catch {
    return;
  }
  for (const { clientId, text, failed } of kept) {
    if (typeof clientId === "string" && typeof text === "string") {
      addToOutbox(text, clientId, failed ? "failed" : "queued");
    }
  }
}

function addToOutbox(text, clientId = newClientId(), state = "queued") {
  const item = messageItem({ user: me, guest: meIsGuest, message: text });
  item.classList.add("unsent");
  const note = document.createElement("span");
  note.className = "unsent-note";
  const label = document.createElement("span");
  const retry = document.createElement("button");
  retry.type = "button";
  retry.className = "link retry";
  retry.textContent = TEXT.retry;
  note.append(label, retry);
  item.append(note);
  const entry = { clientId, text, item, label, state: null, attempts: 0, timer: null };
  retry.addEventListener("click", () => sendAgain(entry));
  setState(entry, state);
  outbox.push(entry);
  messageList.append(item);
  updateControls();
  scrollToBottom();
  saveOutbox();
}

function setState(entry, state, reason = "") {
  entry.state = state;
  for (const name of Object.keys(UNSENT_LABELS)) entry.item.classList.toggle(name, name === state);
  entry.label.textContent = reason ? `${UNSENT_LABELS[state]} ${reason}` : UNSENT_LABELS[state];
  if (state === "queued" && !isOpen()) entry.label.textContent = TEXT.waiting_for_connection;
  entry.item.querySelector(".retry").hidden = state !== "failed";
}

function findUnsent(clientId) {
  return outbox.find((entry) => entry.clientId === clientId);
}

// Send the next message, if none is on its way and the flood limit allows.
function pump() {
  clearTimeout(pumpTimer);
  pumpTimer = null;
  if (inFlight || !isOpen()) return;
  const next = outbox.find((entry) => entry.state === "queued");
  if (!next) return;
  const wait = waitForToken();
  if (wait > 0) {
    pumpTimer = setTimeout(pump, wait);
    return;
  }
  takeToken();
  inFlight = next;
  setState(next, "sending");
  next.timer = setTimeout(() => notAnswered(next), ANSWER_TIMEOUT_MS);
  send({ type: TYPES.message, message: next.text, client_id: next.clientId });
}

// The entry is no longer on its way: the next one may go.
function release(entry) {
  clearTimeout(entry.timer);
  if (inFlight === entry) inFlight = null;
}

function settle(entry, state, reason = "") {
  release(entry);
  setState(entry, state, reason);
  saveOutbox();
}

function delivered(clientId) {
  const entry = findUnsent(clientId);
  if (!entry) return;
  release(entry);
  outbox.splice(outbox.indexOf(entry), 1);
  entry.item.remove();
  updateControls();
  saveOutbox();
  pump();
}

function notAnswered(entry) {
  if (inFlight !== entry) return;
  settle(entry, "failed", TEXT.not_answered);
  pump();
}

// The server refused a message: wait and send it again where that may help, or show it
// as not sent.
function refused(entry, frame) {
  if (frame.code === ERRORS.rate_limited) {
    holdFor(frame.retry_after);
    settle(entry, "queued");
  } else if (frame.code === ERRORS.not_saved && entry.attempts + 1 < SAVE_ATTEMPTS) {
    entry.attempts += 1;
    holdFor(entry.attempts);
    settle(entry, "queued");
  } else {
    settle(entry, "failed", frame.detail);
  }
  pump();
}

// Retry a message shown as not sent: it goes again, after the others waiting.
function sendAgain(entry) {
  outbox.splice(outbox.indexOf(entry), 1);
  outbox.push(entry);
  messageList.append(entry.item);
  entry.attempts = 0;
  setState(entry, "queued");
  saveOutbox();
  pump();
}

// Messages on their way when the connection dropped go again once it is back.
function requeueAfterDisconnect() {
  for (const entry of outbox) {
    release(entry);
    if (entry.state !== "failed") setState(entry, "queued");
  }
  saveOutbox();
}

// -- Frames from the server ------------------------------------------------------------------

function handleError(frame) {
  const entry = frame.client_id && findUnsent(frame.client_id);
  if (entry) {
    refused(entry, frame);
    return;
  }
  const request = historyRequests.get(frame.client_id);
  if (request) {
    historyRequests.delete(frame.client_id);
    if (frame.code === ERRORS.rate_limited) holdFor(frame.retry_after);
    // Missed messages are asked for again; older ones, on the next scroll or click.
    if (request === "resume") setTimeout(requestResume, waitForToken());
    return;
  }
  showError(frame.detail);
}

function handleFrame(frame) {
  switch (frame.type) {
    case TYPES.history:
      showHistory(frame);
      break;
    case TYPES.message:
      if (typing.has(frame.user)) {
        clearTimeout(typing.get(frame.user));
        typing.delete(frame.user);
        renderTyping();
      }
      showMessage(frame);
      break;
    case TYPES.typing:
      showTyping(frame.user);
      break;
    case TYPES.presence:
      showPresence(frame);
      break;
    case TYPES.error:
      handleError(frame);
      break;
  }
}

function requestHistory(kind, frame) {
  const clientId = newClientId();
  historyRequests.set(clientId, kind);
  takeToken();
  send({ ...frame, client_id: clientId });
}

// Ask for the messages after the last one shown: those sent while disconnected.
function requestResume() {
  if (isOpen() && lastId !== null) requestHistory("resume", { type: TYPES.resume, after: lastId });
}

function requestOlder() {
  const oldest = messageList.querySelector("li[data-id]");
  const asking = [...historyRequests.values()].includes("older");
  if (!keepsHistory || olderExhausted || asking || !oldest) return;
  requestHistory("older", { type: TYPES.history, before: Number(oldest.dataset.id) });
}

// -- The connection --------------------------------------------------------------------------

// Close codes after which reconnecting cannot help, and what the person is told.
const FINAL_CLOSES = {
  [CLOSE.login_required]: TEXT.login_required,
  [CLOSE.session_ended]: TEXT.session_ended,
  [CLOSE.too_many_sockets]: TEXT.too_many_sockets,
  [CLOSE.invalid_room]: TEXT.invalid_room,
};

function connect() {
  socket = new WebSocket(socketUrl());
  historyRequests = new Map();
  socket.addEventListener("open", () => {
    reconnectAttempts = 0;
    if (hasConnected && !keepsHistory) {
      setStatus(TEXT.reconnected_without_history);
    } else {
      setStatus(TEXT.connected);
    }
    if (hasConnected && keepsHistory) requestResume();
    hasConnected = true;
    for (const entry of outbox) if (entry.state === "queued") setState(entry, "queued");
    pump();
  });
  socket.addEventListener("message", (event) => handleFrame(JSON.parse(event.data)));
  socket.addEventListener("close", (event) => {
    requeueAfterDisconnect();
    if (event.code in FINAL_CLOSES) {
      setStatus(FINAL_CLOSES[event.code], true);
      return;
    }
    if (event.code === CLOSE.too_many_messages) {
      reconnectAttempts = Math.max(reconnectAttempts, 3);
    }
    // Exponential backoff with full jitter, so that clients dropped together by a server
    // restart do not all reconnect at the same instant.
    const ceiling = Math.min(MAX_RECONNECT_DELAY_MS, 1000 * 2 ** reconnectAttempts);
    const delay = Math.random() * ceiling;
    reconnectAttempts += 1;
    setStatus(fill(TEXT.reconnecting, { seconds: Math.ceil(delay / 1000) }), true);
    setTimeout(connect, delay);
  });
}

// -- The form --------------------------------------------------------------------------------

// What is typed and not yet sent outlives a reload of the page too (switching the
// language reloads it).
const DRAFT_KEY = `chat-draft:${room}`;

function saveDraft() {
  try {
    if (input.value) sessionStorage.setItem(DRAFT_KEY, input.value);
    else sessionStorage.removeItem(DRAFT_KEY);
  } catch {
    // Storage full or disabled: the draft lasts as long as the page.
  }
}

function restoreDraft() {
  try {
    input.value = sessionStorage.getItem(DRAFT_KEY) || "";
  } catch {
    // Storage disabled: there is no draft to restore.
  }
}

function sendTyped() {
  const text = input.value;
  if (!text.trim()) return;
  addToOutbox(text);
  input.value = "";
  saveDraft();
  lastTypingSent = 0;
  pump();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  sendTyped();
});

// Enter sends; Shift+Enter starts a new line. Enter that ends an input method's
// composition (Korean, Japanese, Chinese) only ends the composition.
input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
    event.preventDefault();
    sendTyped();
  }
});

input.addEventListener("input", () => {
  saveDraft();
  const now = Date.now();
  if (input.value && now - lastTypingSent > TYPING_SEND_INTERVAL_MS) {
    lastTypingSent = now;
    send({ type: TYPES.typing });
  }
});

messageList.addEventListener("scroll", () => {
  if (messageList.scrollTop < 40) requestOlder();
});
loadOlderButton.addEventListener("click", requestOlder);

restoreOutbox();
restoreDraft();
connect();
