// The read marker of private rooms and direct messages: the last message this user has
// seen here, sent while the page is visible; every tab of theirs hears of it.

import { TYPES, keepsReadMarker, room } from "./protocol.js";
import { isOpen, send, takeToken, waitForToken } from "./connection.js";
import { lastId } from "./messages.js";

// Sent at most this often.
const READ_SEND_INTERVAL_MS = 2000;
let readUpTo = 0;
let readSentAt = -Infinity;
let readTimer = null;

export function markRead() {
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
export function readElsewhere(frame) {
  if (frame.room === room) readUpTo = Math.max(readUpTo, frame.id);
  for (const link of document.querySelectorAll(".conversations [data-room]")) {
    if (link.dataset.room !== frame.room) continue;
    for (const badge of link.querySelectorAll(".unread, .mentions")) badge.hidden = true;
  }
}
