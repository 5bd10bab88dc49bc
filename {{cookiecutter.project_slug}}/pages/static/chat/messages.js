// The messages on the page: each placed once, in id order, with day dividers; their text
// with links, the edited mark and the deleted note; and the edits and deletions made to
// them. Text from the server is rendered with textContent and DOM methods, never as HTML.

import { LANGUAGE, TEXT, fill, keepsHistory, me } from "./protocol.js";
import { answered } from "./outbox.js";
import { mentionsMe, personName } from "./people.js";
import { messageDeleted, offerChanges } from "./editing.js";
import { offerReply, replyQuote } from "./replies.js";

export const messageList = document.getElementById("messages");
const loadOlderButton = document.getElementById("load-older");
const emptyNote = document.getElementById("empty");

// Saved messages on the page, by id: each one's item, and what the message says now.
const shown = new Map();
export let lastId = null;
// The latest server time this page has seen (a message's, or an edit's): on resuming, it
// asks for the edits and deletions made since, to messages it already shows.
export let latestSeen = null;
// Whether the server said there is nothing older than the first message shown.
export let olderExhausted = false;

function noteSeen(time) {
  if (time && (latestSeen === null || Date.parse(time) > Date.parse(latestSeen))) latestSeen = time;
}

export function setOlderExhausted(exhausted) {
  olderExhausted = exhausted;
}

// -- A message ------------------------------------------------------------------------------

// Times and dates in the page's language, in the browser's time zone.
const timeFormat = new Intl.DateTimeFormat(LANGUAGE, { hour: "numeric", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat(LANGUAGE, { dateStyle: "full", timeStyle: "medium" });
const dayFormat = new Intl.DateTimeFormat(LANGUAGE, { dateStyle: "long" });
const relativeDays = new Intl.RelativeTimeFormat(LANGUAGE, { numeric: "auto" });

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

export function messageItem(frame) {
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
  if (frame.reply_to) item.append(replyQuote(frame.reply_to));
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

// -- The list --------------------------------------------------------------------------------

// A day divider before each message that starts a new day; none elsewhere.
export function updateDividers() {
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

export function atBottom() {
  return messageList.scrollHeight - messageList.scrollTop - messageList.clientHeight < 40;
}

export function scrollToBottom() {
  messageList.scrollTop = messageList.scrollHeight;
}

// "Load older messages" while there are any; the empty room's note while there is nothing.
export function updateControls() {
  const any = messageList.querySelector("li.message") !== null;
  loadOlderButton.hidden = !keepsHistory || olderExhausted || !any;
  emptyNote.hidden = any;
}

// Messages are kept in id order, whatever order history, resumed and live messages
// arrive in, and each is shown once; messages still on their way come last. Returns
// whether the message was new to the page.
export function placeMessage(frame) {
  if (frame.client_id) answered(frame);
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
      (placed) => Number(placed.dataset.id) > frame.id,
    ) || later;
  }
  messageList.insertBefore(item, later);
  if (frame.id !== undefined) {
    const message = { item, frame };
    shown.set(frame.id, message);
    offerChanges(message);
    offerReply(message);
  }
  return true;
}

// A message that just arrived. Returns whether it was new to the page.
export function showMessage(frame) {
  const wasAtBottom = atBottom();
  if (!placeMessage(frame)) return false;
  updateDividers();
  updateControls();
  if (wasAtBottom || frame.user === me) scrollToBottom();
  return true;
}

// -- Edits and deletions ---------------------------------------------------------------------

// Changes that arrived before the message they change (a history page read before a
// change can arrive after it), applied once it is placed. Only the last few are kept: most
// are of messages older than the page will ever show.
const EARLY_CHANGES_KEPT = 500;
const earlyChanges = new Map(); // message id -> change

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

// A message's new text, or its deletion, shown if it is later than what the page shows.
export function changeMessage(change) {
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
