// Loads `ridge report` pages in headless Chromium over the DevTools protocol (a pipe on fds 3
// and 4, NUL-terminated JSON; no npm package) and checks what a reader sees:
//   - no console error, no exception, no request but the file itself;
//   - every number the page marks with data-src equals the embedded JSON's value formatted by
//     the rules below (written apart from the page's own), and every time carries its basis;
//   - hovering a roofline operator shows its name, FLOPs, bytes, time and verdict;
//   - at 1280 and 390 px: nothing wider than the screen, no two chart labels overlapping or equal;
//   - a hostile model name is shown as text and adds no element.
// Usage: node browser_test.mjs CHROMIUM OUT_DIR REPORT.html [HOSTILE.html HOSTILE_NAME]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [chromium, outDir, reportPath, hostilePath, hostileName] = process.argv.slice(2);
let failures = 0;
let checks = 0;
function check(ok, what) {
  checks++;
  if (!ok) {
    failures++;
    console.log("FAIL: " + what);
  }
}

// ---- the formatting rules, as the page states them (src/report/report_page.html) ----
function group(n) {
  const s = String(Math.round(Math.abs(n)));
  return (n < 0 ? "-" : "") + s.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}
function sig(x, n) {
  if (x === 0) return "0";
  return Math.abs(x) >= 10 ** n ? group(x) : x.toPrecision(n);
}
function si(x, unit) {
  for (const [scale, p] of [[1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]])
    if (Math.abs(x) >= scale) return sig(x / scale, 4) + " " + p + unit;
  return sig(x, 4) + " " + unit;
}
const FORMAT = {
  time: (s) => (s >= 1 ? sig(s, 4) + " s" : s >= 1e-3 ? sig(s * 1e3, 4) + " ms" : sig(s * 1e6, 4) + " \u00b5s"),
  gib: (b) => (b / 2 ** 30).toFixed(2) + " GiB",
  bytes: (b) => group(b) + " B",
  flops: (x) => si(x, "FLOP"),
  si_bytes: (x) => si(x, "B"),
  flop_per_s: (x) => si(x, "FLOP/s"),
  byte_per_s: (x) => si(x, "B/s"),
  intensity: (x) => sig(x, 4) + " FLOP/B",
  tokens_per_s: (x) => sig(x, 4) + " tokens/s",
  req_per_s: (x) => sig(x, 3) + " req/s",
  count: (x) => group(x),
  percent: (x) => (x * 100).toFixed(1) + "%",
  usd: (x) => "$" + x.toFixed(3),
  usd_hour: (x) => "$" + x.toFixed(2) + " per GPU-hour",
  gpu_hours: (x) => sig(x, 4) + " GPU-h",
  joules: (x) => sig(x, 4) + " J",
  watts: (x) => sig(x, 4) + " W",
  kwh: (x) => sig(x, 4) + " kWh",
  ratio: (x) => sig(x, 3),
  bool: (x) => (x ? "yes" : "no"),
};
function expected(value, fmt) {
  if (value === null || value === undefined || (typeof value === "number" && !Number.isFinite(value))) return "\u2014";
  return FORMAT[fmt](value);
}

/// The JSON inside the file, read as an HTML parser would (up to the first "</script").
function embedded(path) {
  const html = readFileSync(path, "utf8");
  const open = '<script type="application/json" id="ridge-data">';
  const start = html.indexOf(open) + open.length;
  return JSON.parse(html.slice(start, html.indexOf("</script", start)));
}
function valueAt(data, path) {
  let v = data;
  for (const k of path.split(".")) v = v === null || v === undefined ? undefined : v[k];
  return v;
}

// ---- the DevTools protocol over the pipe ----
const profile = mkdtempSync(join(tmpdir(), "ridge-chromium-"));
const browser = spawn(
  chromium,
  ["--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--no-default-browser-check", "--disable-extensions", "--disable-background-networking", "--disable-sync",
    "--disable-component-update", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
    "--user-data-dir=" + profile, "about:blank"],
  { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] },
);
let stderr = "";
browser.stderr.on("data", (d) => (stderr += d));
const toBrowser = browser.stdio[3];
const fromBrowser = browser.stdio[4];
let nextId = 1;
const waiting = new Map();
const listeners = [];
let buffer = Buffer.alloc(0);
fromBrowser.on("data", (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  for (let end = buffer.indexOf(0); end >= 0; end = buffer.indexOf(0)) {
    const msg = JSON.parse(buffer.subarray(0, end).toString("utf8"));
    buffer = buffer.subarray(end + 1);
    if (msg.id && waiting.has(msg.id)) {
      const { ok, fail } = waiting.get(msg.id);
      waiting.delete(msg.id);
      msg.error ? fail(new Error(JSON.stringify(msg.error))) : ok(msg.result);
    } else if (msg.method) {
      for (const l of listeners) l(msg);
    }
  }
});
function send(method, params = {}, sessionId) {
  const id = nextId++;
  const msg = { id, method, params };
  if (sessionId) msg.sessionId = sessionId;
  toBrowser.write(JSON.stringify(msg) + "\0");
  return new Promise((ok, fail) => waiting.set(id, { ok, fail }));
}
function once(method) {
  return new Promise((ok) => {
    const l = (msg) => {
      if (msg.method === method) {
        listeners.splice(listeners.indexOf(l), 1);
        ok(msg.params);
      }
    };
    listeners.push(l);
  });
}
const timer = setTimeout(() => {
  console.log("FAIL: timed out; chromium said:\n" + stderr.slice(-2000));
  browser.kill("SIGKILL");
  process.exit(1);
}, 60000);

async function openPage(width, height, mobile) {
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
  const s = (method, params) => send(method, params, sessionId);
  const page = { s, targetId, errors: [], requests: [] };
  listeners.push((msg) => {
    if (msg.sessionId !== sessionId) return;
    const p = msg.params;
    if (msg.method === "Runtime.exceptionThrown") page.errors.push("exception: " + JSON.stringify(p.exceptionDetails).slice(0, 400));
    if (msg.method === "Runtime.consoleAPICalled" && (p.type === "error" || p.type === "assert" || p.type === "warning"))
      page.errors.push("console." + p.type + ": " + p.args.map((a) => a.value ?? a.description).join(" "));
    if (msg.method === "Log.entryAdded" && (p.entry.level === "error" || p.entry.level === "warning"))
      page.errors.push("log " + p.entry.level + ": " + p.entry.text);
    if (msg.method === "Network.requestWillBeSent") page.requests.push(p.request.url);
  });
  await s("Runtime.enable");
  await s("Log.enable");
  await s("Network.enable");
  await s("Page.enable");
  await s("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile });
  return page;
}
async function load(page, file) {
  const loaded = once("Page.loadEventFired");
  await page.s("Page.navigate", { url: pathToFileURL(file).href });
  await loaded;
}
async function evaluate(page, expression) {
  const r = await page.s("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
  if (r.exceptionDetails) throw new Error("evaluate: " + JSON.stringify(r.exceptionDetails).slice(0, 400));
  return r.result.value;
}
async function screenshot(page, width, mobile, file) {
  const h = await evaluate(page, "document.documentElement.scrollHeight");
  await page.s("Emulation.setDeviceMetricsOverride", { width, height: Math.min(h, 16000), deviceScaleFactor: 1, mobile });
  await new Promise((r) => setTimeout(r, 300));  // the charts redraw on resize after 100 ms
  const { data } = await page.s("Page.captureScreenshot", { format: "png" });
  writeFileSync(file, Buffer.from(data, "base64"));
  // RIDGE_SCREENSHOT_TILES=1: the page also in screen-high pieces (file-1.png, ...), to look at.
  if (process.env.RIDGE_SCREENSHOT_TILES) {
    const tile = width < 600 ? 844 : 1000;
    for (let y = 0, k = 1; y < h; y += tile, k++) {
      const clip = { x: 0, y, width, height: Math.min(tile, h - y), scale: 1 };
      const shot = await page.s("Page.captureScreenshot", { format: "png", clip });
      writeFileSync(file.replace(/\.png$/, "-" + k + ".png"), Buffer.from(shot.data, "base64"));
    }
  }
}

// Page-side probes (plain functions, sent as source).
// A number's basis tag: beside it, else in its column's header, else in its row's label.
const NUMBERS = `Array.from(document.querySelectorAll("[data-src]")).map((e) => {
  let tag = e.nextElementSibling && e.nextElementSibling.classList.contains("tag") ? e.nextElementSibling.textContent : null;
  const td = e.closest("td");
  if (tag === null && td) {
    const header = td.closest("table").rows[0].cells[td.cellIndex];
    const label = td.parentElement.cells[0];
    const t = (header && header.querySelector(".tag")) || (label !== td && label.querySelector(".tag"));
    if (t) tag = t.textContent;
  }
  return { src: e.getAttribute("data-src"), fmt: e.getAttribute("data-fmt"), text: e.textContent,
    basis: e.getAttribute("data-basis"), tag };
})`;
const OVERLAPS = `(() => {
  const out = [];
  for (const svg of document.querySelectorAll("svg")) {
    const boxes = Array.from(svg.querySelectorAll("text")).map((t) => [t.textContent, t.getBoundingClientRect()]);
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, p] = boxes[i], [b, q] = boxes[j];
        const w = Math.min(p.right, q.right) - Math.max(p.left, q.left), h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
        if (w > 1 && h > 1) out.push(svg.getAttribute("aria-label").slice(0, 20) + ": '" + a + "' / '" + b + "'");
      }
    for (const axis of ["x", "y"]) {
      const texts = Array.from(svg.querySelectorAll("text.tick." + axis)).map((t) => t.textContent);
      for (const t of new Set(texts.filter((t, i) => texts.indexOf(t) !== i))) out.push(svg.getAttribute("aria-label").slice(0, 20) + ": " + axis + " label '" + t + "' twice");
    }
    const r = svg.getBoundingClientRect();
    for (const [t, p] of boxes)
      if (p.left < r.left - 1 || p.right > r.right + 1) out.push(svg.getAttribute("aria-label").slice(0, 20) + ": '" + t + "' outside the chart");
  }
  return out;
})()`;

async function checkReport(file, tag) {
  const data = embedded(file);
  const url = pathToFileURL(resolve(file)).href;
  for (const [width, height, mobile, name] of [[1280, 900, false, "desktop"], [390, 844, true, "phone"]]) {
    const page = await openPage(width, height, mobile);
    await load(page, resolve(file));
    const what = tag + " at " + width + " px";
    check((await evaluate(page, "document.body.getAttribute('data-rendered')")) === "yes", what + ": the script ran to the end");
    // Numbers: each marked element against the JSON.
    const numbers = await evaluate(page, NUMBERS);
    check(numbers.length >= 40, what + ": at least 40 numbers are tied to the JSON (" + numbers.length + ")");
    let wrong = 0;
    for (const n of numbers) {
      const want = expected(valueAt(data, n.src), n.fmt);
      if (n.text !== want) {
        if (wrong++ < 5) console.log("  " + n.src + " shows '" + n.text + "', the JSON gives '" + want + "'");
      }
      if (n.fmt === "time" && n.text !== "\u2014" && !(n.basis === "bound" || n.basis === "estimate")) {
        if (wrong++ < 5) console.log("  " + n.src + " is a time without a basis");
      }
      if (n.basis && n.tag !== n.basis) {
        if (wrong++ < 5) console.log("  " + n.src + " is labelled '" + n.tag + "', its basis is '" + n.basis + "'");
      }
    }
    check(wrong === 0, what + ": every number matches the JSON and every time says bound or estimate (" + wrong + " wrong)");
    // The roofline's basis follows the JSON's estimate_kind.
    const rfBasis = data.roofline.estimate_kind === "roofline_bound" ? "bound" : "estimate";
    const ttft = numbers.find((n) => n.src === "roofline.ttft_s");
    check(ttft && ttft.basis === rfBasis, what + ": TTFT labelled " + rfBasis + " as estimate_kind says");
    const bounds = numbers.filter((n) => n.src.startsWith("roofline.bound."));
    check(bounds.every((n) => n.basis === "bound"), what + ": the datasheet bound is labelled bound");
    // Sections that must be there.
    for (const id of ["memory-table", "phase-table", "time-table", "serve-table", "plan-table"])
      check((await evaluate(page, `document.querySelectorAll("#${id} tr").length`)) >= 2, what + ": #" + id + " has rows");
    check((await evaluate(page, `document.querySelectorAll("#roofline-chart .point").length`)) > 0, what + ": operators plotted");
    if (data.serve)
      check((await evaluate(page, `document.querySelectorAll("#serve-ttft .point").length`)) > 0, what + ": serving curve drawn");
    const costText = await evaluate(page, `document.getElementById("cost").textContent`);
    if (!data.roofline.cost) check(/Cost is not available/.test(costText), what + ": says cost is not available");
    if (!data.roofline.energy) check(/Energy is not available/.test(costText), what + ": says energy is not available");
    // Layout: nothing wider than the screen; chart labels apart.
    const scrollWidth = await evaluate(page, "document.documentElement.scrollWidth");
    check(scrollWidth <= width, what + ": page width " + scrollWidth + " px fits the screen");
    const overlaps = await evaluate(page, OVERLAPS);
    check(overlaps.length === 0, what + ": no chart labels overlap" + (overlaps.length ? " (" + overlaps.slice(0, 4).join("; ") + ")" : ""));
    // Hover (desktop) or tap (phone) an operator: its tooltip.
    // An operator no other point covers at its centre (the mouse reaches the topmost one).
    const target = await evaluate(page, `(() => {
      document.getElementById("roofline-chart").scrollIntoView({ block: "center" });
      for (const g of document.querySelectorAll("#roofline-chart .point")) {
        const r = g.querySelector(".mark").getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        const hit = document.elementFromPoint(x, y);
        if (hit && hit.closest(".point") === g) return { i: Number(g.getAttribute("data-op")), x, y };
      }
      return null;
    })()`);
    check(target !== null, what + ": an operator can be pointed at");
    if (mobile) {
      for (const type of ["mousePressed", "mouseReleased"])
        await page.s("Input.dispatchMouseEvent", { type, x: target.x, y: target.y, button: "left", clickCount: 1 });
    } else {
      await page.s("Input.dispatchMouseEvent", { type: "mouseMoved", x: target.x, y: target.y });
    }
    const tip = await evaluate(page, `(() => { const t = document.getElementById("roofline-tooltip"); return { hidden: t.hidden, text: t.textContent }; })()`);
    const op = data.roofline.ops[target ? target.i : 0];
    check(!tip.hidden, what + ": " + (mobile ? "tapping" : "hovering") + " an operator shows its tooltip");
    for (const part of [op.name, FORMAT.flops(op.flops), FORMAT.si_bytes(op.bytes), FORMAT.time(op.time_s), op.bound])
      check(tip.text.includes(part), what + ": tooltip shows '" + part + "' (has: " + tip.text.slice(0, 160) + ")");
    check(/\b(estimate|bound)\b/.test(tip.text), what + ": tooltip says bound or estimate");
    if (tag === "llama") await screenshot(page, width, mobile, join(outDir, "report-" + name + ".png"));
    check(page.errors.length === 0, what + ": no console errors or exceptions" + (page.errors.length ? ": " + page.errors.slice(0, 3).join(" | ") : ""));
    const foreign = page.requests.filter((u) => u !== url);
    check(foreign.length === 0, what + ": no request but the file" + (foreign.length ? ": " + foreign.slice(0, 3).join(", ") : ""));
    await send("Target.closeTarget", { targetId: page.targetId });
  }
}

async function checkHostile(file, name) {
  const page = await openPage(1280, 900, false);
  await load(page, resolve(file));
  const r = await evaluate(page, `({ title: document.getElementById("title").textContent, imgs: document.querySelectorAll("img").length,
    scripts: document.querySelectorAll("script").length, rendered: document.body.getAttribute("data-rendered") })`);
  check(r.rendered === "yes", "hostile name: the page still renders");
  check(r.title.startsWith(name), "hostile name: shown as text in the title (" + JSON.stringify(r.title.slice(0, 80)) + ")");
  check(r.imgs === 0 && r.scripts === 2, "hostile name: adds no element (" + r.imgs + " img, " + r.scripts + " script)");
  check(page.errors.length === 0, "hostile name: no console errors" + (page.errors.length ? ": " + page.errors.join(" | ") : ""));
  await send("Target.closeTarget", { targetId: page.targetId });
}

try {
  await checkReport(reportPath, "llama");
  if (hostilePath) await checkHostile(hostilePath, hostileName);
} catch (e) {
  check(false, "driver: " + e.message);
}
clearTimeout(timer);
browser.kill();
try {
  rmSync(profile, { recursive: true, force: true });
} catch {}
console.log("browser: " + (checks - failures) + " passed, " + failures + " failed");
process.exit(failures === 0 ? 0 : 1);
