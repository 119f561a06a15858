// tracking_table_bench: latency and throughput of the shared tracking table (issue 3).
//
// Hosts the partners and action plan services in-process on a throwaway database, loads a
// convention with 40 actions and 20 quarters of progress reports each, then runs closed loops
// (each client sends its next call as soon as the previous one answers) for a few seconds:
// - grpc.health.v1.Health/Check on the action plan server: the bare-gRPC baseline of this run;
// - GetTrackingTable for the last quarter, direct to the service;
// - for context, partners GetConvention (the check each table call makes) and ListAxes;
// - ExportTrackingTable as XLSX.
// Prints p50/p99 latency and throughput next to the targets (tracking table under 5 ms
// p50, XLSX export under 200 ms).
//
//   tracking_table_bench [--seconds=N]   (N seconds per loop, default 3)
//
// Needs CTG_TEST_ADMIN_URL (set by `./ctg bench`). The services' JSON request logs go to
// /dev/null while it runs.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "action_plan/service.h"
#include "common/testing/test_database.h"
#include "common/testing/test_host.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "partners/service.h"

namespace ctg::bench {
namespace {

namespace apv1 = ::ctg::action_plan::v1;
namespace pv1 = ::ctg::partners::v1;
using Clock = std::chrono::steady_clock;

constexpr int kAxes = 5;
constexpr int kActions = 40;
constexpr int kFirstYear = 2020;
constexpr int kYears = 5;  // 2020-Q1 … 2024-Q4: 20 quarters, all started
constexpr char kQuarter[] = "2024-Q4";

// Where the bench writes its own errors: the original stderr (fd 2 itself goes to /dev/null).
FILE* g_err = stderr;

[[noreturn]] void Fail(const std::string& what, const grpc::Status& status) {
  std::fprintf(g_err, "tracking_table_bench: %s: %d %s\n", what.c_str(),
               static_cast<int>(status.error_code()), status.error_message().c_str());
  std::exit(1);
}

google::type::Date Date(int year, int month, int day) {
  google::type::Date d;
  d.set_year(year);
  d.set_month(month);
  d.set_day(day);
  return d;
}

// The figures of one closed loop.
struct LoopResult {
  size_t calls = 0;
  size_t errors = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double per_second = 0;
};

// Runs `call` (true on success) from `clients` threads, each in a closed loop, for `duration`
// (and at least `min_calls` calls per client).
LoopResult ClosedLoop(int clients, std::chrono::milliseconds duration, size_t min_calls,
                      const std::function<bool()>& call) {
  std::vector<std::vector<double>> latencies(clients);
  std::atomic<size_t> errors{0};
  const auto start = Clock::now();
  const auto stop = start + duration;
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      auto& mine = latencies[i];
      while (Clock::now() < stop || mine.size() < min_calls) {
        const auto t0 = Clock::now();
        if (!call()) ++errors;
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  LoopResult r;
  r.calls = all.size();
  r.errors = errors.load();
  auto at = [&all](double q) {
    return all[std::min(all.size() - 1, static_cast<size_t>(q * all.size()))];
  };
  r.p50_ms = at(0.50);
  r.p99_ms = at(0.99);
  r.per_second = all.size() / elapsed;
  return r;
}

// A client context with the bearer token and a 30-second deadline.
void Prepare(grpc::ClientContext* context, const std::string& token) {
  context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
}

// Creates the organisation, the convention 2020-2024, 5 axes, 40 actions and 20 quarterly
// reports per action; returns the convention name.
// Creates the EPCI and its Caf (registry_admin), the convention (its Caf's agent), then the plan
// and its reports as the secretariat (the EPCI), whose token it leaves in `token`.
std::string LoadConvention(pv1::PartnerService::Stub& partners, apv1::ActionPlanService::Stub& plan,
                           std::string* token_out) {
  const std::string registry =
      ctg::testing::TestToken({Role::kRegistryAdmin}, "", "tracking-table-bench");
  auto create = [&](pv1::OrganisationKind kind, const std::string& name) {
    pv1::CreateOrganisationRequest req;
    req.mutable_organisation()->set_kind(kind);
    req.mutable_organisation()->set_display_name(name);
    pv1::Organisation out;
    grpc::ClientContext context;
    Prepare(&context, registry);
    auto status = partners.CreateOrganisation(&context, req, &out);
    if (!status.ok()) Fail("CreateOrganisation", status);
    return out;
  };
  const pv1::Organisation epci = create(pv1::EPCI, "Agglomération de banc d'essai");
  const pv1::Organisation caf = create(pv1::CAF, "Caf de banc d'essai");
  const std::string caf_agent =
      ctg::testing::TestToken({Role::kCafAgent}, caf.name(), "tracking-table-bench");
  *token_out =
      ctg::testing::TestToken({Role::kCopilSecretariat}, epci.name(), "tracking-table-bench");
  const std::string& token = *token_out;
  pv1::Convention convention;
  {
    pv1::CreateConventionRequest req;
    auto* c = req.mutable_convention();
    c->set_title("CTG de banc d'essai 2020-2024");
    c->set_territory(epci.name());
    *c->mutable_start_date() = Date(kFirstYear, 1, 1);
    *c->mutable_end_date() = Date(kFirstYear + kYears - 1, 12, 31);
    c->add_parties()->set_organisation(epci.name());
    c->add_parties()->set_organisation(caf.name());
    grpc::ClientContext context;
    Prepare(&context, caf_agent);
    auto status = partners.CreateConvention(&context, req, &convention);
    if (!status.ok()) Fail("CreateConvention", status);
  }
  std::vector<std::string> axes;
  for (int n = 1; n <= kAxes; ++n) {
    apv1::CreateAxisRequest req;
    req.mutable_axis()->set_convention(convention.name());
    req.mutable_axis()->set_number(n);
    req.mutable_axis()->set_title("Axe " + std::to_string(n));
    apv1::Axis axis;
    grpc::ClientContext context;
    Prepare(&context, token);
    auto status = plan.CreateAxis(&context, req, &axis);
    if (!status.ok()) Fail("CreateAxis", status);
    axes.push_back(axis.name());
  }
  std::vector<std::string> actions;
  for (int n = 1; n <= kActions; ++n) {
    apv1::CreateActionRequest req;
    auto* a = req.mutable_action();
    a->set_convention(convention.name());
    a->set_axis(axes[(n - 1) * kAxes / kActions]);
    a->set_number(n);
    a->set_title("Action " + std::to_string(n) + " du plan de banc d'essai");
    a->set_description("Description de l'action " + std::to_string(n));
    a->add_objectives("Objectif de l'action " + std::to_string(n));
    a->add_fields(static_cast<apv1::InterventionField>(1 + n % 10));
    a->add_pilots(epci.name());
    *a->mutable_planned_start() = Date(kFirstYear, 1, 1);
    if (n % 4 == 0) {
      a->set_continuous(true);
    } else {
      *a->mutable_planned_end() = Date(kFirstYear + n % kYears, 12, 31);
    }
    apv1::Action action;
    grpc::ClientContext context;
    Prepare(&context, token);
    auto status = plan.CreateAction(&context, req, &action);
    if (!status.ok()) Fail("CreateAction", status);
    actions.push_back(action.name());
  }
  // 800 reports, two writers (each action's quarters in order).
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      for (size_t i = w; i < actions.size(); i += 2) {
        for (int q = 0; q < kYears * 4; ++q) {
          apv1::CreateProgressReportRequest req;
          auto* r = req.mutable_report();
          r->set_action(actions[i]);
          r->set_quarter(std::to_string(kFirstYear + q / 4) + "-Q" + std::to_string(q % 4 + 1));
          const int completion = std::min(100, (q + 1) * 5);
          r->set_status(completion == 100 ? apv1::ACHIEVED : apv1::IN_PROGRESS);
          r->set_completion_percent(completion);
          r->set_implementation("Mise en œuvre par le pilote et ses partenaires.");
          r->set_progress("Avancement du trimestre " + r->quarter() + " : étapes prévues tenues.");
          r->set_difficulties(q % 3 == 0 ? "Recrutement difficile." : "");
          r->set_next_steps("Poursuivre selon le calendrier.");
          apv1::ProgressReport out;
          grpc::ClientContext context;
          Prepare(&context, token);
          auto status = plan.CreateProgressReport(&context, req, &out);
          if (!status.ok()) Fail("CreateProgressReport", status);
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  return convention.name();
}

void PrintRow(const char* what, const LoopResult& r, const std::string& target) {
  std::printf("%-36s %7zu %9.3f %9.3f %10.0f   %s\n", what, r.calls, r.p50_ms, r.p99_ms,
              r.per_second, target.c_str());
  if (r.errors > 0) std::printf("%-36s %zu call(s) failed\n", "", r.errors);
}

std::string Verdict(double value, double limit) { return value < limit ? "met" : "MISSED"; }

int Main(int argc, char** argv) {
  int seconds = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--seconds=", 0) == 0) seconds = std::max(1, std::atoi(arg.c_str() + 10));
  }
  const auto duration = std::chrono::milliseconds(seconds * 1000);

  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each figure as soon as it is measured
  // Keep the services' per-call JSON logs out of the figures' output.
  const int saved_stderr = dup(2);
  g_err = fdopen(saved_stderr, "w");
  setvbuf(g_err, nullptr, _IONBF, 0);
  const int devnull = open("/dev/null", O_WRONLY);
  dup2(devnull, 2);
  close(devnull);

  ctg::testing::TestDatabase db(
      {partners::PartnerServiceSpec().migrations, action_plan::ActionPlanServiceSpec().migrations});
  ctg::testing::InProcessService partners_host(partners::PartnerServiceSpec(), db.url());
  ctg::testing::InProcessService plan_host(
      action_plan::ActionPlanServiceSpec(), db.url(),
      {{"partners", "127.0.0.1:" + std::to_string(partners_host.host().port())}});
  auto partners = pv1::PartnerService::NewStub(partners_host.channel());
  auto plan = apv1::ActionPlanService::NewStub(plan_host.channel());
  auto health = grpc::health::v1::Health::NewStub(plan_host.channel());
  std::string token;
  const auto load_start = Clock::now();
  const std::string convention = LoadConvention(*partners, *plan, &token);
  const double load_seconds = std::chrono::duration<double>(Clock::now() - load_start).count();

  auto health_call = [&health] {
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return health->Check(&context, req, &resp).ok();
  };
  apv1::GetTrackingTableRequest table_req;
  table_req.set_convention(convention);
  table_req.set_quarter(kQuarter);
  auto table_call = [&] {
    apv1::TrackingTable table;
    grpc::ClientContext context;
    Prepare(&context, token);
    return plan->GetTrackingTable(&context, table_req, &table).ok();
  };

  // One checked call first: the table must have every action.
  apv1::TrackingTable table;
  {
    grpc::ClientContext context;
    Prepare(&context, token);
    auto status = plan->GetTrackingTable(&context, table_req, &table);
    if (!status.ok()) Fail("GetTrackingTable", status);
  }
  std::printf(
      "tracking_table_bench: convention with %d actions in %d axes, %d quarters of reports each "
      "(%d reports, loaded in %.1f s)\n"
      "table %s: %d rows, %zu bytes; closed loops of %d s; in-process services, 2 shared cores\n\n",
      kActions, kAxes, kYears * 4, kActions * kYears * 4, load_seconds, kQuarter, table.rows_size(),
      table.ByteSizeLong(), seconds);
  if (table.rows_size() != kActions) {
    std::fprintf(g_err, "tracking_table_bench: expected %d rows\n", kActions);
    return 1;
  }

  // Warm-up: connections, prepared statements, caches.
  ClosedLoop(1, std::chrono::milliseconds(300), 20, health_call);
  ClosedLoop(1, std::chrono::milliseconds(500), 20, table_call);

  std::printf("%-36s %7s %9s %9s %10s   %s\n", "measure", "calls", "p50 ms", "p99 ms", "calls/s",
              "target");
  const auto health_1 = ClosedLoop(1, duration, 1, health_call);
  PrintRow("bare gRPC Health/Check, 1 client", health_1, "(baseline)");
  const auto table_1 = ClosedLoop(1, duration, 1, table_call);
  PrintRow("GetTrackingTable, 1 client", table_1, "p50 < 5 ms: " + Verdict(table_1.p50_ms, 5.0));
  const auto health_4 = ClosedLoop(4, duration, 1, health_call);
  PrintRow("bare gRPC Health/Check, 4 clients", health_4, "(baseline)");
  const auto table_4 = ClosedLoop(4, duration, 1, table_call);
  PrintRow("GetTrackingTable, 4 clients", table_4, "");

  // Where the table's time goes: the partners check every table call makes, and a small RPC of
  // the same service (auth, that check, one query).
  pv1::GetConventionRequest convention_req;
  convention_req.set_name(convention);
  const auto convention_1 = ClosedLoop(1, duration, 1, [&] {
    pv1::Convention out;
    grpc::ClientContext context;
    Prepare(&context, token);
    return partners->GetConvention(&context, convention_req, &out).ok();
  });
  PrintRow("  partners GetConvention, 1 client", convention_1, "(check inside each call)");
  apv1::ListAxesRequest axes_req;
  axes_req.set_convention(convention);
  const auto axes_1 = ClosedLoop(1, duration, 1, [&] {
    apv1::ListAxesResponse out;
    grpc::ClientContext context;
    Prepare(&context, token);
    return plan->ListAxes(&context, axes_req, &out).ok();
  });
  PrintRow("  ListAxes, 1 client", axes_1, "(same check + 1 query)");

  // The XLSX export, when it is implemented.
  apv1::ExportTrackingTableRequest export_req;
  export_req.set_convention(convention);
  export_req.set_quarter(kQuarter);
  export_req.set_format(apv1::XLSX);
  apv1::ExportedFile file;
  grpc::Status first;
  {
    grpc::ClientContext context;
    Prepare(&context, token);
    first = plan->ExportTrackingTable(&context, export_req, &file);
  }
  if (first.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
      first.error_message().find("not implemented") != std::string::npos) {
    std::printf("export: not implemented yet\n");
  } else if (!first.ok()) {
    std::printf("export: failed: %d %s\n", static_cast<int>(first.error_code()),
                first.error_message().c_str());
  } else {
    const auto xlsx = ClosedLoop(1, duration, 10, [&] {
      apv1::ExportedFile out;
      grpc::ClientContext context;
      Prepare(&context, token);
      return plan->ExportTrackingTable(&context, export_req, &out).ok();
    });
    PrintRow("ExportTrackingTable XLSX, 1 client", xlsx,
             "p50 < 200 ms: " + Verdict(xlsx.p50_ms, 200.0));
    std::printf("%-36s %zu bytes\n", "  XLSX file size", file.content().size());
  }
  std::printf("\nGetTrackingTable p50 is %.1fx the bare-gRPC p50 of the same server.\n",
              table_1.p50_ms / health_1.p50_ms);
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace ctg::bench

int main(int argc, char** argv) { return ctg::bench::Main(argc, argv); }
