// Indicators: a series, the communes compared, the quality flags.
import { useEffect, useState } from "preact/hooks";
import { createClient } from "@connectrpc/connect";
import {
  html,
  transport,
  partners,
  Refusal,
  firstConvention,
  frenchNumber,
  labelOf,
} from "../common.js";
import {
  IndicatorService,
  Periodicity,
  TerritorialLevel,
  QualityFlagKindSchema,
} from "../gen/ctg/indicators/v1/indicators_pb.js";

const indicators = createClient(IndicatorService, transport);

// ---- indicators: a series, the communes compared, the quality flags -------------------------------

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

export function Indicators() {
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
            (f) => html`<li>${labelOf(QualityFlagKindSchema, f.kind)}
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
