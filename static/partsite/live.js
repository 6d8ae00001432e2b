// The part page keeps its files and its 3D panel up to date by itself: while a conversion is
// waiting or running, or after an upload, it asks the server how they are (a small JSON answer
// with the two panels drawn) and swaps in what changed. No page reload.
const viewerPanel = document.querySelector("[data-live=viewer]");
const filesPanel = document.querySelector("[data-live=files]");
const POLL_MS = 2500;
const AFTER_UPLOAD_POLLS = 4; // an upload's revision may still be on its way to the list
let extraPolls = 0;
let timer = null;

async function refresh() {
  timer = null;
  let state;
  try {
    const response = await fetch(viewerPanel.dataset.liveUrl, {
      credentials: "same-origin", headers: { Accept: "application/json" },
    });
    if (!response.ok) throw new Error(`status ${response.status}`);
    state = await response.json();
  } catch (error) {
    schedule(); // the server is busy or the connection dropped: ask again later
    return;
  }
  if (filesPanel.innerHTML.trim() !== state.files_html.trim()) filesPanel.innerHTML = state.files_html;
  if (viewerPanel.dataset.state !== state.viewer_state) {
    viewerPanel.dataset.state = state.viewer_state;
    viewerPanel.innerHTML = state.viewer_html;
    if (viewerPanel.querySelector(".viewer[data-model-url]")) {
      // The viewer draws the model it finds on the page when it runs: a module runs once per
      // address, so each new model gets the viewer under an address of its own (three.js is shared).
      import(`${viewerPanel.dataset.viewerScript}?model=${encodeURIComponent(state.viewer_state)}`);
      announce("The 3D view is ready.");
    }
  }
  viewerPanel.toggleAttribute("data-busy", state.busy);
  if (state.busy || extraPolls > 0) {
    extraPolls = Math.max(0, extraPolls - 1);
    schedule();
  }
}

function announce(text) {
  const line = document.querySelector(".live-status");
  if (line) line.textContent = text;
}

function schedule() {
  if (timer === null) timer = setTimeout(refresh, POLL_MS);
}

document.addEventListener("partsite:uploaded", () => {
  extraPolls = AFTER_UPLOAD_POLLS;
  clearTimeout(timer);
  timer = null;
  refresh();
});

if (viewerPanel.hasAttribute("data-busy")) schedule();
