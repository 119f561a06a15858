// End-to-end test of the real ctg-indicators binary with the real ctg-partners binary it reads
// the registry from and the real ctg-gateway in front, on an empty throwaway database: values
// streamed through the gateway (client streaming forwarded as a stream), series read back
// through it, the service's metrics, and `ctgctl load-indicators` loading the VGA catalogue
// with its demonstration values (a re-run is a no-op).
#include <gtest/gtest.h>

#include <filesystem>

#include "ctg/indicators/v1/indicators.grpc.pb.h"
#include "ctg/partners/v1/partners.grpc.pb.h"
#include "e2e_support.h"

namespace ctg::e2e {
namespace {

namespace v1 = ::ctg::indicators::v1;
namespace pv1 = ::ctg::partners::v1;
using grpc::health::v1::HealthCheckResponse;
using std::chrono::seconds;

class IndicatorsBinaryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new EmptyDatabase();
    partners_ = new PartnersProcess(db_->url());
    ASSERT_TRUE(partners_->WaitForHealth(HealthCheckResponse::SERVING, seconds(30)))
        << partners_->log();
    indicators_ = new IndicatorsProcess(db_->url(), partners_->address());
    ASSERT_TRUE(indicators_->WaitForHealth(HealthCheckResponse::SERVING, seconds(30)))
        << indicators_->log();
    gateway_ = new GatewayProcess(
        PartnersRoutes({partners_->address()}) +
            "ctg.indicators.v1.IndicatorService = " + indicators_->address() + "\n",
        partners_->key_file(), {"--rate-limit-rps=0"});
    ASSERT_TRUE(gateway_->WaitForHealth(HealthCheckResponse::SERVING, seconds(30)))
        << gateway_->log();
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete indicators_;
    delete partners_;
    delete db_;
  }

  static inline EmptyDatabase* db_ = nullptr;
  static inline PartnersProcess* partners_ = nullptr;
  static inline IndicatorsProcess* indicators_ = nullptr;
  static inline GatewayProcess* gateway_ = nullptr;
};

TEST_F(IndicatorsBinaryTest, TheVgaCatalogueLoadsAndReadsBackThroughTheGateway) {
  const std::string document = std::string(CTG_SOURCE_DIR) + "/deploy/seed/vga/convention.json";
  const std::string communes = std::string(CTG_SHARED_DIR) + "/data/vga_communes.csv";
  if (!std::filesystem::exists(communes)) GTEST_SKIP() << "no " << communes;
  const CommandResult imported =
      RunCtgctl({"import-convention", "--addr", partners_->address(), "--token",
                 Token({"registry_admin"}), "--document", document, "--communes", communes});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  const std::string caf = LineValue(imported.out, "  caf : ");
  ASSERT_EQ(caf.rfind("organisations/", 0), 0u) << imported.out;
  const std::string caf_token = Token({"caf_agent"}, caf);
  const std::vector<std::string> load = {
      "load-indicators",
      "--addr",
      gateway_->address(),
      "--partners-addr",
      partners_->address(),
      "--action-plan-addr",
      "127.0.0.1:1",
      "--token",
      caf_token,
      "--catalogue",
      std::string(CTG_SOURCE_DIR) + "/deploy/seed/vga/indicators.json"};
  const CommandResult first = RunCtgctl(load);
  ASSERT_EQ(first.exit_code, 0) << first.err << indicators_->log();
  EXPECT_NE(first.out.find("définitions : 13 créée(s)"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("enregistrée(s) pour 43 communes"), std::string::npos) << first.out;
  // The same load again creates nothing and writes nothing.
  const CommandResult again = RunCtgctl(load);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("0 créée(s), 13 déjà présente(s)"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("(déjà enregistrées)"), std::string::npos) << again.out;

  // The TCG of the EPCI, evaluated from the 43 communes' demonstration values, via the gateway.
  auto stub = v1::IndicatorService::NewStub(gateway_->channel());
  v1::GetSeriesRequest series_req;
  series_req.set_indicator("indicators/TCG");
  series_req.set_territory("200030674");
  series_req.set_from_period("2025");
  series_req.set_to_period("2026");
  v1::Series series;
  ASSERT_TRUE(stub->GetSeries(Context(caf_token).get(), series_req, &series).ok());
  ASSERT_EQ(series.points_size(), 2);
  EXPECT_TRUE(series.points(0).has_value());
  EXPECT_GT(series.points(0).value(), 40);
  EXPECT_LT(series.points(0).value(), 100);
  EXPECT_TRUE(series.demonstration());

  v1::CompareCommunesRequest compare;
  compare.set_indicator("indicators/CHILDREN_UNDER_3");
  compare.set_epci("200030674");
  compare.set_period("2025");
  v1::CommuneComparison comparison;
  ASSERT_TRUE(stub->CompareCommunes(Context(caf_token).get(), compare, &comparison).ok());
  EXPECT_EQ(comparison.total_communes(), 43);
  EXPECT_EQ(comparison.reporting_communes(), 43);
  EXPECT_EQ(comparison.communes(0).display_name(), "Marmande");

  // A correction streamed through the gateway by the Caf, in two messages.
  {
    auto context = Context(caf_token);
    v1::IngestValuesResponse response;
    auto writer = stub->IngestValues(context.get(), &response);
    v1::IngestValuesRequest req;
    req.set_batch_id("5d1c9a6e-3b7f-4e21-8a90-0c1d2e3f4a5b");
    auto* v = req.add_values();
    v->set_indicator("EAJE_PLACES");
    v->set_territory("47157");
    v->set_period("2025");
    v->set_value(999);
    v->set_status(v1::FINAL);
    ASSERT_TRUE(writer->Write(req));
    v1::IngestValuesRequest last;
    last.set_complete(true);
    ASSERT_TRUE(writer->Write(last));
    writer->WritesDone();
    const auto status = writer->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message() << gateway_->log();
    EXPECT_EQ(response.values_written(), 1);
  }
  series_req.set_indicator("indicators/EAJE_PLACES");
  series_req.set_territory("47157");
  ASSERT_TRUE(stub->GetSeries(Context(caf_token).get(), series_req, &series).ok());
  EXPECT_EQ(series.points(0).value(), 999);
  EXPECT_EQ(series.points(0).revisions(), 1);
  // A collectivity role on an organisation that is no territory's source writes nothing:
  // refused through the gateway, by the service's own rule.
  const std::string not_a_source = Token({"collectivity_agent"}, caf);
  {
    auto context = Context(not_a_source);
    v1::IngestValuesResponse response;
    auto writer = stub->IngestValues(context.get(), &response);
    v1::IngestValuesRequest req;
    req.set_batch_id("5d1c9a6e-3b7f-4e21-8a90-0c1d2e3f4a5c");
    req.set_complete(true);
    auto* v = req.add_values();
    v->set_indicator("EAJE_PLACES");
    v->set_territory("47310");
    v->set_period("2025");
    v->set_value(1);
    v->set_status(v1::FINAL);
    writer->Write(req);
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  // The stream's calls are counted like any other.
  const std::string metrics = HttpGet(indicators_->metrics_port(), "/metrics");
  EXPECT_NE(metrics.find("grpc_method=\"IngestValues\""), std::string::npos);
  EXPECT_NE(metrics.find("process_resident_memory_bytes"), std::string::npos);
}

}  // namespace
}  // namespace ctg::e2e
