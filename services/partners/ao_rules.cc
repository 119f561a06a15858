// PLACEHOLDER: to be written.
#include "partners/ao_rules.h"
