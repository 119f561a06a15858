// PLACEHOLDER: to be written.
#include "partners/facility_repository.h"
