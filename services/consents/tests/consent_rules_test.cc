#include "consents/consent_rules.h"
#include <gtest/gtest.h>
TEST(Placeholder, Builds) {}
