// Bilans: ask for one, watch it being assembled, download its files, the AO collectivities'
// agreements and the transmission to the CDSF.
import { useEffect, useState } from "preact/hooks";
import { createClient, ConnectError, Code } from "@connectrpc/connect";
import {
  html,
  transport,
  partners,
  Refusal,
  currentToken,
  firstConvention,
  frenchDate,
  frenchNumber,
  idOf,
  labelOf,
  labelsOf,
  fileUrl,
} from "../common.js";
import { OrganisationKind } from "../gen/ctg/partners/v1/partners_pb.js";
import {
  ReportingService,
  ReportKind,
  ReportKindSchema,
  ReportJob_State,
  ReportJob_StateSchema,
} from "../gen/ctg/reporting/v1/reporting_pb.js";

const reporting = createClient(ReportingService, transport);

// ---- bilans: ask for one, watch it being assembled, download its files -------------------------

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
  const url = fileUrl("artefact", await answer.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
}

export function Bilans() {
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
        ${labelsOf(ReportKindSchema).map(
          ({ name, label }) => html`<option value=${name}>${label}</option>`,
        )}
      </select>
      <div><button type="submit">Demander le bilan</button></div>
    </form>
    ${error && html`<${Refusal} error=${error} />`}
    ${job && html`
      <h2>Assemblage</h2>
      <p role="status" aria-live="polite">Bilan ${labelOf(ReportJob_StateSchema, job.state)}${
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
      // The collectivity chosen stays while it still has to agree; else the first that has to.
      setForm((f) =>
        answer.missing.includes(f.collectivity) ? f : { ...f, collectivity: answer.missing[0] || "" },
      );
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
      // Said of the sending that was refused: by the Caf while agreements were missing.
      const blocked =
        ConnectError.from(error).code === Code.FailedPrecondition && !form.bySignatories && missing > 0;
      setOutcome({ error, blocked });
    }
  }
  if (!recipients) return outcome?.error ? html`<${Refusal} error=${outcome.error} />` : null;
  if (!recipients.length) {
    return html`<h2>Transmission au CDSF</h2>
      <p>Aucun CDSF n'est enregistré dans le référentiel des organisations.</p>`;
  }
  const sent = outcome?.sent;
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
    ${outcome?.blocked && html`<p class="erreur" role="alert">${
      "La Caf ne peut transmettre le bilan qu'avec l'accord exprès de chaque collectivité " +
      `exerçant la compétence d'autorité organisatrice : ${missing} accord(s) manquent encore.`}</p>`}
    ${outcome?.error && !outcome.blocked && html`<${Refusal} error=${outcome.error} />`}
  `;
}
