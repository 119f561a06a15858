// The CTG console: pages in French for the people who run the convention, calling the services
// through the gateway's Connect listener (same origin) with the generated clients of
// protoc-gen-es. The token lives in this tab's sessionStorage only: never in a URL, dropped on
// sign-out and when it expires.
import { h, render } from "preact";
import { useEffect, useState } from "preact/hooks";
import htm from "htm";
import { createClient, ConnectError, Code } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import {
  PartnerService,
  OrganisationKind,
  ConventionState,
  CopilCollege,
  AoCompetence,
} from "./gen/ctg/partners/v1/partners_pb.js";
import {
  ActionPlanService,
  ActionStatus,
  InterventionField,
  FileFormat,
} from "./gen/ctg/action_plan/v1/action_plan_pb.js";
import {
  IndicatorService,
  Periodicity,
  TerritorialLevel,
  QualityFlagKind,
} from "./gen/ctg/indicators/v1/indicators_pb.js";
import { ReportingService, ReportKind, ReportJob_State } from "./gen/ctg/reporting/v1/reporting_pb.js";
import {
  ConsentService,
  ExchangeState,
  Step,
  OpinionVerdict,
  RegisterFormat,
} from "./gen/ctg/consents/v1/consents_pb.js";

const html = htm.bind(h);

// ---- the session -------------------------------------------------------------------------

const kTokenKey = "ctg.token";

function currentToken() {
  const saved = sessionStorage.getItem(kTokenKey);
  if (!saved) return null;
  const { token, expires } = JSON.parse(saved);
  if (Date.now() >= expires) {
    sessionStorage.removeItem(kTokenKey);
    return null;
  }
  return token;
}

// The organisation the person acts for (chosen at sign-in), or "".
function currentOrganisation() {
  const saved = sessionStorage.getItem(kTokenKey);
  return saved ? JSON.parse(saved).organisation || "" : "";
}

function signOut() {
  sessionStorage.removeItem(kTokenKey);
  location.hash = "";
  rerender();
}

const transport = createConnectTransport({
  baseUrl: location.origin,
  interceptors: [
    (next) => async (req) => {
      const token = currentToken();
      if (token) req.header.set("Authorization", `Bearer ${token}`);
      return next(req);
    },
  ],
});
const partners = createClient(PartnerService, transport);
const plan = createClient(ActionPlanService, transport);
const indicators = createClient(IndicatorService, transport);
const reporting = createClient(ReportingService, transport);
const consents = createClient(ConsentService, transport);

// What a person is told when a call is refused: the reason, not a code.
function explain(error) {
  const e = ConnectError.from(error);
  switch (e.code) {
    case Code.Unauthenticated:
      return "Votre session a expiré ou n'est pas valable : reconnectez-vous.";
    case Code.PermissionDenied:
      return "Votre rôle ou l'organisation pour laquelle vous agissez ne permet pas cette opération.";
    case Code.NotFound:
      return "Cet élément n'existe pas, ou vous n'avez pas le droit de le voir.";
    case Code.InvalidArgument:
      return "La demande n'est pas valable : vérifiez les champs saisis.";
    case Code.FailedPrecondition:
      return "L'opération n'est pas possible dans l'état actuel.";
    case Code.AlreadyExists:
      return "C'est déjà fait : l'élément existe déjà.";
    case Code.Aborted:
      return "L'élément a été modifié entre-temps : rechargez la page et recommencez.";
    case Code.Unavailable:
      return "Le service est momentanément indisponible : réessayez dans un instant.";
    default:
      return "Le service a refusé la demande.";
  }
}

// The refusal in French, and the service's own words (in English, for support) below it.
function Refusal({ error }) {
  const e = ConnectError.from(error);
  return html`<div class="erreur" role="alert">
    <p>${explain(error)}</p>
    ${e.rawMessage && html`<details><summary>Détail technique</summary>
      <p lang="en">${e.rawMessage}</p></details>`}
  </div>`;
}

// ---- sign-in: the identity provider (OpenID Connect, code flow with PKCE), or development -------

const kRoles = [
  ["copil_secretariat", "Secrétariat du COPIL"],
  ["caf_agent", "Agent de la Caf"],
  ["collectivity_agent", "Agent d'une collectivité"],
  ["dpo", "Délégué à la protection des données"],
  ["cdsf", "CDSF"],
  ["auditor", "Auditeur"],
];

// The provider's flow in progress (this tab only): its state, PKCE verifier and endpoints.
const kProviderKey = "ctg.oidc";
// Why the last return from the provider did not sign in ("" when it did, or there was none).
let providerFailure = "";

const base64Url = (bytes) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

// The claims of a token (read only for its expiry and organisation: the gateway verifies it).
function claimsOf(token) {
  const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
}

function keepToken(token, organisation, expires) {
  sessionStorage.setItem(kTokenKey, JSON.stringify({ token, organisation, expires }));
}

// Sends the browser to the provider's authorization endpoint, with a fresh state and PKCE
// challenge (S256) kept in this tab for the return.
async function startProviderSignIn(oidc) {
  const verifier = base64Url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64Url(crypto.getRandomValues(new Uint8Array(16)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  const redirectUri = `${location.origin}/`;
  sessionStorage.setItem(
    kProviderKey,
    JSON.stringify({ state, verifier, redirectUri, tokenEndpoint: oidc.tokenEndpoint, clientId: oidc.clientId }),
  );
  const url = new URL(oidc.authorizationEndpoint);
  const query = {
    response_type: "code",
    client_id: oidc.clientId,
    redirect_uri: redirectUri,
    scope: oidc.scope,
    state,
    code_challenge: base64Url(new Uint8Array(digest)),
    code_challenge_method: "S256",
  };
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  location.assign(url.href);
}

// Back from the provider (?code=…&state=… or ?error=…): the code is taken out of the address bar
// and the history at once, whatever follows, then exchanged for the token if the state is the
// one this tab sent. Returns why it failed, or "".
async function completeProviderSignIn() {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return "";
  history.replaceState(null, "", location.pathname + location.hash);
  const pending = JSON.parse(sessionStorage.getItem(kProviderKey) || "null");
  sessionStorage.removeItem(kProviderKey);
  if (params.has("error")) {
    return `Le fournisseur d'identité a refusé la connexion (${params.get("error")}).`;
  }
  if (!pending || params.get("state") !== pending.state) {
    return "Cette réponse du fournisseur d'identité ne correspond à aucune connexion en cours : recommencez.";
  }
  try {
    const answer = await fetch(pending.tokenEndpoint, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: params.get("code"),
        redirect_uri: pending.redirectUri,
        client_id: pending.clientId,
        code_verifier: pending.verifier,
      }),
    });
    if (!answer.ok) return `Le fournisseur d'identité n'a pas délivré de jeton (${answer.status}).`;
    const { access_token: token } = await answer.json();
    const claims = claimsOf(token);
    keepToken(token, claims.org || "", claims.exp * 1000);
    return "";
  } catch {
    return "Le fournisseur d'identité est injoignable : réessayez dans un instant.";
  }
}

function SignIn() {
  const [ways, setWays] = useState(null);
  const [role, setRole] = useState("copil_secretariat");
  const [organisation, setOrganisation] = useState("");
  const [message, setMessage] = useState("");
  useEffect(() => {
    fetch("/sign-in.json")
      .then((r) => r.json())
      .then(setWays)
      .catch(() => setWays({ development: false, oidc: null }));
  }, []);
  async function submit(event) {
    event.preventDefault();
    setMessage("");
    const body = { role };
    if (organisation.trim()) body.organisation = organisation.trim();
    const answer = await fetch("/dev/sign-in", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!answer.ok) {
      const refusal = await answer.json().catch(() => ({}));
      setMessage(`Connexion refusée : ${refusal.message || answer.status}`);
      return;
    }
    const { token, expiresInSeconds } = await answer.json();
    keepToken(token, body.organisation || "", Date.now() + expiresInSeconds * 1000);
    rerender();
  }
  if (!ways) return html`<h1>Connexion</h1><p role="status">Chargement…</p>`;
  return html`
    <h1>Connexion</h1>
    ${providerFailure && html`<p class="erreur" role="alert">${providerFailure}</p>`}
    ${ways.oidc && html`
      <p>Connectez-vous avec le compte de votre organisation.</p>
      <p><button type="button" onClick=${() => startProviderSignIn(ways.oidc)}>${
        "Se connecter avec le fournisseur d'identité"}</button></p>`}
    ${ways.development && html`
      <h2>Connexion de développement</h2>
      <p>Choisissez un rôle et, s'il y a lieu, l'organisation pour laquelle vous agissez.</p>
      <form onSubmit=${submit}>
        <label for="role">Rôle</label>
        <select id="role" value=${role} onChange=${(e) => setRole(e.target.value)}>
          ${kRoles.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
        </select>
        <label for="organisation">Organisation (organisations/…)</label>
        <input id="organisation" value=${organisation} autocomplete="off"
          onInput=${(e) => setOrganisation(e.target.value)} />
        <div><button type="submit">Se connecter</button></div>
      </form>`}
    ${!ways.oidc && !ways.development &&
      html`<p>Aucune façon de se connecter n'est configurée sur cette passerelle.</p>`}
    ${message && html`<p class="erreur" role="alert">${message}</p>`}
  `;
}

// ---- the convention ------------------------------------------------------------------------------

function frenchDate(d) {
  if (!d || !d.year) return "";
  return new Date(Date.UTC(d.year, d.month - 1, d.day)).toLocaleDateString("fr-FR", {
    day: "numeric",
    month: "long",
    year: "numeric",
    timeZone: "UTC",
  });
}

const kKindLabels = {
  EPCI: "Intercommunalité (EPCI)",
  COMMUNE: "Commune",
  CAF: "Caisse d'allocations familiales",
  DEPARTEMENT: "Département",
  EDUCATION_NATIONALE: "Éducation nationale",
  STATE: "État",
  CDSF: "Comité départemental des services aux familles",
};
const kStateLabels = {
  DRAFT: "en préparation",
  SIGNED: "signée",
  IN_FORCE: "en vigueur",
  EXPIRED: "échue",
  TERMINATED: "résiliée",
};
const kCollegeLabels = {
  COLLEGE_CAF: "Caf",
  COLLEGE_AGGLOMERATION: "Agglomération",
  COLLEGE_COMMUNES: "Communes",
  COLLEGE_DEPARTEMENT: "Département",
  COLLEGE_STATE: "État",
  COLLEGE_CONSULTATIVE: "Consultatif",
};

function Convention() {
  const [state, setState] = useState({ loading: true });
  useEffect(() => {
    (async () => {
      try {
        const list = await partners.listConventions({ pageSize: 10 });
        if (list.conventions.length === 0) {
          setState({ empty: true });
          return;
        }
        const convention = list.conventions[0];
        const names = new Map();
        await Promise.all(
          convention.parties.map(async (p) => {
            const o = await partners.getOrganisation({ name: p.organisation });
            names.set(p.organisation, o);
          }),
        );
        const copil = await partners.checkCopilComposition({ convention: convention.name });
        setState({ convention, names, copil });
      } catch (error) {
        setState({ error });
      }
    })();
  }, []);
  if (state.loading) return html`<p role="status">Chargement de la convention…</p>`;
  if (state.error) return html`<${Refusal} error=${state.error} />`;
  if (state.empty) return html`<p>Aucune convention n'est visible pour votre rôle.</p>`;
  const { convention, names, copil } = state;
  const signedOn = new Map(convention.signatures.map((s) => [s.organisation, s.signedOn]));
  return html`
    <h1>${convention.title}</h1>
    <p>Du ${frenchDate(convention.startDate)} au ${frenchDate(convention.endDate)} ; convention${" "}<span class="etat">${kStateLabels[ConventionState[convention.state]] || "—"}</span>.</p>
    <h2>Parties et signatures</h2>
    <table>
      <caption>Les ${convention.parties.length} parties de la convention</caption>
      <thead><tr><th scope="col">Partie</th><th scope="col">Nature</th>
        <th scope="col">Signature</th></tr></thead>
      <tbody>
        ${convention.parties.map((p) => {
          const o = names.get(p.organisation);
          const signed = signedOn.get(p.organisation);
          return html`<tr>
            <td>${o ? o.displayName : p.organisation}</td>
            <td>${o ? kKindLabels[OrganisationKind[o.kind]] || "—" : "—"}</td>
            <td>${signed ? `Signée le ${frenchDate(signed)}` : "Pas encore signée"}</td>
          </tr>`;
        })}
      </tbody>
    </table>
    <${AoCompetencesAt} convention=${convention} names=${names} />
    <h2>Avenants</h2>
    ${convention.amendments.length === 0
      ? html`<p>Aucun avenant.</p>`
      : html`<ul>${convention.amendments.map(
          (a) => html`<li>Avenant n° ${a.number}, signé le ${frenchDate(a.signedOn)} :
            ${a.changes.join(" ; ")}</li>`,
        )}</ul>`}
    <h2>Comité de pilotage</h2>
    <p>Composition au regard de l'article 8 :${" "}<span class="etat">${copil.compliant ? "conforme" : "à régulariser"}</span>.</p>
    <table>
      <caption>Membres votants par collège</caption>
      <thead><tr><th scope="col">Collège</th><th scope="col">Membres votants</th></tr></thead>
      <tbody>
        ${copil.colleges.map(
          (c) => html`<tr><td>${kCollegeLabels[CopilCollege[c.college]] || "—"}</td>
            <td>${c.votingMembers}</td></tr>`,
        )}
      </tbody>
    </table>
    ${copil.issues.length > 0 &&
    html`<h3>Points à régulariser</h3><ul>${copil.issues.map((i) => html`<li>${i}</li>`)}</ul>`}
  `;
}

// ---- the COPIL dashboard: the quarterly tracking table ----------------------------------------

// "2026-Q4": the quarter of today (the quarter being reported on).
function currentQuarter() {
  const now = new Date();
  return `${now.getFullYear()}-Q${Math.floor(now.getMonth() / 3) + 1}`;
}

const kStatusLabels = {
  NOT_STARTED: "Non commencée",
  IN_PROGRESS: "En cours",
  ACHIEVED: "Réalisée",
  PAUSED: "Suspendue",
  DELAYED: "Retardée",
  BLOCKED: "Bloquée",
  ABANDONED: "Abandonnée",
};
const kFieldLabels = {
  PETITE_ENFANCE: "Petite enfance",
  ENFANCE: "Enfance",
  JEUNESSE: "Jeunesse",
  PARENTALITE: "Parentalité",
  ACCES_AUX_DROITS: "Accès aux droits",
  INCLUSION_NUMERIQUE: "Inclusion numérique",
  ANIMATION_VIE_SOCIALE: "Animation de la vie sociale",
  LOGEMENT: "Logement",
  HANDICAP: "Handicap",
};
const statusLabel = (s) => kStatusLabels[ActionStatus[s]] || "—";
const idOf = (name) => name.slice(name.indexOf("/") + 1);

async function firstConvention() {
  const list = await partners.listConventions({ pageSize: 10 });
  return list.conventions[0] || null;
}

function Dashboard() {
  const [state, setState] = useState({ loading: true });
  const [axisFilter, setAxisFilter] = useState("");
  const [fieldFilter, setFieldFilter] = useState("");
  const [pilotFilter, setPilotFilter] = useState("");
  const [exported, setExported] = useState(null);
  useEffect(() => {
    (async () => {
      try {
        const convention = await firstConvention();
        if (!convention) {
          setState({ empty: true });
          return;
        }
        const quarter = currentQuarter();
        const [table, axes] = await Promise.all([
          plan.getTrackingTable({ convention: convention.name, quarter }),
          plan.listAxes({ convention: convention.name, pageSize: 100 }),
        ]);
        // The pilots' official names, for the filter.
        const pilotNames = new Map();
        const pilots = [...new Set(table.rows.flatMap((r) => r.action.pilots))];
        await Promise.all(
          pilots.map(async (p) => {
            const o = await partners.getOrganisation({ name: p });
            pilotNames.set(p, o.displayName);
          }),
        );
        setState({ convention, quarter, table, axes: axes.axes, pilotNames });
      } catch (error) {
        setState({ error });
      }
    })();
  }, []);
  if (state.loading) return html`<p role="status">Chargement du tableau de suivi…</p>`;
  if (state.error) return html`<${Refusal} error=${state.error} />`;
  if (state.empty) return html`<p>Aucune convention n'est visible pour votre rôle.</p>`;
  const { convention, quarter, table, axes, pilotNames } = state;
  const axisTitle = new Map(axes.map((a) => [a.name, `Axe ${a.number} : ${a.title}`]));
  const rows = table.rows.filter(
    (r) =>
      (!axisFilter || r.action.axis === axisFilter) &&
      (!fieldFilter || r.action.fields.some((f) => InterventionField[f] === fieldFilter)) &&
      (!pilotFilter || r.action.pilots.includes(pilotFilter)),
  );
  async function exportXlsx() {
    try {
      const file = await plan.exportTrackingTable({
        convention: convention.name,
        quarter,
        format: FileFormat.XLSX,
      });
      const url = URL.createObjectURL(new Blob([file.content], { type: file.mimeType }));
      setExported({ url, name: file.fileName });
    } catch (error) {
      setExported({ error });
    }
  }
  return html`
    <h1>Tableau de suivi partagé — ${quarter}</h1>
    <p>${convention.title}</p>
    <form class="filtres" onSubmit=${(e) => e.preventDefault()}>
      <label for="filtre-axe">Axe</label>
      <select id="filtre-axe" value=${axisFilter} onChange=${(e) => setAxisFilter(e.target.value)}>
        <option value="">Tous les axes</option>
        ${axes.map((a) => html`<option value=${a.name}>${axisTitle.get(a.name)}</option>`)}
      </select>
      <label for="filtre-champ">Champ d'intervention</label>
      <select id="filtre-champ" value=${fieldFilter}
        onChange=${(e) => setFieldFilter(e.target.value)}>
        <option value="">Tous les champs</option>
        ${Object.entries(kFieldLabels).map(
          ([value, label]) => html`<option value=${value}>${label}</option>`,
        )}
      </select>
      <label for="filtre-pilote">Pilote</label>
      <select id="filtre-pilote" value=${pilotFilter}
        onChange=${(e) => setPilotFilter(e.target.value)}>
        <option value="">Tous les pilotes</option>
        ${[...pilotNames].map(([name, label]) => html`<option value=${name}>${label}</option>`)}
      </select>
    </form>
    <p>
      <button type="button" onClick=${exportXlsx}>Préparer l'export XLSX</button>
      ${exported?.url &&
      html` <a href=${exported.url} download=${exported.name}>Télécharger ${exported.name}</a>`}
    </p>
    ${exported?.error && html`<${Refusal} error=${exported.error} />`}
    <table>
      <caption>${rows.length} action(s) au ${quarter}</caption>
      <thead><tr><th scope="col">N°</th><th scope="col">Action</th><th scope="col">Statut</th>
        <th scope="col">Avancement</th><th scope="col">Dernier point</th>
        <th scope="col">Signalements</th></tr></thead>
      <tbody>
        ${rows.map((r) => {
          const last = r.latestReport;
          const flags = [r.late && "En retard", r.missingUpdate && "Sans mise à jour"].filter(Boolean);
          return html`<tr>
            <td>${r.action.number}</td>
            <td><a href=${`#action/${idOf(r.action.name)}`}>${r.action.title}</a></td>
            <td>${statusLabel(r.action.status)}</td>
            <td>${last ? `${last.completionPercent} %` : "—"}</td>
            <td>${last ? `${last.quarter} : ${last.progress}` : "Aucun"}</td>
            <td>${flags.length ? flags.join(" ; ") : "—"}</td>
          </tr>`;
        })}
      </tbody>
    </table>
    <table>
      <caption>Avancement par axe</caption>
      <thead><tr><th scope="col">Axe</th><th scope="col">Actions</th><th scope="col">Réalisées</th>
        <th scope="col">En retard</th><th scope="col">Sans mise à jour</th>
        <th scope="col">Avancement moyen</th></tr></thead>
      <tbody>
        ${[...table.axes, { ...table.plan, axis: "" }].map(
          (r) => html`<tr>
            <td>${r.axis ? axisTitle.get(r.axis) || r.axis : "Ensemble du plan"}</td>
            <td>${r.actions}</td><td>${r.achieved}</td><td>${r.late}</td>
            <td>${r.missingUpdate}</td><td>${r.completionPercent.toFixed(1).replace(".", ",")} %</td>
          </tr>`,
        )}
      </tbody>
    </table>
  `;
}

// ---- an action: its history of reports, and the pilot's report for the quarter --------------------

function ActionPage({ id }) {
  const [state, setState] = useState({ loading: true });
  const [form, setForm] = useState({ status: ActionStatus.IN_PROGRESS, completion: 0, progress: "" });
  const [outcome, setOutcome] = useState(null);
  async function load() {
    try {
      const action = await plan.getAction({ name: `actions/${id}` });
      const history = await plan.listProgressReports({ action: action.name, pageSize: 100 });
      // Newest first: by quarter, then revision.
      const reports = [...history.reports].sort((a, b) =>
        a.quarter === b.quarter ? b.revision - a.revision : a.quarter < b.quarter ? 1 : -1,
      );
      setState({ action, reports });
    } catch (error) {
      setState({ error });
    }
  }
  useEffect(() => {
    load();
  }, [id]);
  if (state.loading) return html`<p role="status">Chargement de l'action…</p>`;
  if (state.error) return html`<${Refusal} error=${state.error} />`;
  const { action, reports } = state;
  async function submit(event) {
    event.preventDefault();
    setOutcome(null);
    try {
      await plan.createProgressReport({
        requestId: crypto.randomUUID(),
        report: {
          action: action.name,
          quarter: currentQuarter(),
          status: Number(form.status),
          completionPercent: Number(form.completion),
          progress: form.progress,
        },
      });
      setOutcome({ ok: true });
      await load();
    } catch (error) {
      setOutcome({ error });
    }
  }
  return html`
    <p><a href="#suivi">Retour au tableau de suivi</a></p>
    <h1>Action ${action.number} : ${action.title}</h1>
    <p>Statut : <span class="etat">${statusLabel(action.status)}</span>.</p>
    <h2>Historique des points trimestriels</h2>
    ${reports.length === 0
      ? html`<p>Aucun point n'a encore été déposé.</p>`
      : html`<table>
          <caption>${reports.length} point(s), du plus récent au plus ancien</caption>
          <thead><tr><th scope="col">Trimestre</th><th scope="col">Révision</th>
            <th scope="col">Statut</th><th scope="col">Avancement</th>
            <th scope="col">Avancée</th></tr></thead>
          <tbody>${reports.map(
            (r) => html`<tr><td>${r.quarter}</td><td>${r.revision}</td>
              <td>${statusLabel(r.status)}</td><td>${r.completionPercent} %</td>
              <td>${r.progress}</td></tr>`,
          )}</tbody>
        </table>`}
    <h2>Déposer le point du trimestre ${currentQuarter()}</h2>
    <form onSubmit=${submit}>
      <label for="statut">Statut</label>
      <select id="statut" value=${form.status}
        onChange=${(e) => setForm({ ...form, status: e.target.value })}>
        ${Object.entries(kStatusLabels).map(
          ([key, label]) => html`<option value=${ActionStatus[key]}>${label}</option>`,
        )}
      </select>
      <label for="avancement">Avancement (en %)</label>
      <input id="avancement" type="number" min="0" max="100" value=${form.completion}
        onInput=${(e) => setForm({ ...form, completion: e.target.value })} />
      <label for="avancee">Avancée du trimestre</label>
      <textarea id="avancee" rows="3" value=${form.progress}
        onInput=${(e) => setForm({ ...form, progress: e.target.value })}></textarea>
      <div><button type="submit">Déposer le point</button></div>
    </form>
    ${outcome?.ok && html`<p role="status">Point enregistré.</p>`}
    ${outcome?.error && html`<${Refusal} error=${outcome.error} />`}
  `;
}

// ---- indicators: a series, the communes compared, the quality flags -------------------------------

const frenchNumber = (v) => v.toLocaleString("fr-FR", { maximumFractionDigits: 2 });

// The periods of the convention until today, in the indicator's periodicity.
function periodRange(periodicity, start) {
  const now = new Date();
  const year = now.getFullYear();
  const p = Periodicity[periodicity];
  if (p === "QUARTERLY") {
    return [`${start.year}-Q1`, `${year}-Q${Math.floor(now.getMonth() / 3) + 1}`];
  }
  if (p === "MONTHLY") {
    return [`${start.year}-01`, `${year}-${String(now.getMonth() + 1).padStart(2, "0")}`];
  }
  return [`${start.year}`, `${year}`];
}

const kFlagLabels = {
  MISSING_PERIOD: "Période manquante",
  OUT_OF_BOUNDS: "Valeur hors bornes",
  JUMP: "Saut inhabituel",
  STALE_SOURCE: "Source non mise à jour",
};

// A line through the known values, as an image whose text alternative says what it shows; the
// values themselves are in the table beside it.
function SeriesChart({ title, points }) {
  const known = points.filter((p) => p.value !== undefined);
  if (known.length < 2) return null;
  const values = known.map((p) => p.value);
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (low === high) [low, high] = [low - 1, high + 1];
  const x = (i) => 50 + (600 * i) / (known.length - 1);
  const y = (v) => 10 + (140 * (high - v)) / (high - low);
  const path = known.map((p, i) => `${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
  return html`<figure>
    <svg role="img" aria-label=${`${title} : de ${frenchNumber(values[0])} à ${frenchNumber(
      values[values.length - 1])}, de ${known[0].period} à ${known[known.length - 1].period}`}
      viewBox="0 0 700 180" width="100%">
      <rect x="50" y="10" width="600" height="140" fill="none" stroke="#555" />
      <polyline points=${path} fill="none" stroke="#1f4e79" stroke-width="2" />
      <text x="0" y="20" font-size="12">${frenchNumber(high)}</text>
      <text x="0" y="150" font-size="12">${frenchNumber(low)}</text>
      <text x="50" y="172" font-size="12">${known[0].period}</text>
      <text x="650" y="172" font-size="12" text-anchor="end">${known[known.length - 1].period}</text>
    </svg>
    <figcaption>${title}</figcaption>
  </figure>`;
}

function Indicators() {
  const [state, setState] = useState({ loading: true });
  const [chosen, setChosen] = useState("");
  const [detail, setDetail] = useState(null);
  useEffect(() => {
    (async () => {
      try {
        const convention = await firstConvention();
        if (!convention) {
          setState({ empty: true });
          return;
        }
        const territory = await partners.getOrganisation({ name: convention.territory });
        const list = await indicators.listIndicators({ pageSize: 100 });
        setState({ convention, territory, list: list.indicators });
        if (list.indicators.length) setChosen(list.indicators[0].name);
      } catch (error) {
        setState({ error });
      }
    })();
  }, []);
  useEffect(() => {
    if (!chosen || !state.list) return;
    (async () => {
      const indicator = state.list.find((i) => i.name === chosen);
      const [from, to] = periodRange(indicator.periodicity, state.convention.startDate);
      const territory = state.territory.siren;
      try {
        const series = await indicators.getSeries({
          indicator: chosen, territory, fromPeriod: from, toPeriod: to,
        });
        const quality = await indicators.getQualityReport({
          indicator: chosen, territory, fromPeriod: from, toPeriod: to,
        });
        let communes = null;
        if (TerritorialLevel[indicator.level] === "COMMUNE") {
          const lastKnown = [...series.points].reverse().find((p) => p.value !== undefined);
          if (lastKnown) {
            communes = await indicators.compareCommunes({
              indicator: chosen, epci: territory, period: lastKnown.period,
            });
          }
        }
        setDetail({ indicator, series, quality, communes });
      } catch (error) {
        setDetail({ indicator, error });
      }
    })();
  }, [chosen, state.list]);
  if (state.loading) return html`<p role="status">Chargement des indicateurs…</p>`;
  if (state.error) return html`<${Refusal} error=${state.error} />`;
  if (state.empty) return html`<p>Aucune convention n'est visible pour votre rôle.</p>`;
  return html`
    <h1>Indicateurs de ${state.territory.displayName}</h1>
    <label for="indicateur">Indicateur</label>
    <select id="indicateur" value=${chosen} onChange=${(e) => setChosen(e.target.value)}>
      ${state.list.map((i) => html`<option value=${i.name}>${i.label} (${i.code})</option>`)}
    </select>
    ${detail?.error && html`<${Refusal} error=${detail.error} />`}
    ${detail && !detail.error && html`
      ${detail.series.demonstration &&
      html`<p class="note" role="note"><strong>Données de démonstration :</strong>${" "}ces valeurs ne décrivent pas le territoire.</p>`}
      <h2>Série du territoire</h2>
      <${SeriesChart} title=${detail.indicator.label} points=${detail.series.points} />
      <table>
        <caption>${detail.indicator.label} : valeurs par période</caption>
        <thead><tr><th scope="col">Période</th><th scope="col">Valeur</th></tr></thead>
        <tbody>${detail.series.points.map(
          (p) => html`<tr><td>${p.period}</td>
            <td>${p.value !== undefined ? frenchNumber(p.value) : `— (${p.missingReason})`}</td></tr>`,
        )}</tbody>
      </table>
      <h2>Qualité des données</h2>
      ${detail.quality.flags.length === 0
        ? html`<p>Aucune anomalie relevée.</p>`
        : html`<ul>${detail.quality.flags.map(
            (f) => html`<li>${kFlagLabels[QualityFlagKind[f.kind]] || "Anomalie"}
              (${f.period}) : ${f.detail}</li>`,
          )}</ul>`}
      ${detail.communes && html`
        <h2>Comparaison des communes (${detail.communes.period})</h2>
        <p>${detail.communes.reportingCommunes} communes sur ${detail.communes.totalCommunes} ont une
          valeur.</p>
        <table>
          <caption>${detail.indicator.label} par commune, de la plus élevée à la plus basse</caption>
          <thead><tr><th scope="col">Rang</th><th scope="col">Commune</th>
            <th scope="col">Valeur</th></tr></thead>
          <tbody>${[...detail.communes.communes]
            .sort((a, b) => (a.rank || 999) - (b.rank || 999))
            .map((c) => html`<tr><td>${c.rank || "—"}</td><td>${c.displayName}</td>
              <td>${c.value !== undefined ? frenchNumber(c.value) : `— (${c.missingReason})`}</td>
            </tr>`)}</tbody>
        </table>`}
    `}
  `;
}

// ---- bilans: ask for one, watch it being assembled, download its files -------------------------

const kKindLabels2 = {
  INTERMEDIATE_REVIEW: "Bilan intermédiaire",
  FINAL_REVIEW: "Bilan final",
  ANNUAL_REVIEW: "Point d'étape annuel",
};
const kJobStates = {
  AVAILABLE: "en attente d'un assembleur",
  RUNNING: "en cours d'assemblage",
  SUCCEEDED: "terminé",
  FAILED: "en échec",
  CANCELLED: "annulé",
};
const kStageLabels = {
  gather: "collecte des données",
  render: "mise en forme",
  write: "enregistrement",
  done: "terminé",
  claimed: "pris en charge",
};

// Fetches an artefact from the gateway's download route with the token in its header (never in
// the URL), then hands it to the browser as a file.
async function downloadArtefact(report, name) {
  const answer = await fetch(`/downloads/${idOf(report)}/${name}`, {
    headers: { Authorization: `Bearer ${currentToken()}` },
  });
  if (!answer.ok) throw new Error(`${answer.status}`);
  const url = URL.createObjectURL(await answer.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function Bilans() {
  const [convention, setConvention] = useState(null);
  const [error, setError] = useState(null);
  const [kind, setKind] = useState("INTERMEDIATE_REVIEW");
  const [job, setJob] = useState(null);
  const [info, setInfo] = useState(null);
  const [downloadError, setDownloadError] = useState(null);
  useEffect(() => {
    firstConvention().then(setConvention).catch(setError);
  }, []);
  async function ask(event) {
    event.preventDefault();
    setError(null);
    setInfo(null);
    try {
      const asked = await reporting.requestReport({
        convention: convention.name,
        kind: ReportKind[kind],
        year: kind === "ANNUAL_REVIEW" ? new Date().getFullYear() - 1 : 0,
        force: kind === "FINAL_REVIEW",
      });
      let last = asked.job;
      setJob(last);
      // Each change of the job, as the reporting service streams it.
      for await (const change of reporting.watchReportJob({ name: asked.job.name })) {
        last = change;
        setJob(change);
      }
      if (last.report) setInfo(await reporting.getReport({ name: last.report }));
    } catch (e) {
      setError(e);
    }
  }
  if (error && !convention) return html`<${Refusal} error=${error} />`;
  if (!convention) return html`<p role="status">Chargement…</p>`;
  const state = job ? ReportJob_State[job.state] : "";
  return html`
    <h1>Bilans de la convention</h1>
    <p>${convention.title}</p>
    <form onSubmit=${ask}>
      <label for="sorte">Bilan</label>
      <select id="sorte" value=${kind} onChange=${(e) => setKind(e.target.value)}>
        ${Object.entries(kKindLabels2).map(
          ([value, label]) => html`<option value=${value}>${label}</option>`,
        )}
      </select>
      <div><button type="submit">Demander le bilan</button></div>
    </form>
    ${error && html`<${Refusal} error=${error} />`}
    ${job && html`
      <h2>Assemblage</h2>
      <p role="status" aria-live="polite">Bilan ${kJobStates[state] || state}${
        state === "RUNNING" ? ` : ${kStageLabels[job.stage] || job.stage}` : ""}${` — ${job.percent} %`}</p>
      <progress max="100" value=${job.percent} aria-label="Avancement de l'assemblage"></progress>
      ${job.lastError && html`<p>Dernière erreur : ${job.lastError}</p>`}`}
    ${info && html`
      <h2>Fichiers du bilan</h2>
      <table>
        <caption>Fichiers du bilan, avec leur empreinte SHA-256</caption>
        <thead><tr><th scope="col">Fichier</th><th scope="col">Taille</th>
          <th scope="col">SHA-256</th></tr></thead>
        <tbody>${info.artefacts.map(
          (a) => html`<tr>
            <td><button type="button" onClick=${() =>
              downloadArtefact(info.name, a.name).catch(setDownloadError)}>Télécharger ${a.name}</button></td>
            <td>${frenchNumber(Number(a.sizeBytes) / 1024)} Kio</td>
            <td><code>${a.sha256.slice(0, 16)}…</code></td>
          </tr>`,
        )}</tbody>
      </table>
      ${downloadError && html`<p class="erreur" role="alert">Le téléchargement a échoué (${
        downloadError.message}).</p>`}
      <${Agreements} report=${info.name} />`}
  `;
}

// The AO collectivities' express agreements to the petite enfance part going to the CDSF (a Caf
// may send it only once every one has agreed): who has, who has not, and the form to record one.
function Agreements({ report }) {
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);
  const [names, setNames] = useState(new Map());
  const [form, setForm] = useState({ collectivity: "", agreedBy: "", agreedOn: "", reference: "" });
  const [outcome, setOutcome] = useState(null);
  async function load() {
    try {
      const answer = await reporting.listAgreements({ report });
      const known = new Map(names);
      await Promise.all(
        answer.missing
          .filter((m) => !known.has(m))
          .map(async (m) => known.set(m, (await partners.getOrganisation({ name: m })).displayName)),
      );
      setNames(known);
      setList(answer);
      if (!form.collectivity && answer.missing.length) {
        setForm((f) => ({ ...f, collectivity: answer.missing[0] }));
      }
    } catch (e) {
      setError(e);
    }
  }
  useEffect(() => {
    load();
  }, [report]);
  async function record(event) {
    event.preventDefault();
    setOutcome(null);
    const [year, month, day] = form.agreedOn.split("-").map(Number);
    try {
      await reporting.recordAgreement({
        report,
        collectivity: form.collectivity,
        agreedBy: form.agreedBy,
        agreedOn: { year, month, day },
        reference: form.reference,
      });
      setOutcome({ ok: true });
      setForm({ collectivity: "", agreedBy: "", agreedOn: "", reference: "" });
      await load();
    } catch (e) {
      setOutcome({ error: e });
    }
  }
  if (error) return html`<${Refusal} error=${error} />`;
  if (!list) return html`<p role="status">Chargement des accords…</p>`;
  return html`
    <h2>Accords des collectivités pour la transmission au CDSF</h2>
    <p role="status">${list.agreements.length} accord(s) enregistré(s) ; ${list.missing.length}
      collectivité(s) n'ont pas encore donné le leur.</p>
    ${list.agreements.length > 0 && html`<ul>${list.agreements.map(
      (a) => html`<li>${a.collectivityName} : ${a.agreedBy}, le ${frenchDate(a.agreedOn)}
        (${a.reference})</li>`,
    )}</ul>`}
    ${list.missing.length > 0 && html`
      <form onSubmit=${record}>
        <label for="accord-collectivite">Collectivité</label>
        <select id="accord-collectivite" value=${form.collectivity}
          onChange=${(e) => setForm({ ...form, collectivity: e.target.value })}>
          ${list.missing.map((m) => html`<option value=${m}>${names.get(m) || m}</option>`)}
        </select>
        <label for="accord-qui">Accord donné par (nom, fonction)</label>
        <input id="accord-qui" value=${form.agreedBy}
          onInput=${(e) => setForm({ ...form, agreedBy: e.target.value })} />
        <label for="accord-date">Date de l'accord</label>
        <input id="accord-date" type="date" value=${form.agreedOn}
          onInput=${(e) => setForm({ ...form, agreedOn: e.target.value })} />
        <label for="accord-reference">Référence de la délibération ou du courrier</label>
        <input id="accord-reference" value=${form.reference}
          onInput=${(e) => setForm({ ...form, reference: e.target.value })} />
        <div><button type="submit">Enregistrer l'accord</button></div>
      </form>`}
    ${outcome?.ok && html`<p role="status">Accord enregistré.</p>`}
    ${outcome?.error && html`<${Refusal} error=${outcome.error} />`}
    <${Transmission} report=${report} missing=${list.missing.length} />
  `;
}

// Sending the report to the CDSF: by the Caf (the package goes to the outbox; refused until every
// AO collectivity has agreed), or recorded as sent by the signatories themselves (post, e-mail).
function Transmission({ report, missing }) {
  const [recipients, setRecipients] = useState(null);
  const [form, setForm] = useState({ recipient: "", bySignatories: false, channel: "courrier" });
  const [outcome, setOutcome] = useState(null);
  useEffect(() => {
    partners
      .listOrganisations({ kind: OrganisationKind.CDSF, pageSize: 100 })
      .then((answer) => {
        setRecipients(answer.organisations);
        if (answer.organisations.length) {
          setForm((f) => ({ ...f, recipient: answer.organisations[0].name }));
        }
      })
      .catch((error) => setOutcome({ error }));
  }, [report]);
  async function send(event) {
    event.preventDefault();
    setOutcome(null);
    try {
      const sent = await reporting.transmitReport({
        report,
        recipient: form.recipient,
        bySignatories: form.bySignatories,
        channel: form.bySignatories ? form.channel : "",
      });
      setOutcome({ sent });
    } catch (error) {
      setOutcome({ error });
    }
  }
  if (!recipients) return outcome?.error ? html`<${Refusal} error=${outcome.error} />` : null;
  if (!recipients.length) {
    return html`<h2>Transmission au CDSF</h2>
      <p>Aucun CDSF n'est enregistré dans le référentiel des organisations.</p>`;
  }
  const sent = outcome?.sent;
  const blocked =
    outcome?.error &&
    ConnectError.from(outcome.error).code === Code.FailedPrecondition &&
    !form.bySignatories &&
    missing > 0;
  return html`
    <h2>Transmission au CDSF</h2>
    <form onSubmit=${send}>
      <label for="cdsf">Destinataire</label>
      <select id="cdsf" value=${form.recipient}
        onChange=${(e) => setForm({ ...form, recipient: e.target.value })}>
        ${recipients.map((o) => html`<option value=${o.name}>${o.displayName}</option>`)}
      </select>
      <fieldset>
        <legend>Qui envoie</legend>
        <div><input type="radio" id="envoi-caf" name="envoi" checked=${!form.bySignatories}
          onChange=${() => setForm({ ...form, bySignatories: false })} />
          <label for="envoi-caf">La Caf (dépôt du paquet du bilan)</label></div>
        <div><input type="radio" id="envoi-signataires" name="envoi" checked=${form.bySignatories}
          onChange=${() => setForm({ ...form, bySignatories: true })} />
          <label for="envoi-signataires">Les signataires eux-mêmes (déjà envoyé)</label></div>
      </fieldset>
      ${form.bySignatories && html`
        <label for="canal">Envoyé par</label>
        <select id="canal" value=${form.channel}
          onChange=${(e) => setForm({ ...form, channel: e.target.value })}>
          <option value="courrier">Courrier</option>
          <option value="courriel">Courriel</option>
        </select>`}
      <div><button type="submit">${form.bySignatories ? "Enregistrer l'envoi" : "Transmettre au CDSF"}</button></div>
    </form>
    ${sent && html`<p role="status">Transmis au CDSF le ${new Date(
      Number(sent.sendTime.seconds) * 1000).toLocaleString("fr-FR")}${sent.bySignatories
      ? ` par les signataires (${sent.channel})`
      : ` par la Caf ; paquet ${sent.package}, manifeste SHA-256 ${sent.manifestSha256.slice(0, 16)}…`}.</p>`}
    ${blocked && html`<p class="erreur" role="alert">${
      "La Caf ne peut transmettre le bilan qu'avec l'accord exprès de chaque collectivité " +
      `exerçant la compétence d'autorité organisatrice : ${missing} accord(s) manquent encore.`}</p>`}
    ${outcome?.error && html`<${Refusal} error=${outcome.error} />`}
  `;
}

// ---- data exchanges: what waits on me, a request's file, the DPO's opinion, the audit trail -----

const kExchangeStates = {
  DRAFT: "Brouillon",
  SUBMITTED: "Déposée, en attente de l'étude",
  STUDIED: "Étudiée, en attente de l'avis du DPO",
  OPINION_GIVEN: "Avis du DPO rendu, en attente de la décision",
  APPROVED: "Approuvée",
  REJECTED: "Refusée",
  ACTIVE: "En vigueur",
  SUSPENDED: "Suspendue",
  REVOKED: "Révoquée",
  EXPIRED: "Expirée",
};
const kSteps = {
  SUBMIT: "Déposer",
  RECORD_STUDY: "Étudier la demande",
  GIVE_OPINION: "Rendre l'avis du DPO",
  DECIDE: "Décider",
  MARK_IMPLEMENTED: "Mettre en œuvre une recommandation",
  ACKNOWLEDGE: "Constater la mise en œuvre",
  SUSPEND: "Suspendre",
  RESUME: "Reprendre",
  REVOKE: "Révoquer",
};
const kVerdicts = {
  FAVOURABLE: "Favorable",
  FAVOURABLE_WITH_RECOMMENDATIONS: "Favorable avec recommandations",
  UNFAVOURABLE: "Défavorable",
};

function Exchanges() {
  const [pending, setPending] = useState(null);
  const [error, setError] = useState(null);
  const [register, setRegister] = useState(null);
  const [verified, setVerified] = useState(null);
  useEffect(() => {
    consents
      .listPendingActions({})
      .then((r) => setPending([...r.actions].sort((a, b) => b.ageDays - a.ageDays)))
      .catch(setError);
  }, []);
  async function exportRegister() {
    try {
      const file = await consents.exportRegister({
        controller: currentOrganisation(),
        format: RegisterFormat.XLSX,
      });
      const url = URL.createObjectURL(new Blob([file.content], { type: file.contentType }));
      setRegister({ url, name: file.filename, processings: file.processings });
    } catch (e) {
      setRegister({ error: e });
    }
  }
  async function verify() {
    try {
      setVerified(await consents.verifyAuditChain({}));
    } catch (e) {
      setVerified({ error: e });
    }
  }
  return html`
    <h1>Échanges de données</h1>
    <h2>Ce qui m'attend</h2>
    ${error && html`<${Refusal} error=${error} />`}
    ${pending && pending.length === 0 && html`<p>Rien ne vous attend.</p>`}
    ${pending && pending.length > 0 && html`<table>
      <caption>${pending.length} demande(s) en attente de vous, la plus ancienne d'abord</caption>
      <thead><tr><th scope="col">Demande</th><th scope="col">Étape attendue</th>
        <th scope="col">Depuis</th></tr></thead>
      <tbody>${pending.map(
        (a) => html`<tr>
          <td><a href=${`#echange/${idOf(a.exchangeRequest)}`}>${a.title}</a></td>
          <td>${kSteps[Step[a.step]] || "—"}${a.recommendation ? ` (recommandation n° ${a.recommendation})` : ""}</td>
          <td>${a.ageDays} jour(s)</td></tr>`,
      )}</tbody>
    </table>`}
    <h2>Registre des traitements de votre organisation (RGPD, art. 30)</h2>
    <p><button type="button" onClick=${exportRegister}>Préparer le registre (XLSX)</button>
      ${register?.url && html` <a href=${register.url} download=${register.name}>Télécharger
        ${register.name}</a> (${register.processings} traitement(s))`}</p>
    ${register?.error && html`<${Refusal} error=${register.error} />`}
    <h2>Intégrité de la piste d'audit</h2>
    <p><button type="button" onClick=${verify}>Vérifier la chaîne d'audit</button></p>
    ${verified?.error && html`<${Refusal} error=${verified.error} />`}
    ${verified && !verified.error && html`<p role="status">${verified.valid
      ? `Chaîne intègre : ${verified.eventsChecked} événement(s) vérifié(s) dans ${verified.chainsChecked} chaîne(s).`
      : `Chaîne altérée à l'événement ${verified.firstBadEvent} : ${verified.problem}`}</p>`}
  `;
}

function ExchangePage({ id }) {
  const [state, setState] = useState({ loading: true });
  const [opinion, setOpinion] = useState({ verdict: "FAVOURABLE_WITH_RECOMMENDATIONS", text: "", recommendations: "" });
  const [outcome, setOutcome] = useState(null);
  const [decision, setDecision] = useState({ approved: "true", justification: "" });
  async function load() {
    try {
      const request = await consents.getExchangeRequest({ name: `exchangeRequests/${id}` });
      const trail = await consents.listAuditEvents({ exchangeRequest: request.name, pageSize: 100 });
      const [requester, holder] = await Promise.all([
        partners.getOrganisation({ name: request.requester }),
        partners.getOrganisation({ name: request.holder }),
      ]);
      setState({ request, events: trail.events, requester, holder });
    } catch (error) {
      setState({ error });
    }
  }
  useEffect(() => {
    load();
  }, [id]);
  if (state.loading) return html`<p role="status">Chargement de la demande…</p>`;
  if (state.error) return html`<${Refusal} error=${state.error} />`;
  const { request, events, requester, holder } = state;
  const stateName = ExchangeState[request.state];
  async function giveOpinion(event) {
    event.preventDefault();
    setOutcome(null);
    const recommendations = opinion.recommendations
      .split("\n")
      .map((t) => t.trim())
      .filter(Boolean)
      .map((text, i) => ({ number: i + 1, text }));
    try {
      await consents.takeStep({
        name: request.name,
        etag: request.etag,
        step: Step.GIVE_OPINION,
        opinion: { verdict: OpinionVerdict[opinion.verdict], text: opinion.text, recommendations },
      });
      setOutcome({ ok: true });
      await load();
    } catch (error) {
      setOutcome({ error });
    }
  }
  async function decide(event) {
    event.preventDefault();
    setOutcome(null);
    try {
      await consents.takeStep({
        name: request.name,
        etag: request.etag,
        step: Step.DECIDE,
        decision: { approved: decision.approved === "true", justification: decision.justification },
      });
      setOutcome({ ok: true });
      await load();
    } catch (error) {
      setOutcome({ error });
    }
  }
  return html`
    <p><a href="#echanges">Retour aux échanges de données</a></p>
    <h1>${request.title}</h1>
    ${request.demonstration && html`<p class="note" role="note"><strong>Données de démonstration :</strong>${" "}cette demande a été chargée pour une démonstration.</p>`}
    <dl>
      <dt>État</dt><dd class="etat">${kExchangeStates[stateName] || stateName}</dd>
      <dt>Demandeur</dt><dd>${requester.displayName}</dd>
      <dt>Détenteur des données</dt><dd>${holder.displayName}</dd>
      <dt>Finalité</dt><dd>${request.purpose}</dd>
      ${request.study && html`<dt>Étude du détenteur</dt><dd>${[request.study.opportunity,
        request.study.feasibility, request.study.compliance].join(" ; ")}</dd>`}
      ${request.opinion && html`<dt>Avis du DPO</dt><dd>${`${kVerdicts[OpinionVerdict[request.opinion.verdict]]} : ${request.opinion.text}`}${request.opinion.recommendations.length > 0 && html`<ol>${
          request.opinion.recommendations.map((r) => html`<li>${r.text}</li>`)}</ol>`}</dd>`}
    </dl>
    ${stateName === "STUDIED" && html`
      <h2>Rendre l'avis du DPO</h2>
      <form onSubmit=${giveOpinion}>
        <label for="verdict">Avis</label>
        <select id="verdict" value=${opinion.verdict}
          onChange=${(e) => setOpinion({ ...opinion, verdict: e.target.value })}>
          ${Object.entries(kVerdicts).map(([v, l]) => html`<option value=${v}>${l}</option>`)}
        </select>
        <label for="motifs">Motifs de l'avis</label>
        <textarea id="motifs" rows="3" value=${opinion.text}
          onInput=${(e) => setOpinion({ ...opinion, text: e.target.value })}></textarea>
        <label for="recommandations">Recommandations (une par ligne, numérotées dans l'ordre)</label>
        <textarea id="recommandations" rows="3" value=${opinion.recommendations}
          onInput=${(e) => setOpinion({ ...opinion, recommendations: e.target.value })}></textarea>
        <div><button type="submit">Rendre l'avis</button></div>
      </form>`}
    ${stateName === "OPINION_GIVEN" && html`
      <h2>Décider</h2>
      <form onSubmit=${decide}>
        <fieldset>
          <legend>Décision du détenteur des données</legend>
          <label><input type="radio" name="decision" value="true" checked=${decision.approved === "true"}
            onChange=${() => setDecision({ ...decision, approved: "true" })} /> Approuver</label>
          <label><input type="radio" name="decision" value="false" checked=${decision.approved === "false"}
            onChange=${() => setDecision({ ...decision, approved: "false" })} /> Refuser</label>
        </fieldset>
        <label for="justification">Justification (requise pour un refus, ou pour approuver contre un avis défavorable)</label>
        <textarea id="justification" rows="3" value=${decision.justification}
          onInput=${(e) => setDecision({ ...decision, justification: e.target.value })}></textarea>
        <div><button type="submit">Enregistrer la décision</button></div>
      </form>`}
    ${outcome?.ok && html`<p role="status">Étape enregistrée.</p>`}
    ${outcome?.error && html`<${Refusal} error=${outcome.error} />`}
    <h2>Piste d'audit</h2>
    <table>
      <caption>${events.length} événement(s) de la demande, chaînés par empreinte</caption>
      <thead><tr><th scope="col">Date</th><th scope="col">Opération</th><th scope="col">Acteur</th>
        <th scope="col">Empreinte</th></tr></thead>
      <tbody>${events.map(
        (e) => html`<tr><td>${e.time ? new Date(Number(e.time.seconds) * 1000).toLocaleString("fr-FR") : ""}</td>
          <td>${e.operation}</td><td>${e.actor}</td><td><code>${e.hash.slice(0, 12)}…</code></td></tr>`,
      )}</tbody>
    </table>
  `;
}

// ---- AO competences of each commune and of the EPCI at a chosen date ------------------------------

const kCompetenceLabels = {
  CENSUS_NEEDS: "Recensement des besoins",
  INFORM_FAMILIES: "Information des familles",
  PLAN_DEVELOPMENT: "Planification de l'offre",
  SUPPORT_QUALITY: "Soutien à la qualité",
};

function AoCompetencesAt({ convention, names }) {
  const today = new Date();
  const [date, setDate] = useState(today.toISOString().slice(0, 10));
  const [rows, setRows] = useState(null);
  const [error, setError] = useState(null);
  async function show(event) {
    event.preventDefault();
    setError(null);
    const [year, month, day] = date.split("-").map(Number);
    const collectivities = convention.parties
      .map((p) => names.get(p.organisation))
      .filter((o) => o && ["COMMUNE", "EPCI"].includes(OrganisationKind[o.kind]));
    try {
      const held = await Promise.all(
        collectivities.map((o) =>
          partners.getAoCompetences({ organisation: o.name, date: { year, month, day } }),
        ),
      );
      setRows(held.map((h, i) => ({ organisation: collectivities[i], held: h })));
    } catch (e) {
      setError(e);
    }
  }
  return html`
    <h2>Compétences d'autorité organisatrice</h2>
    <form onSubmit=${show}>
      <label for="date-ao">Date</label>
      <input id="date-ao" type="date" value=${date} onInput=${(e) => setDate(e.target.value)} />
      <div><button type="submit">Afficher les compétences à cette date</button></div>
    </form>
    ${error && html`<${Refusal} error=${error} />`}
    ${rows && html`<table>
      <caption>Compétences de chaque collectivité au ${frenchDate(rows[0]?.held.date)}</caption>
      <thead><tr><th scope="col">Collectivité</th><th scope="col">Compétences et motifs</th>
        <th scope="col">Schéma pluriannuel requis</th></tr></thead>
      <tbody>${rows.map(
        (r) => html`<tr><td>${r.organisation.displayName}</td>
          <td>${r.held.competences.length === 0
            ? `Aucune${r.held.notes.length ? ` (${r.held.notes.join(" ; ")})` : ""}`
            : html`<ul>${r.held.competences.map(
                (c) => html`<li>${kCompetenceLabels[AoCompetence[c.competence]] || "—"} : ${c.reason}</li>`,
              )}</ul>`}</td>
          <td>${r.held.schemaPluriannuelRequired ? "oui" : "non"}</td></tr>`,
      )}</tbody>
    </table>`}
  `;
}

// ---- the page ----------------------------------------------------------------------------------

function Page() {
  if (!currentToken()) return html`<${SignIn} />`;
  const route = location.hash.slice(1);
  let screen = html`<${Convention} />`;
  if (route === "suivi") screen = html`<${Dashboard} />`;
  if (route.startsWith("action/")) screen = html`<${ActionPage} id=${route.slice(7)} />`;
  if (route === "indicateurs") screen = html`<${Indicators} />`;
  if (route === "bilans") screen = html`<${Bilans} />`;
  if (route === "echanges") screen = html`<${Exchanges} />`;
  if (route.startsWith("echange/")) screen = html`<${ExchangePage} id=${route.slice(8)} />`;
  return html`
    <nav aria-label="Console">
      <ul class="menu">
        <li><a href="#convention" aria-current=${route === "" || route === "convention" ? "page" : undefined}>Convention</a></li>
        <li><a href="#suivi" aria-current=${route === "suivi" ? "page" : undefined}>Tableau de suivi</a></li>
        <li><a href="#indicateurs" aria-current=${route === "indicateurs" ? "page" : undefined}>Indicateurs</a></li>
        <li><a href="#bilans" aria-current=${route === "bilans" ? "page" : undefined}>Bilans</a></li>
        <li><a href="#echanges" aria-current=${route === "echanges" ? "page" : undefined}>Échanges de données</a></li>
        <li><button type="button" onClick=${signOut}>Se déconnecter</button></li>
      </ul>
    </nav>
    ${screen}
  `;
}

window.addEventListener("hashchange", () => rerender());
completeProviderSignIn().then((failure) => {
  providerFailure = failure;
  rerender();
});

function rerender() {
  const main = document.getElementById("contenu");
  render(html`<${Page} key=${Date.now()} />`, main);
}
