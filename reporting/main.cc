// ctg-reporting: the reporting service binary. All bootstrap lives in the shared runtime.
#include "common/server.h"
#include "reporting/service.h"

int main(int argc, char** argv) {
  return ctg::RunServiceMain(argc, argv, ctg::reporting::ReportingServiceSpec());
}
