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
// Everything this client says, in the page's language (pages/client_texts.py).
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
// Where direct messages are offered, the address of one with USERNAME in it.
const directUrl = chat.dataset.directUrl;
// Private rooms and direct messages keep each member's read marker.
const keepsReadMarker = chat.dataset.private === "true";
const input = document.getElementById("message-input");

// Saved messages on the page, by id: each one's item, and what the message says now.
const shown = new Map();
const typing = new Map(); // display name -> timer that hides them
let lastId = null;
// The latest server time this page has seen (a message's, or an edit's): on resuming, it
// asks for the edits and deletions made since, to messages it already shows.
let latestSeen = null;

function noteSeen(time) {
  if (time && (latestSeen === null || Date.parse(time) > Date.parse(latestSeen))) latestSeen = time;
}
let socket = null;
let reconnectAttempts = 0;
// When a server going away (a deploy) asked this client to come back, in ms.
let reconnectAfter = null;
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
  item.classList.toggle("mention", !frame.deleted && mentionsMe(frame.message));
  const author = document.createElement("span");
  author.className = "author";
  author.classList.toggle("guest", frame.guest === true);
  author.append(personName(frame.user, frame.guest === true));
  const time = document.createElement("time");
  if (frame.ts) {
    const date = new Date(frame.ts);
    time.dateTime = frame.ts;
    time.textContent = timeFormat.format(date);
    time.title = fullFormat.format(date);
    item.dataset.day = dayKey(date);
    item.dataset.ts = frame.ts;
  }
  item.append(author, time);
  if (frame.edited_at && !frame.deleted) item.append(editedMark(frame.edited_at));
  item.append(messageBody(frame));
  return item;
}

// The message's text; in place of a deleted one's, a note that it was deleted.
function messageBody(frame) {
  if (!frame.deleted) return messageText(frame.message);
  const note = document.createElement("span");
  note.classList.add("text", "deleted");
  note.textContent = TEXT.deleted;
  return note;
}

function editedMark(editedAt) {
  const mark = document.createElement("span");
  mark.className = "edited";
  mark.textContent = TEXT.edited;
  mark.title = fill(TEXT.edited_at, { time: fullFormat.format(new Date(editedAt)) });
  return mark;
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
  noteSeen(frame.ts);
  noteSeen(frame.edited_at);
  if (frame.id !== undefined) {
    if (shown.has(frame.id)) {
      // A page read later may know of a change this page has not seen.
      changeMessage(frame);
      return false;
    }
    frame = withEarlyChange(frame);
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
  if (frame.id !== undefined) savedMessagePlaced({ item, frame });
  return true;
}

function showMessage(frame) {
  const wasAtBottom = atBottom();
  if (!placeMessage(frame)) return;
  updateDividers();
  updateControls();
  if (wasAtBottom || frame.user === me) scrollToBottom();
  markRead();
}

function showHistory(frame) {
  const reply = historyRequests.get(frame.client_id) || "initial";
  historyRequests.delete(frame.client_id);
  const heightBefore = messageList.scrollHeight;
  const wasAtBottom = atBottom();
  frame.messages.forEach(placeMessage);
  // Edits and deletions made while this page was away, to messages it shows.
  (frame.changes || []).forEach(changeMessage);
  // Once per page, not once per message.
  updateDividers();
  if (reply === "resume") {
    // The history this page resumed from is gone: only a reload shows the room as it is.
    // What was typed and not yet sent outlives the reload.
    if (frame.recovered === false) {
      window.location.reload();
      return;
    }
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
  markRead();
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
    const guest = name.startsWith(PROTOCOL.guest_prefix);
    item.append(personName(name, guest));
    item.classList.toggle("guest", guest);
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

// -- People: direct messages, mentions, read markers -------------------------------------------

// A person's name; a link to a direct conversation with them, where those are offered and
// they have an account.
function personName(name, guest) {
  if (!directUrl || guest || name === me) return name;
  const link = document.createElement("a");
  link.href = directUrl.replace("USERNAME", encodeURIComponent(name));
  link.textContent = name;
  link.title = fill(TEXT.write_to, { name });
  return link;
}

// "@username" as a word, as the server counts mentions: not inside an e-mail address, nor
// the start of a longer name.
const escapedMe = me.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const MENTION_OF_ME = new RegExp(`(^|[^\\p{L}\\p{N}_@])@${escapedMe}(?![\\p{L}\\p{N}_])`, "iu");

function mentionsMe(text) {
  return !meIsGuest && typeof text === "string" && MENTION_OF_ME.test(text);
}

// The read marker: the last message this user has seen here, sent while the page is
// visible, at most every READ_SEND_INTERVAL_MS; every tab of theirs hears of it.
const READ_SEND_INTERVAL_MS = 2000;
let readUpTo = 0;
let readSentAt = -Infinity;
let readTimer = null;

function markRead() {
  if (!keepsReadMarker || readTimer || document.visibilityState !== "visible") return;
  if (lastId === null || lastId <= readUpTo) return;
  const wait = Math.max(0, readSentAt + READ_SEND_INTERVAL_MS - performance.now(), waitForToken());
  readTimer = setTimeout(() => {
    readTimer = null;
    if (!isOpen() || document.visibilityState !== "visible" || lastId <= readUpTo) return;
    readSentAt = performance.now();
    takeToken();
    send({ type: TYPES.read, id: lastId });
  }, wait);
}

// Read up to frame.id in frame.room, in this tab or another: its badges clear.
function readElsewhere(frame) {
  if (frame.room === room) readUpTo = Math.max(readUpTo, frame.id);
  for (const link of document.querySelectorAll(".conversations [data-room]")) {
    if (link.dataset.room !== frame.room) continue;
    for (const badge of link.querySelectorAll(".unread, .mentions")) badge.hidden = true;
  }
}

document.addEventListener("visibilitychange", markRead);

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

// What outlives a reload of the page, in this tab. Storage may be full or disabled: then
// it lasts as long as the page.
function stored(key) {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key, value) {
  try {
    if (value) sessionStorage.setItem(key, value);
    else sessionStorage.removeItem(key);
  } catch {
    // Kept in the page only.
  }
}

function saveOutbox() {
  const kept = outbox.map(({ clientId, text, state }) => ({ clientId, text, failed: state === "failed" }));
  store(OUTBOX_KEY, kept.length ? JSON.stringify(kept) : null);
}

function restoreOutbox() {
  let kept;
  try {
    kept = JSON.parse(stored(OUTBOX_KEY) || "[]");
  } catch {
    return;
  }
  if (!Array.isArray(kept)) return;
  for (const item of kept) {
    if (typeof item?.clientId === "string" && typeof item.text === "string") {
      addToOutbox(item.text, item.clientId, item.failed ? "failed" : "queued");
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

// -- Edits and deletions ---------------------------------------------------------------------

// A saved message's author may edit and delete it, and staff may delete anyone's: the page
// offers what the server would allow, and the server decides. A message has at most one
// change under way: its open editor, or its deletion being confirmed or sent.
const changes = new Map(); // message id -> change
// Changes that arrived before the message they change (a history page read before a
// change can arrive after it), applied once it is placed. Only the last few are kept: most
// are of messages older than the page will ever show.
const EARLY_CHANGES_KEPT = 500;
const earlyChanges = new Map(); // message id -> change
let changeTimer = null;

// Which of two states of a message is the later: a deletion is final, and an edit is
// later than an earlier one or none. An older state must never replace a newer one.
function version(state) {
  if (state.deleted) return Infinity;
  return state.edited_at ? Date.parse(state.edited_at) : -Infinity;
}

function withChange(frame, change) {
  return { ...frame, message: change.message, edited_at: change.edited_at, deleted: change.deleted === true };
}

function keepForLater(change) {
  const kept = earlyChanges.get(change.id);
  if (kept && version(kept) >= version(change)) return;
  // Deleted and set again, so that the oldest kept is always the first.
  earlyChanges.delete(change.id);
  earlyChanges.set(change.id, change);
  if (earlyChanges.size > EARLY_CHANGES_KEPT) earlyChanges.delete(earlyChanges.keys().next().value);
}

function withEarlyChange(frame) {
  const change = earlyChanges.get(frame.id);
  earlyChanges.delete(frame.id);
  return change && version(change) > version(frame) ? withChange(frame, change) : frame;
}

function savedMessagePlaced(message) {
  shown.set(message.frame.id, message);
  addActions(message);
  // An editor open when the page was reloaded opens again, with what was typed in it.
  const kept = message.frame.user === me ? stored(editKey(message.frame.id)) : null;
  if (kept !== null) openEditor(message, kept, false);
}

// A message's new text, or its deletion, shown if it is later than what the page shows.
function changeMessage(change) {
  noteSeen(change.edited_at);
  const message = shown.get(change.id);
  if (!message) {
    keepForLater(change);
    return;
  }
  if (version(change) <= version(message.frame)) return;
  const wasAtBottom = atBottom();
  message.frame = withChange(message.frame, change);
  const { item, frame } = message;
  item.querySelector(".edited")?.remove();
  if (frame.edited_at && !frame.deleted) item.querySelector("time").after(editedMark(frame.edited_at));
  const text = item.querySelector(".text");
  const body = messageBody(frame);
  body.hidden = text.hidden; // under an open editor
  text.replaceWith(body);
  if (frame.deleted) messageDeleted(message);
  if (wasAtBottom) scrollToBottom();
}

function messageDeleted(message) {
  message.item.querySelector(".actions")?.remove();
  const change = changes.get(message.frame.id);
  if (change?.kind === "delete") {
    endChange(change);
  } else if (change) {
    // Deleted by someone else while it was being edited: what was typed stays in the
    // editor, which says so, until it is closed.
    clearTimeout(change.timer);
    setEditState(change, "editing");
  }
}

function actionButton(text, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "link";
  button.textContent = text;
  button.addEventListener("click", onClick);
  return button;
}

// Edit and Delete, where the server would allow them.
function addActions(message) {
  const { item, frame } = message;
  const mine = frame.user === me;
  if (frame.deleted || !(mine || PROTOCOL.deletes_any)) return;
  const actions = document.createElement("span");
  actions.className = "actions";
  if (mine) actions.append(actionButton(TEXT.edit, () => openEditor(message, message.frame.message)));
  actions.append(actionButton(TEXT.delete, () => confirmDelete(message)));
  item.querySelector(".text").before(actions);
}

// A change shows in place of the message's text (an editor) or under it (a question);
// in sight, when the person just asked for it.
function showChange(change, scroll) {
  const { item } = change.message;
  changes.set(change.id, change);
  const actions = item.querySelector(".actions");
  if (actions) actions.hidden = true;
  item.classList.add(change.kind === "edit" ? "editing" : "confirming");
  item.querySelector(".text").hidden = change.kind === "edit";
  item.append(change.element);
  if (scroll) item.scrollIntoView({ block: "nearest" });
}

// The change is over (done, refused or given up): the message shows as it is now.
function endChange(change) {
  clearTimeout(change.timer);
  changes.delete(change.id);
  const { item } = change.message;
  const hadFocus = change.element.contains(document.activeElement);
  change.element.remove();
  item.classList.remove("editing", "confirming");
  item.querySelector(".text").hidden = false;
  const actions = item.querySelector(".actions");
  if (actions) actions.hidden = false;
  if (change.kind === "edit") store(editKey(change.id), null);
  if (hadFocus) actions?.querySelector("button").focus();
}

function findChange(clientId) {
  return [...changes.values()].find((change) => change.clientId === clientId);
}

// What is typed in an editor outlives a reload of the page, until it is saved or given up.
function editKey(id) {
  return `chat-edit:${room}:${id}`;
}

// Editing in place: the text gives way to a box holding it, with Save and Cancel.
function openEditor(message, text, focus = true) {
  const id = message.frame.id;
  if (changes.has(id)) return;
  const form = document.createElement("form");
  form.className = "editor";
  const textarea = document.createElement("textarea");
  textarea.rows = 1;
  textarea.maxLength = LIMITS.max_message_length;
  textarea.value = text;
  textarea.setAttribute("aria-label", TEXT.edit_label);
  const save = document.createElement("button");
  save.type = "submit";
  save.textContent = TEXT.save;
  const note = document.createElement("span");
  note.className = "note";
  note.setAttribute("aria-live", "polite");
  const bar = document.createElement("div");
  bar.className = "bar";
  form.append(textarea, bar);
  const edit = {
    kind: "edit", id, message, element: form, textarea, save, note,
    clientId: newClientId(), state: "editing", attempts: 0, timer: null,
  };
  edit.cancel = actionButton(TEXT.cancel, () => endChange(edit));
  bar.append(save, edit.cancel, note);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    saveEdit(edit);
  });
  // As in the message box: Enter saves, Shift+Enter starts a new line, and Enter or
  // Escape that ends an input method's composition only ends the composition.
  textarea.addEventListener("keydown", (event) => {
    if (event.isComposing || event.keyCode === 229) return;
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      saveEdit(edit);
    } else if (event.key === "Escape" && edit.state !== "sent") {
      event.preventDefault();
      endChange(edit);
    }
  });
  textarea.addEventListener("input", () => {
    store(editKey(id), textarea.value);
    // Changed again while waiting to be saved: it waits for Save again.
    if (edit.state === "waiting") setEditState(edit, "editing");
    else updateSaveButton(edit);
  });
  showChange(edit, focus);
  setEditState(edit, "editing");
  store(editKey(id), text);
  if (focus) {
    textarea.focus();
    textarea.setSelectionRange(text.length, text.length);
  }
}

function setEditState(edit, state, reason = "") {
  edit.state = state;
  const gone = edit.message.frame.deleted;
  edit.textarea.readOnly = state === "sent";
  edit.cancel.disabled = state === "sent";
  let note = TEXT.edit_hint;
  if (gone) note = TEXT.deleted;
  else if (reason) note = `${TEXT.not_saved} ${reason}`;
  else if (state === "waiting" && !isOpen()) note = TEXT.waiting_for_connection;
  else if (state !== "editing") note = TEXT.saving;
  edit.note.textContent = note;
  edit.note.classList.toggle("error", gone || reason !== "");
  updateSaveButton(edit);
}

function updateSaveButton(edit) {
  edit.save.disabled = edit.state !== "editing" || edit.message.frame.deleted || !edit.textarea.value.trim();
}

function saveEdit(edit) {
  if (edit.save.disabled) return;
  if (edit.textarea.value === edit.message.frame.message) {
    endChange(edit);
    return;
  }
  edit.attempts = 0;
  setEditState(edit, "waiting");
  pumpChanges();
}

// Deleting asks first, in place, under the message.
function confirmDelete(message) {
  const id = message.frame.id;
  if (changes.has(id)) return;
  const element = document.createElement("div");
  element.className = "confirm";
  element.setAttribute("role", "group");
  const question = document.createElement("span");
  question.id = `confirm-delete-${id}`;
  element.setAttribute("aria-labelledby", question.id);
  const yes = document.createElement("button");
  yes.type = "button";
  yes.className = "danger";
  yes.textContent = TEXT.delete;
  const removal = {
    kind: "delete", id, message, element, question, yes,
    clientId: newClientId(), state: "confirming", attempts: 0, timer: null,
  };
  removal.no = actionButton(TEXT.cancel, () => endChange(removal));
  element.append(question, yes, removal.no);
  yes.addEventListener("click", () => {
    removal.attempts = 0;
    setDeleteState(removal, "waiting");
    pumpChanges();
  });
  element.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && removal.state !== "sent") endChange(removal);
  });
  showChange(removal, true);
  setDeleteState(removal, "confirming");
  // Not on Delete: one key pressed twice must not delete a message.
  removal.no.focus();
}

function setDeleteState(removal, state) {
  removal.state = state;
  let question = TEXT.deleting;
  if (state === "confirming") question = TEXT.confirm_delete;
  else if (state === "waiting" && !isOpen()) question = TEXT.waiting_for_connection;
  removal.question.textContent = question;
  removal.yes.hidden = state !== "confirming";
  removal.no.hidden = state === "sent";
}

function setChangeState(change, state, reason = "") {
  if (change.kind === "edit") setEditState(change, state, reason);
  else setDeleteState(change, state);
}

// Send the changes waiting to go, paced to the flood limit as messages are.
function pumpChanges() {
  clearTimeout(changeTimer);
  changeTimer = null;
  if (!isOpen()) return;
  for (const change of changes.values()) {
    if (change.state !== "waiting") continue;
    const wait = waitForToken();
    if (wait > 0) {
      changeTimer = setTimeout(pumpChanges, wait);
      return;
    }
    takeToken();
    setChangeState(change, "sent");
    change.timer = setTimeout(() => changeFailed(change, TEXT.not_answered), ANSWER_TIMEOUT_MS);
    if (change.kind === "edit") {
      send({ type: TYPES.edit, id: change.id, message: change.textarea.value, client_id: change.clientId });
    } else {
      send({ type: TYPES.delete, id: change.id, client_id: change.clientId });
    }
  }
}

// The server did what this page asked.
function changeDone(frame) {
  const change = frame.client_id && findChange(frame.client_id);
  if (!change) return;
  // An answer that came too late, once the editor had been typed in again, closes nothing.
  if (change.kind === "edit" && change.state !== "sent" && change.textarea.value !== frame.message) return;
  endChange(change);
}

// A change that did not happen: an editor stays open, with what was typed, and says why;
// a deletion says why in the status line.
function changeFailed(change, reason) {
  if (change.state !== "sent") return;
  clearTimeout(change.timer);
  if (change.kind === "edit") {
    setEditState(change, "editing", reason);
  } else {
    endChange(change);
    showError(`${TEXT.not_deleted} ${reason}`);
  }
}

// The server refused a change: it goes again, later, where that may help.
function changeRefused(change, frame) {
  if (frame.code === ERRORS.rate_limited) {
    holdFor(frame.retry_after);
  } else if (frame.code === ERRORS.not_saved && change.attempts + 1 < SAVE_ATTEMPTS) {
    change.attempts += 1;
    holdFor(change.attempts);
  } else {
    changeFailed(change, frame.detail);
    return;
  }
  clearTimeout(change.timer);
  setChangeState(change, "waiting");
  pumpChanges();
}

// Changes on their way when the connection dropped go again once it is back: an edit
// saved twice reads the same, and deleting a deleted message is answered as done.
function requeueChangesAfterDisconnect() {
  for (const change of changes.values()) {
    clearTimeout(change.timer);
    if (change.state === "sent" || change.state === "waiting") setChangeState(change, "waiting");
  }
}

// -- Frames from the server ------------------------------------------------------------------

// Why the room refused this socket, told just before the close (4403).
let refusedBecause = null;

function handleError(frame) {
  if (frame.code === ERRORS.forbidden && !frame.client_id && frame.id === undefined) {
    refusedBecause = frame.detail;
    return;
  }
  const entry = frame.client_id && findUnsent(frame.client_id);
  if (entry) {
    refused(entry, frame);
    return;
  }
  const change = frame.client_id && findChange(frame.client_id);
  if (change) {
    // A refusal that came after the change was given up on as not answered is no news.
    if (change.state === "sent") changeRefused(change, frame);
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
    case TYPES.edit:
      changeMessage({ id: frame.id, message: frame.message, edited_at: frame.edited_at });
      changeDone(frame);
      break;
    case TYPES.delete:
      changeMessage({ id: frame.id, message: "", deleted: true });
      changeDone(frame);
      break;
    case TYPES.typing:
      showTyping(frame.user);
      break;
    case TYPES.presence:
      showPresence(frame);
      break;
    case TYPES.reconnect:
      reconnectAfter = frame.after * 1000;
      break;
    case TYPES.read:
      readElsewhere(frame);
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
  if (!isOpen() || lastId === null) return;
  const resume = { type: TYPES.resume, after: lastId };
  if (latestSeen !== null) resume.changed_since = latestSeen;
  requestHistory("resume", resume);
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
  [CLOSE.forbidden]: TEXT.session_ended,
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
    pumpChanges();
  });
  socket.addEventListener("message", (event) => handleFrame(JSON.parse(event.data)));
  socket.addEventListener("close", (event) => {
    requeueAfterDisconnect();
    requeueChangesAfterDisconnect();
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
    setTimeout(connect, delay);
  });
}

// -- The form --------------------------------------------------------------------------------

// What is typed and not yet sent outlives a reload of the page too (switching the
// language reloads it).
const DRAFT_KEY = `chat-draft:${room}`;

function saveDraft() {
  store(DRAFT_KEY, input.value);
}

function restoreDraft() {
  input.value = stored(DRAFT_KEY) || "";
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
