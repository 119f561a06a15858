// ctg-consents: the data-exchange consents service binary. All bootstrap lives in the shared
// runtime.
#include "common/server.h"
#include "consents/service.h"

int main(int argc, char** argv) {
  return ctg::RunServiceMain(argc, argv, ctg::consents::ConsentServiceSpec());
}
