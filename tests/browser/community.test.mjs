// The server's public community page in a real browser: it shows what
// /api/community.json says, fits 1400 and 420 px windows without sideways scrolling,
// keeps every chart and its labels inside their boxes, and loads nothing but itself.
// The static copy written by `specfact-telemetry-server publish` shows the same.
//
// Run by scripts/browser-test.sh, which provides:
//   COMMUNITY_URL  the server's address (http://127.0.0.1:PORT/)
//   PUBLIC_DIR     the output of `publish --out`
//   SCREENSHOT_DIR where to leave screenshots
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const env = (name) => {
  const v = process.env[name];
  assert.ok(v, `${name} is not set; run scripts/browser-test.sh`);
  return v;
};
const base = env("COMMUNITY_URL");
const publicDir = env("PUBLIC_DIR");
const shots = process.env.SCREENSHOT_DIR;

let browser;
let json;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  // The figures are computed in the background: wait until they count every stored event.
  for (let i = 0; i < 300; i++) {
    const stats = await (await fetch(new URL("api/stats", base))).json();
    const r = await fetch(new URL("api/community.json", base));
    if (r.status === 200) {
      json = await r.json();
      if (json.events === stats.events_stored && json.events > 0) break;
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
  assert.ok(json && json.available, "the community figures never became available");
});
after(async () => { await browser?.close(); });

const percent = (share) => {
  if (share === null || share === undefined) return "–";
  const p = share * 100;
  return p === 0 || p >= 10 || Math.abs(p - Math.round(p)) < 0.05 ? `${p.toFixed(0)}%` : `${p.toFixed(1)}%`;
};
const count = (n) => n.toLocaleString("en-US");

async function open(target, width) {
  const page = await browser.newPage({ viewport: { width, height: 1600 } });
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(target);
  return { page, requests, errors };
}

/// The page says what the JSON says: cards, tables, held-back count.
async function checkFigures(page, p, what) {
  const card = (metric) => page.$eval(`[data-metric="${metric}"]`, (el) => ({ value: el.dataset.value, text: el.textContent }));
  let c = await card("events");
  assert.equal(Number(c.value), p.events, what);
  assert.equal(c.text, count(p.events), what);
  c = await card("regressions");
  assert.equal(Number(c.value), p.regressions.total, what);
  c = await card("contract_share");
  if (p.regressions.contract_violations) {
    assert.equal(Number(c.value), p.regressions.contract_violations.share, what);
    assert.equal(c.text, percent(p.regressions.contract_violations.share), what);
  } else {
    assert.equal(c.text, "–", what);
  }
  c = await card("most_used");
  assert.equal(c.value, p.most_used.command, what);
  const rows = await page.$$eval("#commands tr[data-command]", (trs) => trs.map((tr) => tr.dataset.command));
  assert.deepEqual(rows, p.commands.map((x) => x.command), `${what}: command rows`);
  const bars = await page.$$eval("#chart-commands rect[data-command]", (rs) => rs.map((r) => r.dataset.command));
  assert.deepEqual(bars, p.commands.slice(0, 12).map((x) => x.command), `${what}: command bars`);
  const weeks = await page.$$eval("#chart-regressions rect[data-series=contract_violations]", (rs) =>
    rs.map((r) => [r.dataset.week, Number(r.dataset.value)]));
  assert.deepEqual(weeks, p.weeks.slice(-52).map((w) => [w.week, w.contract_violations]), `${what}: weeks`);
  const held = await page.$eval("#held-back", (el) => Number(el.dataset.cells));
  assert.equal(held, p.held_back.cells, what);
}

/// Nothing wider than the window; every chart inside its box with all its text, 11 px or more.
async function checkLayout(page, what) {
  const sizes = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
  assert.ok(sizes.scroll <= sizes.inner, `${what}: scrolls sideways (${sizes.scroll} > ${sizes.inner})`);
  const charts = await page.$$eval("svg.chart", (svgs) => svgs.map((svg) => {
    const box = svg.getBoundingClientRect();
    const parent = svg.parentElement.getBoundingClientRect();
    return {
      id: svg.id,
      box: { left: box.left, right: box.right, top: box.top, bottom: box.bottom, width: box.width },
      parent: { left: parent.left, right: parent.right },
      texts: [...svg.querySelectorAll("text")].map((t) => {
        const r = t.getBoundingClientRect();
        const ctm = t.getScreenCTM();
        return { text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom,
          px: parseFloat(getComputedStyle(t).fontSize) * Math.hypot(ctm.a, ctm.b) };
      }),
    };
  }));
  assert.ok(charts.length >= 4, `${what}: only ${charts.length} charts`);
  const slack = 0.5;
  for (const c of charts) {
    assert.ok(c.box.width > 0, `${what}: #${c.id} has no width`);
    assert.ok(c.box.left >= c.parent.left - slack && c.box.right <= c.parent.right + slack,
      `${what}: #${c.id} sticks out of its box`);
    assert.ok(c.box.left >= 0 && c.box.right <= sizes.inner, `${what}: #${c.id} is outside the window`);
    for (const t of c.texts) {
      assert.ok(t.left >= c.box.left - slack && t.right <= c.box.right + slack
        && t.top >= c.box.top - slack && t.bottom <= c.box.bottom + slack,
        `${what}: "${t.text}" in #${c.id} is clipped`);
      assert.ok(t.px >= 11, `${what}: "${t.text}" in #${c.id} is ${t.px.toFixed(1)} px`);
    }
  }
}

async function screenshot(page, name) {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

for (const width of [1400, 420]) {
  test(`the public page at ${width} px says what /api/community.json says, fits, and loads only itself`, async () => {
    const { page, requests, errors } = await open(base, width);
    await checkFigures(page, json, `page at ${width}`);
    await checkLayout(page, `page at ${width}`);
    assert.deepEqual(requests, [base], "the page fetches nothing else");
    assert.deepEqual(errors, []);
    await screenshot(page, `community-${width}`);
    await page.close();
  });

  test(`the static copy at ${width} px shows the same figures`, async () => {
    const published = JSON.parse(readFileSync(`${publicDir}/api/community.json`, "utf8"));
    const strip = (p) => ({ ...p, generated_at: null });
    assert.deepEqual(strip(published), strip(json), "publish writes what the server serves");
    const target = pathToFileURL(`${publicDir}/index.html`).href;
    const { page, requests, errors } = await open(target, width);
    await checkFigures(page, published, `static page at ${width}`);
    await checkLayout(page, `static page at ${width}`);
    assert.deepEqual(requests, [target]);
    assert.deepEqual(errors, []);
    await page.close();
  });
}
