// Signing in: with the identity provider (OpenID Connect's code flow with PKCE, run by this page),
// or for development (the gateway mints a token for a chosen role). GET /sign-in.json says which.
import { useEffect, useState } from "preact/hooks";
import { html, keepToken } from "./common.js";

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
const base64Url = (bytes) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

// The claims of a token (read only for its expiry and organisation: the gateway verifies it).
function claimsOf(token) {
  const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
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
export async function completeProviderSignIn() {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return "";
  history.replaceState(null, "", location.pathname + location.hash);
  const pending = JSON.parse(sessionStorage.getItem(kProviderKey) || "null");
  sessionStorage.removeItem(kProviderKey);
  // Nothing of the answer is shown or used unless it answers this tab's own request.
  if (!pending || params.get("state") !== pending.state) {
    return "Cette réponse du fournisseur d'identité ne correspond à aucune connexion en cours : recommencez.";
  }
  if (params.has("error")) {
    const code = params.get("error");
    return `Le fournisseur d'identité a refusé la connexion${/^[a-z_]{1,40}$/.test(code) ? ` (${code})` : ""}.`;
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

// The sign-in page; `failure` says why the last return from the provider did not sign in.
export function SignIn({ failure, onSignedIn }) {
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
    onSignedIn();
  }
  if (!ways) return html`<h1>Connexion</h1><p role="status">Chargement…</p>`;
  return html`
    <h1>Connexion</h1>
    ${failure && html`<p class="erreur" role="alert">${failure}</p>`}
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
