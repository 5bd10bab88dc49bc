// The outbox: everything this page sends that must not be lost (messages, edits and
// deletions), until the server answers it, and the one policy for sending it:
// - frames go paced to the flood limit, and wait while the server asked to hold;
// - messages go one at a time, in the order typed, so they arrive in that order; edits
//   and deletions go as soon as the flood limit allows;
// - one not answered within ANSWER_TIMEOUT_MS is given up on (failed);
// - one refused as too fast goes again once the server allows; one the server could not
//   save goes again, a little later each time, SAVE_ATTEMPTS times in all; any other
//   refusal fails it, with the server's reason;
// - what was on its way when the connection dropped goes again once it is back: the
//   server keeps one copy per client_id, so nothing arrives twice, an edit saved twice
//   reads the same, and deleting a deleted message is answered as done;
// - messages outlive a reload of the page (sessionStorage).
//
// An entry is an object with:
//   clientId: the id the server's answer names it by;
//   frame(): the frame to send, made when it goes;
//   show(state, reason): shows it in its state, "queued", "sending" or "failed" (with the
//     reason, if the server gave one);
//   answered(frame): the server did what it asked (the frame that says so);
//   inOrder: true for messages, which go one at a time;
//   kept: for messages, what outlives a reload ({ text }).
// The outbox keeps its state and attempts in it. A failed entry stays until it is sent
// again (enqueue) or taken out (withdraw).

import { ERRORS, TEXT, room } from "./protocol.js";
import { holdFor, isOpen, send, takeToken, waitForToken } from "./connection.js";
import { store, stored } from "./storage.js";

// A frame the server has not answered in this time is given up on.
const ANSWER_TIMEOUT_MS = 5000;
// A frame the server could not save is sent this many times, a little later each time.
const SAVE_ATTEMPTS = 3;

const OUTBOX_KEY = `chat-outbox:${room}`;
const queue = [];
let pumpTimer = null;

function setState(entry, state, reason = "") {
  entry.state = state;
  entry.show(state, reason);
  save();
}

function save() {
  const kept = queue.filter((entry) => entry.kept).map((entry) => (
    { clientId: entry.clientId, ...entry.kept, failed: entry.state === "failed" }));
  store(OUTBOX_KEY, kept.length ? JSON.stringify(kept) : null);
}

// The messages a reload of the page found: each is handed to add, to be queued again.
export function restore(add) {
  let kept;
  try {
    kept = JSON.parse(stored(OUTBOX_KEY) || "[]");
  } catch {
    return;
  }
  if (!Array.isArray(kept)) return;
  for (const item of kept) {
    if (typeof item?.clientId === "string") add(item);
  }
}

function find(clientId) {
  return queue.find((entry) => entry.clientId === clientId);
}

// Send the entry, after those waiting already; one sent before goes again, as new. A
// message restored as failed waits for its Retry.
export function enqueue(entry, state = "queued") {
  if (queue.includes(entry)) queue.splice(queue.indexOf(entry), 1);
  clearTimeout(entry.timer);
  queue.push(entry);
  entry.attempts = 0;
  setState(entry, state);
  pump();
}

// The entry is done with, sent or not: it leaves the outbox.
export function withdraw(entry) {
  clearTimeout(entry.timer);
  if (!queue.includes(entry)) return;
  queue.splice(queue.indexOf(entry), 1);
  save();
  pump();
}

// The entry is not to be sent now, nor its answer awaited (what it would send changed):
// it waits, failed without a reason, to be sent again or withdrawn.
export function stop(entry) {
  if (entry.state !== "queued" && entry.state !== "sending") return;
  fail(entry);
  pump();
}

function fail(entry, reason = "") {
  clearTimeout(entry.timer);
  setState(entry, "failed", reason);
}

// Send what is waiting, as the flood limit allows: messages one at a time.
function pump() {
  clearTimeout(pumpTimer);
  pumpTimer = null;
  if (!isOpen()) return;
  let messageOnItsWay = queue.some((entry) => entry.inOrder && entry.state === "sending");
  for (const entry of queue) {
    if (entry.state !== "queued" || (entry.inOrder && messageOnItsWay)) continue;
    const wait = waitForToken();
    if (wait > 0) {
      pumpTimer = setTimeout(pump, wait);
      return;
    }
    takeToken();
    if (entry.inOrder) messageOnItsWay = true;
    setState(entry, "sending");
    entry.timer = setTimeout(() => notAnswered(entry), ANSWER_TIMEOUT_MS);
    send(entry.frame());
  }
}

function notAnswered(entry) {
  if (entry.state !== "sending") return;
  fail(entry, TEXT.not_answered);
  pump();
}

// The server did what a frame of this page asked (the frame names it by its client_id).
export function answered(frame) {
  const entry = frame.client_id && find(frame.client_id);
  if (entry) entry.answered(frame);
}

// The server refused a frame of this page: it goes again, later, where that may help, or
// fails. Returns whether the frame refused was the outbox's.
export function refused(frame) {
  const entry = frame.client_id && find(frame.client_id);
  if (!entry) return false;
  // A refusal that comes once the entry was given up on is no news.
  if (entry.state !== "sending") return true;
  clearTimeout(entry.timer);
  if (frame.code === ERRORS.rate_limited) {
    holdFor(frame.retry_after);
    setState(entry, "queued");
  } else if (frame.code === ERRORS.not_saved && entry.attempts + 1 < SAVE_ATTEMPTS) {
    entry.attempts += 1;
    holdFor(entry.attempts);
    setState(entry, "queued");
  } else {
    fail(entry, frame.detail);
  }
  pump();
  return true;
}

// The connection dropped: what was on its way goes again once it is back.
export function requeueAfterDisconnect() {
  for (const entry of queue) {
    clearTimeout(entry.timer);
    if (entry.state !== "failed") setState(entry, "queued");
  }
}

// The connection is back: what waited for it goes.
export function resume() {
  for (const entry of queue) if (entry.state === "queued") setState(entry, "queued");
  pump();
}
