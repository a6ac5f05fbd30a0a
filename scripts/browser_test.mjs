// The web page in a real browser (Debian's Chromium driven by playwright-core),
// against a running `stance serve`. Run by scripts/browser_test.sh, which
// installs both and starts the servers; exits non-zero on any failure.
//
// Environment: STANCE_URL (the server, keys off), STANCE_KEYED_URL and
// STANCE_KEY (a second server with API keys on; optional), OUT_DIR (user data
// dir and screenshots), DOCS_SHOT (also write the docs screenshot there).
import { mkdtempSync, statSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(join(process.env.OUT_DIR, "node_modules", "x.js"));
const { chromium } = require("playwright-core");

const BASE = process.env.STANCE_URL;
const KEYED = process.env.STANCE_KEYED_URL || "";
const KEY = process.env.STANCE_KEY || "";
const OUT = process.env.OUT_DIR;
const DOCS_SHOT = process.env.DOCS_SHOT || "";

// Two paragraphs with curly quotes, accents and an emoji before the terms:
// scalar-value offsets and UTF-16 offsets differ in the second one.
const TEXT =
  "José Pérez, the county sheriff, said “honoring” ICE detainers keeps dangerous offenders off the streets.\n\n" +
  "Café 😀 owners said immigrant families should not fear calling the police, and the city will not honor ICE detainers.";
const EXPLAIN = 5;

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures++;
}

// Code-point slicing, independent of the page's own offset conversion.
const cps = [...TEXT];
const scalarSlice = (s, e) => cps.slice(s, e).join("");
const utf16At = (s) => cps.slice(0, s).join("").length;

async function apiScore(base, key) {
  const headers = { "content-type": "application/json" };
  if (key) headers.authorization = `Bearer ${key}`;
  const res = await fetch(`${base}/v1/score`, { method: "POST", headers, body: JSON.stringify({ text: TEXT, explain: EXPLAIN }) });
  if (!res.ok) throw new Error(`POST /v1/score answered ${res.status}: ${await res.text()}`);
  return res.json();
}

async function launch() {
  const userDataDir = mkdtempSync(join(OUT, "profile-"));
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1100, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
}

// A page that fails the test on console errors, CSP violations, failed
// loads, and any request to another origin than `base` (aborted).
async function watchedPage(context, base) {
  const page = await context.newPage();
  const origin = new URL(base).origin;
  const problems = [];
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    problems.push(`request to another origin: ${url}`);
    return route.abort();
  });
  page.on("console", (m) => {
    // The browser logs every non-2xx fetch; the keys test provokes 401 and 413 on purpose.
    if (m.type() === "error" && !/status of (401|413) /.test(m.text())) problems.push(`console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
  return { page, problems };
}

// The <mark> pieces of a paragraph's text: UTF-16 offset in the paragraph,
// text and the ids of the terms each covers.
async function marks(para) {
  return para.locator(".para-text").evaluate((p) => {
    const out = [];
    let at = 0;
    for (const n of p.childNodes) {
      const t = n.textContent;
      if (n.nodeName === "MARK") out.push({ at, text: t, terms: n.dataset.terms.split(" ") });
      at += t.length;
    }
    return out;
  });
}

async function scoreThroughPage(page, base) {
  await page.fill("#text", TEXT);
  await page.fill("#explain", String(EXPLAIN));
  await page.click("#score");
  await page.locator(".para").nth(1).waitFor({ timeout: 15000 });
}

async function keysOff(context) {
  const { page, problems } = await watchedPage(context, BASE);
  const res = await page.goto(`${BASE}/`);
  check(res.status() === 200, "GET / is 200");
  check(/default-src 'none'/.test(res.headers()["content-security-policy"] || ""), "GET / carries the Content-Security-Policy");
  await page.waitForFunction(() => /sanctuary@/.test(document.getElementById("model").textContent), null, { timeout: 10000 });
  const api = await apiScore(BASE, "");
  check((await page.textContent("#model")).includes(api.checksum), "the page names the model's checksum");

  const t0 = Date.now();
  await scoreThroughPage(page, BASE);
  console.log(`     scored through the page in ${Date.now() - t0} ms`);
  const paras = page.locator(".para");
  check((await paras.count()) === api.paragraphs.length, `${api.paragraphs.length} shaded paragraphs`);
  for (const [i, p] of api.paragraphs.entries()) {
    const div = paras.nth(i);
    const cls = await div.getAttribute("class");
    check(cls.split(" ").includes(p.label), `paragraph ${i} is shaded ${p.label}`);
    check(cls.includes("low-confidence") === p.low_confidence, `paragraph ${i} low-confidence mark is ${p.low_confidence}`);
    const badge = await div.locator(".badge").first().textContent();
    check(badge === `${p.label} ${p.probabilities[p.label].toFixed(2)}`, `paragraph ${i} badge "${badge}"`);
    check((await div.locator(".para-text").textContent()) === scalarSlice(p.start, p.end), `paragraph ${i} text`);
  }
  const summary = await page.textContent("#summary");
  check(summary.includes(`${api.label} ${api.probabilities[api.label].toFixed(2)}`), "document badge");
  check(summary.includes("stance index"), "document stance index");

  // Each paragraph: click (the first) or Enter (the second), then compare the
  // highlighted pieces with the API's terms and scalar-value offsets.
  let compared = 0;
  for (const [i, p] of api.paragraphs.entries()) {
    const div = paras.nth(i);
    if (i === 0) await div.click();
    else {
      await div.focus();
      await page.keyboard.press("Enter");
    }
    check((await div.getAttribute("aria-expanded")) === "true", `paragraph ${i} opens (${i === 0 ? "click" : "Enter"})`);
    const got = await marks(div);
    const terms = [
      ...p.explanation.toward.map((t, k) => ({ ...t, id: `toward-${k}` })),
      ...p.explanation.against.map((t, k) => ({ ...t, id: `against-${k}` })),
    ];
    check(terms.length > 0, `paragraph ${i} has explanation terms`);
    for (const t of terms) {
      const pieces = got.filter((m) => m.terms.includes(t.id));
      const text = pieces.map((m) => m.text).join("");
      const at = pieces.length ? pieces[0].at : -1;
      const want = utf16At(t.start) - p.start_utf16;
      const contiguous = pieces.every((m, k) => k === 0 || m.at === pieces[k - 1].at + pieces[k - 1].text.length);
      check(text === t.text && text === scalarSlice(t.start, t.end) && at === want && contiguous,
        `paragraph ${i} term ${t.term} highlights "${text}" at ${at} (API: "${t.text}" at scalar ${t.start}, UTF-16 ${want})`);
      compared++;
    }
    check((await page.locator(`#explain-${i} tr[data-term]`).count()) === terms.length, `paragraph ${i} lists its ${terms.length} terms`);
  }
  check(compared > 0, `${compared} highlighted terms compared with the API`);
  check(utf16At(api.paragraphs[1].end) !== api.paragraphs[1].end, "the text has offsets where UTF-16 and scalar values differ");

  // Space closes the open paragraph again.
  await page.keyboard.press(" ");
  check((await paras.nth(1).getAttribute("aria-expanded")) === "false", "Space closes the paragraph");
  await paras.nth(1).click();

  await page.screenshot({ path: join(OUT, "page.png"), fullPage: true });
  console.log(`     screenshot: ${join(OUT, "page.png")}`);
  if (DOCS_SHOT) {
    await page.screenshot({ path: DOCS_SHOT, fullPage: true });
    const kb = statSync(DOCS_SHOT).size / 1024;
    check(kb < 400, `${DOCS_SHOT} is ${kb.toFixed(0)} KB (< 400 KB)`);
  }

  // An error is shown: empty text is refused before sending.
  await page.fill("#text", "   ");
  await page.click("#score");
  check(await page.isVisible("#error"), "empty text shows an error");
  check(problems.length === 0, `no console errors, CSP violations or foreign requests${problems.length ? ": " + problems.join("; ") : ""}`);
  await page.close();
}

async function keysOn(context) {
  const { page, problems } = await watchedPage(context, KEYED);
  const res = await page.goto(`${KEYED}/`);
  check(res.status() === 200, "keys on: GET / is 200 without a key");
  await page.fill("#text", TEXT);
  await page.click("#score");
  await page.locator("#error").waitFor({ timeout: 10000 });
  check(/requires an API key \(401\)/.test(await page.textContent("#error")), "keys on: no key shows the 401 message");
  check(await page.isVisible("#key"), "keys on: the page asks for the key (password field)");
  check((await page.getAttribute("#key", "type")) === "password", "keys on: the key field is a password field");
  await page.fill("#key", "wrong-key-0123456789");
  await page.click("#score");
  await page.waitForFunction(() => /not accepted/.test(document.getElementById("error").textContent), null, { timeout: 10000 });
  check(true, "keys on: a wrong key shows 'not accepted'");
  await page.fill("#key", KEY);
  await page.check("#remember-key");
  await scoreThroughPage(page, KEYED);
  check(await page.isHidden("#error"), "keys on: with the key the text is scored");
  const stored = await page.evaluate(() => sessionStorage.getItem("stance.apiKey"));
  check(stored === KEY, "keys on: the key is kept in sessionStorage when asked");
  await page.reload();
  check((await page.inputValue("#key")) === KEY, "keys on: a reload in the same tab keeps the key");
  // This server's body limit is 4096 bytes (browser_test.sh): a longer text is 413.
  await page.fill("#text", TEXT.repeat(40));
  await page.click("#score");
  await page.locator("#error").waitFor({ timeout: 10000 });
  check(/too large for this service \(413\)/.test(await page.textContent("#error")), "keys on: a text over the body limit shows the 413 message");
  check(problems.length === 0, `keys on: no console errors or foreign requests${problems.length ? ": " + problems.join("; ") : ""}`);
  await page.close();
}

const start = Date.now();
let context;
try {
  context = await launch();
  console.log(`browser: Chromium ${context.browser()?.version() ?? "(persistent context)"}`);
  await keysOff(context);
  if (KEYED) await keysOn(context);
} catch (e) {
  console.log(`FAIL ${e.stack || e}`);
  failures++;
} finally {
  if (context) await context.close();
}
console.log(`browser test: ${failures ? "FAILED" : "passed"} in ${((Date.now() - start) / 1000).toFixed(1)} s`);
process.exit(failures ? 1 : 0);
