// PLACEHOLDER: to be written.
#include "partners/convention_import.h"
