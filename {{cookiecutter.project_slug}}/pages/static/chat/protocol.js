// What the page hands the client: the protocol's constants, its texts, and who is where.

// Frame types, error and close codes, and limits, as the server defines them
// (chat/protocol.py).
export const PROTOCOL = JSON.parse(document.getElementById("chat-protocol").textContent);
export const TYPES = PROTOCOL.types;
export const ERRORS = PROTOCOL.errors;
export const CLOSE = PROTOCOL.close;
export const LIMITS = PROTOCOL.limits;
export const keepsHistory = PROTOCOL.keeps_history;
// Everything this client says, in the page's language (pages/client_texts.py).
export const TEXT = JSON.parse(document.getElementById("chat-texts").textContent);
export const LANGUAGE = document.documentElement.lang;

const chat = document.getElementById("chat");
export const room = chat.dataset.room;
export const me = chat.dataset.user;
export const meIsGuest = chat.dataset.guest === "true";
// Where direct messages are offered, the address of one with USERNAME in it.
export const directUrl = chat.dataset.directUrl;
// Private rooms and direct messages keep each member's read marker.
export const keepsReadMarker = chat.dataset.private === "true";

// Ids for the frames this page sends. crypto.randomUUID() exists only on secure pages
// (HTTPS or localhost), not on a plain-HTTP page served from a LAN address, so: a random
// prefix per page, from crypto.getRandomValues(), which exists everywhere, and a counter.
const idPrefix = Array.from(crypto.getRandomValues(new Uint8Array(8)), (byte) =>
  byte.toString(16).padStart(2, "0")).join("");
let idCounter = 0;

export function newClientId() {
  idCounter += 1;
  return `${idPrefix}-${idCounter}`;
}

// A text with its "{name}" fields filled in.
export function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (field, name) => (name in values ? values[name] : field));
}
