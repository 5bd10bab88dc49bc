// Replies: answering one saved message among many. While a reply is being written, the
// message box says which message it answers, until the reply is sent or given up (Esc, or
// its Cancel); the message it answers outlives a reload with what is typed. A reply shows
// a line of what it answers, which takes the reader there (history.js's goToMessage,
// handed over by room.js: the modules import each other in one direction only).

import { TEXT, keepsHistory, room } from "./protocol.js";
import { store, stored } from "./storage.js";
import { actionButton, actionsOf } from "./editing.js";

const bar = document.getElementById("reply-bar");
const barQuote = document.getElementById("reply-bar-quote");
const input = document.getElementById("message-input");
const REPLY_KEY = `chat-reply:${room}`;
let answering = null; // what the message being written answers: { id, user, message }

// What a reply shows of ``frame``, the message it answers.
function excerptOf(frame) {
  return { id: frame.id, user: frame.user, message: frame.message };
}

// The message being written answers this one: {id, user, message}, or null.
export function replyingTo() {
  return answering;
}

function answer(excerpt) {
  answering = excerpt;
  store(REPLY_KEY, JSON.stringify(excerpt));
  showBar();
  input.focus();
}

export function stopReplying() {
  answering = null;
  store(REPLY_KEY, null);
  showBar();
}

function showBar() {
  bar.hidden = answering === null;
  barQuote.replaceChildren(...(answering ? quoteParts(answering) : []));
}

// "alice: what she wrote", or that it was deleted.
function quoteParts(excerpt) {
  const author = document.createElement("span");
  author.className = "reply-author";
  author.textContent = excerpt.user;
  const text = document.createElement("span");
  text.className = "reply-text";
  text.textContent = excerpt.deleted ? TEXT.deleted : excerpt.message;
  return [author, text];
}

// The line above a reply: what it answers, a button that goes there.
export function replyQuote(excerpt) {
  const quote = document.createElement("button");
  quote.type = "button";
  quote.className = "reply-quote";
  quote.title = TEXT.show_answered;
  quote.append(...quoteParts(excerpt));
  quote.addEventListener("click", () => goTo(excerpt.id));
  return quote;
}

// A saved message is on the page: it may be answered.
export function offerReply(message) {
  if (message.frame.deleted) return;
  actionsOf(message.item).prepend(actionButton(TEXT.reply, () => answer(excerptOf(message.frame))));
}

let goTo = () => {};

// What a click on the line a reply shows of what it answers does, given its id.
export function onGoTo(handler) {
  goTo = handler;
}

// -- Starting --------------------------------------------------------------------------------

document.getElementById("reply-cancel").addEventListener("click", () => {
  stopReplying();
  input.focus();
});
input.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && answering !== null) stopReplying();
});

if (keepsHistory) {
  try {
    const kept = JSON.parse(stored(REPLY_KEY) || "null");
    if (Number.isInteger(kept?.id) && typeof kept.user === "string") answering = kept;
  } catch {
    // Nothing usable was kept.
  }
  showBar();
}
