#include "reporting/tests/sample_report.h"

namespace ctg::reporting {

namespace av1 = ::ctg::action_plan::v1;

size_t Count(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

v1::Report SampleReport() {
  v1::Report r;
  r.set_title("Bilan intermédiaire — CTG « Val de Garonne »");
  r.set_kind(v1::INTERMEDIATE_REVIEW);
  r.mutable_cutoff()->set_year(2027);
  r.mutable_cutoff()->set_month(7);
  r.mutable_cutoff()->set_day(1);
  r.set_version(1);
  auto* c = r.mutable_cover();
  c->set_convention_title("CTG Val de Garonne");
  c->set_territory("Val de Garonne Agglomération");
  c->mutable_start_date()->set_year(2025);
  c->mutable_start_date()->set_month(1);
  c->mutable_start_date()->set_day(1);
  c->mutable_end_date()->set_year(2029);
  c->mutable_end_date()->set_month(12);
  c->mutable_end_date()->set_day(31);
  auto* p = r.add_parties();
  p->set_display_name("Marmande");
  p->set_kind("COMMUNE");
  p->add_signatories("Joël Hocquelet, maire");
  auto* axis = r.add_axes();
  axis->set_name("axes/1");
  axis->set_number(1);
  axis->set_title("Petite enfance");
  auto* t = r.mutable_tracking();
  t->set_quarter("2027-Q3");
  auto* row = t->add_rows();
  row->mutable_action()->set_number(3);
  row->mutable_action()->set_title("Créer un <relais> & un lieu d'accueil");
  row->mutable_action()->set_status(av1::IN_PROGRESS);
  row->mutable_latest_report()->set_quarter("2027-Q2");
  row->mutable_latest_report()->set_progress("Local trouvé");
  row->mutable_latest_report()->set_completion_percent(40);
  row->set_missing_update(true);
  auto* rollup = t->add_axes();
  rollup->set_axis("axes/1");
  rollup->set_actions(1);
  rollup->set_completion_percent(40);
  auto* line = r.add_indicators();
  line->set_code("TCG");
  line->set_label("Taux de couverture global");
  line->mutable_progress()->set_latest_value(62.5);
  line->mutable_progress()->set_latest_period("2026");
  line->mutable_progress()->set_progress_percent(37.5);
  (*r.mutable_exchanges()->mutable_by_state())["ACTIVE"] = 1;
  auto* pe = r.add_petite_enfance();
  pe->set_display_name("Marmande");
  pe->set_schema_pluriannuel_required(true);
  pe->add_competences("Recensement des besoins : commune de 17 000 habitants");
  auto* facility = pe->add_facilities();
  facility->set_display_name("Crèche Les Lutins");
  facility->set_kind("EAJE");
  facility->set_capacity(40);
  pe->add_actions("3 — Créer un relais");
  return r;
}

}  // namespace ctg::reporting
