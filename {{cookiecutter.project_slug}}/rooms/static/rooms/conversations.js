// The lobby's list of private rooms and direct messages: its unread counts are read again
// whenever the tab comes back into view, and now and then while it is shown, so that what
// was read in another tab (or arrived since) shows here without a reload.

const REFRESH_MS = 30000;

async function refresh() {
  const shown = document.querySelector(".conversations");
  if (!shown || document.visibilityState !== "visible") return;
  try {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.querySelector(".conversations");
    if (fresh) shown.replaceWith(fresh);
  } catch {
    // Offline for a moment: the counts shown stay until the next try.
  }
}

document.addEventListener("visibilitychange", refresh);
setInterval(refresh, REFRESH_MS);
