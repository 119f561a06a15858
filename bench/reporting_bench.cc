// reporting_bench: the reporting pipeline against its floors, in one run.
//  1. The floor: a bare Cairo + Pango loop drawing the rows of an action table (320 rows, six
//     columns) as untagged A4 pages (no layout engine, no tags, no repeated headers), next to
//     RenderPdf on a document of the same rows, back to back.
//  2. The Val de Garonne bilan intermédiaire end to end with the real binaries (ctg-partners,
//     ctg-action-plan, ctg-indicators, ctg-consents, ctg-reporting) on a real PostgreSQL, the
//     convention, plan, indicators and exchanges loaded as `./ctg up` loads them: asked for
//     (a new version each time), watched until done; the median wall time and the split by stage
//     from ctg-reporting's own metrics.
//  3. The PDF renderer on that report and on a synthetic one: time, pages, pages per second.
//  4. 200 synthetic conventions of realistic size (40 actions, 60 indicators with 20 quarters,
//     25 communes) through the real job queue and report store on PostgreSQL, with one then two
//     report workers: wall time, split by stage, speed-up. Their content comes from a generator
//     instead of the services (gathering through the APIs is what leg 2 measures).
// CTG_BENCH_SECONDS sets the length of the render loops (default 3), CTG_BENCH_CONVENTIONS the
// number of synthetic conventions (default 200), CTG_BENCH_RUNS the VGA runs (default 5).
#include <cairo-pdf.h>
#include <google/protobuf/util/json_util.h>
#include <pango/pangocairo.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/api.h"
#include "common/db.h"
#include "common/testing/test_database.h"
#include "ctg/reporting/v1/reporting.grpc.pb.h"
#include "e2e_support.h"
#include "reporting/job_queue.h"
#include "reporting/petite_enfance.h"
#include "reporting/render_pdf.h"
#include "reporting/report_metrics.h"
#include "reporting/service.h"
#include "reporting/worker.h"

using namespace ctg;
using namespace ctg::e2e;
using Serving = grpc::health::v1::HealthCheckResponse;
namespace rv1 = ::ctg::reporting::v1;
namespace av1 = ::ctg::action_plan::v1;
namespace iv1 = ::ctg::indicators::v1;
using Steady = std::chrono::steady_clock;

namespace {

double Seconds(Steady::time_point since) {
  return std::chrono::duration<double>(Steady::now() - since).count();
}

double EnvNumber(const char* name, double fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atof(v) : fallback;
}

cairo_status_t Discard(void* closure, const unsigned char*, unsigned int length) {
  *static_cast<size_t*>(closure) += length;
  return CAIRO_STATUS_SUCCESS;
}

// Leg 1, the floor: `table`'s rows drawn as bare untagged A4 pages — per cell its text set
// once on one of the column's reused Pango layouts, measured, shown, and a rectangle stroked, a new
// page when the next row does not fit — with no layout engine, no tags, no header repeated, no
// table of contents; pages per second.
struct FloorResult {
  double pages_per_second = 0;
  double seconds_per_pass = 0;  // drawing all of `table`'s rows once
};

FloorResult BareCairoTable(const reporting::DocTable& table, double seconds) {
  size_t bytes = 0;
  cairo_surface_t* surface = cairo_pdf_surface_create_for_stream(Discard, &bytes, 595.276, 841.89);
  cairo_t* cr = cairo_create(surface);
  PangoFontDescription* font = pango_font_description_from_string("DejaVu Sans 8");
  double total = 0;
  for (double w : table.widths) total += w;
  std::vector<double> widths;
  std::vector<PangoLayout*> layouts;
  for (double w : table.widths) {
    widths.push_back(493.0 * w / total);
    PangoLayout* layout = pango_cairo_create_layout(cr);
    pango_layout_set_font_description(layout, font);
    pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_width(layout, static_cast<int>((widths.back() - 6) * PANGO_SCALE));
    layouts.push_back(layout);
  }
  const auto start = Steady::now();
  int pages = 0, passes = 0;
  double y = 64;
  while (Seconds(start) < seconds || passes == 0) {
    ++passes;
    for (const auto& row : table.rows) {
      double height = 0;
      for (size_t col = 0; col < row.cells.size(); ++col) {
        pango_layout_set_text(layouts[col], row.cells[col].c_str(), -1);
        int w = 0, h = 0;
        pango_layout_get_size(layouts[col], &w, &h);
        height = std::max(height, static_cast<double>(h) / PANGO_SCALE + 6);
      }
      if (y + height > 778) {
        cairo_show_page(cr);
        ++pages;
        y = 64;
      }
      double x = 51;
      for (size_t col = 0; col < row.cells.size(); ++col) {
        cairo_rectangle(cr, x, y, widths[col], height);
        cairo_stroke(cr);
        cairo_move_to(cr, x + 3, y + 3);
        pango_cairo_show_layout(cr, layouts[col]);
        x += widths[col];
      }
      y += height;
    }
  }
  cairo_show_page(cr);
  ++pages;
  pango_font_description_free(font);
  for (auto* layout : layouts) g_object_unref(layout);
  cairo_destroy(cr);
  cairo_surface_finish(surface);
  cairo_surface_destroy(surface);
  const double elapsed = Seconds(start);
  return {pages / elapsed, elapsed / passes};
}

int PdfPages(const std::string& pdf) {
  int pages = 0;
  const std::string page = "/Type /Page";
  for (size_t at = pdf.find(page); at != std::string::npos; at = pdf.find(page, at + 1)) {
    if (pdf.compare(at + page.size(), 1, "s") != 0) ++pages;  // not "/Type /Pages"
  }
  return pages;
}

struct RenderResult {
  double pages_per_second = 0;
  int pages = 0;
  double seconds_per_render = 0;
};

// Renders `report` for about `seconds` (document built and PDF drawn, as the worker does).
RenderResult RenderPdfRate(const rv1::Report& report, double seconds) {
  const auto doc = reporting::BuildReportDocument(report);
  const int pages = PdfPages(reporting::RenderPdf(doc));
  const auto start = Steady::now();
  int runs = 0;
  while (Seconds(start) < seconds || runs == 0) {
    reporting::RenderPdf(reporting::BuildReportDocument(report));
    ++runs;
  }
  const double elapsed = Seconds(start);
  return {pages * runs / elapsed, pages, elapsed / runs};
}

// The sum of a labelled sample ("name{labels}") in a Prometheus text page, 0 when absent.
double Sample(const std::string& page, const std::string& name) {
  const double v = SampleValue(page, name);
  return std::isnan(v) ? 0 : v;
}

// ---- 4. synthetic conventions ---------------------------------------------------------------

std::string Pick(const std::vector<std::string>& words, int i) {
  return words[static_cast<size_t>(i) % words.size()];
}

// A report of realistic size for convention number `n`: 29 parties (25 communes), 5 axes and 40
// actions with their latest reports, 60 indicators (20 quarters each; 30 compared over the 25
// communes), three AO collectivities with their facilities, exchanges and governance.
rv1::Report SyntheticReport(int n) {
  static const std::vector<std::string> kCommunes = {
      "Marmande",    "Tonneins",    "Sainte-Bazeille", "Clairac",  "Fourques",
      "Miramont",    "Seyches",     "Virazeil",        "Beaupuy",  "Caumont",
      "Castelmoron", "Lagruère",    "Gontaud",         "Fauillet", "Varès",
      "Villeton",    "Escassefort", "Mauvezin",        "Lafitte",  "Birac",
      "Taillebourg", "Jusix",       "Couthures",       "Meilhan",  "Calonges"};
  static const std::vector<std::string> kVerbs = {"Créer",     "Étendre",    "Accompagner",
                                                  "Renforcer", "Développer", "Coordonner"};
  static const std::vector<std::string> kObjects = {
      "un relais petite enfance itinérant",
      "les horaires atypiques des crèches",
      "l'accueil des enfants en situation de handicap",
      "un lieu d'accueil enfants-parents",
      "les départs en vacances des familles",
      "l'accès aux droits des jeunes adultes"};
  rv1::Report r;
  r.set_title("Bilan intermédiaire — CTG synthétique n° " + std::to_string(n));
  r.set_demonstration(true);
  auto* cover = r.mutable_cover();
  cover->set_convention_title("CTG synthétique n° " + std::to_string(n));
  cover->set_territory("Communauté d'agglomération synthétique n° " + std::to_string(n));
  *cover->mutable_start_date() = CivilDate{2025, 1, 1}.ToProto();
  *cover->mutable_end_date() = CivilDate{2029, 12, 31}.ToProto();
  for (const char* kind : {"EPCI", "CAF", "DEPARTEMENT", "STATE"}) {
    auto* p = r.add_parties();
    p->set_display_name(std::string("Partie ") + kind + " " + std::to_string(n));
    p->set_kind(kind);
    p->add_signatories("Camille Lefèvre, présidente");
  }
  for (const auto& c : kCommunes) {
    auto* p = r.add_parties();
    p->set_display_name(c);
    p->set_kind("COMMUNE");
    p->add_signatories("Jean-Émile Durand, maire");
  }
  auto* tracking = r.mutable_tracking();
  tracking->set_quarter("2027-Q3");
  for (int a = 1; a <= 5; ++a) {
    auto* axis = r.add_axes();
    axis->set_name("axes/" + std::to_string(a));
    axis->set_number(a);
    axis->set_title("Axe " + std::to_string(a) + " : " + Pick(kObjects, a));
    auto* rollup = tracking->add_axes();
    rollup->set_axis(axis->name());
    rollup->set_actions(8);
    rollup->set_achieved(a % 3);
    rollup->set_late(a % 2);
    rollup->set_completion_percent(20.0 + 12 * a);
  }
  tracking->mutable_plan()->set_actions(40);
  tracking->mutable_plan()->set_completion_percent(56);
  for (int i = 0; i < 40; ++i) {
    auto* row = tracking->add_rows();
    auto* action = row->mutable_action();
    action->set_number(i + 1);
    action->set_title(Pick(kVerbs, i + n) + " " + Pick(kObjects, i * 7 + n) + " à " +
                      Pick(kCommunes, i));
    action->set_status(i % 4 == 0 ? av1::ACHIEVED : av1::IN_PROGRESS);
    if (i < 12) action->add_fields(av1::PETITE_ENFANCE);
    action->add_pilots("organisations/" + std::to_string(i % 3));
    auto* last = row->mutable_latest_report();
    last->set_quarter("2027-Q2");
    last->set_completion_percent((i * 13 + n) % 100);
    last->set_progress("Comité technique réuni ; étape franchie à " + Pick(kCommunes, i + 3) +
                       ", le calendrier prévu est tenu et les familles sont informées.");
    last->set_demonstration(true);
    row->set_late(i % 9 == 0);
    row->set_missing_update(i % 11 == 0);
  }
  for (int k = 0; k < 60; ++k) {
    auto* line = r.add_indicators();
    line->set_code("IND_" + std::to_string(k));
    line->set_label("Indicateur " + std::to_string(k) + " : " + Pick(kObjects, k));
    line->set_unit("PERCENT");
    if (k < 20) line->add_fields(av1::PETITE_ENFANCE);
    auto* p = line->mutable_progress();
    p->mutable_baseline()->set_value(40 + k % 10);
    *p->mutable_baseline()->mutable_date() = CivilDate{2024, 12, 31}.ToProto();
    p->mutable_target()->set_value(70 + k % 10);
    *p->mutable_target()->mutable_date() = CivilDate{2029, 12, 31}.ToProto();
    p->set_latest_value(52.5 + k % 7);
    p->set_latest_period("2027-Q2");
    p->set_progress_percent(100.0 * (p->latest_value() - p->baseline().value()) /
                            (p->target().value() - p->baseline().value()));
    p->set_demonstration(true);
    for (int q = 0; q < 20; ++q) {
      auto* point = line->add_series();
      point->set_period(std::to_string(2022 + (q + 2) / 4) + "-Q" +
                        std::to_string((q + 2) % 4 + 1));
      point->set_value(40 + k % 10 + q * 0.7 + (q * 7 + k) % 5);
      point->set_demonstration(true);
    }
    if (k % 2 == 0) {
      auto* communes = line->mutable_communes();
      communes->set_period("2027-Q2");
      communes->set_reporting_communes(25);
      communes->set_total_communes(25);
      communes->set_epci_value(p->latest_value());
      communes->set_demonstration(true);
      for (size_t c = 0; c < kCommunes.size(); ++c) {
        auto* row = communes->add_communes();
        row->set_commune(std::to_string(47000 + c));
        row->set_display_name(kCommunes[c]);
        row->set_value(30 + static_cast<double>((c * 37 + k) % 50));
        row->set_rank(static_cast<int>(c) + 1);
        row->set_demonstration(true);
      }
    }
  }
  for (int ao = 0; ao < 3; ++ao) {
    auto* part = r.add_petite_enfance();
    part->set_collectivity("organisations/" + std::to_string(ao));
    part->set_display_name(ao == 0 ? cover->territory() : kCommunes[ao - 1]);
    part->add_competences("Recensement des besoins : toute AO, sans seuil de population");
    part->add_competences("Information des familles : toute AO, sans seuil de population");
    part->add_competences("Planification : plus de 3 500 habitants");
    part->set_schema_pluriannuel_required(ao < 2);
    part->set_relais_petite_enfance_required(ao < 2);
    for (int f = 0; f < 8; ++f) {
      auto* facility = part->add_facilities();
      facility->set_display_name("Multi-accueil « Les Petits Pas » n° " + std::to_string(f));
      facility->set_kind(f % 2 ? "EAJE" : "MICRO_CRECHE");
      facility->set_capacity(10 + f * 4);
    }
    for (const auto& row : tracking->rows()) {
      if (row.action().number() % 3 == ao && row.action().number() <= 12) {
        part->add_actions(std::to_string(row.action().number()) + " — " + row.action().title());
      }
    }
    reporting::CompletePetiteEnfancePart(
        *part, reporting::CollectivityPlace{ao == 0, std::to_string(47000 + ao - 1)}, r);
  }
  auto* x = r.mutable_exchanges();
  (*x->mutable_by_state())["ACTIVE"] = 2;
  (*x->mutable_by_state())["SUBMITTED"] = 1;
  (*x->mutable_opinions())["FAVOURABLE"] = 2;
  for (int e = 0; e < 2; ++e) {
    auto* a = x->add_active();
    a->set_title("Échange des listes d'attente en crèche n° " + std::to_string(e));
    a->set_requester(cover->territory());
    a->set_holder("Caf synthétique");
  }
  auto* g = r.mutable_governance();
  g->set_copil_members(12);
  g->mutable_copil()->set_compliant(true);
  for (int c = 1; c <= 5; ++c) {
    auto* college = g->mutable_copil()->add_colleges();
    college->set_college(static_cast<::ctg::partners::v1::CopilCollege>(c));
    college->set_voting_members(2);
  }
  auto* amendment = g->add_amendments();
  amendment->set_number(1);
  *amendment->mutable_signed_on() = CivilDate{2026, 3, 15}.ToProto();
  amendment->add_changes("Ajout d'une action au plan d'action (annexe 3)");
  return r;
}

class SyntheticSource : public reporting::ReportSource {
 public:
  reporting::Gathered Gather(const reporting::Job& job, reporting::JobProgress& progress) override {
    progress.Stage("gather", 10);
    reporting::Gathered g;
    g.report =
        SyntheticReport(static_cast<int>(std::hash<std::string>()(job.key.convention) % 1000));
    return g;
  }
};

struct StageSplit {
  double gather = 0, render = 0, write = 0;
};

StageSplit StagesOf(prometheus::Registry& registry) {
  StageSplit s;
  for (const auto& family : registry.Collect()) {
    if (family.name != "ctg_report_stage_seconds") continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name != "stage") continue;
        const double sum = metric.histogram.sample_sum;
        if (label.value == "gather") s.gather += sum;
        if (label.value == "render") s.render += sum;
        if (label.value == "write") s.write += sum;
      }
    }
  }
  return s;
}

// Runs `conventions` synthetic reports through the queue with `workers` workers; wall seconds.
double RunSynthetic(ConnectionPool& pool, int conventions, int workers, const std::string& tag) {
  reporting::QueueOptions options;
  reporting::JobQueue queue(pool, options);
  for (int i = 0; i < conventions; ++i) {
    reporting::JobKey key;
    key.convention = "conventions/" + tag + "-" + std::to_string(i);
    key.kind = reporting::ReportKind::kIntermediateReview;
    key.cutoff = "2027-07-01";
    queue.Enqueue(key, false, "bench", std::chrono::system_clock::now());
  }
  prometheus::Registry registry;
  reporting::ReportMetrics metrics(registry);
  SyntheticSource source;
  std::vector<std::unique_ptr<reporting::ReportWorker>> running;
  const auto start = Steady::now();
  for (int w = 0; w < workers; ++w) {
    reporting::WorkerOptions wo;
    wo.id = tag + "-worker-" + std::to_string(w);
    wo.idle_poll = std::chrono::milliseconds(20);
    wo.metrics = &metrics;
    running.push_back(std::make_unique<reporting::ReportWorker>(pool, queue, source, wo));
    running.back()->Start();
  }
  for (;;) {
    const auto stats = queue.Stats(std::chrono::system_clock::now());
    if (stats.available == 0 && stats.running == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double wall = Seconds(start);
  for (auto& w : running) w->Stop();
  const StageSplit s = StagesOf(registry);
  std::printf(
      "%-44s %8.1f s   %6.1f reports/s   gather %.1f s, render %.1f s, write %.1f s "
      "(summed over workers)\n",
      (std::to_string(conventions) + " synthetic conventions, " + std::to_string(workers) +
       (workers > 1 ? " workers" : " worker"))
          .c_str(),
      wall, conventions / wall, s.gather, s.render, s.write);
  return wall;
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const double seconds = EnvNumber("CTG_BENCH_SECONDS", 3);
  const int conventions = static_cast<int>(EnvNumber("CTG_BENCH_CONVENTIONS", 200));
  const int runs = static_cast<int>(EnvNumber("CTG_BENCH_RUNS", 5));

  // 1. The floor: the action tables of eight synthetic conventions (320 rows) drawn bare, next
  // to the same rows rendered as a tagged document (captions and headers repeated per page, a
  // table of contents, page furniture), back to back.
  const rv1::Report table_report = SyntheticReport(0);
  rv1::Report tables_only;
  tables_only.set_title(table_report.title());
  *tables_only.mutable_cover() = table_report.cover();
  tables_only.mutable_tracking()->set_quarter(table_report.tracking().quarter());
  for (int copy = 0; copy < 8; ++copy) {
    for (const auto& row : table_report.tracking().rows()) {
      *tables_only.mutable_tracking()->add_rows() = row;
    }
  }
  const auto table_doc = reporting::BuildReportDocument(tables_only);
  const reporting::DocTable* actions = nullptr;
  for (const auto& b : table_doc.body) {
    if (b.kind == reporting::DocBlock::Kind::kTable && !b.table.header.empty() &&
        b.table.header[0] == "N°" && actions == nullptr) {
      actions = &b.table;  // the first: the action table (the avenants' comes later)
    }
  }
  if (actions == nullptr) return 1;
  // Alternated five times (A/B), each side's median kept: the machine's noise hits both.
  std::vector<FloorResult> floors;
  std::vector<RenderResult> renders;
  for (int round = 0; round < 5; ++round) {
    floors.push_back(BareCairoTable(*actions, seconds / 5));
    renders.push_back(RenderPdfRate(tables_only, seconds / 5));
  }
  std::sort(floors.begin(), floors.end(),
            [](const auto& a, const auto& b) { return a.seconds_per_pass < b.seconds_per_pass; });
  std::sort(renders.begin(), renders.end(), [](const auto& a, const auto& b) {
    return a.seconds_per_render < b.seconds_per_render;
  });
  const FloorResult floor = floors[2];
  const RenderResult table_render = renders[2];
  std::printf("%-44s %8.1f ms per pass of %zu rows (%.0f pages/s; median of 5)\n",
              "floor: bare Cairo+Pango A4 table, untagged", 1000 * floor.seconds_per_pass,
              actions->rows.size(), floor.pages_per_second);
  std::printf(
      "%-44s %8.1f ms (%d pages, %.0f pages/s; median of 5, alternated with the "
      "floor): %.2f x the floor's rate\n",
      "RenderPdf, the same rows as a document", 1000 * table_render.seconds_per_render,
      table_render.pages, table_render.pages_per_second,
      floor.seconds_per_pass / table_render.seconds_per_render);

  if (std::getenv("CTG_BENCH_RENDER_ONLY") != nullptr) return 0;  // (to profile the renderer)

  // 2. The VGA bilan intermédiaire through the real binaries.
  EmptyDatabase db;
  PartnersProcess partners(db.url());
  if (!partners.WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) {
    std::fprintf(stderr, "partners did not start:\n%s\n", partners.log().c_str());
    return 1;
  }
  ActionPlanProcess plan(db.url(), partners.address());
  IndicatorsProcess indicators(db.url(), partners.address());
  ConsentsProcess consents(db.url(), partners.address());
  for (auto* p : std::vector<ServiceProcess*>{&plan, &indicators, &consents}) {
    if (!p->WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) {
      std::fprintf(stderr, "a service did not start:\n%s\n", p->log().c_str());
      return 1;
    }
  }
  ReportingProcess reporting(db.url(), {{"partners", partners.address()},
                                        {"action-plan", plan.address()},
                                        {"indicators", indicators.address()},
                                        {"consents", consents.address()}});
  if (!reporting.WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) {
    std::fprintf(stderr, "reporting did not start:\n%s\n", reporting.log().c_str());
    return 1;
  }
  LoadedVga vga_data;
  try {
    vga_data = LoadVga(partners, plan, indicators, consents);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loading the VGA convention failed: %s\n", e.what());
    return 1;
  }
  const std::string token = Token({"copil_secretariat"}, vga_data.secretariat);
  const std::string convention = vga_data.convention;
  auto stub = rv1::ReportingService::NewStub(
      grpc::CreateChannel(reporting.address(), grpc::InsecureChannelCredentials()));
  std::vector<double> walls;
  std::string report_name;
  for (int run = 0; run < runs; ++run) {
    rv1::RequestReportRequest ask;
    ask.set_convention(convention);
    ask.set_kind(rv1::INTERMEDIATE_REVIEW);
    ask.set_new_version(true);
    const auto start = Steady::now();
    rv1::RequestReportResponse asked;
    const auto status = stub->RequestReport(Context(token).get(), ask, &asked);
    if (!status.ok()) {
      std::fprintf(stderr, "RequestReport: %s\n", status.error_message().c_str());
      return 1;
    }
    rv1::WatchReportJobRequest watch;
    watch.set_name(asked.job().name());
    auto ctx = Context(token, std::chrono::seconds(120));
    auto reader = stub->WatchReportJob(ctx.get(), watch);
    rv1::ReportJob job;
    while (reader->Read(&job)) {
    }
    reader->Finish();
    walls.push_back(Seconds(start));
    if (job.state() != rv1::ReportJob::SUCCEEDED) {
      std::fprintf(stderr, "the job ended %s: %s\n%s\n",
                   rv1::ReportJob::State_Name(job.state()).c_str(), job.last_error().c_str(),
                   reporting.log().c_str());
      return 1;
    }
    report_name = job.report();
  }
  std::sort(walls.begin(), walls.end());
  const std::string page = HttpGet(reporting.metrics_port(), "/metrics");
  auto stage = [&](const char* name) {
    const std::string labels = "{kind=\"intermediate_review\",stage=\"" + std::string(name) + "\"}";
    return Sample(page, "ctg_report_stage_seconds_sum" + labels) /
           std::max(1.0, Sample(page, "ctg_report_stage_seconds_count" + labels));
  };
  std::printf(
      "%-44s %8.0f ms median of %d (min %.0f, max %.0f): asked, gathered, rendered, "
      "stored, watched to its end\n",
      "VGA bilan intermédiaire, end to end", 1000 * walls[walls.size() / 2], runs,
      1000 * walls.front(), 1000 * walls.back());
  std::printf("%-44s gather %.0f ms, render %.0f ms, write %.0f ms (means, the worker's metrics)\n",
              "  by stage", 1000 * stage("gather"), 1000 * stage("render"), 1000 * stage("write"));

  // 3. The renderer on that report, next to the floor.
  rv1::DownloadArtefactRequest download;
  download.set_report(report_name);
  download.set_artefact("report.json");
  auto dctx = Context(token);
  auto chunks = stub->DownloadArtefact(dctx.get(), download);
  std::string json;
  rv1::ArtefactChunk chunk;
  while (chunks->Read(&chunk)) json += chunk.data();
  chunks->Finish();
  rv1::Report vga;
  if (!google::protobuf::util::JsonStringToMessage(json, &vga).ok()) {
    std::fprintf(stderr, "the report's JSON does not parse\n");
    return 1;
  }
  const RenderResult vga_render = RenderPdfRate(vga, seconds);
  std::printf("%-44s %8.1f ms (%d pages, %.0f pages/s; the floor drew %.0f table pages/s)\n",
              "RenderPdf, VGA bilan", 1000 * vga_render.seconds_per_render, vga_render.pages,
              vga_render.pages_per_second, floor.pages_per_second);
  const RenderResult syn_render = RenderPdfRate(SyntheticReport(1), seconds);
  std::printf("%-44s %8.1f ms (%d pages, %.0f pages/s)\n", "RenderPdf, one synthetic convention",
              1000 * syn_render.seconds_per_render, syn_render.pages, syn_render.pages_per_second);

  // 4. Synthetic conventions through the queue, one worker then two.
  ctg::testing::TestDatabase queue_db({reporting::ReportingServiceSpec().migrations});
  ConnectionPool pool(PoolOptions{queue_db.url(), "reporting", 8, std::chrono::milliseconds(5000)},
                      reporting::ReportingStatements());
  const double one = RunSynthetic(pool, conventions, 1, "one");
  const double two = RunSynthetic(pool, conventions, 2, "two");
  std::printf("%-44s %8.2f x (2 cores)\n", "speed-up of two workers over one", one / two);
  return 0;
}
