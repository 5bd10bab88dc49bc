// Chat room client: plain JavaScript modules, no build step. This one, which the page
// loads, wires the page together: the socket and the frames it brings, the message box,
// its keys, and the scroll that loads older messages.
//
//   protocol.js    what the page hands over: the protocol's constants, texts, who is where
//   storage.js     what outlives a reload (sessionStorage)
//   keys.js        Enter, Shift+Enter and input methods, in the boxes people type in
//   connection.js  the socket, reconnecting with backoff, the status line, the flood limit
//   outbox.js      sending what must not be lost (messages, edits, deletions), and retrying
//   unsent.js      messages typed and not yet confirmed
//   messages.js    the messages on the page, in id order, and the changes made to them
//   editing.js     the editor and the delete confirmation of saved messages
//   replies.js     answering a message, and going to the one a reply answers
//   people.js      names, mentions, who is online and who is typing
//   history.js     history pages, older messages, what was missed while away, going to one
//   read.js        the read marker

import { ERRORS, TYPES, keepsHistory, room } from "./protocol.js";
import { stored, store } from "./storage.js";
import { sends } from "./keys.js";
import { comeBackAfter, connect, refusedWith, send, showError } from "./connection.js";
import { answered, refused, requeueAfterDisconnect, resume } from "./outbox.js";
import { restoreUnsent, sendMessage } from "./unsent.js";
import { onGoTo, replyingTo, stopReplying } from "./replies.js";
import { changeMessage, messageList, showMessage } from "./messages.js";
import { showPresence, showTyping, stoppedTyping } from "./people.js";
import {
  forgetRequests,
  goToMessage,
  historyRefused,
  requestOlder,
  requestResume,
  showHistory,
} from "./history.js";
import { markRead, readElsewhere } from "./read.js";

const TYPING_SEND_INTERVAL_MS = 3000;

const form = document.getElementById("message-form");
const input = document.getElementById("message-input");
const loadOlderButton = document.getElementById("load-older");

// -- Frames from the server ------------------------------------------------------------------

function handleError(frame) {
  // Why the room refused this socket, told just before the close (4403).
  if (frame.code === ERRORS.forbidden && !frame.client_id && frame.id === undefined) {
    refusedWith(frame.detail);
    return;
  }
  if (refused(frame) || historyRefused(frame)) return;
  showError(frame.detail);
}

function handleFrame(frame) {
  switch (frame.type) {
    case TYPES.history:
      showHistory(frame);
      break;
    case TYPES.message:
      stoppedTyping(frame.user);
      if (showMessage(frame)) markRead();
      break;
    case TYPES.edit:
      changeMessage({ id: frame.id, message: frame.message, edited_at: frame.edited_at });
      answered(frame);
      break;
    case TYPES.delete:
      changeMessage({ id: frame.id, message: "", deleted: true });
      answered(frame);
      break;
    case TYPES.typing:
      showTyping(frame.user);
      break;
    case TYPES.presence:
      showPresence(frame);
      break;
    case TYPES.reconnect:
      comeBackAfter(frame.after);
      break;
    case TYPES.read:
      readElsewhere(frame);
      break;
    case TYPES.error:
      handleError(frame);
      break;
  }
}

// -- The form --------------------------------------------------------------------------------

// What is typed and not yet sent outlives a reload of the page too (switching the
// language reloads it).
const DRAFT_KEY = `chat-draft:${room}`;
let lastTypingSent = 0;

function saveDraft() {
  store(DRAFT_KEY, input.value);
}

function sendTyped() {
  const text = input.value;
  if (!text.trim()) return;
  sendMessage(text, replyingTo());
  stopReplying();
  input.value = "";
  saveDraft();
  lastTypingSent = 0;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  sendTyped();
});

input.addEventListener("keydown", (event) => {
  if (sends(event)) {
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
document.addEventListener("visibilitychange", markRead);

// -- Starting --------------------------------------------------------------------------------

onGoTo(goToMessage);
restoreUnsent();
input.value = stored(DRAFT_KEY) || "";
connect({
  connecting: forgetRequests,
  opened(reconnected) {
    if (reconnected && keepsHistory) requestResume();
    resume();
  },
  frame: handleFrame,
  closed: requeueAfterDisconnect,
});
