// Chat room client: a plain JavaScript module, no build step.
// Text from the server is rendered with textContent, never as HTML.

// Frame types, error and close codes, and limits, as the server defines them
// (chat/protocol.py), handed over by the page.
const PROTOCOL = JSON.parse(document.getElementById("chat-protocol").textContent);
const TYPES = PROTOCOL.types;
const ERRORS = PROTOCOL.errors;
const CLOSE = PROTOCOL.close;
const keepsHistory = PROTOCOL.keeps_history;

const MAX_RECONNECT_DELAY_MS = 30000;
const TYPING_SEND_INTERVAL_MS = 3000;
const TYPING_SHOWN_MS = 4000;

const chat = document.getElementById("chat");
const room = chat.dataset.room;
const me = chat.dataset.user;
const meIsGuest = chat.dataset.guest === "true";
const messageList = document.getElementById("messages");
const statusLine = document.getElementById("status");
const typingLine = document.getElementById("typing");
const presenceList = document.getElementById("presence");
const form = document.getElementById("message-form");
const input = document.getElementById("message-input");

const shownIds = new Set();
const pending = new Map(); // client_id -> the <li> shown while the message is on its way
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

function send(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

function setStatus(text, isError = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", isError);
}

function messageItem(frame) {
  const item = document.createElement("li");
  const author = document.createElement("span");
  author.className = "author";
  author.classList.toggle("guest", frame.guest === true);
  author.textContent = frame.user;
  const time = document.createElement("time");
  if (frame.ts) {
    time.dateTime = frame.ts;
    time.textContent = new Date(frame.ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = frame.message;
  item.append(author, time, text);
  return item;
}

// Messages are kept in id order, whatever order history, resumed and live messages
// arrive in, and each is shown once.
function showMessage(frame) {
  if (frame.client_id && pending.has(frame.client_id)) {
    pending.get(frame.client_id).remove();
    pending.delete(frame.client_id);
  }
  if (frame.id !== undefined) {
    if (shownIds.has(frame.id)) return;
    shownIds.add(frame.id);
    lastId = lastId === null ? frame.id : Math.max(lastId, frame.id);
  }
  const item = messageItem(frame);
  const atBottom = messageList.scrollHeight - messageList.scrollTop - messageList.clientHeight < 40;
  let later = messageList.querySelector("li.pending");
  if (frame.id !== undefined) {
    item.dataset.id = frame.id;
    later = [...messageList.querySelectorAll("li[data-id]")].find(
      (shown) => Number(shown.dataset.id) > frame.id,
    ) || later;
  }
  messageList.insertBefore(item, later);
  if (atBottom || frame.user === me) messageList.scrollTop = messageList.scrollHeight;
}

function showHistory(frame) {
  const reply = historyRequests.get(frame.client_id) || "initial";
  historyRequests.delete(frame.client_id);
  const heightBefore = messageList.scrollHeight;
  frame.messages.forEach(showMessage);
  if (reply === "resume") {
    if (frame.more) requestResume();
  } else {
    olderExhausted = !frame.more;
  }
  if (reply === "older") {
    // Keep the messages the reader was looking at in place.
    messageList.scrollTop += messageList.scrollHeight - heightBefore;
  }
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
  typingLine.textContent = names.length === 0
    ? ""
    : `${names.join(", ")} ${names.length === 1 ? "is" : "are"} typing…`;
}

function showPresence(frame) {
  presenceList.replaceChildren(...frame.users.map((name) => {
    const item = document.createElement("li");
    item.textContent = name;
    item.classList.toggle("guest", name.startsWith(PROTOCOL.guest_prefix));
    return item;
  }));
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
      // A history request that failed may be asked again.
      historyRequests.delete(frame.client_id);
      if (frame.code === ERRORS.rate_limited) {
        setStatus(`Slow down: try again in ${Math.ceil(frame.retry_after)} s.`, true);
      } else {
        setStatus(frame.detail, true);
      }
      break;
  }
}

function requestHistory(kind, frame) {
  const clientId = newClientId();
  historyRequests.set(clientId, kind);
  send({ ...frame, client_id: clientId });
}

// Ask for the messages after the last one shown: those sent while disconnected.
function requestResume() {
  requestHistory("resume", { type: TYPES.resume, after: lastId });
}

function requestOlder() {
  const oldest = messageList.querySelector("li[data-id]");
  const asking = [...historyRequests.values()].includes("older");
  if (!keepsHistory || olderExhausted || asking || !oldest) return;
  requestHistory("older", { type: TYPES.history, before: Number(oldest.dataset.id) });
}

function connect() {
  socket = new WebSocket(socketUrl());
  historyRequests = new Map();
  socket.addEventListener("open", () => {
    reconnectAttempts = 0;
    if (hasConnected && !keepsHistory) {
      setStatus("Reconnected. Messages sent while you were away are not shown.");
    } else {
      setStatus("Connected");
    }
    if (hasConnected && keepsHistory && lastId !== null) requestResume();
    hasConnected = true;
  });
  socket.addEventListener("message", (event) => handleFrame(JSON.parse(event.data)));
  socket.addEventListener("close", (event) => {
    for (const item of pending.values()) item.classList.add("failed");
    if (event.code === CLOSE.login_required) {
      setStatus("Log in to chat in this room.", true);
      return;
    }
    if (event.code === CLOSE.session_ended) {
      setStatus("You have been logged out. Log in again to chat.", true);
      return;
    }
    if (event.code === CLOSE.too_many_sockets) {
      setStatus("The chat is open in too many tabs. Close one, then reload this page.", true);
      return;
    }
    if (event.code === CLOSE.invalid_room) {
      setStatus("This room name is not valid.", true);
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
    setStatus(`Disconnected. Reconnecting in ${Math.ceil(delay / 1000)} s…`, true);
    setTimeout(connect, delay);
  });
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const message = input.value;
  if (!message.trim() || !socket || socket.readyState !== WebSocket.OPEN) return;
  const clientId = newClientId();
  const item = messageItem({ user: me, guest: meIsGuest, message });
  item.classList.add("pending");
  messageList.append(item);
  messageList.scrollTop = messageList.scrollHeight;
  pending.set(clientId, item);
  send({ type: TYPES.message, message, client_id: clientId });
  input.value = "";
  lastTypingSent = 0;
});

input.addEventListener("input", () => {
  const now = Date.now();
  if (input.value && now - lastTypingSent > TYPING_SEND_INTERVAL_MS) {
    lastTypingSent = now;
    send({ type: TYPES.typing });
  }
});

messageList.addEventListener("scroll", () => {
  if (messageList.scrollTop < 40) requestOlder();
});

connect();
