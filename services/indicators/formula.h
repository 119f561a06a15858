#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ctg::indicators {

// The longest formula text Parse accepts, in characters.
inline constexpr std::size_t kMaxFormulaLength = 2000;
// The deepest parenthesis nesting Parse accepts (an aggregate call counts as one level).
inline constexpr int kMaxFormulaDepth = 64;

// The outcome of evaluating a formula: exactly one of `value` (always finite) and
// `missing_reason` is set.
struct Evaluation {
  std::optional<double> value;
  std::string missing_reason;  // "no value for EAJE_PLACES", "division by zero", ...

  // Whether the evaluation produced a value.
  bool ok() const { return value.has_value(); }
};

// What an evaluation reads, for one territory and one period.
class FormulaInputs {
 public:
  virtual ~FormulaInputs() = default;
  // The value of `code` for the territory and period being evaluated (nullopt: missing).
  virtual std::optional<double> Value(const std::string& code) const = 0;
  // The values of `code` for each member commune of the territory (for a commune: its own value
  // only), nullopt where a commune has no value. Empty when the territory has no commune.
  virtual std::vector<std::optional<double>> CommuneValues(const std::string& code) const = 0;
};

// A parsed formula defining a derived indicator over other indicators' codes.
//
// Grammar (whitespace allowed between any two tokens):
//   expr    := term (('+' | '-') term)*
//   term    := unary (('*' | '/') unary)*
//   unary   := '-' unary | primary
//   primary := NUMBER | CODE | AGG '(' CODE ')' | '(' expr ')'
//   NUMBER  := (digits ['.' digits] | '.' digits) [('e' | 'E') ['+' | '-'] digits], finite
//   CODE    := [A-Z][A-Z0-9_]*
//   AGG     := 'sum' | 'min' | 'max' | 'mean'
// A bare CODE is that indicator's value for the same territory and period; AGG(CODE) is the
// aggregate of the indicator over the territory's member communes.
//
// Copyable and movable; evaluation and printing are iterative, so no formula that Parse accepts
// can overflow the stack.
class Formula {
 public:
  // Parses `text`. On error returns nullopt and, when `error` is not null, sets *error to a
  // message naming the 1-based character position, e.g. "at 12: expected ')'" (cleared on
  // success).
  static std::optional<Formula> Parse(const std::string& text, std::string* error);

  // Every code the formula refers to (bare or inside an aggregate), sorted, unique.
  const std::set<std::string>& references() const { return references_; }

  // The formula in a canonical text form: single spaces around binary operators, parentheses
  // only where needed to keep the same tree, shortest round-tripping constants. Re-parses to a
  // formula equal (operator==) to this one.
  std::string ToString() const;

  // Evaluates the formula with `inputs`. Never throws for data reasons and never returns an
  // infinite or NaN value: a missing input, an aggregate with a missing commune or over no commune,
  // a division by zero or a non-finite intermediate result gives a missing value with its reason
  // (the first one met, reading the formula left to right).
  Evaluation Evaluate(const FormulaInputs& inputs) const;

  // Structural equality: the same tree with equal constants and codes.
  friend bool operator==(const Formula& a, const Formula& b);
  friend bool operator!=(const Formula& a, const Formula& b) { return !(a == b); }

 private:
  enum class Kind { kConstant, kCode, kSum, kMin, kMax, kMean, kNegate, kAdd, kSub, kMul, kDiv };
  // One AST node; children always precede their parent in `nodes_` (post-order), so the root is
  // the last node and a forward pass evaluates every child before its parent.
  struct Node {
    Kind kind = Kind::kConstant;
    double constant = 0;  // kConstant
    std::string code;     // kCode and aggregates
    int lhs = -1;         // kNegate's operand, binary operators' left operand
    int rhs = -1;         // binary operators' right operand
  };
  class Parser;

  Formula() = default;

  std::vector<Node> nodes_;
  std::set<std::string> references_;
};

// Finds a cycle among derived indicator definitions. `references` maps each derived code to the
// codes its formula uses; codes that are not keys (plain indicators) end a path. Returns the cycle
// as a path that starts and ends with the same code (["A", "B", "A"]; a formula referring to
// itself gives ["A", "A"]), or an empty vector when there is none. Deterministic: the search
// starts from the smallest code and follows references in sorted order.
std::vector<std::string> FindCycle(const std::map<std::string, std::set<std::string>>& references);

}  // namespace ctg::indicators
