// The console in Debian's Chromium (headless, driven by playwright-core; no browser download),
// against the real ctg-gateway and ctg-partners that tests/console_pgtest.cc starts with the
// Val de Garonne convention loaded: signing in, the convention screen, signing out, a stranger,
// the keyboard only, and axe-core on every screen (0 violations). Screenshots go to
// $CTG_TEST_ARTEFACTS_DIR when it is set.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const kAxe = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const kUrl = process.env.CTG_CONSOLE_URL;
const kSecretariat = process.env.CTG_CONSOLE_ORG;
assert.ok(kUrl && kSecretariat, "CTG_CONSOLE_URL and CTG_CONSOLE_ORG are set by the harness");

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CTG_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
});
after(async () => browser?.close());

async function openPage() {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && page.errors.push(m.text()));
  await page.goto(kUrl);
  return page;
}

// axe-core evaluated through the DevTools protocol (the page's policy forbids inline scripts).
async function axeViolations(page) {
  await page.evaluate(kAxe);
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] }),
  );
  return result.violations.map((v) => `${v.id}: ${v.nodes.length} (${v.help})`);
}

async function screenshot(page, name) {
  if (process.env.CTG_TEST_ARTEFACTS_DIR) {
    await page.screenshot({ path: `${process.env.CTG_TEST_ARTEFACTS_DIR}/${name}.png`, fullPage: true });
  }
}

async function signIn(page, role, organisation) {
  await page.getByLabel("Rôle").selectOption(role);
  await page.getByLabel("Organisation (organisations/…)").fill(organisation);
  await page.getByRole("button", { name: "Se connecter" }).click();
}

test("the sign-in page is French, accessible and served under a strict policy", async () => {
  const page = await openPage();
  const response = await page.request.get(kUrl);
  assert.match(response.headers()["content-security-policy"], /script-src 'self' 'sha256-/);
  assert.equal(await page.getAttribute("html", "lang"), "fr");
  await page.getByRole("heading", { name: "Connexion" }).waitFor();
  assert.deepEqual(await axeViolations(page), []);
  await screenshot(page, "connexion");
  assert.deepEqual(page.errors, []);
});

test("the secretariat signs in and sees the convention, its 47 parties and its COPIL", async () => {
  const page = await openPage();
  await signIn(page, "copil_secretariat", kSecretariat);
  await page.getByRole("heading", { level: 1, name: /Val de Garonne/ }).waitFor();
  await page.getByText("Les 47 parties de la convention").waitFor();
  const rows = await page.locator("table").first().locator("tbody tr").count();
  assert.equal(rows, 47);
  assert.ok(await page.getByRole("cell", { name: "Marmande", exact: true }).isVisible());
  assert.ok(await page.getByText("Membres votants par collège").isVisible());
  // The token is in this tab's session storage, never in the address.
  assert.ok(!page.url().includes("token"));
  assert.ok(await page.evaluate(() => sessionStorage.getItem("ctg.token") !== null));
  assert.deepEqual(await axeViolations(page), []);
  await screenshot(page, "convention");
  // Signing out drops the token.
  await page.getByRole("button", { name: "Se déconnecter" }).click();
  await page.getByRole("heading", { name: "Connexion" }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem("ctg.token")), null);
  assert.deepEqual(page.errors, []);
});

test("an agent of another collectivity reads the convention, a public contract, as the API allows", async () => {
  // The partners API lists conventions to every role (what the console shows follows the API:
  // it neither hides what a caller may read nor shows what it may not).
  const page = await openPage();
  await signIn(page, "collectivity_agent", "organisations/6f2d3c1a-0b4e-4a8f-9c7d-1e2f3a4b5c6d");
  await page.getByText("Les 47 parties de la convention").waitFor();
  assert.deepEqual(await axeViolations(page), []);
  await screenshot(page, "autre-collectivite");
});

test("an expired session is dropped and the refusal explained", async () => {
  const page = await openPage();
  // A token that no longer verifies (as if the key or its validity had changed).
  await page.evaluate(() =>
    sessionStorage.setItem(
      "ctg.token",
      JSON.stringify({ token: "eyJhbGciOiJIUzI1NiJ9.e30.x", expires: Date.now() + 60000 }),
    ),
  );
  await page.reload();
  await page.getByRole("alert").waitFor();
  assert.match(await page.getByRole("alert").textContent(), /reconnectez-vous/);
});

test("signing in works with the keyboard alone", async () => {
  const page = await openPage();
  await page.getByRole("heading", { name: "Connexion" }).waitFor();
  await page.keyboard.press("Tab"); // the skip link
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Aller au contenu");
  await page.keyboard.press("Tab"); // the role
  assert.equal(await page.evaluate(() => document.activeElement.id), "role");
  await page.keyboard.press("Tab"); // the organisation
  await page.keyboard.type(kSecretariat);
  await page.keyboard.press("Tab"); // the button
  await page.keyboard.press("Enter");
  await page.getByText("Les 47 parties de la convention").waitFor();
});
