#include "indicators/formula.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ctg::indicators {
namespace {

// Inputs from two maps: the territory's own values and its member communes' values.
class FakeInputs : public FormulaInputs {
 public:
  std::map<std::string, double> values;
  std::map<std::string, std::vector<std::optional<double>>> communes;

  std::optional<double> Value(const std::string& code) const override {
    const auto it = values.find(code);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::optional<double>> CommuneValues(const std::string& code) const override {
    const auto it = communes.find(code);
    if (it == communes.end()) return {};
    return it->second;
  }
};

Formula MustParse(const std::string& text) {
  std::string error;
  std::optional<Formula> f = Formula::Parse(text, &error);
  EXPECT_TRUE(f) << text << ": " << error;
  EXPECT_EQ(error, "");
  return f ? *f : *Formula::Parse("0", nullptr);
}

// The value of a formula over constants only.
double Constant(const std::string& text) {
  const Evaluation e = MustParse(text).Evaluate(FakeInputs());
  EXPECT_TRUE(e.value) << text << ": " << e.missing_reason;
  EXPECT_EQ(e.missing_reason, "");
  return e.value.value_or(-12345);
}

std::string ParseError(const std::string& text) {
  std::string error;
  EXPECT_FALSE(Formula::Parse(text, &error)) << text;
  return error;
}

TEST(FormulaTest, PrecedenceAndAssociativity) {
  EXPECT_DOUBLE_EQ(Constant("1 - 2 - 3"), -4);
  EXPECT_DOUBLE_EQ(Constant("2 * 3 + 4"), 10);
  EXPECT_DOUBLE_EQ(Constant("4 + 2 * 3"), 10);
  EXPECT_DOUBLE_EQ(Constant("8 / 4 / 2"), 1);
  EXPECT_DOUBLE_EQ(Constant("8 / (4 / 2)"), 4);
  EXPECT_DOUBLE_EQ(Constant("1 - (2 - 3)"), 2);
  EXPECT_DOUBLE_EQ(Constant("(2 + 3) * 4"), 20);
  EXPECT_DOUBLE_EQ(Constant("-2 * 3"), -6);
  EXPECT_DOUBLE_EQ(Constant("-(2 + 3)"), -5);
  EXPECT_DOUBLE_EQ(Constant("2 - -3"), 5);
  EXPECT_DOUBLE_EQ(Constant("2 * -3"), -6);
  EXPECT_DOUBLE_EQ(Constant("--4"), 4);
  EXPECT_DOUBLE_EQ(Constant("10 - 2 * 3 - 1"), 3);
  EXPECT_DOUBLE_EQ(Constant("  ( ( 7 ) )  "), 7);
  EXPECT_DOUBLE_EQ(Constant("1+2*3"), 7);
}

TEST(FormulaTest, Constants) {
  EXPECT_DOUBLE_EQ(Constant("100"), 100);
  EXPECT_DOUBLE_EQ(Constant("2.5"), 2.5);
  EXPECT_DOUBLE_EQ(Constant("1e3"), 1000);
  EXPECT_DOUBLE_EQ(Constant("1E3"), 1000);
  EXPECT_DOUBLE_EQ(Constant("2.5e-2"), 0.025);
  EXPECT_DOUBLE_EQ(Constant("1e+2"), 100);
  EXPECT_DOUBLE_EQ(Constant(".5"), 0.5);
  EXPECT_DOUBLE_EQ(Constant("007"), 7);
}

TEST(FormulaTest, ParseErrorsNameThePosition) {
  EXPECT_EQ(ParseError("(1 + 2"), "at 7: expected ')' to close the '(' at 1");
  EXPECT_EQ(ParseError("1 + 2)"), "at 6: unexpected ')' without a matching '('");
  EXPECT_EQ(ParseError("1 +"),
            "at 4: expected a number, a code or '(' but found the end of the formula");
  EXPECT_EQ(ParseError("1 * * 2"), "at 5: expected a number, a code or '(' but found '*'");
  EXPECT_EQ(ParseError("avg(X)"), "at 1: unknown function 'avg' (expected sum, min, max or mean)");
  EXPECT_EQ(ParseError("1 + SUM(X)"),
            "at 5: unknown function 'SUM' (expected sum, min, max or mean)");
  EXPECT_EQ(ParseError("sum(A+B)"), "at 6: expected ')': sum() takes a single indicator code");
  EXPECT_EQ(ParseError("sum(2)"), "at 5: sum() takes a single indicator code");
  EXPECT_EQ(ParseError("sum()"), "at 5: sum() takes a single indicator code");
  EXPECT_EQ(ParseError("sum((A))"), "at 5: sum() takes a single indicator code");
  EXPECT_EQ(ParseError("mean(a)"),
            "at 6: 'a' is not an indicator code (codes match [A-Z][A-Z0-9_]*)");
  EXPECT_EQ(ParseError("2 * eaje_places"),
            "at 5: 'eaje_places' is not an indicator code (codes match [A-Z][A-Z0-9_]*)");
  EXPECT_EQ(ParseError("Eaje"),
            "at 1: 'Eaje' is not an indicator code (codes match [A-Z][A-Z0-9_]*)");
  EXPECT_EQ(ParseError("_A"), "at 1: '_A' is not an indicator code (codes match [A-Z][A-Z0-9_]*)");
  EXPECT_EQ(ParseError("sum + 1"), "at 4: expected '(' after sum");
  EXPECT_EQ(ParseError(""), "at 1: the formula is empty");
  EXPECT_EQ(ParseError("   "), "at 1: the formula is empty");
  EXPECT_EQ(ParseError("2 3"), "at 3: expected an operator but found '3'");
  EXPECT_EQ(ParseError("2x"), "at 2: expected an operator but found 'x'");
  EXPECT_EQ(ParseError("A B"), "at 3: expected an operator but found 'B'");
  EXPECT_EQ(ParseError("+1"), "at 1: expected a number, a code or '(' but found '+'");
  EXPECT_EQ(ParseError("1 % 2"), "at 3: expected an operator but found '%'");
  EXPECT_EQ(ParseError("1."), "at 3: expected a digit after '.'");
  EXPECT_EQ(ParseError("1e999"), "at 1: number 1e999 is out of range");
  EXPECT_EQ(ParseError("()"), "at 2: expected a number, a code or '(' but found ')'");
}

TEST(FormulaTest, RefusesTooLongFormulas) {
  std::string longest = "1";
  while (longest.size() + 4 <= kMaxFormulaLength) longest += " + 1";
  while (longest.size() < kMaxFormulaLength) longest += " ";
  ASSERT_EQ(longest.size(), kMaxFormulaLength);
  EXPECT_DOUBLE_EQ(Constant(longest), 500);
  EXPECT_EQ(ParseError(longest + "1"), "at 2001: the formula is longer than 2000 characters");
}

TEST(FormulaTest, RefusesTooDeepNestingWithoutOverflowingTheStack) {
  auto nested = [](int depth) { return std::string(depth, '(') + "1" + std::string(depth, ')'); };
  EXPECT_DOUBLE_EQ(Constant(nested(kMaxFormulaDepth)), 1);
  EXPECT_EQ(ParseError(nested(kMaxFormulaDepth + 1)), "at 65: nesting deeper than 64 levels");
  EXPECT_EQ(ParseError(nested(200)), "at 65: nesting deeper than 64 levels");
  EXPECT_EQ(ParseError(std::string(1000, '(')), "at 65: nesting deeper than 64 levels");
  // An aggregate counts as one level.
  EXPECT_EQ(ParseError(std::string(64, '(') + "sum(A)" + std::string(64, ')')),
            "at 68: nesting deeper than 64 levels");
  // Long chains are not nesting: they parse, evaluate and print.
  const std::string minuses = std::string(1999, '-') + "1";
  EXPECT_DOUBLE_EQ(Constant(minuses), -1);
  EXPECT_EQ(MustParse(minuses).ToString(), minuses);
}

TEST(FormulaTest, References) {
  const Formula f = MustParse("B + sum(A) * max(C) - B / mean(A) + min(D_2) + 3");
  EXPECT_EQ(f.references(), (std::set<std::string>{"A", "B", "C", "D_2"}));
  EXPECT_TRUE(MustParse("1 + 2").references().empty());
}

TEST(FormulaTest, ToStringIsCanonicalAndRoundTrips) {
  const std::map<std::string, std::string> cases = {
      {"1-2-3", "1 - 2 - 3"},
      {"1-(2-3)", "1 - (2 - 3)"},
      {"(1-2)-3", "1 - 2 - 3"},
      {"1+(2+3)", "1 + (2 + 3)"},
      {"8/(4/2)", "8 / (4 / 2)"},
      {"8/(4*2)", "8 / (4 * 2)"},
      {"(8/4)*2", "8 / 4 * 2"},
      {"(2+3)*4", "(2 + 3) * 4"},
      {"2*3+4", "2 * 3 + 4"},
      {"-(2+3)", "-(2 + 3)"},
      {"-(2*3)", "-(2 * 3)"},
      {"(-2)*3", "-2 * 3"},
      {"2 - -3", "2 - -3"},
      {"- - A", "--A"},
      {"1e3", "1000"},
      {"2.50", "2.5"},
      {"0.1", "0.1"},
      {"1e-7", "1e-07"},
      {"1e300", "1e+300"},
      {"  sum( EAJE_PLACES )/mean(X)", "sum(EAJE_PLACES) / mean(X)"},
      {"min(A)+max(B)", "min(A) + max(B)"},
      {"((A))", "A"},
  };
  for (const auto& [text, canonical] : cases) {
    const Formula f = MustParse(text);
    EXPECT_EQ(f.ToString(), canonical) << text;
    const Formula again = MustParse(f.ToString());
    EXPECT_TRUE(again == f) << text;
    EXPECT_EQ(again.ToString(), canonical) << text;
  }
  EXPECT_TRUE(MustParse("1 - 2 - 3") != MustParse("1 - (2 - 3)"));
  EXPECT_TRUE(MustParse("A + B") != MustParse("A + C"));
  EXPECT_TRUE(MustParse("sum(A)") != MustParse("mean(A)"));
  // Copies are equal and independent of the original.
  Formula copy = MustParse("A * 2");
  const Formula original = copy;
  copy = MustParse("B");
  EXPECT_EQ(original.ToString(), "A * 2");
  EXPECT_EQ(copy.ToString(), "B");
}

TEST(FormulaTest, EvaluatesBareReferences) {
  FakeInputs in;
  in.values = {{"A", 6}, {"B", 4}};
  const Evaluation ok = MustParse("(A + B) / 2").Evaluate(in);
  ASSERT_TRUE(ok.value);
  EXPECT_TRUE(ok.ok());
  EXPECT_DOUBLE_EQ(*ok.value, 5);
  EXPECT_EQ(ok.missing_reason, "");

  const Evaluation missing = MustParse("A + EAJE_PLACES").Evaluate(in);
  EXPECT_FALSE(missing.value);
  EXPECT_FALSE(missing.ok());
  EXPECT_EQ(missing.missing_reason, "no value for EAJE_PLACES");
}

TEST(FormulaTest, EvaluatesAggregates) {
  FakeInputs in;
  in.communes["A"] = {3, 1, 8};
  in.communes["B"] = {3, std::nullopt, 8, std::nullopt};
  in.communes["C"] = {-2};
  auto value = [&](const std::string& text) {
    const Evaluation e = MustParse(text).Evaluate(in);
    EXPECT_TRUE(e.value) << text << ": " << e.missing_reason;
    return e.value.value_or(-12345);
  };
  EXPECT_DOUBLE_EQ(value("sum(A)"), 12);
  EXPECT_DOUBLE_EQ(value("min(A)"), 1);
  EXPECT_DOUBLE_EQ(value("max(A)"), 8);
  EXPECT_DOUBLE_EQ(value("mean(A)"), 4);
  EXPECT_DOUBLE_EQ(value("sum(C) + min(C) + max(C) + mean(C)"), -8);

  for (const char* text : {"sum(B)", "min(B)", "max(B)", "mean(B)", "1 + 2 * sum(B)"}) {
    const Evaluation e = MustParse(text).Evaluate(in);
    EXPECT_FALSE(e.value) << text;
    EXPECT_EQ(e.missing_reason, "B: 2 of 4 communes have no value") << text;
  }
  const Evaluation none = MustParse("sum(D)").Evaluate(in);
  EXPECT_FALSE(none.value);
  EXPECT_EQ(none.missing_reason, "D: no member commune to aggregate");

  // The mean of values whose sum overflows.
  in.communes["BIG"] = {1e308, 1e308};
  EXPECT_DOUBLE_EQ(value("mean(BIG) / 1e300"), 1e8);
}

TEST(FormulaTest, NeverReturnsNonFiniteValues) {
  FakeInputs in;
  in.values = {{"ZERO", 0}, {"ONE", 1}};
  for (const char* text : {"1 / 0", "ONE / ZERO", "1 / (ONE - 1)", "0 / 0", "1 / -0"}) {
    const Evaluation e = MustParse(text).Evaluate(in);
    EXPECT_FALSE(e.value) << text;
    EXPECT_EQ(e.missing_reason, "division by zero") << text;
  }
  for (const char* text :
       {"1e308 * 10", "-1e308 - 1e308", "1e308 * 10 - 1e308 * 10", "1 / 1e-320 "}) {
    const Evaluation e = MustParse(text).Evaluate(in);
    EXPECT_FALSE(e.value) << text;
    EXPECT_EQ(e.missing_reason, "result is not a finite number") << text;
  }
  in.communes["HUGE"] = {1e308, 1e308};
  const Evaluation e = MustParse("sum(HUGE)").Evaluate(in);
  EXPECT_FALSE(e.value);
  EXPECT_EQ(e.missing_reason, "result is not a finite number");
  // The first problem met, left to right.
  const Evaluation first = MustParse("X / 0 + Y").Evaluate(in);
  EXPECT_EQ(first.missing_reason, "no value for X");
}

TEST(FormulaTest, CoverageRateOfAnEpci) {
  // A three-commune EPCI.
  FakeInputs in;
  in.communes["EAJE_PLACES"] = {20, 0, 10};
  in.communes["AM_PLACES"] = {30, 12, 8};
  in.communes["HOME_CARE_PLACES"] = {2, 0, 1};
  in.communes["PRESCHOOL_2Y"] = {5, 1, 1};
  in.communes["CHILDREN_UNDER_3"] = {150, 40, 50};
  const Formula tcg = MustParse(
      "100 * (sum(EAJE_PLACES) + sum(AM_PLACES) + sum(HOME_CARE_PLACES) + sum(PRESCHOOL_2Y)) / "
      "sum(CHILDREN_UNDER_3)");
  EXPECT_EQ(tcg.references(), (std::set<std::string>{"AM_PLACES", "CHILDREN_UNDER_3", "EAJE_PLACES",
                                                     "HOME_CARE_PLACES", "PRESCHOOL_2Y"}));
  // 100 * (30 + 50 + 3 + 7) / 240 = 37.5
  const Evaluation e = tcg.Evaluate(in);
  ASSERT_TRUE(e.value) << e.missing_reason;
  EXPECT_DOUBLE_EQ(*e.value, 37.5);

  in.communes["AM_PLACES"][1] = std::nullopt;
  const Evaluation partial = tcg.Evaluate(in);
  EXPECT_FALSE(partial.value);
  EXPECT_EQ(partial.missing_reason, "AM_PLACES: 1 of 3 communes have no value");

  in.communes["AM_PLACES"][1] = 12;
  in.communes["CHILDREN_UNDER_3"] = {0, 0, 0};
  EXPECT_EQ(tcg.Evaluate(in).missing_reason, "division by zero");
}

TEST(FindCycleTest, NoCycle) {
  EXPECT_TRUE(FindCycle({}).empty());
  EXPECT_TRUE(FindCycle({{"A", {"X", "Y"}}, {"B", {"A", "X"}}}).empty());
}

TEST(FindCycleTest, SelfReference) {
  EXPECT_EQ(FindCycle({{"A", {"A"}}}), (std::vector<std::string>{"A", "A"}));
  EXPECT_EQ(FindCycle({{"A", {"X"}}, {"B", {"X", "B"}}}), (std::vector<std::string>{"B", "B"}));
}

TEST(FindCycleTest, ThreeCycle) {
  const std::map<std::string, std::set<std::string>> graph = {
      {"A", {"B", "X"}}, {"B", {"C"}}, {"C", {"A", "Y"}}, {"D", {"A"}}};
  EXPECT_EQ(FindCycle(graph), (std::vector<std::string>{"A", "B", "C", "A"}));
  // Entered from outside the cycle, the path starts at the cycle.
  const std::map<std::string, std::set<std::string>> tail = {
      {"A", {"B"}}, {"B", {"C"}}, {"C", {"D"}}, {"D", {"B"}}};
  EXPECT_EQ(FindCycle(tail), (std::vector<std::string>{"B", "C", "D", "B"}));
}

TEST(FindCycleTest, DiamondIsNotACycle) {
  // A uses B and C, both use D.
  EXPECT_TRUE(FindCycle({{"A", {"B", "C"}}, {"B", {"D"}}, {"C", {"D"}}, {"D", {"X"}}}).empty());
}

TEST(FindCycleTest, LongChainDoesNotRecurse) {
  std::map<std::string, std::set<std::string>> graph;
  for (int i = 0; i < 10000; ++i) graph["C" + std::to_string(i)] = {"C" + std::to_string(i + 1)};
  EXPECT_TRUE(FindCycle(graph).empty());
  graph["C10000"] = {"C0"};
  EXPECT_EQ(FindCycle(graph).size(), 10002u);
}

}  // namespace
}  // namespace ctg::indicators
