// What outlives a reload of the page, in this tab (sessionStorage): the messages not yet
// sent, and what is typed in the message box and in editors. Storage may be full or
// disabled: then it lasts as long as the page.

export function stored(key) {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

// Keeps the value; an empty one or null forgets the key.
export function store(key, value) {
  try {
    if (value) sessionStorage.setItem(key, value);
    else sessionStorage.removeItem(key);
  } catch {
    // Kept in the page only.
  }
}
