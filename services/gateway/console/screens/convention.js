// The convention: its parties and signatures, avenants, COPIL and each collectivity's AO
// competences at a chosen date.
import { h } from "preact";
import { useEffect, useState } from "preact/hooks";
import { html, partners, Refusal, frenchDate, labelOf } from "../common.js";
import {
  OrganisationKind,
  OrganisationKindSchema,
  ConventionStateSchema,
  CopilCollegeSchema,
  AoCompetenceSchema,
} from "../gen/ctg/partners/v1/partners_pb.js";

// ---- the convention ------------------------------------------------------------------------------

export function Convention() {
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
    <p>Du ${frenchDate(convention.startDate)} au ${frenchDate(convention.endDate)} ; convention${" "}<span class="etat">${labelOf(ConventionStateSchema, convention.state)}</span>.</p>
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
            <td>${o ? labelOf(OrganisationKindSchema, o.kind) : "—"}</td>
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
          (c) => html`<tr><td>${labelOf(CopilCollegeSchema, c.college)}</td>
            <td>${c.votingMembers}</td></tr>`,
        )}
      </tbody>
    </table>
    ${copil.issues.length > 0 &&
    html`<h3>Points à régulariser</h3><ul>${copil.issues.map((i) => html`<li>${i}</li>`)}</ul>`}
  `;
}

// ---- AO competences of each commune and of the EPCI at a chosen date ------------------------------

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
                (c) => html`<li>${labelOf(AoCompetenceSchema, c.competence)} : ${c.reason}</li>`,
              )}</ul>`}</td>
          <td>${r.held.schemaPluriannuelRequired ? "oui" : "non"}</td></tr>`,
      )}</tbody>
    </table>`}
  `;
}
