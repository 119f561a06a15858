// Data exchanges: what waits on me, a request's file, the DPO's opinion, the holder's decision,
// the audit trail and its verification, the art. 30 register.
import { useEffect, useState } from "preact/hooks";
import { createClient } from "@connectrpc/connect";
import {
  html,
  transport,
  partners,
  Refusal,
  currentOrganisation,
  idOf,
  labelOf,
  labelsOf,
  fileUrl,
} from "../common.js";
import {
  ConsentService,
  ExchangeState,
  ExchangeStateSchema,
  Step,
  StepSchema,
  OpinionVerdict,
  OpinionVerdictSchema,
  RegisterFormat,
} from "../gen/ctg/consents/v1/consents_pb.js";

const consents = createClient(ConsentService, transport);

// ---- data exchanges: what waits on me, a request's file, the DPO's opinion, the audit trail -----

export function Exchanges() {
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
      const url = fileUrl("register", file.content, file.contentType);
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
          <td>${labelOf(StepSchema, a.step)}${a.recommendation ? ` (recommandation n° ${a.recommendation})` : ""}</td>
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

export function ExchangePage({ id }) {
  const [state, setState] = useState({ loading: true });
  const [opinion, setOpinion] = useState({ verdict: "FAVOURABLE_WITH_RECOMMENDATIONS", text: "", recommendations: "" });
  const [outcome, setOutcome] = useState(null);
  const [decision, setDecision] = useState({ approved: "true", justification: "" });
  const [evidence, setEvidence] = useState({});
  const [reason, setReason] = useState("");
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
  // One step of the workflow on the request as last read (its etag): the service decides
  // whether the caller may take it; the page then shows the request again.
  async function takeStep(fields) {
    setOutcome(null);
    try {
      await consents.takeStep({ name: request.name, etag: request.etag, ...fields });
      await load(); // the request as it now is, then the confirmation
      setOutcome({ ok: true });
    } catch (error) {
      setOutcome({ error });
    }
  }
  function giveOpinion(event) {
    event.preventDefault();
    const recommendations = opinion.recommendations
      .split("\n")
      .map((t) => t.trim())
      .filter(Boolean)
      .map((text, i) => ({ number: i + 1, text }));
    return takeStep({
      step: Step.GIVE_OPINION,
      opinion: { verdict: OpinionVerdict[opinion.verdict], text: opinion.text, recommendations },
    });
  }
  function decide(event) {
    event.preventDefault();
    return takeStep({
      step: Step.DECIDE,
      decision: { approved: decision.approved === "true", justification: decision.justification },
    });
  }
  const me = currentOrganisation();
  const approved = ["APPROVED", "ACTIVE", "SUSPENDED"].includes(stateName);
  const recommendations = request.opinion?.recommendations || [];
  return html`
    <p><a href="#echanges">Retour aux échanges de données</a></p>
    <h1>${request.title}</h1>
    ${request.demonstration && html`<p class="note" role="note"><strong>Données de démonstration :</strong>${" "}cette demande a été chargée pour une démonstration.</p>`}
    <dl>
      <dt>État</dt><dd class="etat">${labelOf(ExchangeStateSchema, request.state)}</dd>
      <dt>Demandeur</dt><dd>${requester.displayName}</dd>
      <dt>Détenteur des données</dt><dd>${holder.displayName}</dd>
      <dt>Finalité</dt><dd>${request.purpose}</dd>
      ${request.study && html`<dt>Étude du détenteur</dt><dd>${[request.study.opportunity,
        request.study.feasibility, request.study.compliance].join(" ; ")}</dd>`}
      ${request.opinion && html`<dt>Avis du DPO</dt><dd>${`${labelOf(OpinionVerdictSchema, request.opinion.verdict)} : ${request.opinion.text}`}${request.opinion.recommendations.length > 0 && html`<ol>${
          request.opinion.recommendations.map((r) => html`<li>${r.text}${r.implemented
            ? ` — mise en œuvre : ${r.evidence}${r.acknowledged ? " ; constatée par le DPO" : " ; à constater par le DPO"}`
            : ""}</li>`)}</ol>`}</dd>`}
    </dl>
    ${stateName === "STUDIED" && html`
      <h2>Rendre l'avis du DPO</h2>
      <form onSubmit=${giveOpinion}>
        <label for="verdict">Avis</label>
        <select id="verdict" value=${opinion.verdict}
          onChange=${(e) => setOpinion({ ...opinion, verdict: e.target.value })}>
          ${labelsOf(OpinionVerdictSchema).map(({ name, label }) => html`<option value=${name}>${label}</option>`)}
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
    ${approved && recommendations.some((r) => !r.acknowledged) && html`
      <h2>Recommandations du DPO</h2>
      ${recommendations.map((r) => {
        if (!r.implemented && me === request.requester) {
          const id = `mise-en-oeuvre-${r.number}`;
          return html`<form onSubmit=${(e) => {
            e.preventDefault();
            takeStep({ step: Step.MARK_IMPLEMENTED, recommendation: r.number, evidence: evidence[r.number] || "" });
          }}>
            <label for=${id}>Mise en œuvre de la recommandation n° ${r.number}</label>
            <textarea id=${id} rows="2" value=${evidence[r.number] || ""}
              onInput=${(e) => setEvidence({ ...evidence, [r.number]: e.target.value })}></textarea>
            <div><button type="submit">Déclarer la recommandation n° ${r.number} mise en œuvre</button></div>
          </form>`;
        }
        if (r.implemented && !r.acknowledged && me === request.holder) {
          return html`<p><button type="button" onClick=${() =>
            takeStep({ step: Step.ACKNOWLEDGE, recommendation: r.number })}>Constater la mise en œuvre de la recommandation n° ${r.number}</button></p>`;
        }
        return null;
      })}`}
    ${approved && me === request.holder && html`
      <h2>Suspendre ou révoquer l'échange</h2>
      <label for="motif">Motif (requis pour suspendre ou révoquer)</label>
      <textarea id="motif" rows="2" value=${reason} onInput=${(e) => setReason(e.target.value)}></textarea>
      <p>
        ${stateName === "SUSPENDED"
          ? html`<button type="button" onClick=${() => takeStep({ step: Step.RESUME })}>Reprendre</button>`
          : html`<button type="button" onClick=${() => takeStep({ step: Step.SUSPEND, reason })}>Suspendre</button>`}
        ${" "}<button type="button" onClick=${() => takeStep({ step: Step.REVOKE, reason })}>Révoquer (définitif)</button>
      </p>`}
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
