// Direct, resumable upload of a new revision (the API's upload protocol):
// start it, PUT each part to its URL, retry a failed part with back-off after asking the
// server which parts it already has, then complete it. Progress is counted in bytes.
const form = document.querySelector("form[data-upload]");
const bar = form.querySelector("progress");
const text = form.querySelector(".progress-text");
const button = form.querySelector("button[type=submit]");
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const MAX_DELAY_MS = 30000;

function api(method, url, body) {
  return fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (response) => {
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(data.detail || `The server answered ${response.status}.`);
      error.status = response.status;
      throw error;
    }
    return data;
  });
}

function show(done, total, note) {
  const percent = total ? Math.floor((done / total) * 100) : 0;
  bar.value = percent;
  text.textContent = note ? `${percent} % · ${note}` : `${percent} %`;
}

function putPart(url, blob, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("PUT", url);
    request.setRequestHeader("Content-Type", "application/octet-stream");
    request.upload.onprogress = (event) => onProgress(event.loaded);
    request.onload = () => (request.status >= 200 && request.status < 300
      ? resolve()
      : reject(Object.assign(new Error(`Part refused (${request.status}).`), { status: request.status })));
    request.onerror = () => reject(new Error("The connection dropped."));
    request.send(blob);
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A refusal the server means (4xx other than a stale part URL) will not get better by trying again.
const isFinal = (error) => error.status >= 400 && error.status < 500 && error.status !== 403 && error.status !== 408;

async function send(file, description) {
  const partId = form.dataset.part;
  let upload = await api("POST", `/api/parts/${partId}/uploads/`, { filename: file.name, size: file.size, description });
  const length = (number) => Math.min(upload.part_size, file.size - (number - 1) * upload.part_size);
  let failures = 0;
  for (;;) {
    const received = upload.parts.filter((part) => part.received).reduce((sum, part) => sum + length(part.number), 0);
    const missing = upload.parts.filter((part) => !part.received);
    if (!missing.length) break;
    let doneBytes = received;
    try {
      for (const part of missing) {
        const start = (part.number - 1) * upload.part_size;
        await putPart(part.url, file.slice(start, start + length(part.number)), (loaded) => show(doneBytes + loaded, file.size));
        doneBytes += length(part.number);
        part.received = true;
        failures = 0;
        show(doneBytes, file.size);
      }
    } catch (error) {
      if (isFinal(error)) throw error;
      failures += 1;
      const delay = Math.min(MAX_DELAY_MS, 1000 * 2 ** (failures - 1));
      show(doneBytes, file.size, `connection lost, trying again in ${Math.round(delay / 1000)} s`);
      await sleep(delay);
      // Which parts arrived, and fresh URLs for the rest.
      upload = await retrying(() => api("GET", `/api/uploads/${upload.id}/`));
    }
  }
  show(file.size, file.size, "checking the file");
  return retrying(() => api("POST", `/api/uploads/${upload.id}/complete/`));
}

async function retrying(call) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (error.status || attempt >= 8) throw error;
      await sleep(Math.min(MAX_DELAY_MS, 1000 * 2 ** (attempt - 1)));
    }
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = form.querySelector("input[type=file]").files[0];
  if (!file) return;
  button.disabled = true;
  form.querySelector(".progress").hidden = false;
  form.dataset.state = "uploading";
  show(0, file.size);
  try {
    const revision = await send(file, form.querySelector("[name=description]").value);
    show(file.size, file.size, `${revision.label} uploaded`);
    form.dataset.state = "done";
    text.textContent = `Done: ${file.name} is ${revision.label}. The files and the 3D view update by themselves.`;
    button.disabled = false;
    form.reset();
    document.dispatchEvent(new CustomEvent("partsite:uploaded", { detail: revision }));
  } catch (error) {
    form.dataset.state = "failed";
    text.textContent = error.message;
    text.classList.add("warning-inline");
    button.disabled = false;
  }
});
