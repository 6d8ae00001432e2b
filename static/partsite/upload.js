// Direct, resumable uploads of new revisions (the API's upload protocol), several at once:
// files chosen in the picker or dropped on the form wait in a list, each with its own
// progress bar and a cancel button, and are sent one after another. Each is started, its
// parts PUT to their URLs (a failed part is retried with back-off after asking the server
// which parts it already has), then completed. Progress is counted in bytes.
const form = document.querySelector("form[data-upload]");
const picker = form.querySelector("input[type=file]");
const list = form.querySelector(".upload-list");
const button = form.querySelector("button[type=submit]");
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const MAX_DELAY_MS = 30000;
let chosen = [];
let running = false;

class Cancelled extends Error {}

function api(method, url, body, signal) {
  return fetch(url, {
    method,
    signal,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (response) => {
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(data.detail || data.file || `The server answered ${response.status}.`);
      error.status = response.status;
      throw error;
    }
    return data;
  });
}

// One file's row: its name, its bar, what is happening, and its cancel button.
function itemFor(file) {
  const row = document.createElement("li");
  row.className = "upload-item";
  row.dataset.state = "waiting";
  const name = document.createElement("span");
  name.className = "upload-name";
  name.textContent = file.name;
  const bar = document.createElement("progress");
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute("aria-label", `Upload of ${file.name}`);
  const text = document.createElement("span");
  text.className = "progress-text";
  text.textContent = "waiting";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "button quiet";
  cancel.textContent = "Cancel";
  cancel.setAttribute("aria-label", `Cancel ${file.name}`);
  row.append(name, bar, text, cancel);
  const item = { file, row, bar, text, cancel, controller: new AbortController(), upload: null };
  cancel.addEventListener("click", () => cancelItem(item));
  return item;
}

function show(item, done, total, note) {
  const percent = total ? Math.floor((done / total) * 100) : 0;
  item.bar.value = percent;
  item.text.textContent = note ? `${percent} % · ${note}` : `${percent} %`;
}

function cancelItem(item) {
  if (["done", "failed", "cancelled"].includes(item.row.dataset.state)) return;
  item.row.dataset.state = "cancelled";
  item.text.textContent = "cancelled";
  item.cancel.disabled = true;
  item.controller.abort();
  if (item.request) item.request.abort();
  // The parts already sent are discarded on the server.
  if (item.upload) api("DELETE", `/api/uploads/${item.upload.id}/`).catch(() => {});
}

function putPart(item, url, blob, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    item.request = request;
    request.open("PUT", url);
    request.setRequestHeader("Content-Type", "application/octet-stream");
    request.upload.onprogress = (event) => onProgress(event.loaded);
    request.onload = () => (request.status >= 200 && request.status < 300
      ? resolve()
      : reject(Object.assign(new Error(`Part refused (${request.status}).`), { status: request.status })));
    request.onerror = () => reject(new Error("The connection dropped."));
    request.onabort = () => reject(new Cancelled());
    request.send(blob);
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A refusal the server means (4xx other than a stale part URL) will not get better by trying again.
const isFinal = (error) => error.status >= 400 && error.status < 500 && error.status !== 403 && error.status !== 408;

function checkNotCancelled(item) {
  if (item.row.dataset.state === "cancelled") throw new Cancelled();
}

async function send(item, description) {
  const { file } = item;
  const signal = item.controller.signal;
  const partId = form.dataset.part;
  let upload = await api("POST", `/api/parts/${partId}/uploads/`,
    { filename: file.name, size: file.size, description }, signal);
  item.upload = upload;
  if (item.row.dataset.state === "cancelled") {
    api("DELETE", `/api/uploads/${upload.id}/`).catch(() => {});
    throw new Cancelled();
  }
  const length = (number) => Math.min(upload.part_size, file.size - (number - 1) * upload.part_size);
  let failures = 0;
  for (;;) {
    const received = upload.parts.filter((part) => part.received).reduce((sum, part) => sum + length(part.number), 0);
    const missing = upload.parts.filter((part) => !part.received);
    if (!missing.length) break;
    let doneBytes = received;
    try {
      for (const part of missing) {
        checkNotCancelled(item);
        const start = (part.number - 1) * upload.part_size;
        await putPart(item, part.url, file.slice(start, start + length(part.number)),
          (loaded) => show(item, doneBytes + loaded, file.size));
        doneBytes += length(part.number);
        part.received = true;
        failures = 0;
        show(item, doneBytes, file.size);
      }
    } catch (error) {
      if (error instanceof Cancelled || isFinal(error)) throw error;
      failures += 1;
      const delay = Math.min(MAX_DELAY_MS, 1000 * 2 ** (failures - 1));
      show(item, doneBytes, file.size, `connection lost, trying again in ${Math.round(delay / 1000)} s`);
      await sleep(delay);
      checkNotCancelled(item);
      // Which parts arrived, and fresh URLs for the rest.
      upload = await retrying(() => api("GET", `/api/uploads/${upload.id}/`, undefined, signal));
    }
  }
  checkNotCancelled(item);
  show(item, file.size, file.size, "checking the file");
  return retrying(() => api("POST", `/api/uploads/${upload.id}/complete/`, undefined, signal));
}

async function retrying(call) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (error.name === "AbortError") throw new Cancelled();
      if (error.status || attempt >= 8) throw error;
      await sleep(Math.min(MAX_DELAY_MS, 1000 * 2 ** (attempt - 1)));
    }
  }
}

function choose(files) {
  for (const file of files) {
    const item = itemFor(file);
    chosen.push(item);
    list.append(item.row);
  }
  list.hidden = !chosen.length;
}

picker.addEventListener("change", () => {
  // The list shows what will be sent; the picker is emptied so that the same file can be chosen again.
  choose(picker.files);
  picker.value = "";
});

form.addEventListener("dragover", (event) => {
  event.preventDefault();
  form.dataset.dropping = "";
});
form.addEventListener("dragleave", () => delete form.dataset.dropping);
form.addEventListener("drop", (event) => {
  event.preventDefault();
  delete form.dataset.dropping;
  choose(event.dataTransfer.files);
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (running) return;
  const waiting = chosen.filter((item) => item.row.dataset.state === "waiting");
  if (!waiting.length) return;
  running = true;
  button.disabled = true;
  form.dataset.state = "uploading";
  const description = form.querySelector("[name=description]").value;
  let finished = 0;
  for (const item of waiting) {
    if (item.row.dataset.state !== "waiting") continue; // cancelled while it waited
    item.row.dataset.state = "uploading";
    show(item, 0, item.file.size);
    try {
      const revision = await send(item, description);
      item.row.dataset.state = "done";
      item.cancel.hidden = true;
      item.bar.value = 100;
      item.text.textContent = `100 % · done: ${revision.label}`;
      finished += 1;
      document.dispatchEvent(new CustomEvent("partsite:uploaded", { detail: revision }));
    } catch (error) {
      if (error instanceof Cancelled || item.row.dataset.state === "cancelled") continue;
      item.row.dataset.state = "failed";
      item.cancel.hidden = true;
      item.text.textContent = error.message;
      item.text.classList.add("warning-inline");
    }
  }
  chosen = chosen.filter((item) => item.row.dataset.state === "waiting");
  running = false;
  button.disabled = false;
  form.dataset.state = "done";
  form.querySelector(".upload-summary").textContent = finished
    ? `Done: ${finished} file${finished === 1 ? "" : "s"} uploaded. The files and the 3D view update by themselves.`
    : "Nothing was uploaded.";
});
