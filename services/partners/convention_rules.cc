// PLACEHOLDER: to be written.
#include "partners/convention_rules.h"
