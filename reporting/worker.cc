#include "reporting/worker.h"

#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "common/api.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/rpc.h"
#include "indicators/indicator_math.h"
#include "reporting/petite_enfance.h"
#include "reporting/render_html.h"
#include "reporting/render_pdf.h"
#include "reporting/report_store.h"

namespace ctg::reporting {
namespace {

namespace pv1 = ::ctg::partners::v1;
namespace av1 = ::ctg::action_plan::v1;
namespace iv1 = ::ctg::indicators::v1;
namespace cv1 = ::ctg::consents::v1;

// Renews the claim's lease every `interval` with the latest stage, on a thread of its own; a
// refused renewal marks the claim lost, which the job's next Stage() reports.
class Heartbeat : public JobProgress {
 public:
  Heartbeat(JobQueue& queue, const Job& claim, std::chrono::milliseconds interval,
            const Clock& clock)
      : queue_(queue), claim_(claim), clock_(clock) {
    thread_ = std::thread([this, interval] {
      std::unique_lock lock(mu_);
      while (!done_) {
        if (cv_.wait_for(lock, interval, [this] { return done_; })) break;
        lock.unlock();
        bool current = true;
        {
          // One write at a time, each with the stage current when it is made: a beat never
          // writes back a stage older than one Stage() wrote.
          std::lock_guard writing(write_mu_);
          std::string stage;
          int percent;
          {
            std::lock_guard state(mu_);
            stage = stage_;
            percent = percent_;
          }
          try {
            current = queue_.Heartbeat(claim_, stage, percent, clock_());
          } catch (const std::exception& e) {
            // The database is away: the lease may run out; the job's own writes will tell.
            LogLine("warn").Add("msg", "heartbeat failed").Add("error", e.what()).Emit();
          }
        }
        lock.lock();
        if (!current) lost_ = true;
      }
    });
  }
  ~Heartbeat() override {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Stage(const std::string& stage, int percent) override {
    std::lock_guard writing(write_mu_);
    {
      std::lock_guard lock(mu_);
      if (lost_) throw ClaimLostError("the job's lease was lost");
      stage_ = stage;
      percent_ = percent;
    }
    // Shown at once, not at the next beat; also tells whether the claim still holds.
    if (!queue_.Heartbeat(claim_, stage, percent, clock_())) {
      std::lock_guard lock(mu_);
      lost_ = true;
      throw ClaimLostError("the job's lease was lost");
    }
  }

 private:
  JobQueue& queue_;
  const Job claim_;
  const Clock& clock_;
  std::mutex write_mu_;  // held across each heartbeat write (taken before mu_)
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool lost_ = false;
  std::string stage_ = "claimed";
  int percent_ = 0;
  std::thread thread_;
};

std::string DefaultWorkerId() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return std::string(host) + "/" + std::to_string(getpid()) + "/" + NewUuid().substr(0, 8);
}

// The period of an indicator of `periodicity` that `date` falls in ("2027", "2027-Q3").
std::string PeriodOf(iv1::Periodicity periodicity, const CivilDate& date) {
  const auto p = periodicity == iv1::MONTHLY     ? indicators::Periodicity::kMonthly
                 : periodicity == iv1::QUARTERLY ? indicators::Periodicity::kQuarterly
                                                 : indicators::Periodicity::kYearly;
  return indicators::FormatPeriod(
      indicators::PeriodContaining({date.year, date.month, date.day}, p), p);
}

}  // namespace

std::string QuarterOf(const std::string& date) {
  const CivilDate d = CivilDate::Parse(date);
  return std::to_string(d.year) + "-Q" + std::to_string((d.month - 1) / 3 + 1);
}

std::string ReportTitle(ReportKind kind, int year, const std::string& convention_title) {
  switch (kind) {
    case ReportKind::kAnnualReview:
      return "Point d'étape " + std::to_string(year) + " — " + convention_title;
    case ReportKind::kIntermediateReview:
      return "Bilan intermédiaire — " + convention_title;
    case ReportKind::kFinalReview:
      return "Bilan final — " + convention_title;
  }
  return convention_title;
}

ServicesSource::ServicesSource(const SourceChannels& channels, ServiceIdentity& identity)
    : partners_(pv1::PartnerService::NewStub(channels.partners)),
      partners_client_(channels.partners, identity),
      plan_(av1::ActionPlanService::NewStub(channels.plan)),
      indicators_(iv1::IndicatorService::NewStub(channels.indicators)),
      consents_(cv1::ConsentService::NewStub(channels.consents)),
      identity_(identity) {}

Gathered ServicesSource::Gather(const Job& job, JobProgress& progress) {
  // One call as the service's identity; any failure fails the attempt (retried later)...
  auto call_status = [&](auto&& method, const auto& request, auto* response) {
    grpc::ClientContext context;
    identity_.Prepare(context, std::chrono::seconds(30));
    return method(&context, request, response);
  };
  auto call = [&](auto&& method, const auto& request, auto* response, const std::string& what) {
    const grpc::Status status = call_status(method, request, response);
    if (!status.ok()) ThrowDependencyError(status, what);
  };
  // ...except, for an optional part, the answer that it does not apply here: an indicator kept
  // at another level than the territory's has no progress or series (INVALID_ARGUMENT or
  // NOT_FOUND); false then.
  auto optional_call = [&](auto&& method, const auto& request, auto* response,
                           const std::string& what) {
    const grpc::Status status = call_status(method, request, response);
    if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
        status.error_code() == grpc::StatusCode::NOT_FOUND) {
      return false;
    }
    if (!status.ok()) ThrowDependencyError(status, what);
    return true;
  };
  v1::Report report;
  progress.Stage("gather", 10);
  pv1::GetConventionRequest get;
  get.set_name(job.key.convention);
  pv1::Convention convention;
  call([&](auto* c, const auto& r, auto* o) { return partners_->GetConvention(c, r, o); }, get,
       &convention, "convention " + job.key.convention);
  auto organisation = [&](const std::string& name) {
    pv1::GetOrganisationRequest req;
    req.set_name(name);
    pv1::Organisation out;
    call([&](auto* c, const auto& r, auto* o) { return partners_->GetOrganisation(c, r, o); }, req,
         &out, "organisation " + name);
    return out;
  };
  auto* cover = report.mutable_cover();
  cover->set_convention(convention.name());
  cover->set_convention_title(convention.title());
  const pv1::Organisation territory = organisation(convention.territory());
  cover->set_territory(territory.display_name());
  *cover->mutable_start_date() = convention.start_date();
  *cover->mutable_end_date() = convention.end_date();
  progress.Stage("gather", 25);
  for (const auto& p : convention.parties()) {
    const pv1::Organisation org = organisation(p.organisation());
    auto* party = report.add_parties();
    party->set_organisation(org.name());
    party->set_display_name(org.display_name());
    party->set_kind(pv1::OrganisationKind_Name(org.kind()));
    for (const auto& s : convention.signatures()) {
      if (s.organisation() != p.organisation()) continue;
      pv1::GetRepresentativeRequest req;
      req.set_name(s.representative());
      pv1::Representative who;
      call([&](auto* c, const auto& r, auto* o) { return partners_->GetRepresentative(c, r, o); },
           req, &who, "representative " + s.representative());
      party->add_signatories(who.person_name() + ", " + who.title());
    }
  }
  progress.Stage("gather", 45);
  std::string axes_token;
  do {
    av1::ListAxesRequest list;
    list.set_convention(job.key.convention);
    list.set_page_size(100);
    list.set_page_token(axes_token);
    av1::ListAxesResponse page;
    call([&](auto* c, const auto& r, auto* o) { return plan_->ListAxes(c, r, o); }, list, &page,
         "axes of " + job.key.convention);
    for (const auto& axis : page.axes()) *report.add_axes() = axis;
    axes_token = page.next_page_token();
  } while (!axes_token.empty());
  av1::GetTrackingTableRequest table;
  table.set_convention(job.key.convention);
  table.set_quarter(QuarterOf(job.key.cutoff));
  call([&](auto* c, const auto& r, auto* o) { return plan_->GetTrackingTable(c, r, o); }, table,
       report.mutable_tracking(), "tracking table of " + job.key.convention);
  for (const auto& row : report.tracking().rows()) {
    if (row.latest_report().demonstration()) report.set_demonstration(true);
  }
  report.set_title(ReportTitle(job.key.kind, job.key.year, convention.title()));
  progress.Stage("gather", 55);
  // The tracking table as the COPIL knows it, exported by the action plan itself.
  av1::ExportTrackingTableRequest xlsx;
  xlsx.set_convention(job.key.convention);
  xlsx.set_quarter(table.quarter());
  xlsx.set_format(av1::XLSX);
  av1::ExportedFile file;
  call([&](auto* c, const auto& r, auto* o) { return plan_->ExportTrackingTable(c, r, o); }, xlsx,
       &file, "tracking table export of " + job.key.convention);
  // Every indicator's progress on the territory, as known at the end of the cut-off day.
  const CivilDate cutoff = CivilDate::Parse(job.key.cutoff);
  const CivilDate start{convention.start_date().year(), convention.start_date().month(),
                        convention.start_date().day()};
  google::protobuf::Timestamp as_of;
  as_of.set_seconds((cutoff.ToDays() + 1) * 86400 - 1);
  std::string page_token;
  do {
    iv1::ListIndicatorsRequest list;
    list.set_page_size(100);
    list.set_page_token(page_token);
    iv1::ListIndicatorsResponse page;
    call([&](auto* c, const auto& r, auto* o) { return indicators_->ListIndicators(c, r, o); },
         list, &page, "indicator catalogue");
    for (const auto& indicator : page.indicators()) {
      iv1::GetProgressRequest req;
      req.set_indicator(indicator.name());
      req.set_territory(territory.siren());
      *req.mutable_as_of() = as_of;
      auto* line = report.add_indicators();
      line->set_code(indicator.code());
      line->set_label(indicator.label());
      line->set_unit(iv1::Unit_Name(indicator.unit()));
      *line->mutable_fields() = indicator.fields();
      if (!optional_call(
              [&](auto* c, const auto& r, auto* o) { return indicators_->GetProgress(c, r, o); },
              req, line->mutable_progress(), "progress of " + indicator.code())) {
        line->clear_progress();
      }
      iv1::GetSeriesRequest series;
      series.set_indicator(indicator.name());
      series.set_territory(territory.siren());
      series.set_from_period(PeriodOf(indicator.periodicity(), start));
      series.set_to_period(PeriodOf(indicator.periodicity(), cutoff));
      *series.mutable_as_of() = as_of;
      iv1::Series points;
      if (optional_call(
              [&](auto* c, const auto& r, auto* o) { return indicators_->GetSeries(c, r, o); },
              series, &points, "series of " + indicator.code())) {
        *line->mutable_series() = points.points();
        if (points.demonstration()) report.set_demonstration(true);
      }
      if (indicator.level() == iv1::COMMUNE) {
        iv1::CompareCommunesRequest compare;
        compare.set_indicator(indicator.name());
        compare.set_epci(territory.siren());
        compare.set_period(line->progress().latest_period().empty()
                               ? PeriodOf(indicator.periodicity(), cutoff)
                               : line->progress().latest_period());
        *compare.mutable_as_of() = as_of;
        if (!optional_call([&](auto* c, const auto& r,
                               auto* o) { return indicators_->CompareCommunes(c, r, o); },
                           compare, line->mutable_communes(),
                           "commune comparison of " + indicator.code())) {
          line->clear_communes();
        }
        if (line->communes().demonstration()) report.set_demonstration(true);
      }
      if (line->progress().demonstration()) report.set_demonstration(true);
    }
    page_token = page.next_page_token();
  } while (!page_token.empty());
  progress.Stage("gather", 57);
  // The exchange requests under the convention.
  auto* exchanges = report.mutable_exchanges();
  page_token.clear();
  do {
    cv1::ListExchangeRequestsRequest list;
    list.set_page_size(100);
    list.set_page_token(page_token);
    cv1::ListExchangeRequestsResponse page;
    call([&](auto* c, const auto& r, auto* o) { return consents_->ListExchangeRequests(c, r, o); },
         list, &page, "exchange requests");
    for (const auto& request : page.exchange_requests()) {
      if (request.convention() != job.key.convention) continue;
      (*exchanges->mutable_by_state())[cv1::ExchangeState_Name(request.state())] += 1;
      if (request.has_opinion() && request.opinion().verdict() != 0) {
        (*exchanges->mutable_opinions())[cv1::OpinionVerdict_Name(request.opinion().verdict())] +=
            1;
      }
      if (request.state() == cv1::ACTIVE) {
        auto* active = exchanges->add_active();
        active->set_request(request.name());
        active->set_title(request.title());
        active->set_requester(organisation(request.requester()).display_name());
        active->set_holder(organisation(request.holder()).display_name());
      }
      if (request.demonstration()) report.set_demonstration(true);
    }
    page_token = page.next_page_token();
  } while (!page_token.empty());
  // The petite enfance part: each AO collectivity, its competences, the facilities it supports
  // and the petite enfance actions it pilots.
  std::set<std::string> aos;
  try {
    aos = partners_client_.AoCollectivities(partners::FactsOf(convention), cutoff);
  } catch (const FailedPreconditionError& e) {
    report.set_petite_enfance_unavailable(e.what());
  }
  for (const auto& ao : aos) {
    auto* part = report.add_petite_enfance();
    part->set_collectivity(ao);
    const pv1::Organisation collectivity = organisation(ao);
    part->set_display_name(collectivity.display_name());
    const auto held = partners_client_.AoCompetencesOf(ao, cutoff);
    for (const auto& c : held.competences()) part->add_competences(c.reason());
    part->set_schema_pluriannuel_required(held.schema_pluriannuel_required());
    part->set_relais_petite_enfance_required(held.relais_petite_enfance_required());
    std::string facilities_token;
    do {
      pv1::ListFacilitiesRequest list;
      list.set_supporting_ao(ao);
      list.set_page_size(100);
      list.set_page_token(facilities_token);
      pv1::ListFacilitiesResponse page;
      call([&](auto* c, const auto& r, auto* o) { return partners_->ListFacilities(c, r, o); },
           list, &page, "facilities of " + ao);
      for (const auto& f : page.facilities()) {
        const bool opened = IsUnset(f.opening_date()) ||
                            CivilDate{f.opening_date().year(), f.opening_date().month(),
                                      f.opening_date().day()} <= cutoff;
        const bool closed = !IsUnset(f.closing_date()) &&
                            CivilDate{f.closing_date().year(), f.closing_date().month(),
                                      f.closing_date().day()} <= cutoff;
        if (!opened || closed) continue;
        auto* facility = part->add_facilities();
        facility->set_display_name(f.display_name());
        facility->set_kind(pv1::FacilityKind_Name(f.kind()));
        facility->set_capacity(f.capacity());
      }
      facilities_token = page.next_page_token();
    } while (!facilities_token.empty());
    for (const auto& row : report.tracking().rows()) {
      const auto& a = row.action();
      const bool petite_enfance =
          std::find(a.fields().begin(), a.fields().end(), av1::PETITE_ENFANCE) != a.fields().end();
      const bool pilots = std::find(a.pilots().begin(), a.pilots().end(), ao) != a.pilots().end();
      if (petite_enfance && pilots) {
        part->add_actions(std::to_string(a.number()) + " — " + a.title());
      }
    }
    CompletePetiteEnfancePart(
        *part, CollectivityPlace{ao == convention.territory(), collectivity.insee_code()}, report);
  }
  // Governance: the avenants signed by the cut-off, the COPIL.
  auto* governance = report.mutable_governance();
  for (const auto& amendment : convention.amendments()) {
    const auto& d = amendment.signed_on();
    if (CivilDate{d.year(), d.month(), d.day()} <= cutoff)
      *governance->add_amendments() = amendment;
  }
  pv1::CheckCopilCompositionRequest check;
  check.set_convention(convention.name());
  call([&](auto* c, const auto& r, auto* o) { return partners_->CheckCopilComposition(c, r, o); },
       check, governance->mutable_copil(), "COPIL of " + convention.name());
  std::string members_token;
  do {
    pv1::ListCopilMembersRequest list;
    list.set_convention(convention.name());
    list.set_page_size(100);
    list.set_page_token(members_token);
    pv1::ListCopilMembersResponse page;
    call([&](auto* c, const auto& r, auto* o) { return partners_->ListCopilMembers(c, r, o); },
         list, &page, "COPIL members of " + convention.name());
    governance->set_copil_members(governance->copil_members() + page.members_size());
    members_token = page.next_page_token();
  } while (!members_token.empty());
  Gathered out;
  out.report = std::move(report);
  out.artefacts.push_back({"tableau-de-suivi.xlsx", file.mime_type(), file.content(), ""});
  progress.Stage("gather", 60);
  return out;
}

ReportWorker::ReportWorker(ConnectionPool& pool, JobQueue& queue, ReportSource& source,
                           WorkerOptions options, Clock clock)
    : pool_(pool),
      queue_(queue),
      source_(source),
      options_(std::move(options)),
      clock_(std::move(clock)),
      random_(std::random_device{}()) {
  if (options_.id.empty()) options_.id = DefaultWorkerId();
}

ReportWorker::~ReportWorker() { Stop(); }

bool ReportWorker::RunOnce() {
  const auto claim = queue_.Claim(options_.id, clock_());
  if (!claim) return false;
  Run(*claim);
  return true;
}

void ReportWorker::Run(const Job& claim) {
  const auto started = std::chrono::steady_clock::now();
  auto stage_began = started;
  // Closes the stage that began at `stage_began` (metrics), and begins the next.
  auto stage_done = [&](const char* stage) {
    const auto now = std::chrono::steady_clock::now();
    if (options_.metrics != nullptr) {
      options_.metrics->Stage(claim.key.kind, stage,
                              std::chrono::duration<double>(now - stage_began).count());
    }
    stage_began = now;
  };
  std::string outcome = "succeeded";
  try {
    Heartbeat progress(queue_, claim, options_.heartbeat, clock_);
    Gathered gathered = source_.Gather(claim, progress);
    stage_done("gather");
    v1::Report& report = gathered.report;
    progress.Stage("render", 70);
    StoredReport stored;
    stored.id = NewUuid();
    stored.job_id = claim.id;
    stored.key = claim.key;
    stored.version = claim.version;
    stored.created_at = clock_();
    stored.demonstration = report.demonstration();
    report.set_name(ResourceName("reports", stored.id));
    report.set_kind(static_cast<v1::ReportKind>(claim.key.kind));
    report.set_year(claim.key.year);
    *report.mutable_cutoff() = CivilDate::Parse(claim.key.cutoff).ToProto();
    report.set_version(claim.version);
    *report.mutable_create_time() = TimestampAt(stored.created_at);
    google::protobuf::util::JsonPrintOptions json;
    json.add_whitespace = true;
    ArtefactFile file{"report.json", "application/json", "", ""};
    if (!google::protobuf::util::MessageToJsonString(report, &file.content, json).ok()) {
      throw std::runtime_error("the report cannot be written as JSON");
    }
    stored.artefacts.push_back(std::move(file));
    const ReportDocument document = BuildReportDocument(report);
    stored.artefacts.push_back({"rapport.pdf", "application/pdf", RenderPdf(document), ""});
    stored.artefacts.push_back(
        {"rapport.html", "text/html; charset=utf-8", RenderHtml(document), ""});
    for (auto& extra : gathered.artefacts) stored.artefacts.push_back(std::move(extra));
    stage_done("render");
    progress.Stage("write", 90);
    // The report and the job's success in one transaction, guarded by the claim.
    WithTransaction(pool_, [&](pqxx::work& tx) {
      SaveReport(tx, stored);
      if (!queue_.CompleteIn(tx, claim, ResourceName("reports", stored.id), clock_())) {
        throw ClaimLostError("the job's lease was lost before its report was written");
      }
    });
    stage_done("write");
    if (options_.metrics != nullptr) {
      options_.metrics->Success(
          claim.key.kind,
          std::chrono::duration<double>(stored.created_at.time_since_epoch()).count());
    }
  } catch (const ClaimLostError& e) {
    outcome = "claim_lost";
    LogLine("warn").Add("msg", "job dropped").Add("job", claim.id).Add("error", e.what()).Emit();
  } catch (const std::exception& e) {
    outcome = "failed";
    std::uniform_real_distribution<double> draw(0.0, 1.0);
    try {
      queue_.Fail(claim, e.what(), clock_(), draw(random_));
    } catch (const std::exception& again) {
      // The lease ends and the job comes back to the queue by itself.
      LogLine("error").Add("msg", "failure not recorded").Add("error", again.what()).Emit();
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (options_.metrics != nullptr) options_.metrics->Attempt(claim.key.kind, outcome, seconds);
  LogLine(outcome == "succeeded" ? "info" : "warn")
      .Add("msg", "report job")
      .Add("job", claim.id)
      .Add("attempt", int64_t(claim.attempt))
      .Add("outcome", outcome)
      .Add("worker", options_.id)
      .Add("duration_ms",
           std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
               .count())
      .Emit();
}

void ReportWorker::Start() {
  loop_ = std::thread([this] {
    while (true) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
      bool ran = false;
      try {
        ran = RunOnce();
      } catch (const std::exception& e) {
        LogLine("error").Add("msg", "claim failed").Add("error", e.what()).Emit();
      }
      if (!ran) {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, options_.idle_poll, [this] { return stopping_ || woken_; });
        woken_ = false;
      }
    }
  });
}

void ReportWorker::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void ReportWorker::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (loop_.joinable()) loop_.join();
}

}  // namespace ctg::reporting
