// Messages typed and not yet confirmed by the server: shown last, as queued, sending or
// not sent (with a Retry), until their own broadcast comes back. The outbox sends them.

import { TEXT, TYPES, me, meIsGuest, newClientId } from "./protocol.js";
import { isOpen } from "./connection.js";
import { enqueue, restore, withdraw } from "./outbox.js";
import { messageItem, messageList, scrollToBottom, updateControls } from "./messages.js";

const UNSENT_LABELS = {
  queued: TEXT.queued,
  sending: TEXT.sending,
  failed: TEXT.failed,
};

// Send a message typed here, answering the message ``replyTo`` ({ id, user, message }) if
// given; or, with its clientId and state, one a reload found unsent.
export function sendMessage(text, replyTo = null, clientId = newClientId(), state = "queued") {
  const item = messageItem({ user: me, guest: meIsGuest, message: text, reply_to: replyTo });
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
  const entry = {
    clientId,
    item,
    label,
    inOrder: true,
    kept: { text, replyTo },
    frame: () => ({
      type: TYPES.message,
      message: text,
      client_id: clientId,
      ...(replyTo && { reply_to: replyTo.id }),
    }),
    show: (shownState, reason) => showUnsent(entry, shownState, reason),
    answered: () => delivered(entry),
  };
  retry.addEventListener("click", () => sendAgain(entry));
  messageList.append(item);
  enqueue(entry, state);
  updateControls();
  scrollToBottom();
}

// The messages a reload of the page found unsent, in the order typed.
export function restoreUnsent() {
  restore((kept) => {
    if (typeof kept.text !== "string") return;
    const replyTo = Number.isInteger(kept.replyTo?.id) ? kept.replyTo : null;
    sendMessage(kept.text, replyTo, kept.clientId, kept.failed ? "failed" : "queued");
  });
}

function showUnsent(entry, state, reason) {
  for (const name of Object.keys(UNSENT_LABELS)) entry.item.classList.toggle(name, name === state);
  entry.label.textContent = reason ? `${UNSENT_LABELS[state]} ${reason}` : UNSENT_LABELS[state];
  if (state === "queued" && !isOpen()) entry.label.textContent = TEXT.waiting_for_connection;
  entry.item.querySelector(".retry").hidden = state !== "failed";
}

// Its broadcast came back: the message shows once, where it belongs.
function delivered(entry) {
  entry.item.remove();
  updateControls();
  withdraw(entry);
}

// Retry a message shown as not sent: it goes again, after the others waiting.
function sendAgain(entry) {
  messageList.append(entry.item);
  enqueue(entry);
}
