// PLACEHOLDER: to be written.
#include "partners/copil_rules.h"
