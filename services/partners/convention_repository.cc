// PLACEHOLDER: to be written.
#include "partners/convention_repository.h"
