#include "common/api.h"

#include <google/protobuf/field_mask.pb.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <pqxx/except>

#include "common/auth.h"
#include "common/config.h"
#include "common/errors.h"
#include "common/rpc.h"
#include "ctg/partners/v1/partners.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace ctg {
namespace {

TEST(ResourceNameTest, ParsesOnlyItsCollection) {
  Violations v;
  EXPECT_EQ(ParseResourceName("organisations/0a1b2c3d-0000-4000-8000-00000000abcd", "organisations",
                              "name", v),
            "0a1b2c3d-0000-4000-8000-00000000abcd");
  EXPECT_FALSE(ParseResourceName("conventions/0a1b2c3d-0000-4000-8000-00000000abcd",
                                 "organisations", "a", v));
  EXPECT_FALSE(ParseResourceName("organisations/0A1B2C3D-0000-4000-8000-00000000ABCD",
                                 "organisations", "b", v));
  EXPECT_FALSE(ParseResourceName("", "organisations", "c", v));
  EXPECT_FALSE(ParseResourceName("", "organisations", "optional", v, /*required=*/false));
  EXPECT_EQ(v.fields(), (std::vector<std::string>{"a", "b", "c"}));
}

// Page tokens are signed and bound to their list: the same request gets its next page, an
// edited token, one of another list (other filters, another method) or one signed with another
// service's key is refused.
TEST(PageTokenTest, RoundTripsAndRejectsForgeriesAndOtherLists) {
  MethodPolicy list_orgs, list_reps;
  list_orgs.service = list_reps.service = "ctg.partners.v1.PartnerService";
  list_orgs.method = "ListOrganisations";
  list_reps.method = "ListRepresentatives";
  CallContext call;
  call.policy = &list_orgs;
  call.page_token_key = std::make_shared<const std::string>("0123456789abcdef0123456789abcdef");
  ::ctg::partners::v1::ListOrganisationsRequest request;
  request.set_kind(::ctg::partners::v1::COMMUNE);
  request.set_page_size(10);
  request.set_page_token(NextPageToken(call, request, 1234));
  Violations v;
  auto page = ParsePage(call, request, v);
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(page.size, 10);
  EXPECT_EQ(page.after, 1234);
  // The page size may change between pages: not part of the binding.
  request.set_page_size(0);
  EXPECT_EQ(ParsePage(call, request, v).size, 50);
  request.set_page_size(100000);
  EXPECT_EQ(ParsePage(call, request, v).size, 500);
  EXPECT_TRUE(v.empty());
  const std::string good = request.page_token();
  auto refused = [&](const CallContext& c, const ::ctg::partners::v1::ListOrganisationsRequest& r) {
    Violations w;
    ParsePage(c, r, w);
    return w.fields() == std::vector<std::string>{"page_token"};
  };
  // Another filter.
  auto other = request;
  other.set_kind(::ctg::partners::v1::EPCI);
  EXPECT_TRUE(refused(call, other));
  // Another method.
  CallContext reps = call;
  reps.policy = &list_reps;
  EXPECT_TRUE(refused(reps, request));
  // Another key (another service, or a forger).
  CallContext forger = call;
  forger.page_token_key = std::make_shared<const std::string>("another-key-0123456789abcdef0123");
  EXPECT_TRUE(refused(forger, request));
  // An edited token: another position with the old MAC, or garbage.
  auto decoded = *Base64UrlDecode(good);
  decoded[3] = decoded[3] == '1' ? '2' : '1';
  auto edited = request;
  edited.set_page_token(Base64UrlEncode(decoded));
  EXPECT_TRUE(refused(call, edited));
  edited.set_page_token("garbage!");
  EXPECT_TRUE(refused(call, edited));
  edited.set_page_token(Base64UrlEncode("p1:12"));  // the old unsigned form
  EXPECT_TRUE(refused(call, edited));
  auto negative = request;
  negative.set_page_token("");
  negative.set_page_size(-1);
  Violations n;
  ParsePage(call, negative, n);
  EXPECT_EQ(n.fields(), std::vector<std::string>{"page_size"});
}

TEST(EtagTest, StaleEtagThrowsAndEmptyIsUnconditional) {
  EXPECT_NO_THROW(CheckEtag(FormatEtag(3), 3));
  EXPECT_NO_THROW(CheckEtag("", 3));
  EXPECT_THROW(CheckEtag(FormatEtag(2), 3), StaleEtagError);
  EXPECT_THROW(CheckEtag("garbage", 3), StaleEtagError);
}

TEST(CivilDateTest, DaysRoundTripAndMonthArithmetic) {
  for (CivilDate d : {CivilDate{1970, 1, 1}, CivilDate{2024, 2, 29}, CivilDate{2029, 12, 31}}) {
    EXPECT_EQ(CivilDate::FromDays(d.ToDays()), d);
  }
  EXPECT_EQ((CivilDate{2025, 1, 31}.AddMonths(1)), (CivilDate{2025, 2, 28}));
  EXPECT_EQ((CivilDate{2024, 1, 31}.AddMonths(1)), (CivilDate{2024, 2, 29}));
  EXPECT_EQ((CivilDate{2025, 7, 15}.AddMonths(6)), (CivilDate{2026, 1, 15}));
  EXPECT_EQ(CivilDate::Parse("2026-01-01").ToString(), "2026-01-01");
  EXPECT_THROW(CivilDate::Parse("2026-1-1"), std::invalid_argument);
}

TEST(CivilDateTest, ValidatesProtoDates) {
  Violations v;
  EXPECT_TRUE(ParseDate(CivilDate{2025, 2, 28}.ToProto(), "ok", v, true));
  EXPECT_FALSE(ParseDate(CivilDate{2025, 2, 29}.ToProto(), "not_leap", v, true));
  EXPECT_FALSE(ParseDate(CivilDate{2025, 13, 1}.ToProto(), "month", v, true));
  EXPECT_FALSE(ParseDate(google::type::Date(), "missing", v, true));
  EXPECT_FALSE(ParseDate(google::type::Date(), "optional", v, false));
  EXPECT_EQ(v.fields(), (std::vector<std::string>{"not_leap", "month", "missing"}));
}

TEST(CheckTextTest, CountsCodePointsAndRefusesBadBytes) {
  Violations v;
  CheckText("Agmé", "accent", 1, 4, v);  // 4 code points, 5 bytes
  CheckText("", "empty", 1, 10, v);
  CheckText("abcde", "long", 1, 4, v);
  CheckText(
      "a\x01"
      "b",
      "control", 1, 10, v);
  CheckText("\xc3\x28", "utf8", 1, 10, v);
  EXPECT_EQ(v.fields(), (std::vector<std::string>{"empty", "long", "control", "utf8"}));
}

TEST(RequestIdTest, AcceptsEmptyOrUuid) {
  Violations v;
  CheckRequestId("", "a", v);
  CheckRequestId("6f1c8f5e-1f7a-4b35-9d0e-0c4a2f1b9e11", "b", v);
  CheckRequestId("12345", "c", v);
  EXPECT_EQ(v.fields(), (std::vector<std::string>{"c"}));
}

TEST(FieldMaskTest, EmptyMaskMeansFieldsSetInTheMessage) {
  google::rpc::BadRequest::FieldViolation message;  // any message with two string fields
  message.set_field("x");
  Violations v;
  auto fields = EffectiveMask(message, google::protobuf::FieldMask(), {"field", "description"}, v);
  EXPECT_EQ(fields, (std::set<std::string>{"field"}));
  google::protobuf::FieldMask mask;
  mask.add_paths("description");
  mask.add_paths("unknown");
  fields = EffectiveMask(message, mask, {"field", "description"}, v);
  EXPECT_EQ(fields, (std::set<std::string>{"description"}));
  EXPECT_EQ(v.fields(), (std::vector<std::string>{"update_mask"}));
}

TEST(PgValuesTest, ArrayLiteralsQuoteEveryElement) {
  EXPECT_EQ(PgArrayLiteral({}), "{}");
  EXPECT_EQ(PgArrayLiteral({"a", "b c", "d,\"e\"\\"}), R"({"a","b c","d,\"e\"\\"})");
}

TEST(PgValuesTest, ParsesJsonStringArraysAndRows) {
  EXPECT_EQ(ParseJsonStringArray(R"(["x", "y,z"])"), (std::vector<std::string>{"x", "y,z"}));
  EXPECT_EQ(ParseJsonStringRows(R"([["1", "a"], ["2", null]])"),
            (std::vector<std::vector<std::string>>{{"1", "a"}, {"2", ""}}));
  EXPECT_THROW(ParseJsonStringArray("[1]"), std::invalid_argument);
  EXPECT_THROW(ParseJsonStringRows(R"(["flat"])"), std::invalid_argument);
  EXPECT_THROW(ParseJsonStringArray("{"), std::invalid_argument);
}

TEST(ErrorMappingTest, DomainErrorsMapToTheirCodes) {
  std::string detail;
  auto code = [&](auto error) {
    return ToGrpcStatus(std::make_exception_ptr(error), &detail).error_code();
  };
  EXPECT_EQ(code(NotFoundError("x")), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(code(FailedPreconditionError("x")), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(code(StaleEtagError()), grpc::StatusCode::ABORTED);
  EXPECT_EQ(code(AlreadyExistsError("x")), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(code(PermissionDeniedError("x")), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(code(UnauthenticatedError("x")), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(code(pqxx::broken_connection("x")), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(code(UnavailableError("x")), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(code(std::runtime_error("boom")), grpc::StatusCode::INTERNAL);
}

TEST(ErrorMappingTest, SqlErrorsNeverLeakSqlText) {
  std::string detail;
  const std::string sql = "INSERT INTO secret_table VALUES (1)";
  auto status = ToGrpcStatus(
      std::make_exception_ptr(pqxx::unique_violation("duplicate key", sql, "23505")), &detail);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(status.error_message().find("secret_table"), std::string::npos);
  status = ToGrpcStatus(
      std::make_exception_ptr(pqxx::sql_error("syntax error at secret_table", sql, "42601")),
      &detail);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(status.error_message(), "internal error");
  EXPECT_NE(detail.find("42601"), std::string::npos);  // the log keeps the detail
}

TEST(ErrorMappingTest, ValidationCarriesBadRequestDetails) {
  std::string detail;
  auto status = ToGrpcStatus(std::make_exception_ptr(ValidationError(std::vector<FieldViolation>{
                                 {"a.b", "required"}, {"c", "too long"}})),
                             &detail);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::BadRequest bad;
  ASSERT_TRUE(details.details(0).UnpackTo(&bad));
  ASSERT_EQ(bad.field_violations_size(), 2);
  EXPECT_EQ(bad.field_violations(0).field(), "a.b");
  EXPECT_EQ(bad.field_violations(1).description(), "too long");
}

TEST(ConfigTest, FlagsWinOverEnvironmentAndBadValuesNameTheSetting) {
  setenv("CTG_DATABASE_URL", "dbname=from_env", 1);
  setenv("CTG_JWT_KEY", "k-0123456789-0123456789-0123456789", 1);
  const char* args[] = {"svc", "--database-url=dbname=from_flag", "--db-pool-size=4"};
  auto config = LoadServiceConfig(3, args);
  EXPECT_EQ(config.database_url, "dbname=from_flag");
  EXPECT_EQ(config.db_pool_size, 4);

  auto error_of = [](std::vector<const char*> argv) {
    try {
      LoadServiceConfig(static_cast<int>(argv.size()), argv.data());
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of({"svc", "--db-pool-size=0"}).find("--db-pool-size"), std::string::npos);
  EXPECT_NE(error_of({"svc", "--listen=nowhere"}).find("--listen"), std::string::npos);
  EXPECT_NE(error_of({"svc", "--bogus=1"}).find("--bogus"), std::string::npos);
  setenv("CTG_JWT_KEY", "short", 1);
  const auto key_error = error_of({"svc"});
  EXPECT_NE(key_error.find("CTG_JWT_KEY"), std::string::npos);
  EXPECT_EQ(key_error.find("short"), std::string::npos);  // never echo the secret
  // A public-keys file that holds no key is refused, naming the setting.
  const std::string no_keys = ::testing::TempDir() + "/no-keys.pem";
  { std::ofstream(no_keys) << "not a key\n"; }
  setenv("CTG_JWT_KEY", "k-0123456789-0123456789-0123456789", 1);
  EXPECT_NE(error_of({"svc", ("--jwt-public-keys-file=" + no_keys).c_str()})
                .find("--jwt-public-keys-file"),
            std::string::npos);
  unsetenv("CTG_DATABASE_URL");
  unsetenv("CTG_JWT_KEY");
  EXPECT_NE(error_of({"svc"}).find("--database-url"), std::string::npos);
}

TEST(TimestampTest, EpochTextKeepsMicrosecondsExact) {
  // 2026-12-01T10:42:30.974308Z: through a double the nanos come out as 974308013.
  auto ts = TimestampFromEpochText("1796121750.974308");
  ASSERT_TRUE(ts);
  EXPECT_EQ(ts->seconds(), 1796121750);
  EXPECT_EQ(ts->nanos(), 974308000);
  ts = TimestampFromEpochText("1796121750");
  ASSERT_TRUE(ts);
  EXPECT_EQ(ts->seconds(), 1796121750);
  EXPECT_EQ(ts->nanos(), 0);
  // Before 1970: seconds round down, nanos stay positive (google.protobuf.Timestamp's rule).
  ts = TimestampFromEpochText("-0.25");
  ASSERT_TRUE(ts);
  EXPECT_EQ(ts->seconds(), -1);
  EXPECT_EQ(ts->nanos(), 750000000);
  ts = TimestampFromEpochText("-86400");
  ASSERT_TRUE(ts);
  EXPECT_EQ(ts->seconds(), -86400);
  EXPECT_EQ(ts->nanos(), 0);
  // Digits past the nanosecond are dropped; exponent forms go through a double.
  ts = TimestampFromEpochText("1.0000000019");
  ASSERT_TRUE(ts);
  EXPECT_EQ(ts->nanos(), 1);
  ts = TimestampFromEpochText("1.5e+09");
  ASSERT_TRUE(ts);
  EXPECT_EQ(ts->seconds(), 1500000000);
  for (const char* bad : {"", "-", "abc", "12.3.4", "Infinity", "NaN", "1e999", " 12"}) {
    EXPECT_FALSE(TimestampFromEpochText(bad)) << bad;
  }
}

}  // namespace
}  // namespace ctg
