// The COPIL dashboard's timing in Debian's Chromium (headless): from the navigation to the
// tracking table rendered with its 38 rows, next to the span of the API calls the page makes for
// it (first request start to last response end, from the browser's resource timings), over
// several reloads; and the same for its floor, floor.html (the same calls with the browser's
// fetch and one innerHTML, no framework), alternated with it in the same run. Prints the medians
// and the ratios. Run by bench/console_bench.cc, which serves floor/ beside the console.
import { chromium } from "playwright-core";

const kUrl = process.env.CTG_CONSOLE_URL;
const kRuns = Number(process.env.CTG_BENCH_RUNS || 9);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
const page = await (await browser.newContext()).newPage();
await page.goto(kUrl);
await page.getByLabel("Organisation (organisations/…)").fill(process.env.CTG_CONSOLE_ORG);
await page.getByRole("button", { name: "Se connecter", exact: true }).click();
await page.getByText("Les 47 parties de la convention").waitFor();

// One load of `url`, reloaded so that its files come from the browser's cache as they do for a
// person who comes back to the dashboard: when the 38th row is in the document (read by the page
// itself, not after a round trip to this script) and the span of its API calls.
async function load(url) {
  await page.goto(url);
  await page.reload();
  const rows = await page.waitForFunction(
    () =>
      document.querySelectorAll("table")[0]?.querySelectorAll("tbody tr").length === 38 &&
      performance.now(),
    null,
    { polling: "raf" },
  );
  const rendered = await rows.jsonValue();
  return page.evaluate((rendered) => {
    const entries = performance.getEntriesByType("resource");
    const calls = entries.filter((e) => e.name.includes("/ctg."));
    return {
      rendered,
      api: Math.max(...calls.map((e) => e.responseEnd)) - Math.min(...calls.map((e) => e.startTime)),
      firstCall: Math.min(...calls.map((e) => e.startTime)),
      calls: calls.length,
      files: entries.length - calls.length,
    };
  }, rendered);
}

const pages = { console: `${kUrl}#suivi`, floor: `${kUrl}floor.html` };
const runs = { console: [], floor: [] };
for (let run = 0; run <= kRuns; ++run) {
  for (const [name, url] of Object.entries(pages)) {
    const timing = await load(url);
    if (run > 0) runs[name].push(timing); // the first round warms up
  }
}
await browser.close();

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const figures = {};
for (const [name, list] of Object.entries(runs)) {
  const f = (figures[name] = {
    rendered: median(list.map((t) => t.rendered)),
    api: median(list.map((t) => t.api)),
    firstCall: median(list.map((t) => t.firstCall)),
  });
  console.log(
    `${name.padEnd(7)}: table rendered ${f.rendered.toFixed(0)} ms after navigation; its ` +
      `${list[0].calls} API calls span ${f.api.toFixed(0)} ms, the first starts at ` +
      `${f.firstCall.toFixed(0)} ms, after the page and its ${list[0].files} file(s) ` +
      `(medians of ${kRuns})`,
  );
}
const c = figures.console;
const ratio = c.rendered / c.api;
console.log(`console: rendered / its API calls = ${ratio.toFixed(2)} (target <= 2): ${ratio <= 2 ? "met" : "NOT met"}`);
console.log(
  `floor  : rendered / its API calls = ${(figures.floor.rendered / figures.floor.api).toFixed(2)}; ` +
    `the console takes ${(c.rendered / figures.floor.rendered).toFixed(2)}x the floor's time`,
);
