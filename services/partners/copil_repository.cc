// PLACEHOLDER: to be written.
#include "partners/copil_repository.h"
