// ctg-gateway: the single entry point in front of every backend service.
#include "gateway/gateway.h"

int main(int argc, char** argv) { return ctg::gateway::RunGatewayMain(argc, argv); }
