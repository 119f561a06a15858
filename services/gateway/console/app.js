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
} from "/gen/ctg/partners/v1/partners_pb.js";

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

// What a person is told when a call is refused: the reason, not a code.
function explain(error) {
  const e = ConnectError.from(error);
  switch (e.code) {
    case Code.Unauthenticated:
      return "Votre session a expiré ou n'est pas valable : reconnectez-vous.";
    case Code.PermissionDenied:
      return `Votre rôle ne permet pas cette opération (${e.rawMessage}).`;
    case Code.NotFound:
      return "Cet élément n'existe pas, ou vous n'avez pas le droit de le voir.";
    case Code.InvalidArgument:
      return `La demande n'est pas valable : ${e.rawMessage}`;
    case Code.Unavailable:
      return "Le service est momentanément indisponible : réessayez dans un instant.";
    default:
      return `Le service a refusé la demande : ${e.rawMessage}`;
  }
}

function Refusal({ error }) {
  return html`<p class="erreur" role="alert">${explain(error)}</p>`;
}

// ---- sign-in (development: the gateway mints a token for a chosen role) -----------------------

const kRoles = [
  ["copil_secretariat", "Secrétariat du COPIL"],
  ["caf_agent", "Agent de la Caf"],
  ["collectivity_agent", "Agent d'une collectivité"],
  ["dpo", "Délégué à la protection des données"],
  ["cdsf", "CDSF"],
  ["auditor", "Auditeur"],
];

function SignIn() {
  const [role, setRole] = useState("copil_secretariat");
  const [organisation, setOrganisation] = useState("");
  const [message, setMessage] = useState("");
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
    sessionStorage.setItem(
      kTokenKey,
      JSON.stringify({ token, expires: Date.now() + expiresInSeconds * 1000 }),
    );
    rerender();
  }
  return html`
    <h1>Connexion</h1>
    <p>Connexion de développement : choisissez un rôle et, s'il y a lieu, l'organisation pour
      laquelle vous agissez.</p>
    <form onSubmit=${submit}>
      <label for="role">Rôle</label>
      <select id="role" value=${role} onChange=${(e) => setRole(e.target.value)}>
        ${kRoles.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
      </select>
      <label for="organisation">Organisation (organisations/…)</label>
      <input id="organisation" value=${organisation} autocomplete="off"
        onInput=${(e) => setOrganisation(e.target.value)} />
      <div><button type="submit">Se connecter</button></div>
    </form>
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

// ---- the page ----------------------------------------------------------------------------------

function Page() {
  if (!currentToken()) return html`<${SignIn} />`;
  return html`
    <nav aria-label="Session"><button type="button" onClick=${signOut}>Se déconnecter</button></nav>
    <${Convention} />
  `;
}

function rerender() {
  const main = document.getElementById("contenu");
  render(html`<${Page} key=${Date.now()} />`, main);
}

rerender();
