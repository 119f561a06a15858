#include "reporting/tests/sample_report.h"

#include <tuple>
#include <utility>
#include <vector>

#include "reporting/petite_enfance.h"

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
  line->add_fields(av1::PETITE_ENFANCE);
  auto* baseline = line->mutable_progress()->mutable_baseline();
  baseline->set_value(55);
  baseline->mutable_date()->set_year(2024);
  baseline->mutable_date()->set_month(12);
  baseline->mutable_date()->set_day(31);
  auto* target = line->mutable_progress()->mutable_target();
  target->set_value(75);
  target->mutable_date()->set_year(2029);
  target->mutable_date()->set_month(12);
  target->mutable_date()->set_day(31);
  for (const auto& [period, value] :
       std::vector<std::pair<std::string, double>>{{"2025", 58}, {"2026", 62.5}, {"2027", -1}}) {
    auto* point = line->add_series();
    point->set_period(period);
    if (value >= 0) point->set_value(value);
  }
  auto* communes = line->mutable_communes();
  communes->set_period("2026");
  communes->set_reporting_communes(2);
  communes->set_total_communes(3);
  communes->set_epci_value(62.5);
  for (const auto& [insee, name, value, rank] :
       std::vector<std::tuple<std::string, std::string, double, int>>{
           {"47157", "Marmande", 70, 1},
           {"47310", "Tonneins", 50, 2},
           {"47102", "Fourques-sur-Garonne", -1, 0}}) {
    auto* row = communes->add_communes();
    row->set_commune(insee);
    row->set_display_name(name);
    if (value >= 0) row->set_value(value);
    row->set_rank(rank);
  }
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
  CompletePetiteEnfancePart(*pe, CollectivityPlace{false, "47157"}, r);
  auto* governance = r.mutable_governance();
  auto* amendment = governance->add_amendments();
  amendment->set_number(1);
  amendment->mutable_signed_on()->set_year(2026);
  amendment->mutable_signed_on()->set_month(3);
  amendment->mutable_signed_on()->set_day(15);
  amendment->add_changes("Ajout de l'action 39 « Halte-répit »");
  governance->set_copil_members(6);
  auto* college = governance->mutable_copil()->add_colleges();
  college->set_college(::ctg::partners::v1::COLLEGE_CAF);
  college->set_voting_members(2);
  governance->mutable_copil()->add_issues("Parité : le collège État n'a aucun membre votant");
  return r;
}

}  // namespace ctg::reporting
