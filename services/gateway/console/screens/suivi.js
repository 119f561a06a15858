// The COPIL dashboard (the quarterly tracking table) and an action's page (its history and the
// pilot's quarterly report).
import { useEffect, useState } from "preact/hooks";
import { createClient } from "@connectrpc/connect";
import {
  html,
  transport,
  partners,
  Refusal,
  firstConvention,
  idOf,
  labelOf,
  labelsOf,
  fileUrl,
} from "../common.js";
import {
  ActionPlanService,
  ActionStatus,
  ActionStatusSchema,
  InterventionField,
  InterventionFieldSchema,
  FileFormat,
} from "../gen/ctg/action_plan/v1/action_plan_pb.js";

const plan = createClient(ActionPlanService, transport);

// ---- the COPIL dashboard: the quarterly tracking table ----------------------------------------

// "2026-Q4": the quarter of today (the quarter being reported on).
function currentQuarter() {
  const now = new Date();
  return `${now.getFullYear()}-Q${Math.floor(now.getMonth() / 3) + 1}`;
}

const statusLabel = (s) => labelOf(ActionStatusSchema, s);
// What the dashboard shows: the first convention's tracking table of the quarter, its axes and
// the pilots' official names (for the filter); { empty: true } when no convention is visible.
async function loadTrackingTable() {
  const convention = await firstConvention();
  if (!convention) return { empty: true };
  const quarter = currentQuarter();
  const [table, axes] = await Promise.all([
    plan.getTrackingTable({ convention: convention.name, quarter }),
    plan.listAxes({ convention: convention.name, pageSize: 100 }),
  ]);
  const pilotNames = new Map();
  const pilots = [...new Set(table.rows.flatMap((r) => r.action.pilots))];
  await Promise.all(
    pilots.map(async (p) => {
      const o = await partners.getOrganisation({ name: p });
      pilotNames.set(p, o.displayName);
    }),
  );
  return { convention, quarter, table, axes: axes.axes, pilotNames };
}

export function Dashboard() {
  // The calls start while the page is first rendered, not after it is painted (when an effect
  // would run): one frame sooner. (A refusal is handled by the effect below, not reported as
  // unhandled meanwhile.)
  const [loading] = useState(() => {
    const load = loadTrackingTable();
    load.catch(() => {});
    return load;
  });
  const [state, setState] = useState({ loading: true });
  const [axisFilter, setAxisFilter] = useState("");
  const [fieldFilter, setFieldFilter] = useState("");
  const [pilotFilter, setPilotFilter] = useState("");
  const [exported, setExported] = useState(null);
  useEffect(() => {
    loading.then(setState, (error) => setState({ error }));
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
      const url = fileUrl("tracking-table", file.content, file.mimeType);
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
        ${labelsOf(InterventionFieldSchema).map(
          ({ name, label }) => html`<option value=${name}>${label}</option>`,
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

export function ActionPage({ id }) {
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
        ${labelsOf(ActionStatusSchema).map(
          ({ number, label }) => html`<option value=${number}>${label}</option>`,
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
