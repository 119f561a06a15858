// ctg-action-plan: the action plan service binary. All bootstrap lives in the shared runtime.
#include "action_plan/service.h"
#include "common/server.h"

int main(int argc, char** argv) {
  return ctg::RunServiceMain(argc, argv, ctg::action_plan::ActionPlanServiceSpec());
}
