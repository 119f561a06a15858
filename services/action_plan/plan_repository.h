#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/api.h"
#include "common/db.h"
#include "ctg/action_plan/v1/action_plan.pb.h"

namespace ctg::action_plan {

namespace v1 = ::ctg::action_plan::v1;

// Named statements of the action plan repository (prepared on every pooled connection).
const std::vector<PreparedStatement>& PlanStatements();

struct ActionFilter {
  std::string convention_id;
  std::string axis_id;
  int field = 0;
  std::string pilot_id;
};

// A stored progress report with the quarter as an index (year * 4 + quarter - 1).
struct StoredReport {
  v1::ProgressReport report;
  int quarter_index = 0;
};

// Axes, actions and progress reports in the action_plan schema. Functions take the caller's
// transaction: the service layer owns transaction boundaries.
class PlanRepository {
 public:
  explicit PlanRepository(pqxx::transaction_base& tx) : tx_(tx) {}

  std::optional<v1::Axis> FindAxis(const std::string& id, int64_t* version = nullptr);
  std::string InsertAxis(const v1::Axis& axis);
  void UpdateAxis(const std::string& id, const v1::Axis& axis);
  Page<v1::Axis> ListAxes(const std::string& convention_id, const PageRequest& page);
  // Every axis of a convention, in number order.
  std::vector<v1::Axis> AllAxes(const std::string& convention_id);
  // True when another axis / action of the convention already has this number.
  bool AxisNumberTaken(const std::string& convention_id, int number, const std::string& own_id);
  bool ActionNumberTaken(const std::string& convention_id, int number, const std::string& own_id);

  // The action with fundings and milestones (status not filled: see LatestReport).
  std::optional<v1::Action> FindAction(const std::string& id, int64_t* version = nullptr);
  std::string InsertAction(const v1::Action& action);
  void UpdateAction(const std::string& id, const v1::Action& action);
  Page<v1::Action> ListActions(const ActionFilter& filter, const PageRequest& page);
  // Every action of a convention, in number order.
  std::vector<v1::Action> AllActions(const std::string& convention_id);

  // Locks every action of a convention until the end of the transaction.
  void LockActions(const std::string& convention_id);
  // Appends a report as the next revision for its action and quarter; returns its id.
  std::string InsertReport(const std::string& action_id, int quarter_index,
                           const v1::ProgressReport& report, const std::string& author);
  std::optional<v1::ProgressReport> FindReport(const std::string& id);
  // The newest revision of the newest quarter <= `up_to_quarter` (any quarter when < 0).
  std::optional<StoredReport> LatestReport(const std::string& action_id, int up_to_quarter = -1);
  // Newest revision of the newest quarter <= `up_to_quarter`, for every action of a convention.
  std::vector<StoredReport> LatestReports(const std::string& convention_id, int up_to_quarter);
  Page<v1::ProgressReport> ListReports(const std::string& action_id, int quarter_index,
                                       const PageRequest& page);

 private:
  void ReplaceChildren(const std::string& id, const v1::Action& action);
  pqxx::transaction_base& tx_;
};

}  // namespace ctg::action_plan
