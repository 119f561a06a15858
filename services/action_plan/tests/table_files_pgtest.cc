// ExportTrackingTable / ImportTrackingTable over real gRPC on a real PostgreSQL, with the real
// partners service in-process.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "action_plan/plan_rules.h"
#include "action_plan/service.h"
#include "action_plan/table_format.h"
#include "action_plan/tests/plan_fixture.h"
#include "common/api.h"
#include "common/testing/test_database.h"
#include "common/testing/test_host.h"
#include "partners/service.h"

namespace ctg::action_plan {
namespace {

namespace pv1 = ::ctg::partners::v1;
using ::ctg::testing::AuthedContext;
using ::ctg::testing::TestToken;
using ::ctg::testing::ViolatedFields;
using ::testing::Contains;
using ::testing::UnorderedElementsAre;

// A quarter of the convention period that has begun.
constexpr const char* kQuarter = "2025-Q3";

class TableFilesTest : public ActionPlanServiceTest {
 protected:
  // A convention of three parties with one axis and three actions: 1 and 2 piloted by
  // Marmande, 3 by Tonneins; action 1 reported on in kQuarter, action 2 in an earlier quarter,
  // action 3 never.
  void SetUp() override {
    ActionPlanServiceTest::SetUp();
    actions_ = {CreateAction(1, marmande_), CreateAction(2, marmande_), CreateAction(3, tonneins_)};
    Report(actions_[0], kQuarter, v1::IN_PROGRESS, 40, "Réunion, puis \"bilan\"\nen juin",
           "=pas une formule");
    Report(actions_[1], "2025-Q1", v1::DELAYED, 10, "-5 bénévoles", "");
  }

  std::string CreateAction(int number, const std::string& pilot) {
    v1::CreateActionRequest req;
    auto* a = req.mutable_action();
    a->set_convention(convention_);
    a->set_axis(axis_);
    a->set_number(number);
    a->set_title("Action " + std::to_string(number));
    a->add_pilots(pilot);
    a->add_fields(v1::PETITE_ENFANCE);
    *a->mutable_planned_start() = CivilDate{2025, 1, 1}.ToProto();
    *a->mutable_planned_end() = CivilDate{2027, 12, 31}.ToProto();
    v1::Action out;
    EXPECT_TRUE(stub_->CreateAction(AuthedContext(Secretariat()).get(), req, &out).ok());
    return out.name();
  }

  void Report(const std::string& action, const std::string& quarter, v1::ActionStatus status,
              int completion, const std::string& progress, const std::string& difficulties) {
    v1::CreateProgressReportRequest req;
    auto* r = req.mutable_report();
    r->set_action(action);
    r->set_quarter(quarter);
    r->set_status(status);
    r->set_completion_percent(completion);
    r->set_progress(progress);
    r->set_difficulties(difficulties);
    v1::ProgressReport out;
    ASSERT_TRUE(stub_->CreateProgressReport(AuthedContext(Secretariat()).get(), req, &out).ok());
  }

  grpc::Status Export(v1::FileFormat format, v1::ExportedFile* out,
                      const std::string& token = Secretariat()) {
    v1::ExportTrackingTableRequest req;
    req.set_convention(convention_);
    req.set_quarter(kQuarter);
    req.set_format(format);
    return stub_->ExportTrackingTable(AuthedContext(token).get(), req, out);
  }

  std::string ExportOk(v1::FileFormat format) {
    v1::ExportedFile file;
    const auto status = Export(format, &file);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return file.content();
  }

  grpc::Status Import(v1::FileFormat format, const std::string& content,
                      v1::ImportTrackingTableResponse* out,
                      const std::string& token = Secretariat(), const std::string& request_id = "",
                      const std::string& quarter = kQuarter) {
    v1::ImportTrackingTableRequest req;
    req.set_convention(convention_);
    req.set_quarter(quarter);
    req.set_format(format);
    req.set_content(content);
    req.set_request_id(request_id);
    return stub_->ImportTrackingTable(AuthedContext(token).get(), req, out);
  }

  // The rows of an export, to be edited and written back.
  std::vector<TableRow> RowsOf(v1::FileFormat format, const std::string& content) {
    const auto file = ReadTableFile(format, content);
    EXPECT_TRUE(file.errors.empty());
    std::vector<TableRow> rows;
    for (const auto& r : file.rows) rows.push_back(r.cells);
    return rows;
  }

  static std::string Write(v1::FileFormat format, const std::vector<TableRow>& rows) {
    return format == v1::XLSX ? WriteXlsx(rows, kQuarter, std::chrono::system_clock::time_point())
                              : WriteCsv(rows);
  }

  // Every revision of every action, newest first per action.
  std::vector<v1::ProgressReport> AllReports() {
    std::vector<v1::ProgressReport> out;
    for (const auto& action : actions_) {
      v1::ListProgressReportsRequest req;
      req.set_action(action);
      req.set_page_size(500);
      v1::ListProgressReportsResponse resp;
      EXPECT_TRUE(stub_->ListProgressReports(AuthedContext(Secretariat()).get(), req, &resp).ok());
      std::vector<v1::ProgressReport> reports(resp.reports().begin(), resp.reports().end());
      std::sort(reports.begin(), reports.end(), [](const auto& a, const auto& b) {
        return std::make_pair(a.quarter(), a.revision()) >
               std::make_pair(b.quarter(), b.revision());
      });
      out.insert(out.end(), reports.begin(), reports.end());
    }
    return out;
  }

  // What an import leaves: quarter, revision, status, completion and texts of every report.
  std::vector<std::string> ReportSummary() {
    std::vector<std::string> out;
    for (const auto& r : AllReports()) {
      out.push_back(r.quarter() + "#" + std::to_string(r.revision()) + " " +
                    v1::ActionStatus_Name(r.status()) + " " +
                    std::to_string(r.completion_percent()) + " " + r.implementation() + "|" +
                    r.progress() + "|" + r.difficulties() + "|" + r.next_steps() + "|" +
                    r.reason());
    }
    return out;
  }

  static void Set(TableRow& row, TableColumn column, const std::string& value) {
    row[static_cast<int>(column)] = value;
  }

  std::vector<std::string> actions_;
};

TEST_F(TableFilesTest, ExportsBothFormatsWithNamesAndMimeTypes) {
  v1::ExportedFile xlsx, csv;
  ASSERT_TRUE(Export(v1::XLSX, &xlsx, AgentOf(tonneins_)).ok());  // any party reads
  EXPECT_EQ(xlsx.file_name(), "suivi-ctg-2025-Q3.xlsx");
  EXPECT_EQ(xlsx.mime_type(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
  EXPECT_EQ(xlsx.content().substr(0, 2), "PK");
  ASSERT_TRUE(Export(v1::CSV, &csv).ok());
  EXPECT_EQ(csv.file_name(), "suivi-ctg-2025-Q3.csv");
  EXPECT_EQ(csv.mime_type(), "text/csv; charset=utf-8");
  EXPECT_THAT(csv.content(), ::testing::HasSubstr("N° action,Axe,Intitulé"));
  EXPECT_THAT(csv.content(), ::testing::HasSubstr(",'=pas une formule,"));  // neutralised

  const auto rows = RowsOf(v1::CSV, csv.content());
  EXPECT_EQ(rows, RowsOf(v1::XLSX, xlsx.content()));  // one layout
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][static_cast<int>(TableColumn::kStatus)], "En cours");
  EXPECT_EQ(rows[0][static_cast<int>(TableColumn::kCompletion)], "40");
  EXPECT_EQ(rows[0][static_cast<int>(TableColumn::kMissingUpdate)], "Non");
  EXPECT_EQ(rows[1][static_cast<int>(TableColumn::kStatus)], "Retardée");  // pre-filled
  EXPECT_EQ(rows[1][static_cast<int>(TableColumn::kMissingUpdate)], "Oui");
  EXPECT_EQ(rows[2][static_cast<int>(TableColumn::kStatus)], "");
  for (const auto& row : rows) {  // pilots by their official names, not resource names
    EXPECT_THAT(row[static_cast<int>(TableColumn::kPilots)],
                ::testing::AnyOf("Marmande", "Tonneins"));
  }
  EXPECT_EQ(rows[2][static_cast<int>(TableColumn::kAxis)],
            "Axe 1 : Garantir l'équité d'accès et la qualité des accueils");

  v1::ExportedFile denied;
  EXPECT_EQ(Export(v1::XLSX, &denied, AgentOf(outsider_)).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Export(v1::FILE_FORMAT_UNSPECIFIED, &denied).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(TableFilesTest, ReimportingTheExportChangesNothing) {
  const auto before = ReportSummary();
  for (auto format : {v1::XLSX, v1::CSV}) {
    v1::ImportTrackingTableResponse resp;
    const auto status = Import(format, ExportOk(format), &resp, AgentOf(marmande_));
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(resp.reports_created(), 0);
    EXPECT_EQ(resp.rows_unchanged(), 3);
  }
  EXPECT_EQ(ReportSummary(), before);
}

TEST_F(TableFilesTest, AModifiedFileCreatesRevisionsOnce) {
  auto rows = RowsOf(v1::CSV, ExportOk(v1::CSV));
  Set(rows[0], TableColumn::kCompletion, "55");
  Set(rows[0], TableColumn::kNextSteps, "Bilan au COPIL");
  Set(rows[1], TableColumn::kStatus, "En cours");
  const auto file = Write(v1::CSV, rows);
  v1::ImportTrackingTableResponse resp;
  const auto status = Import(v1::CSV, file, &resp, AgentOf(marmande_));
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.reports_created(), 2);
  EXPECT_EQ(resp.rows_unchanged(), 1);
  const auto reports = AllReports();
  ASSERT_EQ(reports.size(), 4u);
  EXPECT_EQ(reports[0].quarter(), kQuarter);
  EXPECT_EQ(reports[0].revision(), 2);  // a correction of the quarter, history kept
  EXPECT_EQ(reports[0].completion_percent(), 55);
  EXPECT_EQ(reports[0].next_steps(), "Bilan au COPIL");
  EXPECT_EQ(reports[0].progress(), "Réunion, puis \"bilan\"\nen juin");
  EXPECT_EQ(reports[0].difficulties(), "=pas une formule");
  EXPECT_EQ(reports[0].author(), "agent");
  EXPECT_EQ(reports[1].revision(), 1);
  EXPECT_EQ(reports[2].quarter(), kQuarter);  // action 2: first report of the quarter
  EXPECT_EQ(reports[2].status(), v1::IN_PROGRESS);
  EXPECT_EQ(reports[2].progress(), "-5 bénévoles");

  // The same file again, or the new export, changes nothing.
  const auto after = ReportSummary();
  ASSERT_TRUE(Import(v1::CSV, file, &resp, AgentOf(marmande_)).ok());
  EXPECT_EQ(resp.reports_created(), 0);
  EXPECT_EQ(resp.rows_unchanged(), 3);
  ASSERT_TRUE(Import(v1::XLSX, ExportOk(v1::XLSX), &resp, AgentOf(marmande_)).ok());
  EXPECT_EQ(resp.reports_created(), 0);
  EXPECT_EQ(ReportSummary(), after);
}

TEST_F(TableFilesTest, XlsxAndCsvGiveTheSameImportResult) {
  auto scenario = [this](v1::FileFormat format) {
    SetUp();  // a fresh database and plan
    auto rows = RowsOf(format, ExportOk(format));
    Set(rows[0], TableColumn::kStatus, "Réalisée");
    Set(rows[0], TableColumn::kCompletion, "100");
    Set(rows[0], TableColumn::kImplementation, "@équipe petite enfance, + partenaires");
    Set(rows[2], TableColumn::kStatus, "Bloquée");
    Set(rows[2], TableColumn::kCompletion, "5");
    Set(rows[2], TableColumn::kDifficulties, "Local indisponible\nrelance en septembre");
    v1::ImportTrackingTableResponse resp;
    const auto status = Import(format, Write(format, rows), &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return std::make_pair(resp.SerializeAsString(), ReportSummary());
  };
  const auto xlsx = scenario(v1::XLSX);
  const auto csv = scenario(v1::CSV);
  EXPECT_EQ(xlsx.first, csv.first);
  EXPECT_EQ(xlsx.second, csv.second);
  EXPECT_EQ(xlsx.second.size(), 4u);
}

TEST_F(TableFilesTest, ABadFileWritesNothingAndListsRowErrors) {
  const auto before = ReportSummary();
  auto rows = RowsOf(v1::CSV, ExportOk(v1::CSV));
  Set(rows[0], TableColumn::kCompletion, "55");  // a valid change, not written either
  Set(rows[1], TableColumn::kStatus, "Terminée");
  Set(rows[2], TableColumn::kStatus, "En cours");
  Set(rows[2], TableColumn::kCompletion, "150");
  auto unknown = rows[2];
  Set(unknown, TableColumn::kNumber, "99");
  Set(unknown, TableColumn::kCompletion, "10");
  rows.push_back(unknown);
  v1::ImportTrackingTableResponse resp;
  auto status = Import(v1::CSV, WriteCsv(rows), &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status),
              UnorderedElementsAre("rows[3].status", "rows[4].completion_percent"));
  rows.erase(rows.begin() + 1, rows.begin() + 3);
  status =
      Import(v1::XLSX, WriteXlsx(rows, kQuarter, std::chrono::system_clock::time_point()), &resp);
  EXPECT_THAT(ViolatedFields(status), UnorderedElementsAre("rows[3].number"));  // action 99

  // Formula injection in CSV, another quarter, a CSV declared as XLSX, junk, wrong columns.
  const std::string header = WriteCsv({}).substr(3);
  status = Import(v1::CSV, header + "1,,,,2025-Q3,En cours,=40+15,,,,,,,\r\n", &resp);
  EXPECT_THAT(ViolatedFields(status), UnorderedElementsAre("rows[2].completion_percent"));
  status = Import(v1::CSV, header + "1,,,,2025-Q2,En cours,40,,,,,,,\r\n", &resp);
  EXPECT_THAT(ViolatedFields(status), UnorderedElementsAre("rows[2].quarter"));
  status = Import(v1::XLSX, ExportOk(v1::CSV), &resp);
  EXPECT_THAT(ViolatedFields(status), UnorderedElementsAre("content"));
  status = Import(v1::CSV, std::string(kMaxTableFileBytes + 1, 'x'), &resp);
  EXPECT_THAT(ViolatedFields(status), UnorderedElementsAre("content"));
  status = Import(v1::CSV, "Action,Statut\r\n1,En cours\r\n", &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status), Contains("rows[1].number"));
  status = Import(v1::CSV, header + "1,,,,2025-Q3,En cours,40,caf\xE9,,,,,,\r\n", &resp);
  EXPECT_THAT(ViolatedFields(status), UnorderedElementsAre("rows[2].implementation"));
  // A future quarter is refused before the file is read.
  const auto future = Quarter::Of(kToday.AddMonths(3)).ToString();
  status = Import(v1::CSV, ExportOk(v1::CSV), &resp, Secretariat(), "", future);
  EXPECT_THAT(ViolatedFields(status), UnorderedElementsAre("quarter"));
  EXPECT_EQ(ReportSummary(), before);
}

TEST_F(TableFilesTest, LeavingAbandonedNeedsAMotif) {
  Report(actions_[2], kQuarter, v1::ABANDONED, 0, "", "");
  const auto before = ReportSummary();
  auto rows = RowsOf(v1::CSV, ExportOk(v1::CSV));
  Set(rows[2], TableColumn::kStatus, "En cours");
  v1::ImportTrackingTableResponse resp;
  auto status = Import(v1::CSV, WriteCsv(rows), &resp);
  EXPECT_THAT(ViolatedFields(status), UnorderedElementsAre("rows[4].reason"));
  EXPECT_EQ(ReportSummary(), before);
  Set(rows[2], TableColumn::kReason, "relancée par le COPIL");
  status = Import(v1::CSV, WriteCsv(rows), &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.reports_created(), 1);
  EXPECT_EQ(AllReports().size(), before.size() + 1);
  EXPECT_EQ(AllReports()[before.size() - 1].revision(), 2);  // newest of action 3 first
}

TEST_F(TableFilesTest, AnotherCommunesAgentIsDeniedAndNothingIsWritten) {
  const auto before = ReportSummary();
  auto rows = RowsOf(v1::XLSX, ExportOk(v1::XLSX));
  Set(rows[0], TableColumn::kCompletion, "90");    // Marmande's action
  Set(rows[2], TableColumn::kStatus, "En cours");  // Tonneins' own action
  Set(rows[2], TableColumn::kCompletion, "10");
  v1::ImportTrackingTableResponse resp;
  EXPECT_EQ(Import(v1::XLSX, WriteXlsx(rows, kQuarter, std::chrono::system_clock::time_point()),
                   &resp, AgentOf(tonneins_))
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Import(v1::XLSX, WriteXlsx(rows, kQuarter, std::chrono::system_clock::time_point()),
                   &resp, AgentOf(outsider_))
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReportSummary(), before);
  // Unchanged rows of other pilots' actions do not stand in the way.
  Set(rows[0], TableColumn::kCompletion, "40");
  const auto status =
      Import(v1::XLSX, WriteXlsx(rows, kQuarter, std::chrono::system_clock::time_point()), &resp,
             AgentOf(tonneins_));
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.reports_created(), 1);
  EXPECT_EQ(resp.rows_unchanged(), 2);
}

TEST_F(TableFilesTest, RequestIdMakesAnImportIdempotent) {
  auto rows = RowsOf(v1::CSV, ExportOk(v1::CSV));
  Set(rows[0], TableColumn::kCompletion, "60");
  const std::string id = "5b0c7e2a-3f1d-4c8e-9a6b-2d4f8e1c0a37";
  v1::ImportTrackingTableResponse first, second;
  ASSERT_TRUE(Import(v1::CSV, WriteCsv(rows), &first, Secretariat(), id).ok());
  // A retry of the same file returns the first result.
  ASSERT_TRUE(Import(v1::CSV, WriteCsv(rows), &second, Secretariat(), id).ok());
  EXPECT_EQ(first.reports_created(), 1);
  EXPECT_EQ(second.reports_created(), 1);
  EXPECT_EQ(second.rows_unchanged(), 2);
  // Another file under the same key is refused: a request id names one request.
  Set(rows[0], TableColumn::kCompletion, "70");
  v1::ImportTrackingTableResponse third;
  const auto status = Import(v1::CSV, WriteCsv(rows), &third, Secretariat(), id);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status), ::testing::ElementsAre("request_id"));
  EXPECT_EQ(AllReports().size(), 3u);
  EXPECT_EQ(AllReports()[0].completion_percent(), 60);
}

}  // namespace
}  // namespace ctg::action_plan
