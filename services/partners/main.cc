// ctg-partners: the partners service binary. All bootstrap lives in the shared runtime.
#include "common/server.h"
#include "partners/service.h"

int main(int argc, char** argv) {
  return ctg::RunServiceMain(argc, argv, ctg::partners::PartnerServiceSpec());
}
