// The floor of the dashboard's timing (bench/dashboard.mjs): the same API calls as the console's
// tracking table, in the same order, made with the browser's own fetch and JSON.parse, and the
// 38 rows written with one innerHTML — no framework, no generated client, nothing to compile but
// this file. What the console takes beyond this page is the console's own cost.
const { token } = JSON.parse(sessionStorage.getItem("ctg.token"));

async function call(method, body) {
  const response = await fetch(`/${method}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "Connect-Protocol-Version": "1",
      Authorization: `Bearer ${token}`,
    },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(await response.text());
  return response.json();
}

const escape = (s) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
const now = new Date();
const quarter = `${now.getFullYear()}-Q${Math.floor(now.getMonth() / 3) + 1}`;
const list = await call("ctg.partners.v1.PartnerService/ListConventions", { pageSize: 10 });
const convention = list.conventions[0].name;
const [table] = await Promise.all([
  call("ctg.action_plan.v1.ActionPlanService/GetTrackingTable", { convention, quarter }),
  call("ctg.action_plan.v1.ActionPlanService/ListAxes", { convention, pageSize: 100 }),
]);
const pilots = [...new Set(table.rows.flatMap((r) => r.action.pilots))];
await Promise.all(
  pilots.map((name) => call("ctg.partners.v1.PartnerService/GetOrganisation", { name })),
);
document.getElementById("contenu").innerHTML = `<table><tbody>${table.rows
  .map((r) => `<tr><td>${r.action.number}</td><td>${escape(r.action.title)}</td></tr>`)
  .join("")}</tbody></table>`;
