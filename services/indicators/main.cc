// ctg-indicators: the indicators service binary. All bootstrap lives in the shared runtime.
#include "common/server.h"
#include "indicators/service.h"

int main(int argc, char** argv) {
  return ctg::RunServiceMain(argc, argv, ctg::indicators::IndicatorServiceSpec());
}
