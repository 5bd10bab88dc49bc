// Editing and deleting saved messages. A saved message's author may edit and delete it,
// and staff may delete anyone's: the page offers what the server would allow, and the
// server decides. A message has at most one change under way: its open editor, or its
// deletion being confirmed or sent. Once asked for, a change goes through the outbox, as
// messages do.

import { LIMITS, PROTOCOL, TEXT, TYPES, me, newClientId, room } from "./protocol.js";
import { isOpen, showError } from "./connection.js";
import { enqueue, stop, withdraw } from "./outbox.js";
import { composing, sends } from "./keys.js";
import { store, stored } from "./storage.js";

const changes = new Map(); // message id -> change

// What is typed in an editor outlives a reload of the page, until it is saved or given up.
function editKey(id) {
  return `chat-edit:${room}:${id}`;
}

export function actionButton(text, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "link";
  button.textContent = text;
  button.addEventListener("click", onClick);
  return button;
}

// The message's row of actions (Reply, Edit, Delete), made when the first is offered.
export function actionsOf(item) {
  let actions = item.querySelector(".actions");
  if (!actions) {
    actions = document.createElement("span");
    actions.className = "actions";
    item.querySelector(".text").before(actions);
  }
  return actions;
}

// A saved message is on the page: Edit and Delete, where the server would allow them;
// and an editor that was open when the page was reloaded opens again, with what was typed
// in it.
export function offerChanges(message) {
  const { item, frame } = message;
  const mine = frame.user === me;
  if (!frame.deleted && (mine || PROTOCOL.deletes_any)) {
    const actions = actionsOf(item);
    if (mine) actions.append(actionButton(TEXT.edit, () => openEditor(message, message.frame.message)));
    actions.append(actionButton(TEXT.delete, () => confirmDelete(message)));
  }
  const kept = mine ? stored(editKey(frame.id)) : null;
  if (kept !== null) openEditor(message, kept, false);
}

// The message was deleted, here or elsewhere.
export function messageDeleted(message) {
  message.item.querySelector(".actions")?.remove();
  const change = changes.get(message.frame.id);
  if (change?.kind === "delete") {
    endChange(change);
  } else if (change) {
    // Deleted by someone else while it was being edited: what was typed stays in the
    // editor, which says so, until it is closed.
    stop(change.entry);
    setEditState(change, "editing");
  }
}

// -- Changes under way -----------------------------------------------------------------------

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
  withdraw(change.entry);
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

// The change as the outbox sends it (frame() makes its frame when it goes): waiting, then
// sent; if it fails, an editor stays open, with what was typed, and says why; a deletion
// says why in the status line.
function outboxEntry(change, frame) {
  return {
    clientId: newClientId(),
    frame,
    show(state, reason) {
      if (state === "queued") {
        setChangeState(change, "waiting");
      } else if (state === "sending") {
        setChangeState(change, "sent");
      } else if (change.kind === "edit") {
        setEditState(change, "editing", reason);
      } else {
        endChange(change);
        showError(`${TEXT.not_deleted} ${reason}`);
      }
    },
    answered(answer) {
      // An answer that came too late, once the editor had been typed in again, closes
      // nothing.
      const retyped = change.kind === "edit" && change.textarea.value !== answer.message;
      if (retyped && change.state !== "sent") return;
      endChange(change);
    },
  };
}

function setChangeState(change, state) {
  if (change.kind === "edit") setEditState(change, state);
  else setDeleteState(change, state);
}

// -- Editing ---------------------------------------------------------------------------------

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
  const edit = { kind: "edit", id, message, element: form, textarea, save, note, state: "editing" };
  edit.entry = outboxEntry(edit, () => (
    { type: TYPES.edit, id, message: textarea.value, client_id: edit.entry.clientId }));
  edit.cancel = actionButton(TEXT.cancel, () => endChange(edit));
  bar.append(save, edit.cancel, note);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    saveEdit(edit);
  });
  // As in the message box: Enter saves, Shift+Enter starts a new line; Escape gives the
  // edit up. Either, pressed to end an input method's composition, only ends it.
  textarea.addEventListener("keydown", (event) => {
    if (sends(event)) {
      event.preventDefault();
      saveEdit(edit);
    } else if (event.key === "Escape" && !composing(event) && edit.state !== "sent") {
      event.preventDefault();
      endChange(edit);
    }
  });
  textarea.addEventListener("input", () => {
    store(editKey(id), textarea.value);
    // Changed again while waiting to be saved: it waits for Save again.
    if (edit.state === "waiting") stop(edit.entry);
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
  enqueue(edit.entry);
}

// -- Deleting --------------------------------------------------------------------------------

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
  const removal = { kind: "delete", id, message, element, question, yes, state: "confirming" };
  removal.entry = outboxEntry(removal, () => (
    { type: TYPES.delete, id, client_id: removal.entry.clientId }));
  removal.no = actionButton(TEXT.cancel, () => endChange(removal));
  element.append(question, yes, removal.no);
  yes.addEventListener("click", () => enqueue(removal.entry));
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
