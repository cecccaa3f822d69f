// The camera page: decode frames (BarcodeDetector where the browser has it, else zxing-wasm served
// by this service), post each new code to /v1/scan, show the verdict big and coloured.
"use strict";

const $ = (id) => document.getElementById(id);
const GOOD = new Set(["VALID"]);
const WARN = new Set(["MALFORMED_CODE", "UNKNOWN_ITEM", "MARKING_MISMATCH", "PERMIT_NOT_YET_VALID", "LICENCE_INVALID"]);
let lastCode = null, lastAt = 0, busy = false, currentItem = null, detector = null;

// The API key stays in this tab (sessionStorage, gone when the tab closes) and leaves it only in the
// Authorization header: a key in a web address is written to access logs, proxies and history.
const KEPT = { key: sessionStorage, country: localStorage, location: localStorage, direction: localStorage };
localStorage.removeItem("tracemark.key");
for (const [id, store] of Object.entries(KEPT)) {
  const saved = store.getItem("tracemark." + id);
  if (saved) $(id).value = saved;
  $(id).addEventListener("change", () => store.setItem("tracemark." + id, $(id).value));
}
const params = new URLSearchParams(location.search);
for (const id of ["country", "location", "direction"]) if (params.has(id)) $(id).value = params.get(id);
if (params.has("key")) {
  params.delete("key");
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + (rest ? "?" + rest : ""));
  $("warning").textContent = "An API key in a web address is written to server logs: this one was not used. "
    + "Type your key in the field below, and have it replaced, as it may be known.";
  $("warning").hidden = false;
}

async function setUpDecoder() {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) {
        detector = new BarcodeDetector({ formats: ["qr_code"] });
        $("decoder").textContent = "decoder: BarcodeDetector";
        return;
      }
    } catch (e) { /* fall through to zxing-wasm */ }
  }
  ZXingWASM.prepareZXingModule({
    overrides: { locateFile: (path, prefix) => path.endsWith(".wasm") ? "/scan/assets/" + path : prefix + path },
    fireImmediately: true,
  });
  $("decoder").textContent = "decoder: zxing-wasm";
}

async function decodeFrame(video, canvas) {
  if (detector) {
    const found = await detector.detect(video);
    return found.length ? found[0].rawValue : null;
  }
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(video, 0, 0);
  const image = context.getImageData(0, 0, canvas.width, canvas.height);
  const found = await ZXingWASM.readBarcodes(image, { formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 1 });
  return found.length && found[0].isValid ? found[0].text : null;
}

function headers() {
  return { "Content-Type": "application/json", "Authorization": "Bearer " + $("key").value.trim() };
}

async function scan(code) {
  $("state").textContent = "checking " + code.slice(0, 48) + "...";
  const response = await fetch("/v1/scan", {
    method: "POST", headers: headers(),
    body: JSON.stringify({ code, country: $("country").value.trim().toUpperCase(),
                           location: $("location").value.trim() || "camera page", direction: $("direction").value }),
  });
  const body = await response.json();
  if (!response.ok) { showProblem(body); return; }
  show(body);
}

function showProblem(problem) {
  $("result").hidden = false;
  $("verdict").textContent = problem.title || "ERROR";
  $("verdict").className = "warn";
  $("verdict").dataset.verdict = "ERROR";
  $("advice").textContent = problem.detail || "";
  $("state").textContent = "the service refused the scan";
}

function show(answer) {
  currentItem = answer.item;
  $("result").hidden = false;
  const verdict = $("verdict");
  verdict.textContent = answer.verdict.replaceAll("_", " ");
  verdict.dataset.verdict = answer.verdict;
  verdict.className = GOOD.has(answer.verdict) ? "ok" : WARN.has(answer.verdict) ? "warn" : "alarm";
  $("advice").textContent = answer.advice || "";
  $("reasons").replaceChildren(...(answer.reasons || []).map((r) => li(r.verdict + ": " + r.detail)));
  const facts = $("facts");
  facts.replaceChildren();
  const shown = answer.item ? { item: answer.item.uid, status: answer.status, ...(answer.item.facts || {}) } : {};
  for (const [name, value] of Object.entries(shown)) {
    const dt = document.createElement("dt"); dt.textContent = name.replaceAll("_", " ");
    const dd = document.createElement("dd"); dd.textContent = String(value);
    facts.append(dt, dd);
  }
  $("custody").replaceChildren(...(answer.custody || []).map((c) => li(c.party + " since " + c.since)));
  $("seize").hidden = !answer.item || ["seized", "forfeited", "destroyed", "deactivated"].includes(answer.status);
  $("seized").textContent = "";
  $("state").textContent = "scanned " + new Date().toLocaleTimeString();
}

function li(text) { const item = document.createElement("li"); item.textContent = text; return item; }

$("seize").addEventListener("click", async () => {
  if (!currentItem) return;
  const reason = prompt("Reason for the seizure", "held at inspection: " + $("verdict").dataset.verdict);
  if (!reason) return;
  const response = await fetch("/scan/seize", {
    method: "POST", headers: headers(),
    body: JSON.stringify({ item: currentItem.uid, country: $("country").value.trim().toUpperCase(),
                           place: $("location").value.trim() || "camera page", reason }),
  });
  const body = await response.json();
  $("seized").textContent = response.ok ? "seizure recorded as entry " + body.seq : "refused: " + (body.detail || response.status);
  if (response.ok) { lastCode = null; }
});

async function run() {
  await setUpDecoder();
  const video = $("video"), canvas = $("frame");
  try {
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (e) {
    $("state").textContent = "no camera: " + e.message;
    return;
  }
  await video.play();
  const tick = async () => {
    if (!busy && video.readyState >= 2) {
      busy = true;
      try {
        const code = await decodeFrame(video, canvas);
        const now = Date.now();
        if (code && !$("key").value.trim()) {
          $("state").textContent = "type the scanning party's API key to check this code";
        } else if (code && (code !== lastCode || now - lastAt > 10000)) {
          lastCode = code; lastAt = now;
          await scan(code);
        }
      } catch (e) {
        $("state").textContent = "decoder error: " + e.message;
      } finally {
        busy = false;
      }
    }
    setTimeout(tick, 150);
  };
  tick();
}

run();
