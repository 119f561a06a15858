// indicators_bench: bulk ingestion and the territorial queries of ctg-indicators next to the
// floors they compare with, in one run on this machine, with the real binaries (ctg-partners,
// ctg-indicators) on a real PostgreSQL (CTG_TEST_ADMIN_URL, set by `./ctg bench`):
//   ingestion: 1,000,000 values streamed through IndicatorService/IngestValues (1,000 values per
//              message, one batch) against the floor: a raw COPY of the very same rows (the text
//              the service writes, pre-built) into the same table with its index, through libpq
//              in one transaction. Two rounds, floor and API alternating on an emptied table;
//              the service's resident set before, after, and its peak (VmHWM), next to the
//              size of what was streamed (a stream is not buffered whole);
//   queries:   GetSeries over 20 quarters and CompareCommunes over 43 communes at 1 call in
//              flight, against PartnerService/GetOrganisation measured in the same run.
// Then one line per target of issue 11 with its verdict and the ratio.
// CTG_BENCH_SECONDS sets the length of each query run (default 3); CTG_BENCH_VALUES the number
// of values ingested (default 1,000,000); CTG_BENCH_EXPLAIN=1 prints the plans of the two query
// statements.
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "ctg/indicators/v1/indicators.grpc.pb.h"
#include "ctg/partners/v1/partners.grpc.pb.h"
#include "e2e_support.h"
#include "gateway/loadgen.h"
#include "indicators/indicator_repository.h"

using namespace ctg;
using namespace ctg::e2e;
using Serving = grpc::health::v1::HealthCheckResponse;
namespace pv1 = ::ctg::partners::v1;
namespace iv1 = ::ctg::indicators::v1;

namespace {

constexpr int kIndicators = 24;  // monthly, commune level
constexpr int kCommunes = 43;
constexpr int kValuesPerMessage = 1000;

// VmRSS / VmHWM of a process, in KiB.
long StatusKib(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::string(field).size());
  }
  return 0;
}

std::string Insee(int c) {
  char out[8];
  std::snprintf(out, sizeof out, "47%03d", c + 1);
  return out;
}

std::string Code(int i) {
  char out[16];
  std::snprintf(out, sizeof out, "BENCH_M%02d", i);
  return out;
}

// Value number n of the run: indicator, commune and month spread so that keys are distinct.
iv1::ValueInput NthValue(int64_t n) {
  const int indicator = static_cast<int>(n % kIndicators);
  const int commune = static_cast<int>((n / kIndicators) % kCommunes);
  const int month = static_cast<int>(n / (kIndicators * kCommunes));  // from 1920-01
  iv1::ValueInput v;
  v.set_indicator(Code(indicator));
  v.set_territory(Insee(commune));
  char period[16];
  std::snprintf(period, sizeof period, "%04d-%02d", 1920 + month / 12, month % 12 + 1);
  v.set_period(period);
  v.set_value(static_cast<double>(n % 997) + 0.5);
  v.set_status(iv1::FINAL);
  return v;
}

void Exec(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  const auto status = PQresultStatus(r);
  PQclear(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(sql + ": " + PQerrorMessage(c));
  }
}

// The floor: the same rows, as the COPY text the service sends, in one transaction.
double RawCopySeconds(const std::string& url, const std::string& text) {
  PGconn* c = PQconnectdb(url.c_str());
  if (PQstatus(c) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(c));
  const auto start = std::chrono::steady_clock::now();
  Exec(c, "BEGIN");
  PGresult* r = PQexec(c,
                       "COPY indicators.indicator_values (indicator, territory, period, "
                       "period_ord, value, status, source, demonstration, indicator_version, "
                       "batch_id, author, record_time) FROM STDIN");
  if (PQresultStatus(r) != PGRES_COPY_IN) throw std::runtime_error(PQerrorMessage(c));
  PQclear(r);
  for (size_t at = 0; at < text.size(); at += 1 << 20) {
    const size_t n = std::min<size_t>(1 << 20, text.size() - at);
    if (PQputCopyData(c, text.data() + at, static_cast<int>(n)) != 1) {
      throw std::runtime_error(PQerrorMessage(c));
    }
  }
  PQputCopyEnd(c, nullptr);
  r = PQgetResult(c);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) throw std::runtime_error(PQerrorMessage(c));
  PQclear(r);
  Exec(c, "COMMIT");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  PQfinish(c);
  return seconds;
}

void EmptyValues(const std::string& url) {
  PGconn* c = PQconnectdb(url.c_str());
  Exec(c, "TRUNCATE indicators.indicator_values, indicators.ingest_batches");
  Exec(c, "CHECKPOINT");
  PQfinish(c);
}

gateway::LoadResult Query(const std::string& target, const std::string& method,
                          const google::protobuf::Message& request, const std::string& token,
                          int seconds) {
  return gateway::RunFor(target, method, request.SerializeAsString(), token, 1, seconds);
}

// p50 in microseconds of the service's own prepared statement `name` run with `params` by libpq
// on gRPC-free bare connection, one at a time for `seconds`: the floor under a query RPC.
double StatementP50(const std::string& url, const std::string& name,
                    const std::vector<std::string>& params, int seconds) {
  const char* sql = nullptr;
  for (const auto& st : ctg::indicators::IndicatorStatements()) {
    if (name == st.name) sql = st.sql;
  }
  PGconn* c = PQconnectdb(url.c_str());
  Exec(c, "SET search_path = indicators");
  PGresult* r = PQprepare(c, "s", sql, 0, nullptr);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) throw std::runtime_error(PQerrorMessage(c));
  PQclear(r);
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  std::vector<double> us;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    const auto start = std::chrono::steady_clock::now();
    r = PQexecPrepared(c, "s", static_cast<int>(values.size()), values.data(), nullptr, nullptr, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) throw std::runtime_error(PQerrorMessage(c));
    PQclear(r);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  if (std::getenv("CTG_BENCH_EXPLAIN")) {
    std::string explain = "EXPLAIN (ANALYZE, BUFFERS) EXECUTE s(";
    for (size_t i = 0; i < params.size(); ++i) {
      explain += (i ? ", '" : "'") + params[i] + "'";
    }
    r = PQexec(c, (explain + ")").c_str());
    for (int i = 0; i < PQntuples(r); ++i) std::printf("  %s\n", PQgetvalue(r, i, 0));
    PQclear(r);
  }
  PQfinish(c);
  std::sort(us.begin(), us.end());
  return us.empty() ? 0 : us[us.size() / 2];
}

void Print(const char* label, const gateway::LoadResult& r) {
  std::printf("%-44s %s\n", label, gateway::FormatLoadResult(r).c_str());
  if (!r.first_error.empty()) std::printf("  first error: %s\n", r.first_error.c_str());
}

}  // namespace

int main() {
  const int seconds =
      std::getenv("CTG_BENCH_SECONDS") ? std::atoi(std::getenv("CTG_BENCH_SECONDS")) : 3;
  const int64_t total =
      std::getenv("CTG_BENCH_VALUES") ? std::atoll(std::getenv("CTG_BENCH_VALUES")) : 1000000;
  EmptyDatabase db;
  PartnersProcess partners(db.url());
  if (!partners.WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) {
    std::fprintf(stderr, "ctg-partners did not become healthy: %s\n", partners.log().c_str());
    return 1;
  }
  IndicatorsProcess indicators(db.url(), partners.address());
  if (!indicators.WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) {
    std::fprintf(stderr, "ctg-indicators did not become healthy: %s\n", indicators.log().c_str());
    return 1;
  }

  // ---- the territory: an EPCI, 43 communes, a Caf and their convention
  auto partners_stub = pv1::PartnerService::NewStub(partners.channel());
  const std::string registry = Token({"registry_admin"});
  auto create = [&](pv1::OrganisationKind kind, const std::string& name, const std::string& insee,
                    const std::string& siren, const std::string& parent,
                    const std::string& departement) {
    pv1::CreateOrganisationRequest req;
    auto* o = req.mutable_organisation();
    o->set_kind(kind);
    o->set_display_name(name);
    o->set_insee_code(insee);
    o->set_siren(siren);
    o->set_parent_epci(parent);
    o->set_departement(departement);
    if (kind == pv1::COMMUNE) {
      auto* p = o->add_populations();
      p->set_vintage(2023);
      p->set_municipale(1000);
    }
    pv1::Organisation out;
    const auto s = partners_stub->CreateOrganisation(Context(registry).get(), req, &out);
    if (!s.ok()) throw std::runtime_error(name + ": " + s.error_message());
    return out.name();
  };
  const std::string epci = create(pv1::EPCI, "Agglomération", "", "200030674", "", "47");
  std::vector<std::string> parties = {epci};
  for (int c = 0; c < kCommunes; ++c) {
    parties.push_back(create(pv1::COMMUNE, "Commune " + Insee(c), Insee(c), "", epci, ""));
  }
  const std::string caf = create(pv1::CAF, "Caf", "", "", "", "47");
  parties.push_back(caf);
  const std::string caf_token = Token({"caf_agent"}, caf);
  {
    pv1::CreateConventionRequest req;
    auto* c = req.mutable_convention();
    c->set_title("CTG");
    c->set_territory(epci);
    c->mutable_start_date()->set_year(2025);
    c->mutable_start_date()->set_month(1);
    c->mutable_start_date()->set_day(1);
    c->mutable_end_date()->set_year(2029);
    c->mutable_end_date()->set_month(12);
    c->mutable_end_date()->set_day(31);
    for (const auto& p : parties) c->add_parties()->set_organisation(p);
    pv1::Convention out;
    const auto s = partners_stub->CreateConvention(Context(caf_token).get(), req, &out);
    if (!s.ok()) throw std::runtime_error("convention: " + s.error_message());
  }
  auto stub = iv1::IndicatorService::NewStub(indicators.channel());
  auto define = [&](const std::string& code, iv1::Periodicity periodicity) {
    iv1::CreateIndicatorRequest req;
    auto* i = req.mutable_indicator();
    i->set_code(code);
    i->set_label("Indicateur " + code);
    i->set_kind(iv1::REALISATION);
    i->set_unit(iv1::COUNT);
    i->set_periodicity(periodicity);
    i->set_level(iv1::COMMUNE);
    i->set_aggregation(iv1::SUM);
    i->set_source(iv1::CAF);
    i->mutable_bounds()->set_hard_min(0);
    iv1::Indicator out;
    const auto s = stub->CreateIndicator(Context(caf_token).get(), req, &out);
    if (!s.ok()) throw std::runtime_error(code + ": " + s.error_message());
  };
  for (int i = 0; i < kIndicators; ++i) define(Code(i), iv1::MONTHLY);
  define("BENCH_Q", iv1::QUARTERLY);

  // ---- the values, built before any clock starts: the stream's messages, and the COPY text of
  // the same rows (the line ValueWriter sends, with this run's batch id, author and time)
  std::vector<iv1::IngestValuesRequest> messages;
  size_t stream_bytes = 0;
  for (int64_t n = 0; n < total;) {
    iv1::IngestValuesRequest req;
    for (int k = 0; k < kValuesPerMessage && n < total; ++k, ++n) *req.add_values() = NthValue(n);
    stream_bytes += req.ByteSizeLong();
    messages.push_back(std::move(req));
  }
  std::string copy_text;
  copy_text.reserve(static_cast<size_t>(total) * 110);
  for (int64_t n = 0; n < total; ++n) {
    const auto v = NthValue(n);
    const int month = static_cast<int>(n / (kIndicators * kCommunes));
    const int year = 1920 + month / 12;
    const int ordinal = year * 12 + month % 12;
    char value[32];
    std::snprintf(value, sizeof value, "%.17g", v.value());
    copy_text += v.indicator() + '\t' + v.territory() + '\t' + v.period() + '\t' +
                 std::to_string(ordinal) + '\t' + value + "\t2\t1\tf\t1\t" +
                 "7e1f0a4c-2b3d-4e5f-8a9b-0c1d2e3f4a5b\tcaf-agent\t2026-12-01 12:00:00.000000+00\n";
  }

  const pid_t pid = indicators.process().pid();
  std::printf(
      "indicators_bench: %lld values, %d per message, %.1f MB streamed, COPY text %.1f MB\n",
      static_cast<long long>(total), kValuesPerMessage, stream_bytes / 1e6, copy_text.size() / 1e6);
  // Streams the first `count` prepared messages as batch `batch` (the last one marked
  // complete); the seconds it took.
  auto ingest = [&](size_t count, const std::string& batch, int64_t expected) -> double {
    const auto start = std::chrono::steady_clock::now();
    auto context = Context(caf_token, std::chrono::seconds(600));
    iv1::IngestValuesResponse response;
    auto writer = stub->IngestValues(context.get(), &response);
    messages[0].set_batch_id(batch);
    for (auto& m : messages) m.set_complete(false);
    messages[count - 1].set_complete(true);
    for (size_t i = 0; i < count; ++i) {
      if (!writer->Write(messages[i])) break;
    }
    writer->WritesDone();
    const auto status = writer->Finish();
    if (!status.ok() || response.values_written() != expected) {
      std::fprintf(stderr, "ingestion failed: %s (%lld written)\n%s\n",
                   status.error_message().c_str(),
                   static_cast<long long>(response.values_written()), indicators.log().c_str());
      std::exit(1);
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  // Resets the process's peak resident set (VmHWM) to its current one.
  auto reset_peak = [&] { std::ofstream("/proc/" + std::to_string(pid) + "/clear_refs") << "5"; };

  const long rss_before = StatusKib(pid, "VmRSS:");
  // A quarter of the run first: a stream buffered whole would need four times the memory for
  // the whole run; a bounded one about the same.
  const size_t quarter = messages.size() / 4;
  EmptyValues(db.url());
  reset_peak();
  ingest(quarter, "5d1c9a6e-3b7f-4e21-8a90-0c1d2e3f4a10",
         static_cast<int64_t>(quarter) * kValuesPerMessage);
  const long quarter_peak = StatusKib(pid, "VmHWM:");
  reset_peak();
  std::vector<double> floor_rates, api_rates;
  for (int round = 0; round < 2; ++round) {
    EmptyValues(db.url());
    const double floor_seconds = RawCopySeconds(db.url(), copy_text);
    floor_rates.push_back(total / floor_seconds);
    EmptyValues(db.url());
    char batch[40];
    std::snprintf(batch, sizeof batch, "5d1c9a6e-3b7f-4e21-8a90-0c1d2e3f4a%02d", round);
    const double api_seconds = ingest(messages.size(), batch, total);
    api_rates.push_back(total / api_seconds);
    std::printf(
        "round %d: raw COPY %8.0f rows/s (%.2f s)   IngestValues %8.0f values/s (%.2f s)"
        "   ctg-indicators RSS after: %ld KiB\n",
        round + 1, floor_rates.back(), floor_seconds, api_rates.back(), api_seconds,
        StatusKib(pid, "VmRSS:"));
  }
  const long rss_after = StatusKib(pid, "VmRSS:");
  const long rss_peak = StatusKib(pid, "VmHWM:");
  std::printf(
      "ctg-indicators resident set: before %ld KiB, after %ld KiB; peak %ld KiB streaming "
      "a quarter of the values, %ld KiB streaming them all (%.0f KiB per batch)\n",
      rss_before, rss_after, quarter_peak, rss_peak, stream_bytes / 1024.0);

  // ---- queries: a quarterly series over 20 quarters of the 43 communes
  {
    auto context = Context(caf_token, std::chrono::seconds(60));
    iv1::IngestValuesResponse response;
    auto writer = stub->IngestValues(context.get(), &response);
    iv1::IngestValuesRequest req;
    req.set_batch_id("5d1c9a6e-3b7f-4e21-8a90-0c1d2e3f4aff");
    req.set_complete(true);
    for (int c = 0; c < kCommunes; ++c) {
      for (int q = 0; q < 20; ++q) {
        auto* v = req.add_values();
        v->set_indicator("BENCH_Q");
        v->set_territory(Insee(c));
        v->set_period(std::to_string(2021 + q / 4) + "-Q" + std::to_string(q % 4 + 1));
        v->set_value(c * 10 + q);
        v->set_status(iv1::FINAL);
      }
    }
    writer->Write(req);
    writer->WritesDone();
    if (!writer->Finish().ok()) return 1;
  }
  pv1::GetOrganisationRequest get;
  get.set_name(caf);
  iv1::GetSeriesRequest series;
  series.set_indicator("indicators/BENCH_Q");
  series.set_territory(Insee(0));
  series.set_from_period("2021-Q1");
  series.set_to_period("2025-Q4");
  iv1::CompareCommunesRequest compare;
  compare.set_indicator("indicators/BENCH_Q");
  compare.set_epci("200030674");
  compare.set_period("2025-Q4");
  const auto org1 = Query(partners.address(), "/ctg.partners.v1.PartnerService/GetOrganisation",
                          get, caf_token, seconds);
  const auto series1 = Query(indicators.address(), "/ctg.indicators.v1.IndicatorService/GetSeries",
                             series, caf_token, seconds);
  const auto compare1 =
      Query(indicators.address(), "/ctg.indicators.v1.IndicatorService/CompareCommunes", compare,
            caf_token, seconds);
  // The statements those two RPCs run, alone through libpq: what the database itself takes.
  std::string communes_array = "{";
  for (int c = 0; c < kCommunes; ++c) communes_array += (c ? "," : "") + Insee(c);
  communes_array += "}";
  const std::string now_micros =
      std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count());
  const double series_sql_us = StatementP50(
      db.url(), "find_with_series",
      {"BENCH_Q", Insee(0), std::to_string(2021 * 4), std::to_string(2025 * 4 + 3), now_micros},
      seconds);
  const double compare_sql_us =
      StatementP50(db.url(), "find_with_values",
                   {"BENCH_Q", communes_array, std::to_string(2025 * 4 + 3),
                    std::to_string(2025 * 4 + 3), now_micros},
                   seconds);
  Print("GetOrganisation (floor), 1 in flight", org1);
  Print("GetSeries 20 quarters, 1 in flight", series1);
  Print("CompareCommunes 43 communes, 1 in flight", compare1);
  std::printf("%-44s p50=%.0fus\n", "  its statement alone (libpq, same database)", compare_sql_us);
  std::printf("%-44s p50=%.0fus\n", "GetSeries' statement alone (libpq)", series_sql_us);

  // ---- verdicts
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0 : s / v.size();
  };
  const double floor_rate = mean(floor_rates), api_rate = mean(api_rates);
  const double ratio = api_rate / floor_rate;
  std::printf("\ntargets (issue 11):\n");
  std::printf("  ingestion through the API >= 0.5 x raw COPY: %.0f vs %.0f values/s = %.2fx  %s\n",
              api_rate, floor_rate, ratio, ratio >= 0.5 ? "MET" : "NOT MET");
  // Buffering a stream whole would take at least its size on the wire (several times that as
  // parsed messages): the peak's growth must stay below it.
  const long growth_all = rss_peak - rss_before, growth_quarter = quarter_peak - rss_before;
  std::printf(
      "  resident set bounded: peak %+ld KiB over the start for all the values, %+ld KiB "
      "for a quarter (a whole %.0f KiB stream buffered would scale 4x)  %s\n",
      growth_all, growth_quarter, stream_bytes / 1024.0,
      growth_all < 2 * std::max(growth_quarter, 8192L) &&
              growth_all < static_cast<long>(stream_bytes / 1024)
          ? "MET"
          : "NOT MET");
  const double series_ratio = series1.p50_us / org1.p50_us;
  const double compare_ratio = compare1.p50_us / org1.p50_us;
  std::printf("  GetSeries p50 <= 2 x GetOrganisation p50: %.0f vs %.0f us = %.2fx  %s\n",
              series1.p50_us, org1.p50_us, series_ratio, series_ratio <= 2 ? "MET" : "NOT MET");
  std::printf("  CompareCommunes p50 <= 2 x GetOrganisation p50: %.0f vs %.0f us = %.2fx  %s\n",
              compare1.p50_us, org1.p50_us, compare_ratio, compare_ratio <= 2 ? "MET" : "NOT MET");
  std::printf(
      "    (its statement alone %.0f us, GetSeries' %.0f us: the service adds %.0f and "
      "%.0f us)\n",
      compare_sql_us, series_sql_us, compare1.p50_us - compare_sql_us,
      series1.p50_us - series_sql_us);
  return 0;
}
