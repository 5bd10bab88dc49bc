// People on the page: names (links to direct messages), mentions of this page's user,
// who is online and who is typing.

import { LANGUAGE, PROTOCOL, TEXT, directUrl, fill, me } from "./protocol.js";

const TYPING_SHOWN_MS = 4000;

const typingLine = document.getElementById("typing");
const presenceList = document.getElementById("presence");
const nameList = new Intl.ListFormat(LANGUAGE, { style: "long", type: "conjunction" });

// A person's name; a link to a direct conversation with them, where those are offered and
// they have an account.
export function personName(name, guest) {
  if (!directUrl || guest || name === me) return name;
  const link = document.createElement("a");
  link.href = directUrl.replace("USERNAME", encodeURIComponent(name));
  link.textContent = name;
  link.title = fill(TEXT.write_to, { name });
  return link;
}

// "@username" as a word, as the server counts mentions: the server's own pattern
// (chat/protocol.py), none for a guest.
const MENTION_OF_ME = PROTOCOL.mention ? new RegExp(PROTOCOL.mention, "iu") : null;

export function mentionsMe(text) {
  return MENTION_OF_ME !== null && typeof text === "string" && MENTION_OF_ME.test(text);
}

// -- Typing ----------------------------------------------------------------------------------

const typing = new Map(); // display name -> timer that hides them

export function showTyping(name) {
  clearTimeout(typing.get(name));
  typing.set(name, setTimeout(() => {
    typing.delete(name);
    renderTyping();
  }, TYPING_SHOWN_MS));
  renderTyping();
}

// They sent what they were typing.
export function stoppedTyping(name) {
  if (!typing.has(name)) return;
  clearTimeout(typing.get(name));
  typing.delete(name);
  renderTyping();
}

function renderTyping() {
  const names = [...typing.keys()];
  if (names.length === 0) typingLine.textContent = "";
  else if (names.length === 1) typingLine.textContent = fill(TEXT.typing_one, { name: names[0] });
  else typingLine.textContent = fill(TEXT.typing_many, { names: nameList.format(names) });
}

// -- Who is online ---------------------------------------------------------------------------

export function showPresence(frame) {
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
