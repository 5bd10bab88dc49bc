// Keys in the boxes people type in: the message box and the editor of a saved message.

// Whether the key is pressed while an input method (Korean, Japanese, Chinese) composes:
// then it only ends or changes the composition, whatever it is.
export function composing(event) {
  return event.isComposing || event.keyCode === 229;
}

// Whether the key sends what is typed: Enter does; Shift+Enter starts a new line, and
// Enter that ends a composition only ends the composition.
export function sends(event) {
  return event.key === "Enter" && !event.shiftKey && !composing(event);
}
