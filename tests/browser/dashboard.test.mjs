// End to end in a real browser: the `view` dashboard and the `report --format html`
// page show the same headline numbers and charts as `report --format json`, fetch
// nothing from anywhere else, and the dashboard picks up new events by itself.
//
// Run by scripts/browser-test.sh, which provides:
//   DASHBOARD_URL  the address `view` printed
//   REPORT_JSON    `report --format json` of the same log, before new events
//   REPORT_HTML    `report --format html` of the same log
//   LOG_PATH       the log, to append new events to
//   SCREENSHOT_DIR where to leave screenshots for people to look at
//   EMPTY_DASHBOARD_URL  `view` of a log that does not exist yet
//   EMPTY_LOG_PATH       that log, to create
//   EMPTY_REPORT_HTML    `report --format html` of an empty log
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, readFileSync, mkdirSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const env = (name) => {
  const v = process.env[name];
  assert.ok(v, `${name} is not set; run scripts/browser-test.sh`);
  return v;
};
const url = env("DASHBOARD_URL");
const report = JSON.parse(readFileSync(env("REPORT_JSON"), "utf8"));
const htmlFile = env("REPORT_HTML");
const logPath = env("LOG_PATH");
const shots = process.env.SCREENSHOT_DIR;
const emptyUrl = env("EMPTY_DASHBOARD_URL");
const emptyLog = env("EMPTY_LOG_PATH");
const emptyHtml = env("EMPTY_REPORT_HTML");

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
});
after(async () => { await browser?.close(); });

/// A page that records every request it makes.
async function open(target, width = 1200) {
  const page = await browser.newPage({ viewport: { width, height: 1800 } });
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(target);
  return { page, requests, errors };
}

const close = (a, b, what) =>
  assert.ok(Math.abs(Number(a) - Number(b)) <= 1e-9 * Math.max(1, Math.abs(Number(b))), `${what}: ${a} vs ${b}`);

function percent(share) {
  if (share === null) return "–";
  const p = share * 100;
  return p === 0 || p >= 10 || Math.abs(p - Math.round(p)) < 0.05 ? `${p.toFixed(0)}%` : `${p.toFixed(1)}%`;
}
const count = (n) => n.toLocaleString("en-US");

/// Checks the headline cards and every chart against a JSON report.
async function checkAgainst(page, r) {
  const card = async (metric) =>
    page.$eval(`[data-metric="${metric}"]`, (el) => ({ value: el.dataset.value, text: el.textContent }));
  const g = r.regressions;
  let c = await card("events");
  assert.equal(Number(c.value), r.events);
  assert.equal(c.text, count(r.events));
  c = await card("regressions");
  assert.equal(Number(c.value), g.total);
  assert.equal(c.text, count(g.total));
  c = await card("contract_share");
  close(c.value, g.contract_violations.share, "contract share");
  assert.equal(c.text, percent(g.contract_violations.share));
  c = await card("plan_drift_share");
  close(c.value, g.plan_drift.share, "plan drift share");
  assert.equal(c.text, percent(g.plan_drift.share));
  c = await card("per_week");
  close(c.value, r.weekly.average_violations, "per week");
  assert.equal(c.text, r.weekly.average_violations.toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 }));
  c = await card("most_used");
  assert.equal(c.value, r.most_used.command);
  const mostUsedSub = await page.$eval('[data-metric="most_used"] + .sub', (el) => el.textContent);
  assert.equal(mostUsedSub, `${percent(r.most_used.session_share)} of sessions`);
  c = await card("success_rate");
  close(c.value, r.success_rate, "success rate");
  c = await card("checks_failed");
  assert.equal(Number(c.value), r.checks.failed);
  c = await card("features");
  assert.equal(Number(c.value), r.discovery.features);

  // The split of regressions prevented.
  for (const [series, part] of [["contract_violations", g.contract_violations], ["plan_drift", g.plan_drift]]) {
    const v = await page.$eval(`#chart-share rect[data-series="${series}"]`, (el) => el.dataset.value);
    assert.equal(Number(v), part.count, series);
  }

  // Weekly charts: one column per week (the last 52), values as in the JSON.
  const weeks = r.weeks.slice(-52);
  const column = (chart, series) =>
    page.$$eval(`#${chart} rect[data-series="${series}"]`, (els) =>
      els.map((el) => [el.dataset.week, Number(el.dataset.value), Number(el.getAttribute("height"))]));
  const events = await column("chart-events", "events");
  assert.deepEqual(events.map(([w, v]) => [w, v]), weeks.map((w) => [w.week, w.events]));
  const tallest = Math.max(...events.map((e) => e[2]));
  const busiest = Math.max(...weeks.map((w) => w.events));
  for (const [w, v, h] of events) {
    // Bar heights are proportional to the values.
    assert.ok(Math.abs(h / tallest - v / busiest) < 0.01, `height of ${w}`);
  }
  const contract = await column("chart-regressions", "contract_violations");
  assert.deepEqual(contract.map(([w, v]) => [w, v]), weeks.map((w) => [w.week, w.contract_violations]));
  const drift = await column("chart-regressions", "plan_drift");
  assert.deepEqual(drift.map(([w, v]) => [w, v]), weeks.map((w) => [w.week, w.plan_drift]));

  // Command shares, most sessions first.
  const shares = await page.$$eval("#chart-commands rect[data-command]", (els) =>
    els.map((el) => [el.dataset.command, Number(el.dataset.value)]));
  const top = r.commands.slice(0, 12);
  assert.deepEqual(shares.map((s) => s[0]), top.map((c) => c.command));
  shares.forEach(([name, v], i) => close(v, top[i].session_share, `share of ${name}`));

  // Durations.
  const durations = await page.$$eval("#chart-durations g[data-command]", (els) =>
    els.map((el) => [el.dataset.command, Number(el.dataset.median), Number(el.dataset.p95)]));
  assert.equal(durations.length, top.length);
  durations.forEach(([name, median, p95], i) => {
    assert.equal(name, top[i].command);
    close(median, top[i].duration_ms.median, `median of ${name}`);
    close(p95, top[i].duration_ms.p95, `p95 of ${name}`);
  });

  // The commands table lists every command.
  const rows = await page.$$eval("#commands tbody tr", (els) => els.map((el) => el.dataset.command));
  assert.deepEqual(rows, r.commands.map((c) => c.command));
}

test("the dashboard shows what report --format json says, and only talks to its server", async () => {
  const { page, requests, errors } = await open(url);
  // The script ran and polled at least once.
  await page.waitForFunction(() => document.body.dataset.events !== undefined, null, { timeout: 15000 });
  await checkAgainst(page, report);
  const recent = await page.$$eval("#recent-events tbody tr", (els) => els.map((el) => el.children[1].textContent));
  const lines = readFileSync(logPath, "utf8").trim().split("\n");
  assert.equal(recent.length, Math.min(50, report.events));
  assert.equal(recent[0], JSON.parse(lines[lines.length - 1]).command);
  const origin = new URL(url).origin;
  assert.ok(requests.length >= 2);
  for (const r of requests) assert.equal(new URL(r).origin, origin, `request to ${r}`);
  assert.deepEqual(errors, []);
  if (shots) {
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: `${shots}/dashboard.png`, fullPage: true });
  }
  await page.close();
});

test("the dashboard picks up new events without a reload", async () => {
  const { page } = await open(url);
  await page.waitForFunction(() => document.body.dataset.events !== undefined, null, { timeout: 15000 });
  const before = Number(await page.$eval('[data-metric="events"]', (el) => el.dataset.value));
  const prevented = Number(await page.$eval('[data-metric="regressions"]', (el) => el.dataset.value));
  const stamp = new Date().toISOString();
  const added = [
    { command: "plan.compare", violations: 4 },
    { command: "repro.run", violations: 3 },
    { command: "drift.detect", violations: 0 },
  ];
  appendFileSync(logPath, added.map((a, i) => JSON.stringify({
    violations_detected: a.violations, session_id: `browser${i}`.padEnd(32, "0"), success: true,
    duration_ms: 12.5, command: a.command, timestamp: stamp,
  }) + "\n").join(""));
  await page.waitForFunction((n) => document.body.dataset.events === String(n), before + added.length, { timeout: 15000 });
  const now = await page.$eval('[data-metric="regressions"]', (el) => Number(el.dataset.value));
  assert.equal(now, prevented + 7);
  const newest = await page.$eval("#recent-events tbody tr td:nth-child(2)", (el) => el.textContent);
  assert.equal(newest, "drift.detect");
  await page.close();
});

test("the HTML report shows the same figures and fetches nothing", async () => {
  const { page, requests, errors } = await open(pathToFileURL(htmlFile).href);
  await checkAgainst(page, report);
  assert.deepEqual(requests, [pathToFileURL(htmlFile).href]);
  assert.equal(await page.$$eval("script", (s) => s.length), 0);
  assert.deepEqual(errors, []);
  if (shots) await page.screenshot({ path: `${shots}/report.png`, fullPage: true });
  await page.close();
});

async function screenshot(page, name) {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

/// What must hold at any width: nothing wider than the window, every chart inside its
/// box with all its text, labels large enough to read, bars that use their panel.
async function checkLayout(page, what) {
  const sizes = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth,
  }));
  assert.ok(sizes.scroll <= sizes.inner, `${what}: the page scrolls sideways (${sizes.scroll} > ${sizes.inner})`);
  const charts = await page.$$eval("svg.chart", (svgs) => svgs.map((svg) => {
    const box = svg.getBoundingClientRect();
    const parent = svg.parentElement.getBoundingClientRect();
    const texts = [...svg.querySelectorAll("text")].map((t) => {
      const r = t.getBoundingClientRect();
      const ctm = t.getScreenCTM();
      return {
        text: t.textContent,
        left: r.left, right: r.right, top: r.top, bottom: r.bottom,
        px: parseFloat(getComputedStyle(t).fontSize) * Math.hypot(ctm.a, ctm.b),
      };
    });
    return {
      id: svg.id,
      box: { left: box.left, right: box.right, top: box.top, bottom: box.bottom, width: box.width },
      parent: { left: parent.left, right: parent.right },
      texts,
    };
  }));
  assert.ok(charts.length >= 5, `${what}: only ${charts.length} charts`);
  const slack = 0.5;
  for (const c of charts) {
    assert.ok(c.box.width > 0, `${what}: #${c.id} has no width`);
    assert.ok(c.box.left >= c.parent.left - slack && c.box.right <= c.parent.right + slack,
      `${what}: #${c.id} sticks out of its box (${c.box.left}–${c.box.right} in ${c.parent.left}–${c.parent.right})`);
    assert.ok(c.box.left >= 0 && c.box.right <= sizes.inner, `${what}: #${c.id} is outside the window`);
    for (const t of c.texts) {
      assert.ok(t.left >= c.box.left - slack && t.right <= c.box.right + slack
        && t.top >= c.box.top - slack && t.bottom <= c.box.bottom + slack,
        `${what}: "${t.text}" in #${c.id} is clipped (${t.left}–${t.right} in ${c.box.left}–${c.box.right})`);
      assert.ok(t.px >= 11, `${what}: "${t.text}" in #${c.id} is ${t.px.toFixed(1)} px`);
    }
  }
  // The command-share bars use their panel: the largest share spans it.
  const bars = await page.$eval("#chart-commands", (svg) => ({
    panel: svg.getBoundingClientRect().width,
    longest: Math.max(...[...svg.querySelectorAll("rect[data-command]")].map((r) => r.getBoundingClientRect().width)),
  }));
  assert.ok(bars.longest >= 0.9 * bars.panel, `${what}: the longest share bar is ${bars.longest} of ${bars.panel} px`);
  // Figures are right-aligned in tabular digits, and every figure is marked as one.
  const cells = await page.$$eval("table td", (tds) => tds.map((td) => ({
    text: td.textContent, num: td.classList.contains("num"),
    align: getComputedStyle(td).textAlign, digits: getComputedStyle(td).fontVariantNumeric,
    visible: td.getBoundingClientRect().width > 0,
    code: td.querySelector("code") !== null,
  })));
  const figure = /^(–|-?[\d,]+(\.\d+)?( ?(%|ms|s|min|h))?)$/;
  let numbers = 0;
  for (const c of cells.filter((c) => c.visible)) {
    // Session ids are code, not figures, whatever their letters.
    if (figure.test(c.text) && !c.code) assert.ok(c.num, `${what}: figure "${c.text}" is not marked as one`);
    if (c.num) {
      numbers++;
      assert.equal(c.align, "right", `${what}: "${c.text}" is aligned ${c.align}`);
      assert.match(c.digits, /tabular-nums/, `${what}: "${c.text}" is not in tabular figures`);
      // Thousands separators everywhere.
      assert.doesNotMatch(c.text, /\d{4}/, `${what}: "${c.text}" has no thousands separator`);
    }
  }
  assert.ok(numbers > 20, `${what}: only ${numbers} figures in tables`);
  for (const text of await page.$$eval(".card .value, svg text", (els) => els.map((e) => e.textContent))) {
    if (/^[\d,.\s%a-z–]+$/.test(text)) assert.doesNotMatch(text, /\d{4}/, `${what}: "${text}" has no thousands separator`);
  }
}

/// Legends name only what is there; times and notes read as words.
async function checkWording(page, r, what) {
  const legends = await page.$$eval(".legend span", (els) => els.map((e) => e.textContent));
  assert.ok(legends.length >= 2, `${what}: legends ${legends}`);
  for (const l of legends) assert.doesNotMatch(l, /(^|\s)0%/, `${what}: a legend entry at 0 %: ${l}`);
  if (r.regressions.other.count === 0) {
    assert.ok(!legends.some((l) => l.startsWith("Other")), `${what}: "Other" in a legend: ${legends}`);
  }
  const time = await page.$eval("#status time", (t) => ({ iso: t.dateTime, title: t.title, text: t.textContent }));
  assert.match(time.iso, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, what);
  assert.equal(time.title, time.iso);
  assert.match(time.text, /^(\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d UTC$/, `${what}: time reads "${time.text}"`);
  const notes = await page.$eval("#notes", (n) => n.textContent);
  assert.ok(notes.length > 0, `${what}: no notes`);
  for (const jargon of ["HyperLogLog", "histogram", "standard error"]) {
    assert.ok(!notes.includes(jargon), `${what}: "${jargon}" in the notes`);
  }
}

for (const width of [1400, 420]) {
  test(`the dashboard at ${width} px: fits, reads, and says what the JSON says`, async () => {
    const { page, errors } = await open(url, width);
    await page.waitForFunction(() => document.body.dataset.events !== undefined, null, { timeout: 15000 });
    // Events added by the test above are in the page too; check the layout and words.
    await checkLayout(page, `dashboard ${width}`);
    await checkWording(page, report, `dashboard ${width}`);
    assert.deepEqual(errors, []);
    await screenshot(page, `dashboard-${width}`);
    await page.close();
  });

  test(`the HTML report at ${width} px: fits, reads, and prints every week`, async () => {
    const { page, errors } = await open(pathToFileURL(htmlFile).href, width);
    await checkAgainst(page, report);
    await checkLayout(page, `report ${width}`);
    await checkWording(page, report, `report ${width}`);
    assert.deepEqual(errors, []);
    await screenshot(page, `report-${width}`);
    // On paper, every week is there.
    await page.emulateMedia({ media: "print" });
    const weeks = await page.$$eval("#weeks tbody tr", (rows) => rows.filter((r) => r.getBoundingClientRect().height > 0).length);
    assert.equal(weeks, report.weeks.length);
    await page.close();
  });

  test(`an empty log at ${width} px says how to start, in the report and the dashboard`, async () => {
    for (const target of [pathToFileURL(emptyHtml).href, emptyUrl]) {
      const { page, errors } = await open(target, width);
      const state = await page.waitForSelector("#nothing-recorded", { timeout: 15000 });
      const text = await state.textContent();
      assert.match(text, /Nothing recorded yet/);
      assert.match(text, /specfact-telemetry enable/);
      assert.equal(await page.$$eval("[data-metric], svg", (els) => els.length), 0, "zeros shown");
      const scroll = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(scroll <= 0, `${target}: scrolls sideways by ${scroll}px`);
      assert.deepEqual(errors, []);
      await screenshot(page, `empty-${target === emptyUrl ? "dashboard" : "report"}-${width}`);
      await page.close();
    }
  });
}

test("the empty dashboard fills in by itself when the first event arrives", async () => {
  const { page } = await open(emptyUrl, 420);
  await page.waitForFunction(() => document.body.dataset.events === "0", null, { timeout: 15000 });
  appendFileSync(emptyLog, JSON.stringify({
    violations_detected: 2, session_id: "first".padEnd(32, "0"), success: true,
    duration_ms: 12.5, command: "plan.compare", timestamp: new Date().toISOString(),
  }) + "\n");
  await page.waitForFunction(() => document.body.dataset.events === "1", null, { timeout: 15000 });
  assert.equal(await page.$$eval("#nothing-recorded", (els) => els.length), 0);
  assert.equal(await page.$eval('[data-metric="regressions"]', (el) => el.textContent), "2");
  const period = await page.$eval("#period", (el) => el.textContent);
  assert.match(period, /1 event · 1 session$/);
  await page.close();
});
