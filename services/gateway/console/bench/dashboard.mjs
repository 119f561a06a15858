// The COPIL dashboard's timing in Debian's Chromium (headless): from the navigation to the
// tracking table rendered with its 38 rows, next to the span of the API calls the page makes
// for it (first request start to last response end, from the browser's resource timings), over
// several reloads; prints the medians and the ratio. Run by bench/console_bench.cc.
import { chromium } from "playwright-core";

const kUrl = process.env.CTG_CONSOLE_URL;
const kRuns = Number(process.env.CTG_BENCH_RUNS || 7);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
const page = await (await browser.newContext()).newPage();
await page.goto(kUrl);
await page.getByLabel("Organisation (organisations/…)").fill(process.env.CTG_CONSOLE_ORG);
await page.getByRole("button", { name: "Se connecter" }).click();
await page.getByText("Les 47 parties de la convention").waitFor();

const rendered = [];
const api = [];
const firstCall = [];
let files = 0;
for (let run = 0; run <= kRuns; ++run) {
  await page.goto(`${kUrl}#suivi`);
  await page.reload();
  await page.waitForFunction(
    () => document.querySelectorAll("table")[0]?.querySelectorAll("tbody tr").length === 38,
    null,
    { polling: "raf" },
  );
  const timing = await page.evaluate(() => {
    const calls = performance
      .getEntriesByType("resource")
      .filter((e) => e.name.includes("/ctg."));
    return {
      rendered: performance.now(),
      apiStart: Math.min(...calls.map((e) => e.startTime)),
      apiEnd: Math.max(...calls.map((e) => e.responseEnd)),
      calls: calls.length,
      files: performance.getEntriesByType("resource").length - calls.length,
    };
  });
  if (run === 0) continue; // warm-up
  rendered.push(timing.rendered);
  api.push(timing.apiEnd - timing.apiStart);
  firstCall.push(timing.apiStart);
  files = timing.files;
  if (run === 1) console.log(`api calls per load: ${timing.calls}`);
}
await browser.close();
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const r = median(rendered);
const a = median(api);
console.log(`dashboard rendered (38 rows) ${r.toFixed(0)} ms after navigation (median of ${kRuns})`);
console.log(`its API calls span ${a.toFixed(0)} ms (median); the first starts at ${median(firstCall).toFixed(0)} ms, after the page and its ${files} module files`);
console.log(`ratio ${(r / a).toFixed(2)} (target <= 2): ${r <= 2 * a ? "met" : "NOT met"}`);
