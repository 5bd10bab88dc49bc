// History: the page the socket opens with, older pages asked for, and what was missed
// while disconnected, asked for on resuming.

import { ERRORS, TYPES, keepsHistory, newClientId } from "./protocol.js";
import { holdFor, isOpen, send, takeToken, waitForToken } from "./connection.js";
import {
  atBottom,
  changeMessage,
  lastId,
  latestSeen,
  messageList,
  olderExhausted,
  placeMessage,
  scrollToBottom,
  setOlderExhausted,
  updateControls,
  updateDividers,
} from "./messages.js";
import { markRead } from "./read.js";

// What each history request asked for ("older" or "resume"), by the client_id the server
// echoes in its answer. The socket's first chat.history frame comes unasked, without one.
let historyRequests = new Map();

// A new socket: nothing is asked of it yet.
export function forgetRequests() {
  historyRequests = new Map();
}

export function showHistory(frame) {
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
    setOlderExhausted(!frame.more);
  }
  if (reply === "older") {
    // Keep the messages the reader was looking at in place, unless going to one a reply
    // answers.
    messageList.scrollTop += messageList.scrollHeight - heightBefore;
    continueGoingTo();
  } else if (wasAtBottom) {
    scrollToBottom();
  }
  // The log is read out from here on: the history it opened with is not news.
  messageList.setAttribute("aria-busy", "false");
  updateControls();
  markRead();
}

function requestHistory(kind, frame) {
  const clientId = newClientId();
  historyRequests.set(clientId, kind);
  takeToken();
  send({ ...frame, client_id: clientId });
}

// Ask for the messages after the last one shown: those sent while disconnected.
export function requestResume() {
  if (!isOpen() || lastId === null) return;
  const resume = { type: TYPES.resume, after: lastId };
  if (latestSeen !== null) resume.changed_since = latestSeen;
  requestHistory("resume", resume);
}

export function requestOlder() {
  const oldest = messageList.querySelector("li[data-id]");
  const asking = [...historyRequests.values()].includes("older");
  if (!keepsHistory || olderExhausted || asking || !oldest) return;
  requestHistory("older", { type: TYPES.history, before: Number(oldest.dataset.id) });
}

// The server refused a history request: missed messages are asked for again; older ones,
// on the next scroll or click. Returns whether the frame refused was a history request.
export function historyRefused(frame) {
  const request = historyRequests.get(frame.client_id);
  if (!request) return false;
  historyRequests.delete(frame.client_id);
  if (frame.code === ERRORS.rate_limited) holdFor(frame.retry_after);
  if (request === "resume") setTimeout(requestResume, waitForToken());
  return true;
}

// -- Going to a message ----------------------------------------------------------------------

// How long a message gone to stays marked.
const HIGHLIGHT_MS = 2500;
let wanted = null; // the id of the message to go to, once it is on the page

// Go to the message ``id`` of this room (one a reply answers), loading older pages until
// it is on the page.
export function goToMessage(id) {
  wanted = id;
  continueGoingTo();
}

// Go to the wanted message if it is on the page; else ask for an older page, unless the
// page already shows messages older than it (it is not in this room) or the first one.
function continueGoingTo() {
  if (wanted === null) return;
  const item = messageList.querySelector(`li[data-id="${wanted}"]`);
  const oldest = messageList.querySelector("li[data-id]");
  if (item) {
    wanted = null;
    item.scrollIntoView({ block: "center" });
    item.classList.add("highlight");
    setTimeout(() => item.classList.remove("highlight"), HIGHLIGHT_MS);
  } else if (olderExhausted || !oldest || Number(oldest.dataset.id) < wanted) {
    wanted = null;
  } else {
    requestOlder();
  }
}
