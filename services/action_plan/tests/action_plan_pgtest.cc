// The action plan service over real gRPC on a real PostgreSQL, with the real partners service
// (in-process, same database, its own schema) answering its convention and organisation checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <pqxx/pqxx>
#include <thread>

#include "action_plan/plan_rules.h"
#include "action_plan/service.h"
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
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

class ActionPlanTest : public ActionPlanServiceTest {
 protected:
  v1::Axis CreateAxisOk(int number, const std::string& title) {
    v1::CreateAxisRequest req;
    req.mutable_axis()->set_convention(convention_);
    req.mutable_axis()->set_number(number);
    req.mutable_axis()->set_title(title);
    v1::Axis out;
    EXPECT_TRUE(stub_->CreateAxis(AuthedContext(Secretariat()).get(), req, &out).ok());
    return out;
  }

  v1::Action ActionDraft(int number, const std::string& pilot) {
    v1::Action a;
    a.set_convention(convention_);
    a.set_axis(axis_);
    a.set_number(number);
    a.set_title("Action " + std::to_string(number));
    a.add_pilots(pilot);
    a.add_fields(v1::PETITE_ENFANCE);
    *a.mutable_planned_start() = CivilDate{2025, 1, 1}.ToProto();
    *a.mutable_planned_end() = CivilDate{2025, 12, 31}.ToProto();
    return a;
  }

  grpc::Status CreateAction(const v1::Action& a, v1::Action* out,
                            const std::string& token = Secretariat(),
                            const std::string& request_id = "") {
    v1::CreateActionRequest req;
    *req.mutable_action() = a;
    req.set_request_id(request_id);
    return stub_->CreateAction(AuthedContext(token).get(), req, out);
  }

  grpc::Status Report(const std::string& action, const std::string& quarter,
                      v1::ActionStatus status, int completion, const std::string& token,
                      v1::ProgressReport* out, const std::string& reason = "") {
    v1::CreateProgressReportRequest req;
    auto* r = req.mutable_report();
    r->set_action(action);
    r->set_quarter(quarter);
    r->set_status(status);
    r->set_completion_percent(completion);
    r->set_progress("avancement " + quarter);
    r->set_reason(reason);
    return stub_->CreateProgressReport(AuthedContext(token).get(), req, out);
  }

  int CountActions() {
    v1::ListActionsRequest req;
    req.set_convention(convention_);
    req.set_page_size(500);
    v1::ListActionsResponse resp;
    EXPECT_TRUE(stub_->ListActions(AuthedContext(Secretariat()).get(), req, &resp).ok());
    return resp.actions_size();
  }
};

TEST_F(ActionPlanTest, CreateGetListAndUpdateActions) {
  v1::Action created;
  auto draft = ActionDraft(1, marmande_);
  auto* f = draft.add_fundings();
  f->set_organisation(epci_);
  f->set_year(2025);
  f->set_planned_cents(1250000);
  draft.add_milestones()->set_title("Diagnostic partagé");
  draft.add_objectives(R"(Un "schéma", {révisé} \ chaque année)");
  draft.add_indicators("TCG");
  ASSERT_TRUE(CreateAction(draft, &created).ok());
  ASSERT_EQ(created.objectives_size(), 1);  // quotes, commas, braces, backslash survive arrays
  EXPECT_EQ(created.objectives(0), R"(Un "schéma", {révisé} \ chaque année)");
  EXPECT_THAT(created.indicators(), ElementsAre("TCG"));
  EXPECT_THAT(created.fields(), ElementsAre(v1::PETITE_ENFANCE));
  EXPECT_THAT(created.pilots(), ElementsAre(marmande_));
  EXPECT_EQ(created.status(), v1::NOT_STARTED);
  ASSERT_EQ(created.fundings_size(), 1);
  EXPECT_EQ(created.fundings(0).planned_cents(), 1250000);
  ASSERT_EQ(created.milestones_size(), 1);

  v1::GetActionRequest get;
  get.set_name(created.name());
  v1::Action fetched;
  ASSERT_TRUE(stub_->GetAction(AuthedContext(AgentOf(tonneins_)).get(), get, &fetched).ok());
  EXPECT_EQ(fetched.title(), "Action 1");

  v1::UpdateActionRequest update;
  update.mutable_action()->set_name(created.name());
  update.mutable_action()->set_title("Élaborer un Schéma Pluriannuel");
  update.mutable_action()->set_etag(created.etag());
  update.mutable_update_mask()->add_paths("title");
  v1::Action updated;
  ASSERT_TRUE(stub_->UpdateAction(AuthedContext(Secretariat()).get(), update, &updated).ok());
  EXPECT_EQ(updated.title(), "Élaborer un Schéma Pluriannuel");
  EXPECT_EQ(updated.fundings_size(), 1);  // untouched by the mask
  EXPECT_EQ(stub_->UpdateAction(AuthedContext(Secretariat()).get(), update, &updated).error_code(),
            grpc::StatusCode::ABORTED);

  ASSERT_TRUE(CreateAction(ActionDraft(2, tonneins_), &created).ok());
  v1::ListActionsRequest list;
  list.set_convention(convention_);
  list.set_pilot(tonneins_);
  v1::ListActionsResponse listed;
  ASSERT_TRUE(stub_->ListActions(AuthedContext(Secretariat()).get(), list, &listed).ok());
  ASSERT_EQ(listed.actions_size(), 1);
  EXPECT_EQ(listed.actions(0).number(), 2);
}

TEST_F(ActionPlanTest, BadActionsWriteNothing) {
  v1::Action out;
  auto bad = ActionDraft(0, "organisations/nope");
  bad.set_title("");
  auto status = CreateAction(bad, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status),
              UnorderedElementsAre("action.number", "action.title", "action.pilots[0]"));

  auto unknown_pilot = ActionDraft(1, "organisations/00000000-0000-4000-8000-000000000009");
  EXPECT_EQ(CreateAction(unknown_pilot, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  auto unknown_convention = ActionDraft(1, marmande_);
  unknown_convention.set_convention("conventions/00000000-0000-4000-8000-000000000009");
  EXPECT_EQ(CreateAction(unknown_convention, &out).error_code(), grpc::StatusCode::NOT_FOUND);

  ASSERT_TRUE(CreateAction(ActionDraft(1, marmande_), &out).ok());
  EXPECT_EQ(CreateAction(ActionDraft(1, tonneins_), &out).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);  // duplicate number in the convention
  EXPECT_EQ(CountActions(), 1);
}

TEST_F(ActionPlanTest, AxesUpdateWithEtagsAndUniqueNumbers) {
  const auto second = CreateAxisOk(2, "Accompagner la parentalité dans une logique de parcours");
  v1::UpdateAxisRequest update;
  update.mutable_axis()->set_name(second.name());
  update.mutable_axis()->set_number(1);  // taken by the first axis
  update.mutable_update_mask()->add_paths("number");
  v1::Axis out;
  EXPECT_EQ(stub_->UpdateAxis(AuthedContext(Secretariat()).get(), update, &out).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  update.mutable_axis()->set_number(3);
  update.mutable_axis()->set_etag(second.etag());
  ASSERT_TRUE(stub_->UpdateAxis(AuthedContext(Secretariat()).get(), update, &out).ok());
  EXPECT_EQ(out.number(), 3);
  EXPECT_EQ(stub_->UpdateAxis(AuthedContext(Secretariat()).get(), update, &out).error_code(),
            grpc::StatusCode::ABORTED);  // the etag is stale now
  v1::GetAxisRequest get;
  get.set_name("axes/00000000-0000-4000-8000-000000000009");
  EXPECT_EQ(stub_->GetAxis(AuthedContext(Secretariat()).get(), get, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ListAxesRequest list;
  list.set_convention(convention_);
  list.set_page_size(1);
  v1::ListAxesResponse page;
  ASSERT_TRUE(stub_->ListAxes(AuthedContext(Secretariat()).get(), list, &page).ok());
  EXPECT_EQ(page.axes_size(), 1);
  EXPECT_FALSE(page.next_page_token().empty());
  list.set_page_token("forged");
  EXPECT_THAT(ViolatedFields(stub_->ListAxes(AuthedContext(Secretariat()).get(), list, &page)),
              ElementsAre("page_token"));
}

TEST_F(ActionPlanTest, ListFiltersByStatus) {
  v1::Action a, b;
  ASSERT_TRUE(CreateAction(ActionDraft(1, marmande_), &a).ok());
  ASSERT_TRUE(CreateAction(ActionDraft(2, tonneins_), &b).ok());
  v1::ProgressReport r;
  ASSERT_TRUE(Report(b.name(), "2025-Q2", v1::BLOCKED, 10, Secretariat(), &r).ok());
  v1::ListActionsRequest list;
  list.set_convention(convention_);
  list.set_status(v1::BLOCKED);
  v1::ListActionsResponse resp;
  ASSERT_TRUE(stub_->ListActions(AuthedContext(Secretariat()).get(), list, &resp).ok());
  ASSERT_EQ(resp.actions_size(), 1);
  EXPECT_EQ(resp.actions(0).name(), b.name());
  EXPECT_EQ(resp.actions(0).status(), v1::BLOCKED);
}

TEST_F(ActionPlanTest, RequestIdMakesCreateIdempotent) {
  v1::Action a, b;
  const std::string id = "7d1c8f5e-1f7a-4b35-9d0e-0c4a2f1b9e22";
  ASSERT_TRUE(CreateAction(ActionDraft(1, marmande_), &a, Secretariat(), id).ok());
  ASSERT_TRUE(CreateAction(ActionDraft(1, marmande_), &b, Secretariat(), id).ok());
  EXPECT_EQ(a.name(), b.name());
  EXPECT_EQ(CountActions(), 1);
}

TEST_F(ActionPlanTest, OnlyTheSecretariatAndTheCafChangeThePlan) {
  v1::Action out;
  EXPECT_EQ(CreateAction(ActionDraft(1, marmande_), &out, AgentOf(marmande_)).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A Caf agent without an organisation, or of another Caf, does not even see the plan.
  EXPECT_EQ(CreateAction(ActionDraft(1, marmande_), &out, TestToken({Role::kCafAgent}, "", "caf"))
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(CreateAction(ActionDraft(1, marmande_), &out, CafAgent()).ok());
  v1::UpdateActionRequest update;
  update.mutable_action()->set_name(out.name());
  update.mutable_action()->set_title("Pirated");
  update.mutable_update_mask()->add_paths("title");
  v1::Action ignored;
  EXPECT_EQ(
      stub_->UpdateAction(AuthedContext(AgentOf(marmande_)).get(), update, &ignored).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  v1::UpdateAxisRequest axis_update;
  axis_update.mutable_axis()->set_name(axis_);
  axis_update.mutable_axis()->set_title("Pirated");
  axis_update.mutable_update_mask()->add_paths("title");
  v1::Axis axis_after;
  EXPECT_EQ(stub_->UpdateAxis(AuthedContext(AgentOf(marmande_)).get(), axis_update, &axis_after)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::GetAxisRequest get_axis;
  get_axis.set_name(axis_);
  ASSERT_TRUE(stub_->GetAxis(AuthedContext(AgentOf(marmande_)).get(), get_axis, &axis_after).ok());
  EXPECT_EQ(axis_after.title(), "Garantir l'équité d'accès et la qualité des accueils");
  EXPECT_EQ(
      stub_->GetAxis(AuthedContext(AgentOf(outsider_)).get(), get_axis, &axis_after).error_code(),
      grpc::StatusCode::NOT_FOUND);
  v1::CreateAxisRequest axis;
  axis.mutable_axis()->set_convention(convention_);
  axis.mutable_axis()->set_number(2);
  axis.mutable_axis()->set_title("Parentalité");
  v1::Axis axis_out;
  EXPECT_EQ(
      stub_->CreateAxis(AuthedContext(AgentOf(marmande_)).get(), axis, &axis_out).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  // A commune outside the convention does not even read it (AIP-211).
  v1::GetActionRequest get;
  get.set_name(out.name());
  EXPECT_EQ(stub_->GetAction(AuthedContext(AgentOf(outsider_)).get(), get, &ignored).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(CountActions(), 1);
}

TEST_F(ActionPlanTest, PilotsReportProgressAndRevisionsNeverOverwrite) {
  v1::Action action;
  ASSERT_TRUE(CreateAction(ActionDraft(1, marmande_), &action).ok());
  v1::ProgressReport r1, r2, denied;
  ASSERT_TRUE(Report(action.name(), "2025-Q1", v1::IN_PROGRESS, 20, AgentOf(marmande_), &r1).ok());
  EXPECT_EQ(r1.revision(), 1);
  EXPECT_EQ(r1.author(), "agent");
  ASSERT_TRUE(Report(action.name(), "2025-Q1", v1::IN_PROGRESS, 25, Secretariat(), &r2).ok());
  EXPECT_EQ(r2.revision(), 2);
  EXPECT_EQ(Report(action.name(), "2025-Q2", v1::IN_PROGRESS, 30, AgentOf(tonneins_), &denied)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  v1::ListProgressReportsRequest list;
  list.set_action(action.name());
  list.set_quarter("2025-Q1");
  v1::ListProgressReportsResponse history;
  ASSERT_TRUE(stub_->ListProgressReports(AuthedContext(Secretariat()).get(), list, &history).ok());
  ASSERT_EQ(history.reports_size(), 2);
  EXPECT_EQ(history.reports(0).completion_percent(), 20);  // the first revision is still there
  EXPECT_EQ(history.reports(1).completion_percent(), 25);

  // Direct SQL cannot rewrite history either.
  pqxx::connection conn(db_->url());
  pqxx::work tx(conn);
  EXPECT_THROW(tx.exec("UPDATE action_plan.progress_reports SET completion_percent = 99"),
               pqxx::sql_error);
}

TEST_F(ActionPlanTest, RefusesBadReports) {
  v1::Action action;
  ASSERT_TRUE(CreateAction(ActionDraft(1, marmande_), &action).ok());
  v1::ProgressReport out;
  auto status = Report(action.name(), "2024-Q4", v1::IN_PROGRESS, 10, Secretariat(), &out);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("report.quarter"));  // before the period
  const auto future = Quarter::Of(kToday.AddMonths(3)).ToString();
  status = Report(action.name(), future, v1::IN_PROGRESS, 10, Secretariat(), &out);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("report.quarter"));
  status = Report(action.name(), "2025-Q1", v1::IN_PROGRESS, 101, Secretariat(), &out);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("report.completion_percent"));
  ASSERT_TRUE(Report(action.name(), "2025-Q1", v1::ABANDONED, 10, Secretariat(), &out).ok());
  EXPECT_EQ(Report(action.name(), "2025-Q2", v1::IN_PROGRESS, 10, Secretariat(), &out).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(Report(action.name(), "2025-Q2", v1::IN_PROGRESS, 10, Secretariat(), &out,
                     "relancée par le COPIL")
                  .ok());
  status = Report("actions/00000000-0000-4000-8000-000000000009", "2025-Q1", v1::IN_PROGRESS, 1,
                  Secretariat(), &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ActionPlanTest, TrackingTableFlagsAndRollsUp) {
  v1::Action reported, silent, achieved;
  ASSERT_TRUE(CreateAction(ActionDraft(1, marmande_), &reported).ok());
  ASSERT_TRUE(CreateAction(ActionDraft(2, tonneins_), &silent).ok());
  auto continuous = ActionDraft(3, marmande_);
  continuous.clear_planned_end();
  continuous.set_continuous(true);
  continuous.set_weight(2);
  ASSERT_TRUE(CreateAction(continuous, &achieved).ok());
  v1::ProgressReport out;
  ASSERT_TRUE(Report(reported.name(), "2026-Q1", v1::IN_PROGRESS, 40, Secretariat(), &out).ok());
  ASSERT_TRUE(Report(achieved.name(), "2025-Q4", v1::ACHIEVED, 100, Secretariat(), &out).ok());

  v1::GetTrackingTableRequest req;
  req.set_convention(convention_);
  req.set_quarter("2026-Q1");
  v1::TrackingTable table;
  ASSERT_TRUE(stub_->GetTrackingTable(AuthedContext(AgentOf(tonneins_)).get(), req, &table).ok());
  ASSERT_EQ(table.rows_size(), 3);
  EXPECT_FALSE(table.rows(0).missing_update());
  EXPECT_TRUE(table.rows(0).late());  // planned end 2025-12-31 passed, in progress
  EXPECT_TRUE(table.rows(1).missing_update());
  EXPECT_TRUE(table.rows(1).late());
  EXPECT_TRUE(table.rows(2).missing_update());  // last report in 2025-Q4
  EXPECT_FALSE(table.rows(2).late());
  EXPECT_EQ(table.rows(2).action().status(), v1::ACHIEVED);
  ASSERT_EQ(table.axes_size(), 1);
  EXPECT_DOUBLE_EQ(table.axes(0).completion_percent(), (40.0 + 0.0 + 2 * 100.0) / 4);
  EXPECT_EQ(table.plan().achieved(), 1);
  EXPECT_EQ(table.plan().late(), 2);

  req.set_quarter("2031-Q1");
  EXPECT_THAT(
      ViolatedFields(stub_->GetTrackingTable(AuthedContext(Secretariat()).get(), req, &table)),
      ElementsAre("quarter"));
  req.set_quarter("2026-Q1");
  EXPECT_EQ(
      stub_->GetTrackingTable(AuthedContext(AgentOf(outsider_)).get(), req, &table).error_code(),
      grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace ctg::action_plan

namespace ctg::action_plan {
namespace {

// AIP-211: an object the caller may not read answers exactly like one that does not exist, so a
// stranger cannot learn whether a convention's axis, action or plan exists.
TEST_F(ActionPlanTest, AStrangerCannotTellAnUnreadableObjectFromAMissingOne) {
  v1::Action action;
  ASSERT_TRUE(CreateAction(ActionDraft(1, marmande_), &action).ok());
  const std::string missing_uuid = "00000000-0000-4000-8000-000000000000";
  const auto stranger = AgentOf(outsider_);
  // Replaces the uuid of `name` in `message` by a placeholder.
  auto normalise = [](std::string message, const std::string& name) {
    const auto id = name.substr(name.find('/') + 1);
    for (size_t at; (at = message.find(id)) != std::string::npos;) {
      message.replace(at, id.size(), "<id>");
    }
    return message;
  };
  auto same = [&](const std::function<grpc::Status(const std::string&)>& call,
                  const std::string& existing, const std::string& missing) {
    const auto a = call(existing), b = call(missing);
    EXPECT_EQ(a.error_code(), grpc::StatusCode::NOT_FOUND) << existing;
    EXPECT_EQ(a.error_code(), b.error_code()) << existing;
    EXPECT_EQ(normalise(a.error_message(), existing), normalise(b.error_message(), missing));
  };
  same(
      [&](const std::string& name) {
        v1::GetAxisRequest req;
        req.set_name(name);
        v1::Axis out;
        return stub_->GetAxis(AuthedContext(stranger).get(), req, &out);
      },
      axis_, "axes/" + missing_uuid);
  same(
      [&](const std::string& name) {
        v1::GetActionRequest req;
        req.set_name(name);
        v1::Action out;
        return stub_->GetAction(AuthedContext(stranger).get(), req, &out);
      },
      action.name(), "actions/" + missing_uuid);
  same(
      [&](const std::string& name) {
        v1::ListProgressReportsRequest req;
        req.set_action(name);
        v1::ListProgressReportsResponse out;
        return stub_->ListProgressReports(AuthedContext(stranger).get(), req, &out);
      },
      action.name(), "actions/" + missing_uuid);
  same(
      [&](const std::string& name) {
        v1::ListAxesRequest req;
        req.set_convention(name);
        v1::ListAxesResponse out;
        return stub_->ListAxes(AuthedContext(stranger).get(), req, &out);
      },
      convention_, "conventions/" + missing_uuid);
  same(
      [&](const std::string& name) {
        v1::GetTrackingTableRequest req;
        req.set_convention(name);
        req.set_quarter("2026-Q1");
        v1::TrackingTable out;
        return stub_->GetTrackingTable(AuthedContext(stranger).get(), req, &out);
      },
      convention_, "conventions/" + missing_uuid);
  same(
      [&](const std::string& name) {
        v1::CreateProgressReportRequest req;
        req.mutable_report()->set_action(name);
        req.mutable_report()->set_quarter("2026-Q1");
        req.mutable_report()->set_status(v1::IN_PROGRESS);
        req.mutable_report()->set_completion_percent(10);
        v1::ProgressReport out;
        return stub_->CreateProgressReport(AuthedContext(stranger).get(), req, &out);
      },
      action.name(), "actions/" + missing_uuid);
  same(
      [&](const std::string& name) {
        v1::UpdateAxisRequest req;
        req.mutable_axis()->set_name(name);
        req.mutable_axis()->set_title("x");
        req.mutable_update_mask()->add_paths("title");
        v1::Axis out;
        // A Caf agent of another Caf: as much a stranger to this plan.
        return stub_->UpdateAxis(
            AuthedContext(ctg::testing::TestToken({Role::kCafAgent}, outsider_, "caf33")).get(),
            req, &out);
      },
      axis_, "axes/" + missing_uuid);
}

// The cdsf and auditors read the plans of their own département only.
TEST_F(ActionPlanTest, CdsfAndAuditorsReadWithinTheirDepartement) {
  const auto cdsf47 = CreateOrganisation(::ctg::partners::v1::CDSF, "CDSF 47", "", "47");
  const auto cdsf33 = CreateOrganisation(::ctg::partners::v1::CDSF, "CDSF 33", "", "33");
  v1::ListAxesRequest req;
  req.set_convention(convention_);
  v1::ListAxesResponse out;
  auto status = stub_->ListAxes(
      AuthedContext(ctg::testing::TestToken({Role::kCdsf}, cdsf47, "cdsf47")).get(), req, &out);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(out.axes_size(), 1);
  EXPECT_EQ(
      stub_
          ->ListAxes(
              AuthedContext(ctg::testing::TestToken({Role::kAuditor}, cdsf33, "audit33")).get(),
              req, &out)
          .error_code(),
      grpc::StatusCode::NOT_FOUND);
  // Without an organisation, no département: nothing.
  EXPECT_EQ(stub_
                ->ListAxes(AuthedContext(ctg::testing::TestToken({Role::kCdsf}, "", "x")).get(),
                           req, &out)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Read-only: the cdsf reports nothing (refused by its role before anything is read).
  v1::CreateProgressReportRequest report;
  report.mutable_report()->set_action("actions/00000000-0000-4000-8000-000000000000");
  v1::ProgressReport r;
  EXPECT_EQ(stub_
                ->CreateProgressReport(
                    AuthedContext(ctg::testing::TestToken({Role::kCdsf}, cdsf47, "cdsf47")).get(),
                    report, &r)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace ctg::action_plan

namespace ctg::action_plan {
namespace {

// A request id belongs to the caller that used it: replaying Marmande's key, Tonneins' agent
// creates its own report on its own action instead of receiving Marmande's; and Marmande reusing
// its key for another report is refused.
TEST_F(ActionPlanTest, RequestIdsAreScopedToTheirPrincipalAndTheirRequest) {
  v1::Action marmande_action, tonneins_action;
  ASSERT_TRUE(CreateAction(ActionDraft(1, marmande_), &marmande_action).ok());
  ASSERT_TRUE(CreateAction(ActionDraft(2, tonneins_), &tonneins_action).ok());
  auto report = [&](const std::string& action, int completion, const std::string& token,
                    v1::ProgressReport* out) {
    v1::CreateProgressReportRequest req;
    req.set_request_id("7d4c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a09");
    req.mutable_report()->set_action(action);
    req.mutable_report()->set_quarter("2026-Q1");
    req.mutable_report()->set_status(v1::IN_PROGRESS);
    req.mutable_report()->set_completion_percent(completion);
    return stub_->CreateProgressReport(AuthedContext(token).get(), req, out);
  };
  v1::ProgressReport first, again, theirs;
  ASSERT_TRUE(report(marmande_action.name(), 30, AgentOf(marmande_), &first).ok());
  ASSERT_TRUE(report(marmande_action.name(), 30, AgentOf(marmande_), &again).ok());
  EXPECT_EQ(again.name(), first.name());  // a retry: the first result
  const auto status = report(tonneins_action.name(), 50, AgentOf(tonneins_), &theirs);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_NE(theirs.name(), first.name());
  EXPECT_EQ(theirs.action(), tonneins_action.name());
  v1::ProgressReport refused;
  const auto reuse = report(marmande_action.name(), 60, AgentOf(marmande_), &refused);
  EXPECT_EQ(reuse.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(reuse), ::testing::ElementsAre("request_id"));
}

}  // namespace
}  // namespace ctg::action_plan

namespace ctg::action_plan {
namespace {

// Two updates sent with the same etag at the same time: exactly one wins, the other is ABORTED
// (the row is locked before its version is compared). Both are made to wait on a lock held here,
// so they really overlap.
TEST_F(ActionPlanTest, ConcurrentUpdatesWithTheSameEtagLoseNothing) {
  v1::GetAxisRequest get;
  get.set_name(axis_);
  v1::Axis axis;
  ASSERT_TRUE(stub_->GetAxis(AuthedContext(Secretariat()).get(), get, &axis).ok());
  pqxx::connection locker(db_->url());
  pqxx::work lock(locker);
  lock.exec_params("SELECT 1 FROM action_plan.axes WHERE id = $1::uuid FOR UPDATE", IdOf(axis_));
  auto update = [&](const std::string& title) {
    return std::async(std::launch::async, [&, title] {
      v1::UpdateAxisRequest req;
      req.mutable_axis()->set_name(axis_);
      req.mutable_axis()->set_title(title);
      req.mutable_axis()->set_etag(axis.etag());
      req.mutable_update_mask()->add_paths("title");
      v1::Axis out;
      auto context = AuthedContext(Secretariat());
      context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      return stub_->UpdateAxis(context.get(), req, &out).error_code();
    });
  };
  auto a = update("Titre A");
  auto b = update("Titre B");
  // Both wait on the row lock.
  pqxx::connection watcher(db_->url());
  int waiting = 0;
  for (int i = 0; i < 200 && waiting < 2; ++i) {
    pqxx::nontransaction tx(watcher);
    waiting = tx.exec1(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
                    "datname = current_database()")[0]
                  .as<int>();
    if (waiting < 2) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(waiting, 2);
  lock.commit();
  const auto code_a = a.get(), code_b = b.get();
  EXPECT_EQ((code_a == grpc::StatusCode::OK) + (code_b == grpc::StatusCode::OK), 1);
  EXPECT_EQ((code_a == grpc::StatusCode::ABORTED) + (code_b == grpc::StatusCode::ABORTED), 1);
}

}  // namespace
}  // namespace ctg::action_plan
