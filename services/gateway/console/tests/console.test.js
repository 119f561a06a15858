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
const kSecretariat = process.env.CTG_CONSOLE_ORG;  // the agglomeration, pilot of every action
const kStranger = process.env.CTG_CONSOLE_STRANGER_ORG;  // a commune that pilots none
const kCaf = process.env.CTG_CONSOLE_CAF;  // the convention's Caf, holder of the data
const kCdsf = process.env.CTG_CONSOLE_CDSF;  // the CDSF of Lot-et-Garonne (reads its département)
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
  await page.getByRole("button", { name: "Se connecter", exact: true }).click();
}

test("the sign-in page is French, accessible and served under a strict policy", async () => {
  const page = await openPage();
  const response = await page.request.get(kUrl);
  // Scripts from the console's own files only: no inline script, no eval.
  assert.match(response.headers()["content-security-policy"], /script-src 'self';/);
  assert.equal(await page.getAttribute("html", "lang"), "fr");
  await page.getByRole("heading", { name: "Connexion", exact: true }).waitFor();
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
  await page.getByRole("heading", { name: "Connexion", exact: true }).waitFor();
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

test("signing in with the identity provider: code flow with PKCE, the code never left in the address bar", async () => {
  const page = await openPage();
  await page.getByRole("button", { name: "Se connecter avec le fournisseur d'identité" }).click();
  // The provider (tests/fake_idp.mjs) signs the secretariat in and sends the browser back.
  await page.getByText("Les 47 parties de la convention").waitFor();
  assert.ok(!page.url().includes("code="), page.url());
  assert.ok(!page.url().includes("state="), page.url());
  const saved = JSON.parse(await page.evaluate(() => sessionStorage.getItem("ctg.token")));
  const header = JSON.parse(Buffer.from(saved.token.split(".")[0], "base64url").toString());
  assert.equal(header.alg, "RS256"); // the provider's token, verified by the gateway and services
  assert.equal(saved.organisation, kSecretariat);
  assert.equal(await page.evaluate(() => sessionStorage.getItem("ctg.oidc")), null);
  // The same code again (a replayed return) signs nobody in.
  await page.getByRole("button", { name: "Se déconnecter" }).click();
  await page.goto(`${kUrl}?code=replayed&state=forged`);
  await page.getByText(/ne correspond à aucune connexion en cours/).waitFor();
  assert.ok(!page.url().includes("code="), page.url());
  assert.equal(await page.evaluate(() => sessionStorage.getItem("ctg.token")), null);
  assert.deepEqual(await axeViolations(page), []);
  assert.deepEqual(page.errors, []);
});

test("the CDSF and an auditor sign in and read the convention and the plan; a report they file is refused, the page says why", async () => {
  for (const [role, organisation] of [["cdsf", kCdsf], ["auditor", kCdsf]]) {
    const page = await openPage();
    await signIn(page, role, organisation);
    await page.getByText("Les 47 parties de la convention").waitFor();
    await page.getByRole("link", { name: "Tableau de suivi" }).click();
    const table = page.locator("table").first();
    await table.waitFor();
    await table.getByRole("link").first().click();
    await page.getByRole("heading", { name: /Historique/ }).waitFor();
    await page.getByLabel("Avancée du trimestre").fill("Essai d'un rôle en lecture seule");
    await page.getByRole("button", { name: "Déposer le point" }).click();
    await page.getByRole("alert").waitFor();
    assert.match(await page.getByRole("alert").textContent(), /Votre rôle .* ne permet pas cette opération/, role);
    assert.deepEqual(await axeViolations(page), [], role);
    assert.deepEqual(page.errors.filter((e) => !/status of 403/.test(e)), [], role);
  }
});

test("signing in works with the keyboard alone", async () => {
  const page = await openPage();
  await page.getByLabel("Rôle").waitFor();
  await page.keyboard.press("Tab"); // the skip link
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Aller au contenu");
  await page.keyboard.press("Tab"); // the identity provider's button
  await page.keyboard.press("Tab"); // the role (development sign-in)
  assert.equal(await page.evaluate(() => document.activeElement.id), "role");
  await page.keyboard.press("Tab"); // the organisation
  await page.keyboard.type(kSecretariat);
  await page.keyboard.press("Tab"); // the button
  await page.keyboard.press("Enter");
  await page.getByText("Les 47 parties de la convention").waitFor();
});

test("the tracking table shows the 38 actions of the plan, filtered by axis and field", async () => {
  const page = await openPage();
  await signIn(page, "copil_secretariat", kSecretariat);
  await page.getByRole("link", { name: "Tableau de suivi" }).click();
  await page.getByText("38 action(s) au").waitFor();
  assert.equal(await page.locator("table").first().locator("tbody tr").count(), 38);
  assert.ok(await page.getByText("Ensemble du plan").isVisible());
  assert.deepEqual(await axeViolations(page), []);
  await screenshot(page, "tableau-de-suivi");
  // Axis 2: actions 13 to 15.
  await page.getByLabel("Axe").selectOption({ index: 2 });
  await page.getByText("3 action(s) au").waitFor();
  await page.getByLabel("Axe").selectOption({ index: 0 });
  await page.getByLabel("Champ d'intervention").selectOption("JEUNESSE");
  const youth = await page.locator("table").first().locator("tbody tr").count();
  assert.ok(youth > 0 && youth < 38, `${youth} youth actions`);
  // The agglomeration pilots every action of the seeded plan.
  await page.getByLabel("Champ d'intervention").selectOption("");
  await page.getByLabel("Pilote").selectOption({ label: "Val de Garonne Agglomération" });
  await page.getByText("38 action(s) au").waitFor();
  // The XLSX export, as the action plan exports it.
  await page.getByRole("button", { name: "Préparer l'export XLSX" }).click();
  const link = page.getByRole("link", { name: /Télécharger .*\.xlsx/ });
  await link.waitFor();
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  assert.match(download.suggestedFilename(), /\.xlsx$/);
  assert.deepEqual(page.errors, []);
});

test("a pilot adds its quarterly report from the action's page and sees it", async () => {
  const page = await openPage();
  await signIn(page, "collectivity_agent", kSecretariat);
  await page.getByRole("link", { name: "Tableau de suivi" }).click();
  await page.locator("table").first().getByRole("link").first().click();
  await page.getByRole("heading", { level: 1, name: /^Action 1 :/ }).waitFor();
  assert.deepEqual(await axeViolations(page), []);
  await page.getByLabel("Statut").selectOption({ label: "En cours" });
  await page.getByLabel("Avancement (en %)").fill("35");
  await page.getByLabel("Avancée du trimestre").fill("Comité de rédaction réuni à Tonneins");
  await page.getByRole("button", { name: "Déposer le point" }).click();
  await page.getByText("Point enregistré.").waitFor();
  await page.getByRole("cell", { name: "Comité de rédaction réuni à Tonneins" }).waitFor();
  // Newest first: the report just filed heads the history.
  const first = await page.locator("table").first().locator("tbody tr").first().textContent();
  assert.match(first, /Comité de rédaction réuni à Tonneins/);
  await screenshot(page, "action-point-depose");
});

test("a commune that does not pilot the action is refused, and the page says why", async () => {
  const page = await openPage();
  await signIn(page, "collectivity_agent", kStranger);
  await page.getByRole("link", { name: "Tableau de suivi" }).click();
  await page.locator("table").first().getByRole("link").first().click();
  await page.getByRole("heading", { level: 1, name: /^Action 1 :/ }).waitFor();
  await page.getByLabel("Avancée du trimestre").fill("Je ne pilote pas cette action");
  await page.getByRole("button", { name: "Déposer le point" }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor();
  assert.match(
    await alert.textContent(),
    /Votre rôle ou l'organisation pour laquelle vous agissez ne permet pas cette opération/,
  );
  assert.equal(await page.getByRole("cell", { name: "Je ne pilote pas cette action" }).count(), 0);
  assert.deepEqual(await axeViolations(page), []);
  await screenshot(page, "refus-explique");
});

test("an indicator's series, its communes compared and its quality flags", async () => {
  const page = await openPage();
  await signIn(page, "caf_agent", kSecretariat);
  await page.getByRole("link", { name: "Indicateurs" }).click();
  await page.getByRole("heading", { level: 1, name: /^Indicateurs de Val de Garonne/ }).waitFor();
  await page.getByLabel("Indicateur").selectOption("indicators/EAJE_PLACES");
  await page.getByRole("heading", { name: /Comparaison des communes \(2026\)/ }).waitFor();
  // The series: an image with its text alternative, and the values in a table.
  assert.match(await page.getByRole("img").first().getAttribute("aria-label"), /de 2025 à 2026/);
  const series = page.getByRole("table", { name: /valeurs par période/ });
  assert.ok((await series.locator("tbody tr").count()) >= 2);
  // The 43 communes, ranked; the demonstration notice; the quality section.
  const communes = page.getByRole("table", { name: /par commune/ });
  assert.equal(await communes.locator("tbody tr").count(), 43);
  assert.ok(await page.getByText("Données de démonstration :").isVisible());
  assert.ok(await page.getByRole("heading", { name: "Qualité des données" }).isVisible());
  assert.deepEqual(await axeViolations(page), []);
  await screenshot(page, "indicateurs");
  assert.deepEqual(page.errors, []);
});

// From the bilans screen: asks for the bilan intermédiaire and waits until the stream of its job
// says it is done (the same job for every caller: asking again is a no-op).
async function askForTheBilanIntermediaire(page) {
  await page.getByRole("link", { name: "Bilans" }).click();
  await page.getByLabel("Bilan").selectOption("INTERMEDIATE_REVIEW");
  await page.getByRole("button", { name: "Demander le bilan" }).click();
  await page.getByText("Bilan terminé").waitFor({ timeout: 60000 });
}

test("a bilan is asked for, watched live, and its files downloaded", async () => {
  const page = await openPage();
  await signIn(page, "copil_secretariat", kSecretariat);
  await askForTheBilanIntermediaire(page);
  // The files are listed with their hashes.
  await page.getByRole("button", { name: "Télécharger rapport.pdf" }).waitFor();
  assert.deepEqual(await axeViolations(page), []);
  await screenshot(page, "bilans");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Télécharger rapport.pdf" }).click(),
  ]);
  assert.equal(download.suggestedFilename(), "rapport.pdf");
  const path = await download.path();
  const bytes = readFileSync(path);
  assert.equal(bytes.subarray(0, 5).toString(), "%PDF-");
  // The collectivities' agreements: the secretariat records one, one fewer is missing.
  const status = page.getByText(/accord\(s\) enregistré\(s\)/);
  await status.waitFor();
  const missing = Number((await status.textContent()).match(/; (\d+)/)[1]);
  assert.ok(missing > 0);
  await page.getByLabel("Accord donné par (nom, fonction)").fill("Joël Hocquelet, maire");
  await page.getByLabel("Date de l'accord").fill("2026-11-20");
  await page.getByLabel("Référence de la délibération ou du courrier").fill("Délibération n° 2026-112");
  await page.getByRole("button", { name: "Enregistrer l'accord" }).click();
  await page.getByText("Accord enregistré.").waitFor();
  await page.getByText(`1 accord(s) enregistré(s) ; ${missing - 1}`).waitFor();
  assert.ok(await page.getByText(/Joël Hocquelet, maire, le 20 novembre 2026/).isVisible());
  assert.deepEqual(await axeViolations(page), []);
  assert.deepEqual(page.errors, []);
});

test("the Caf is told why it cannot send a bilan to the CDSF yet; the signatories' own sending is recorded", async () => {
  const page = await openPage();
  await signIn(page, "caf_agent", kCaf);
  await askForTheBilanIntermediaire(page);
  const recipient = page.getByLabel("Destinataire");
  await recipient.waitFor();
  assert.match(await recipient.textContent(), /Comité départemental des services aux familles de Lot-et-Garonne/);
  // Agreements are missing: the Caf's own sending is refused, and the page says why.
  await page.getByRole("button", { name: "Transmettre au CDSF" }).click();
  const why = page.getByText(/La Caf ne peut transmettre le bilan qu'avec l'accord exprès/);
  await why.waitFor();
  assert.match(await why.textContent(), /\d+ accord\(s\) manquent encore/);
  assert.deepEqual(await axeViolations(page), []);
  // The signatories sent it themselves, by post: recorded, once.
  await page.getByLabel("Les signataires eux-mêmes (déjà envoyé)").check();
  await page.getByLabel("Envoyé par").selectOption("courrier");
  await page.getByRole("button", { name: "Enregistrer l'envoi" }).click();
  await page.getByText(/^Transmis au CDSF le .* par les signataires \(courrier\)\.$/).waitFor();
  assert.deepEqual(await axeViolations(page), []);
  await screenshot(page, "transmission-cdsf");
  await page.getByRole("button", { name: "Enregistrer l'envoi" }).click();
  await page.getByText("C'est déjà fait : l'élément existe déjà.").waitFor();
  // The refused calls are logged by the browser as failed resources (412, 409); nothing else.
  assert.deepEqual(page.errors.filter((e) => !/status of (412|409)/.test(e)), []);
});

test("the DPO sees what waits on them, gives an opinion with numbered recommendations, checks the trail", async () => {
  const page = await openPage();
  await signIn(page, "dpo", kCaf);
  await page.getByRole("link", { name: "Échanges de données" }).click();
  await page.getByText("1 demande(s) en attente de vous").waitFor();
  assert.deepEqual(await axeViolations(page), []);
  await page.locator("table").first().getByRole("link").first().click();
  await page.getByText("Étudiée, en attente de l'avis du DPO").waitFor();
  const trail = page.getByRole("table", { name: /événement\(s\) de la demande/ });
  const before = await trail.locator("tbody tr").count();
  await page.getByLabel("Avis", { exact: true }).selectOption("FAVOURABLE_WITH_RECOMMENDATIONS");
  await page.getByLabel("Motifs de l'avis").fill("Finalité claire, données proportionnées.");
  await page
    .getByLabel(/^Recommandations/)
    .fill("Pseudonymiser les identifiants\nLimiter la conservation à un an");
  await page.getByRole("button", { name: "Rendre l'avis" }).click();
  await page.getByText("Étape enregistrée.").waitFor();
  await page.getByText("Avis du DPO rendu, en attente de la décision").waitFor();
  assert.equal(await page.locator("dd ol li").count(), 2);
  assert.equal(await trail.locator("tbody tr").count(), before + 1);
  assert.deepEqual(await axeViolations(page), []);
  await screenshot(page, "avis-dpo");
  // The chain still verifies; the art. 30 register is there to download.
  await page.getByRole("link", { name: "Retour aux échanges de données" }).click();
  await page.getByText("Rien ne vous attend.").waitFor();
  await page.getByRole("button", { name: "Vérifier la chaîne d'audit" }).click();
  await page.getByText(/^Chaîne intègre : \d+ événement/).waitFor();
  await page.getByRole("button", { name: "Préparer le registre (XLSX)" }).click();
  const link = page.getByRole("link", { name: /Télécharger/ });
  await link.waitFor();
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  assert.match(download.suggestedFilename(), /\.xlsx$/);
  assert.deepEqual(page.errors, []);
});

test("each collectivity's AO competences at a chosen date, with their legal reasons", async () => {
  const page = await openPage();
  await signIn(page, "copil_secretariat", kSecretariat);
  await page.getByText("Les 47 parties de la convention").waitFor();
  await page.getByLabel("Date").fill("2026-06-30");
  await page.getByRole("button", { name: "Afficher les compétences à cette date" }).click();
  const table = page.getByRole("table", { name: /Compétences de chaque collectivité au 30 juin 2026/ });
  await table.waitFor();
  // The 42 communes and the agglomeration; Marmande (over 10,000) needs the schéma.
  assert.equal(await table.locator("tbody tr").count(), 43);
  const marmande = table.locator("tbody tr", { hasText: "Marmande" });
  assert.match(await marmande.textContent(), /Recensement des besoins : .*habitants/);
  assert.match(await marmande.locator("td").last().textContent(), /oui/);
  assert.deepEqual(await axeViolations(page), []);
  await screenshot(page, "competences-ao");
});

test("the holder's agent decides after the DPO's opinion; a stranger may not", async () => {
  // The request the DPO gave an opinion on in the test above now waits on the Caf's decision.
  const stranger = await openPage();
  await signIn(stranger, "collectivity_agent", kStranger);
  await stranger.getByRole("link", { name: "Échanges de données" }).click();
  await stranger.getByRole("heading", { name: "Ce qui m'attend" }).waitFor();
  assert.equal(await stranger.getByText(/Quotients familiaux/).count(), 0);

  const page = await openPage();
  await signIn(page, "caf_agent", kCaf);
  await page.getByRole("link", { name: "Échanges de données" }).click();
  const pending = page.getByRole("table", { name: /en attente de vous/ });
  await pending.or(page.getByText("Rien ne vous attend.")).or(page.getByRole("alert")).waitFor();
  assert.equal(await pending.count(), 1, await page.locator("main").textContent());
  await pending.locator("tr", { hasText: "Quotients familiaux" }).getByRole("link").click();
  await page.getByRole("heading", { name: "Décider" }).waitFor();
  // A refusal needs its justification: the service says so, the page explains.
  await page.getByLabel("Refuser", { exact: true }).check();
  await page.getByRole("button", { name: "Enregistrer la décision" }).click();
  await page.getByRole("alert").waitFor();
  assert.match(await page.getByRole("alert").textContent(), /La demande n'est pas valable/);
  await page.getByLabel("Approuver", { exact: true }).check();
  await page.getByRole("button", { name: "Enregistrer la décision" }).click();
  await page.getByText("Étape enregistrée.").waitFor();
  await page.getByText(/^(Approuvée|En vigueur)$/).waitFor();
  assert.deepEqual(await axeViolations(page), []);
  await screenshot(page, "decision");
});

test("after approval: the requester implements a recommendation, the DPO acknowledges it, the holder suspends, resumes and revokes", async () => {
  // The request approved in the test above, with the two recommendations of the DPO's opinion.
  const requester = await openPage();
  await signIn(requester, "copil_secretariat", kSecretariat);
  await requester.getByRole("link", { name: "Échanges de données" }).click();
  const pending = requester.getByRole("table", { name: /en attente de vous/ });
  await pending.locator("tr", { hasText: "Quotients familiaux" }).first().getByRole("link").click();
  await requester.getByLabel("Mise en œuvre de la recommandation n° 1").fill("Identifiants remplacés par un pseudonyme à l'extraction");
  await requester.getByRole("button", { name: "Déclarer la recommandation n° 1 mise en œuvre" }).click();
  await requester.getByText("Étape enregistrée.").waitFor();
  assert.match(await requester.locator("dd ol li").first().textContent(), /mise en œuvre : Identifiants remplacés.* ; à constater par le DPO/);
  assert.deepEqual(await axeViolations(requester), []);
  const url = requester.url();

  const dpo = await openPage();
  await signIn(dpo, "dpo", kCaf);
  await dpo.goto(url);
  await dpo.getByRole("button", { name: "Constater la mise en œuvre de la recommandation n° 1" }).click();
  await dpo.getByText("Étape enregistrée.").waitFor();
  assert.match(await dpo.locator("dd ol li").first().textContent(), /; constatée par le DPO$/);

  const holder = await openPage();
  await signIn(holder, "caf_agent", kCaf);
  await holder.goto(url);
  await holder.getByRole("heading", { name: "Suspendre ou révoquer l'échange" }).waitFor();
  // A suspension needs its reason: refused and explained, nothing changed.
  await holder.getByRole("button", { name: "Suspendre" }).click();
  await holder.getByRole("alert").waitFor();
  assert.match(await holder.getByRole("alert").textContent(), /La demande n'est pas valable/);
  await holder.getByLabel("Motif (requis pour suspendre ou révoquer)").fill("Contrôle de la minimisation en cours");
  await holder.getByRole("button", { name: "Suspendre" }).click();
  await holder.locator("dd.etat", { hasText: "Suspendue" }).waitFor();
  assert.deepEqual(await axeViolations(holder), []);
  await holder.getByRole("button", { name: "Reprendre" }).click();
  await holder.locator("dd.etat", { hasText: /^(Approuvée|En vigueur)$/ }).waitFor();
  await holder.getByLabel("Motif (requis pour suspendre ou révoquer)").fill("Finalité abandonnée par la commune");
  await holder.getByRole("button", { name: "Révoquer (définitif)" }).click();
  await holder.locator("dd.etat", { hasText: "Révoquée" }).waitFor();
  assert.equal(await holder.getByRole("button", { name: "Reprendre" }).count(), 0);
  assert.deepEqual(await axeViolations(holder), []);
  await screenshot(holder, "revocation");
  for (const page of [requester, dpo, holder]) {
    assert.deepEqual(page.errors.filter((e) => !/status of 400/.test(e)), []);
  }
});
