// The dashboard in a real headless browser (Debian's chromium, driven by
// playwright-core), against a warren server, client and local service that
// t/integration/dashboard_browser.sh started. Checks what a person relies
// on: the page loads without console errors; a request made through the
// tunnel appears in the list without a reload; its detail shows the
// request headers; replay makes a second entry and a second hit on the
// service; the HAR download parses; a request whose path, headers and body
// carry <script> and <img onerror> payloads is shown as text, with no
// dialog and no injected element. A screenshot is saved.
//
// Environment: DASH_URL (http://127.0.0.1:PORT), TUNNEL_PORT (the server's
// HTTP ingress), TUNNEL_HOST (the tunnel's public name), SVC_LOG (the
// service's log, one "request METHOD TARGET -> STATUS" line per request),
// OUT (where the screenshot goes), CHROMIUM (the browser).
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { chromium } from "playwright-core";

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.log(`FAIL: ${name} is not set`);
    process.exit(2);
  }
  return v;
};
const DASH = env("DASH_URL");
const PORT = Number(env("TUNNEL_PORT"));
const HOST = env("TUNNEL_HOST");
const SVC_LOG = env("SVC_LOG");
const OUT = env("OUT");
const CHROMIUM = env("CHROMIUM");
const STEP_MS = 15000;

let failed = false;
function fail(what) {
  console.log("FAIL: " + what);
  failed = true;
  throw new Error(what);
}
function note(what) {
  console.log("# " + what);
}

// A request through the tunnel, as a public client makes it.
function through(method, target, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port: PORT, method, path: target, headers: Object.assign({ Host: HOST }, headers || {}) },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      }
    );
    req.setTimeout(STEP_MS, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}

function hits(pattern) {
  return fs
    .readFileSync(SVC_LOG, "utf8")
    .split("\n")
    .filter((l) => l.startsWith(pattern)).length;
}

async function until(what, fn, ms = STEP_MS) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) fail(what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  // root in a container: no user namespaces for chromium's sandbox
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
const page = await context.newPage();
const consoleErrors = [];
const dialogs = [];
page.on("console", (m) => {
  if (m.type() === "error") consoleErrors.push(m.text());
});
page.on("pageerror", (e) => consoleErrors.push("page error: " + e.message));
page.on("dialog", async (d) => {
  dialogs.push(d.type() + ": " + d.message());
  await d.dismiss();
});
let reloads = 0;
page.on("framenavigated", (f) => {
  if (f === page.mainFrame()) reloads++;
});

try {
  // 1. The page loads and goes live (its event stream connected).
  const resp = await page.goto(DASH + "/", { waitUntil: "load" });
  if (resp.status() !== 200) fail("the page answered " + resp.status());
  await page.waitForFunction(() => document.getElementById("conn").textContent === "live", null, {
    timeout: STEP_MS,
  });
  note("page loaded, event stream live");
  const navigations = reloads;

  // 2. A request through the tunnel appears without a reload.
  const r1 = await through("GET", "/headers?from=browser", { "X-Browser-Test": "yes please" });
  if (r1.status !== 200) fail("GET /headers through the tunnel: " + r1.status);
  const row = page.locator("#requests tbody tr", { hasText: "/headers?from=browser" });
  await row.first().waitFor({ timeout: STEP_MS });
  if (reloads !== navigations) fail("the page reloaded");
  const cells = await row.first().locator("td").allTextContents();
  if (cells[2] !== "GET" || cells[4] !== "/headers?from=browser" || cells[5] !== "200")
    fail("the row reads " + JSON.stringify(cells));
  note("the request appeared live: " + JSON.stringify(cells.slice(2, 6)));

  // 3. Its detail shows the request headers.
  await row.first().click();
  await page.waitForFunction(
    () => document.getElementById("d-title").textContent.includes("/headers?from=browser"),
    null,
    { timeout: STEP_MS }
  );
  const reqHeaders = await page.$$eval("#d-req-headers tbody tr", (trs) =>
    trs.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent])
  );
  const has = (n, v) => reqHeaders.some((h) => h[0] === n && h[1] === v);
  if (!has("X-Browser-Test", "yes please") || !has("X-Forwarded-For", "127.0.0.1"))
    fail("request headers in the detail: " + JSON.stringify(reqHeaders));
  note("detail shows the request headers (" + reqHeaders.length + ")");

  // 4. Replay: a second entry, a second hit on the service.
  const before = hits("request GET /headers?from=browser ");
  const rowsBefore = await page.locator("#requests tbody tr").count();
  await page.click("#replay");
  await page.waitForFunction(() => /^Replayed #\d+ as #\d+/.test(document.getElementById("d-message").textContent), null, {
    timeout: STEP_MS,
  });
  const msg = await page.textContent("#d-message");
  await until("a second entry in the list", async () => (await page.locator("#requests tbody tr").count()) === rowsBefore + 1);
  await until("a second hit on the service", () => hits("request GET /headers?from=browser ") === before + 1);
  const replayRow = await page.locator("#requests tbody tr").first().locator("td").allTextContents();
  if (!/↻\d+/.test(replayRow[0]) || replayRow[4] !== "/headers?from=browser")
    fail("the replay's row reads " + JSON.stringify(replayRow));
  note("replay: " + msg + "; service hits " + before + " -> " + (before + 1));

  // 5. Edit and replay: another path reaches the service.
  await page.click("#edit");
  await page.fill("#e-path", "/headers?from=edit");
  await page.click("#e-send");
  await until("the edited replay at the service", () => hits("request GET /headers?from=edit ") === 1);
  await page.locator("#requests tbody tr", { hasText: "/headers?from=edit" }).first().waitFor({ timeout: STEP_MS });
  note("edit and replay reached the service");

  // 6. The HAR download parses.
  const [download] = await Promise.all([page.waitForEvent("download", { timeout: STEP_MS }), page.click("#har")]);
  const harPath = path.join(OUT, "dashboard.har");
  await download.saveAs(harPath);
  const har = JSON.parse(fs.readFileSync(harPath, "utf8"));
  if (har.log.version !== "1.2" || har.log.entries.length < 3)
    fail("HAR: version " + har.log.version + ", " + har.log.entries.length + " entries");
  note("HAR download: " + har.log.entries.length + " entries");

  // 7. XSS: payloads in the path, a header and the body are shown as text.
  const xssPath = "/xss/<script>window.__xss=1</script>?q=<img/src=x/onerror=alert(1)>";
  const xssHeader = '<img src=x onerror="alert(2)"><script>alert(3)</script>';
  const xssBody = "<script>alert(4)</script><img src=x onerror=alert(5)><b>bold?</b>";
  await through("POST", xssPath, { "X-Evil": xssHeader, "Content-Type": "text/html" }, xssBody);
  const xssRow = page.locator("#requests tbody tr", { hasText: "/xss/<script>" }).first();
  await xssRow.waitFor({ timeout: STEP_MS });
  const xssCells = await xssRow.locator("td").allTextContents();
  if (xssCells[4] !== xssPath) fail("the XSS path cell reads " + JSON.stringify(xssCells[4]));
  await xssRow.click();
  await page.waitForFunction(() => document.getElementById("d-title").textContent.includes("/xss/"), null, {
    timeout: STEP_MS,
  });
  await page.waitForFunction(() => document.querySelector("#d-req-body pre") !== null, null, { timeout: STEP_MS });
  const shown = await page.evaluate(() => ({
    title: document.getElementById("d-title").textContent,
    header: [...document.querySelectorAll("#d-req-headers tbody tr")]
      .filter((tr) => tr.cells[0].textContent === "X-Evil")
      .map((tr) => tr.cells[1].textContent)[0],
    body: document.querySelector("#d-req-body pre").textContent,
    scripts: document.querySelectorAll("body script").length,
    imgs: document.querySelectorAll("body img").length,
    bolds: document.querySelectorAll("#detail-panel b, #requests b").length,
    flag: window.__xss,
  }));
  if (!shown.title.includes(xssPath)) fail("the detail title reads " + JSON.stringify(shown.title));
  if (shown.header !== xssHeader) fail("the X-Evil header reads " + JSON.stringify(shown.header));
  if (shown.body !== xssBody) fail("the body reads " + JSON.stringify(shown.body));
  if (shown.scripts !== 0 || shown.imgs !== 0 || shown.bolds !== 0 || shown.flag !== undefined)
    fail("injected markup: " + JSON.stringify(shown));
  for (const text of [xssBody, xssHeader]) {
    const visible = await page.getByText(text, { exact: true }).first().isVisible();
    if (!visible) fail("not visible as text: " + text);
  }
  await page.waitForTimeout(300); // an <img onerror> would have fired by now
  if (dialogs.length > 0) fail("dialogs fired: " + JSON.stringify(dialogs));
  note("XSS payloads in path, header and body shown as text; no dialog, no injected element");

  // 8. A screenshot, and no console error all along.
  await page.screenshot({ path: path.join(OUT, "dashboard.png"), fullPage: true });
  note("screenshot: " + path.join(OUT, "dashboard.png"));
  if (consoleErrors.length > 0) fail("console errors: " + JSON.stringify(consoleErrors));
  note("no console errors");
} catch (e) {
  if (!failed) console.log("FAIL: " + e.message);
  failed = true;
  try {
    await page.screenshot({ path: path.join(OUT, "dashboard-failed.png"), fullPage: true });
    console.log("# screenshot of the failure: " + path.join(OUT, "dashboard-failed.png"));
  } catch (e2) {
    /* the browser is gone */
  }
  if (consoleErrors.length > 0) console.log("# console errors: " + JSON.stringify(consoleErrors));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
