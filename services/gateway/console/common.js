// What every screen of the console shares: the session (the token in this tab's sessionStorage
// only: never in a URL, dropped on sign-out and when it expires), the Connect transport to the
// gateway (same origin), the partners client, how a refusal is told, and French formatting.
import { h } from "preact";
import htm from "htm";
import { createClient, ConnectError, Code } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { getOption } from "@bufbuild/protobuf";
import { label as labelOption } from "./gen/ctg/api/v1/access_pb.js";
import { PartnerService } from "./gen/ctg/partners/v1/partners_pb.js";

export const html = htm.bind(h);

// ---- the session -------------------------------------------------------------------------

const kTokenKey = "ctg.token";

export function currentToken() {
  const saved = sessionStorage.getItem(kTokenKey);
  if (!saved) return null;
  const { token, expires } = JSON.parse(saved);
  if (Date.now() >= expires) {
    sessionStorage.removeItem(kTokenKey);
    return null;
  }
  return token;
}

// Keeps a token for this tab: the organisation it acts for, and when it expires (ms since 1970).
export function keepToken(token, organisation, expires) {
  sessionStorage.setItem(kTokenKey, JSON.stringify({ token, organisation, expires }));
}

// Drops this tab's token (sign-out).
export function dropToken() {
  sessionStorage.removeItem(kTokenKey);
}

// The organisation the person acts for (chosen at sign-in), or "".
export function currentOrganisation() {
  const saved = sessionStorage.getItem(kTokenKey);
  return saved ? JSON.parse(saved).organisation || "" : "";
}

export const transport = createConnectTransport({
  baseUrl: location.origin,
  interceptors: [
    (next) => async (req) => {
      const token = currentToken();
      if (token) req.header.set("Authorization", `Bearer ${token}`);
      return next(req);
    },
  ],
});
export const partners = createClient(PartnerService, transport);

// A link target for a file the page received (an export, a register): an object URL, the
// previous one of the same `slot` released so a page that prepares many keeps no stale copies.
const fileUrls = new Map();
export function fileUrl(slot, content, type) {
  if (fileUrls.has(slot)) URL.revokeObjectURL(fileUrls.get(slot));
  const url = URL.createObjectURL(content instanceof Blob ? content : new Blob([content], { type }));
  fileUrls.set(slot, url);
  return url;
}

// ---- refusals and French formatting ------------------------------------------------------------

// What a person is told when a call is refused: the reason, not a code.
export function explain(error) {
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
export function Refusal({ error }) {
  const e = ConnectError.from(error);
  return html`<div class="erreur" role="alert">
    <p>${explain(error)}</p>
    ${e.rawMessage && html`<details><summary>Détail technique</summary>
      <p lang="en">${e.rawMessage}</p></details>`}
  </div>`;
}

// The first convention the caller may see (the console shows one convention).
export async function firstConvention() {
  const list = await partners.listConventions({ pageSize: 10 });
  return list.conventions[0] || null;
}

// "organisations/{uuid}" -> "{uuid}".
export const idOf = (name) => name.slice(name.indexOf("/") + 1);

// A google.type.Date in French ("20 novembre 2026").
export function frenchDate(d) {
  if (!d || !d.year) return "";
  return new Date(Date.UTC(d.year, d.month - 1, d.day)).toLocaleDateString("fr-FR", {
    day: "numeric",
    month: "long",
    year: "numeric",
    timeZone: "UTC",
  });
}

// A number in French ("1 234,5").
export const frenchNumber = (v) => v.toLocaleString("fr-FR", { maximumFractionDigits: 2 });

// The French label of value `number` of an enum (its generated ...Schema), declared once in the
// protos ((ctg.api.v1.label)) and said the same way by the services, the bilans and the exports;
// "—" for the zero (nothing set) or a value this console does not know.
export function labelOf(schema, number) {
  const value = schema.value[number];
  return value && number !== 0 ? getOption(value, labelOption) || value.name : "—";
}

// Every value of an enum but its zero, in the protos' order: { number, name, label }.
export function labelsOf(schema) {
  return schema.values
    .filter((v) => v.number !== 0)
    .map((v) => ({ number: v.number, name: v.name, label: getOption(v, labelOption) || v.name }));
}
