// The camera page: the officer signs in with an API key (GET /v1/me gives the party and its country),
// chooses the direction, then scans. Codes are decoded in the browser (BarcodeDetector where the
// browser has it, else zxing-wasm served by this service), from the camera or from a photo; a serial
// can be typed instead. Each item is checked once per visit: a code that stays in view is not sent again.
// A shipment's proof (c2sp.org/tlog-proof@v1), read as a code or opened as a file, is checked by the
// service under its verifier policy, and the entry it proves is shown.
"use strict";

const $ = (id) => document.getElementById(id);
const TERMINAL = ["seized", "forfeited", "destroyed", "deactivated"];
const PROOF_HEADER = "c2sp.org/tlog-proof@v1\n";
let lastProof = null;    // the proof text last checked: one that stays in view is not sent again

let officer = null;      // {id, name, role, country} once signed in
let key = "";            // the accepted API key
let detector = null;     // BarcodeDetector, when the browser has one for QR codes
let zxingReady = false;
let cameraStarted = false;
let filming = false;     // the camera is running: "point it at the next item" makes sense
let busy = false;
let lastRequest = null;  // the request of the answer on screen, for "Try again"
let currentItem = null;
const checked = new Map();  // item key -> the answer shown, this visit
const failed = new Set();   // item keys whose check failed: the camera leaves them to "Try again"
const partyNames = new Map();

// The API key stays in this tab (sessionStorage, gone when the tab closes) and leaves it only in the
// Authorization header: a key in a web address is written to access logs, proxies and history.
localStorage.removeItem("tracemark.key");
const params = new URLSearchParams(location.search);
if (params.has("key")) {
  params.delete("key");
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + (rest ? "?" + rest : ""));
  $("warning").textContent = "An API key in a web address is written to server logs: this one was not used. "
    + "Type your key in the field below, and have it replaced, as it may be known.";
  $("warning").hidden = false;
}
$("location").value = params.get("location") || localStorage.getItem("tracemark.location") || "";
$("location").addEventListener("change", () => localStorage.setItem("tracemark.location", $("location").value.trim()));

// ------------------------------------------------------------------ signing in

function authorization() { return { "Authorization": "Bearer " + key }; }

function say(element, text) { element.textContent = text; element.hidden = !text; }

const KEY_REFUSED = "This key was not accepted. Check that you typed it whole, or ask your supervisor for a new one.";

async function signIn(candidate) {
  if (!candidate) { say($("signin-problem"), "Enter your API key to sign in."); $("key").focus(); return; }
  say($("signin-problem"), "");
  let response;
  try {
    response = await fetch("/v1/me", { headers: { "Authorization": "Bearer " + candidate } });
  } catch (e) {
    say($("signin-problem"), "The service cannot be reached. Check the connection and sign in again.");
    return;
  }
  if (response.status === 401) { sessionStorage.removeItem("tracemark.key"); say($("signin-problem"), KEY_REFUSED); return; }
  if (!response.ok) { say($("signin-problem"), `The service could not check the key (error ${response.status}). Try again.`); return; }
  const me = await response.json();
  if (!me.scans) {
    say($("signin-problem"), `This key belongs to ${me.name}, a ${me.role.replaceAll("_", " ")}: only customs and police scan.`);
    return;
  }
  officer = me; key = candidate;
  failed.clear();
  sessionStorage.setItem("tracemark.key", key);
  $("key").value = "";
  $("party").textContent = `${me.name}, ${me.role} of ${Wording.country(me.country)}`;
  $("inland-choice").hidden = me.role !== "police";
  $("signin").hidden = true;
  $("post").hidden = false;
}

function signOut(problem) {
  officer = null; key = "";
  sessionStorage.removeItem("tracemark.key");
  $("post").hidden = true; $("scanner").hidden = true; $("signin").hidden = false;
  say($("signin-problem"), problem || "");
  $("key").focus();
}

$("signin").addEventListener("submit", (event) => { event.preventDefault(); signIn($("key").value.trim()); });
$("signout").addEventListener("click", () => signOut(""));

function direction() { const chosen = document.querySelector("input[name=direction]:checked"); return chosen ? chosen.value : null; }

for (const choice of document.querySelectorAll("input[name=direction]")) {
  choice.addEventListener("change", () => {
    $("choose").hidden = true;
    $("scanner").hidden = false;
    if (!cameraStarted) { cameraStarted = true; startCamera(); }
  });
}

// ------------------------------------------------------------------ decoding

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
  prepareZXing();
  $("decoder").textContent = "decoder: zxing-wasm";
}

function prepareZXing() {
  if (zxingReady) return;
  ZXingWASM.prepareZXingModule({
    overrides: { locateFile: (path, prefix) => path.endsWith(".wasm") ? "/scan/assets/" + path : prefix + path },
    fireImmediately: true,
  });
  zxingReady = true;
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

/** The item a code names (its id in a Tracemark URL), so one item is checked once whatever frame shows it. */
function itemKey(code) {
  const match = /\/I\/([0-7][0-9A-HJKMNP-TV-Z]{25})(\/|$)/i.exec(code.trim());
  return match ? match[1].toUpperCase() : code.trim().toUpperCase();
}

async function startCamera() {
  await setUpDecoder();
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    $("state").textContent = "The camera needs this page opened over https://. Type the serial or take a photo of the label below.";
    return;
  }
  const video = $("video"), canvas = $("frame");
  try {
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    await video.play();
  } catch (e) {
    $("video").hidden = true;
    $("state").textContent = `The camera cannot be used (${e.name === "NotAllowedError" ? "permission refused" : "no camera found"}). `
      + "Type the serial or take a photo of the label below.";
    return;
  }
  filming = true;
  $("state").textContent = "Point the camera at the item's code.";
  const tick = async () => {
    if (!busy && officer && video.readyState >= 2) {
      busy = true;
      try {
        const code = await decodeFrame(video, canvas);
        if (code && code.startsWith(PROOF_HEADER)) { if (code !== lastProof) await verifyProof(code); }
        else if (code && !failed.has(itemKey(code))) await check({ code }, itemKey(code));
      } catch (e) {
        $("state").textContent = "The decoder failed: " + e.message;
      } finally {
        busy = false;
      }
    }
    setTimeout(tick, 150);
  };
  tick();
}

$("photo").addEventListener("change", async () => {
  const file = $("photo").files[0];
  if (!file) return;
  prepareZXing();
  $("state").textContent = "Reading the photo...";
  let found = [];
  try {
    found = await ZXingWASM.readBarcodes(file, { formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 1 });
  } catch (e) { /* an image the decoder cannot open reads as no code */ }
  $("photo").value = "";
  if (!found.length || !found[0].isValid) {
    $("state").textContent = "No code found in the photo. Take it again closer and straight on, or type the serial.";
    return;
  }
  if (found[0].text.startsWith(PROOF_HEADER)) await verifyProof(found[0].text);
  else await check({ code: found[0].text }, itemKey(found[0].text));
});

$("proof-file").addEventListener("change", async () => {
  const file = $("proof-file").files[0];
  if (!file) return;
  const text = await file.text();
  $("proof-file").value = "";
  if (!text.startsWith(PROOF_HEADER)) {
    showProof(null, `This file is not a proof: its first line is not ${PROOF_HEADER.trim()}.`);
    return;
  }
  await verifyProof(text);
});

// ------------------------------------------------------------------ shipment proofs

async function verifyProof(text) {
  lastProof = text;
  $("state").textContent = "Checking the proof...";
  let response, answer;
  try {
    response = await fetch("/v1/proofs/tlog-proof", { method: "POST", headers: { "Content-Type": "text/plain", ...authorization() }, body: text });
    answer = await response.json().catch(() => null);
  } catch (e) {
    lastProof = null;
    showProof(null, "The service cannot be reached: the proof is not checked. Check the connection, then try again.");
    return;
  }
  if (response.status === 401) { signOut(KEY_REFUSED); return; }
  if (response.status === 422 && answer) { showProof(null, answer.detail); return; }
  if (!response.ok || answer === null) { lastProof = null; showProof(null, refusal(response.status, answer)); return; }
  showProof(answer, "");
}

/** The entry a proof proves (item, event, when, who vouched), or why it proves nothing. */
function showProof(proven, problem) {
  $("result").hidden = true;
  lastRequest = null;
  $("proof-result").hidden = false;
  $("proof-verdict").className = proven ? "ok" : "alarm";
  $("proof-verdict").dataset.verdict = proven ? "PROVEN" : "NOT_PROVEN";
  $("proof-headline").textContent = proven ? "Proof verified" : "Proof NOT verified";
  $("proof-action").textContent = proven
    ? "This entry is in the log, in a checkpoint the verifier policy accepts."
    : "Hold the shipment: its papers prove nothing. " + problem;
  const facts = proven ? [
    ["Item", proven.item || "none"], ["Event", proven.event_type.replaceAll("_", " ")], ["By", proven.actor],
    ["Dated", Wording.date(proven.time)], ["Logged", `entry ${proven.seq}, ${Wording.date(proven.recorded)}`],
    ["Checkpoint", `${proven.origin}, size ${proven.checkpoint_size}`],
    ["Cosigned by", proven.cosigned_by.length ? proven.cosigned_by.join(", ") : "no witness (the policy needs none)"],
  ] : [];
  $("proven").replaceChildren(...facts.flatMap(([name, value]) => {
    const dt = document.createElement("dt"); dt.textContent = name;
    const dd = document.createElement("dd"); dd.textContent = value;
    return [dt, dd];
  }));
  $("state").textContent = "";
}

$("typed").addEventListener("submit", async (event) => {
  event.preventDefault();
  const serial = $("serial").value.trim().toUpperCase(), maker = $("maker").value.trim();
  const problem = !serial ? "Type the serial printed on the item."
    : !/^[A-Z0-9][A-Z0-9./-]{0,39}$/.test(serial) ? "A serial has only letters, digits and . / - (at most 40): check what you typed."
    : !maker ? "Type the maker printed beside the serial (code or name)."
    : !/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/.test(maker) ? "A maker is a code or name of letters, digits, spaces and . _ -: check what you typed."
    : "";
  if (problem) { say($("typed-problem"), problem); return; }
  say($("typed-problem"), "");
  await check({ serial, maker }, serial + " " + maker.toUpperCase());
});

// ------------------------------------------------------------------ checking

/** Scan once per item per visit: an item already checked shows its answer again, sending nothing;
 * only a code read after a typed serial is sent, as its signature vouches for the label. */
async function check(what, itemId) {
  const earlier = checked.get(itemId);
  if (earlier && !(what.code && !earlier.request.code)) {
    if (lastRequest === null || lastRequest.itemId !== itemId) show(earlier.answer, earlier.request);
    $("state").textContent = `Already checked at ${Wording.date(earlier.at)}.${next()}`;
    return;
  }
  const request = { ...what, itemId };
  await scan(request);
}

async function scan(request) {
  lastRequest = request;
  $("state").textContent = "Checking...";
  const body = {
    ...(request.code ? { code: request.code } : { serial: request.serial, maker: request.maker }),
    country: officer.country, location: $("location").value.trim() || "camera page", direction: direction(),
  };
  let response, answer;
  failed.add(request.itemId);
  try {
    response = await fetch("/v1/scan", { method: "POST", headers: { "Content-Type": "application/json", ...authorization() },
                                         body: JSON.stringify(body) });
    answer = await response.json().catch(() => null);  // a proxy's error page is no JSON
  } catch (e) {
    showError("Not checked", "The service cannot be reached. Check the connection, then try again.");
    return;
  }
  if (response.status === 401) { signOut(KEY_REFUSED); return; }
  if (!response.ok || answer === null) { showError("Not checked", refusal(response.status, answer)); return; }
  failed.delete(request.itemId);
  const at = new Date().toISOString();
  checked.set(request.itemId, { answer, request, at });
  if (answer.item) checked.set(answer.item.uid, { answer, request, at });
  show(answer, request);
  $("state").textContent = `Checked at ${Wording.date(at)}.${next()}`;
}

function next() { return filming ? " Point the camera at the next item." : ""; }

function refusal(status, problem) {
  if (status === 403) return "Your key may not scan. Ask your supervisor for a customs or police key.";
  if (status === 429) return "Too many scans at once. Wait a moment, then try again.";
  if (status === 422) return "The service could not read this request: " + ((problem && problem.detail) || "check what you typed.");
  return `The service failed (error ${status}). Try again; if it fails again, call the help desk.`;
}

function showError(headline, action) {
  currentItem = null;
  $("proof-result").hidden = true;
  $("result").hidden = false;
  $("verdict").dataset.verdict = "ERROR";
  $("verdict").className = "warn";
  $("headline").textContent = headline;
  $("action").textContent = action;
  $("answer").hidden = true;
  $("why").hidden = true;
  $("retry").hidden = false;
  $("state").textContent = "";
}

$("retry").addEventListener("click", () => { if (lastRequest) scan(lastRequest); });

function show(answer, request) {
  lastRequest = request;
  $("proof-result").hidden = true;
  currentItem = answer.item;
  const [headline, action, tone] = Wording.verdict(answer.verdict, answer.advice);
  $("result").hidden = false;
  $("retry").hidden = true;
  $("verdict").dataset.verdict = answer.verdict;
  $("verdict").className = tone;
  $("headline").textContent = headline;
  $("action").textContent = action;
  if (answer.verdict === "SEIZED" && answer.item && answer.item.seized_by) {
    named(answer.item.seized_by).then((name) => { $("action").textContent = `Detain the item. Call the seizing authority: ${name}.`; });
  }
  if (answer.verdict === "MALFORMED_CODE") $("serial").focus();
  $("answer").hidden = !answer.item;
  // The officer knows the item by its serial: a reason naming the item's id names its serial instead.
  const readable = (text) => answer.item ? text.replaceAll(answer.item.uid, answer.item.serial) : text;
  $("reasons").replaceChildren(...(answer.reasons || []).map((r) => li(readable(r.detail))));
  $("why").hidden = !(answer.reasons || []).length;
  if (!answer.item) return;
  $("facts").replaceChildren(...Wording.facts(answer.item, answer.status).flatMap(([name, value]) => {
    const dt = document.createElement("dt"); dt.textContent = name;
    const dd = document.createElement("dd"); dd.textContent = value;
    return [dt, dd];
  }));
  $("custody").replaceChildren(...(answer.custody || []).map((link) => {
    const item = li(`${link.party}, since ${Wording.date(link.since)}`);
    named(link.party).then((name) => { item.textContent = `${name}, since ${Wording.date(link.since)}`; });
    return item;
  }));
  $("recorded").textContent = answer.inspection && answer.inspection.recorded
    ? "This inspection is recorded in the ledger." : "This inspection is not recorded: " + ((answer.inspection && answer.inspection.detail) || "");
  $("seize").hidden = TERMINAL.includes(answer.status);
  closeSeizure();
  $("seized").textContent = "";
}

/** A party's name for the officer (its id until the name is known, or if it cannot be read). */
async function named(partyId) {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(partyId)) return partyId;  // "private owner": no party
  if (!partyNames.has(partyId)) {
    partyNames.set(partyId, fetch("/v1/parties/" + encodeURIComponent(partyId), { headers: authorization() })
      .then((r) => r.ok ? r.json() : null).then((p) => p ? p.name : partyId).catch(() => partyId));
  }
  return partyNames.get(partyId);
}

function li(text) { const item = document.createElement("li"); item.textContent = text; return item; }

function closeSeizure() {
  $("seizure").hidden = true;
  $("seize").setAttribute("aria-expanded", "false");
  say($("seizure-problem"), "");
}

$("seize").addEventListener("click", () => {
  if (!currentItem) return;
  $("seizure-reason").value = "held at inspection: " + $("headline").textContent;
  $("seizure").hidden = false;
  $("seize").setAttribute("aria-expanded", "true");
  $("seizure-reason").focus();
  $("seizure-reason").select();
});

$("seizure-cancel").addEventListener("click", () => { closeSeizure(); $("seize").focus(); });
$("seizure-reason").addEventListener("input", () => say($("seizure-problem"), ""));
$("seizure").addEventListener("keydown", (event) => { if (event.key === "Escape") { closeSeizure(); $("seize").focus(); } });

$("seizure").addEventListener("submit", async (event) => {
  event.preventDefault();
  const reason = $("seizure-reason").value.trim();
  if (!reason) { say($("seizure-problem"), "Write why the item is seized."); $("seizure-reason").focus(); return; }
  if (!currentItem) return;
  say($("seizure-problem"), "");
  const response = await fetch("/scan/seize", {
    method: "POST", headers: { "Content-Type": "application/json", ...authorization() },
    body: JSON.stringify({ item: currentItem.uid, country: officer.country, place: $("location").value.trim() || "camera page", reason }),
  }).catch(() => null);
  if (response === null) { say($("seizure-problem"), "The service cannot be reached. Check the connection, then confirm again."); return; }
  const body = await response.json().catch(() => ({}));
  if (response.ok) {
    closeSeizure();
    $("seized").textContent = "Seizure recorded.";
    $("seize").hidden = true;
  } else {
    say($("seizure-problem"), "The seizure was refused: " + (body.detail || `error ${response.status}`));
  }
});

// A key kept in this tab signs in again after a reload.
const kept = sessionStorage.getItem("tracemark.key");
if (kept) signIn(kept);
