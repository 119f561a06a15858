#include "indicators/formula.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string_view>
#include <system_error>
#include <utility>

namespace ctg::indicators {
namespace {

// Thrown inside the parser only; Parse turns it into its error message.
struct SyntaxError {
  std::size_t position;  // 0-based
  std::string message;
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsIdentifierStart(char c) { return IsUpper(c) || IsLower(c) || c == '_'; }
bool IsIdentifierChar(char c) { return IsIdentifierStart(c) || IsDigit(c); }
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool IsCode(std::string_view s) {
  if (s.empty() || !IsUpper(s[0])) return false;
  for (char c : s) {
    if (!IsUpper(c) && !IsDigit(c) && c != '_') return false;
  }
  return true;
}

// A character as shown in messages: 'x', or its byte value when not printable ASCII.
std::string Shown(char c) {
  if (c >= 0x21 && c <= 0x7e) return std::string("'") + c + "'";
  char buf[16];
  std::snprintf(buf, sizeof buf, "byte 0x%02X",
                static_cast<unsigned>(static_cast<unsigned char>(c)));
  return buf;
}

// The shortest text that reads back as `v` (v finite and >= 0).
std::string FormatConstant(double v) {
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, result.ptr);
}

}  // namespace

class Formula::Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  // Parses the whole text into `formula` or throws SyntaxError.
  void Run(Formula* formula) {
    formula_ = formula;
    SkipSpace();
    if (AtEnd()) throw SyntaxError{0, "the formula is empty"};
    ParseExpr();
    SkipSpace();
    if (!AtEnd()) {
      if (Peek() == ')') throw SyntaxError{pos_, "unexpected ')' without a matching '('"};
      throw SyntaxError{pos_, "expected an operator but found " + Shown(Peek())};
    }
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }
  void SkipSpace() {
    while (!AtEnd() && IsSpace(Peek())) ++pos_;
  }

  int Add(Node node) {
    formula_->nodes_.push_back(std::move(node));
    return static_cast<int>(formula_->nodes_.size()) - 1;
  }
  int AddBinary(Kind kind, int lhs, int rhs) {
    Node n;
    n.kind = kind;
    n.lhs = lhs;
    n.rhs = rhs;
    return Add(std::move(n));
  }

  void Enter(std::size_t at) {
    if (++depth_ > kMaxFormulaDepth) {
      throw SyntaxError{at, "nesting deeper than " + std::to_string(kMaxFormulaDepth) + " levels"};
    }
  }
  void Leave() { --depth_; }

  // expr := term (('+' | '-') term)*
  int ParseExpr() {
    int lhs = ParseTerm();
    while (true) {
      SkipSpace();
      if (AtEnd() || (Peek() != '+' && Peek() != '-')) return lhs;
      const Kind kind = Peek() == '+' ? Kind::kAdd : Kind::kSub;
      ++pos_;
      const int rhs = ParseTerm();
      lhs = AddBinary(kind, lhs, rhs);
    }
  }

  // term := unary (('*' | '/') unary)*
  int ParseTerm() {
    int lhs = ParseUnary();
    while (true) {
      SkipSpace();
      if (AtEnd() || (Peek() != '*' && Peek() != '/')) return lhs;
      const Kind kind = Peek() == '*' ? Kind::kMul : Kind::kDiv;
      ++pos_;
      const int rhs = ParseUnary();
      lhs = AddBinary(kind, lhs, rhs);
    }
  }

  // unary := '-' unary | primary (a run of minus signs is read in a loop, not by recursion).
  int ParseUnary() {
    int negations = 0;
    while (true) {
      SkipSpace();
      if (AtEnd() || Peek() != '-') break;
      ++negations;
      ++pos_;
    }
    int operand = ParsePrimary();
    for (int i = 0; i < negations; ++i) {
      Node n;
      n.kind = Kind::kNegate;
      n.lhs = operand;
      operand = Add(std::move(n));
    }
    return operand;
  }

  // primary := NUMBER | CODE | AGG '(' CODE ')' | '(' expr ')'
  int ParsePrimary() {
    SkipSpace();
    if (AtEnd()) {
      throw SyntaxError{pos_, "expected a number, a code or '(' but found the end of the formula"};
    }
    const char c = Peek();
    if (c == '(') {
      const std::size_t open = pos_;
      Enter(open);
      ++pos_;
      const int inner = ParseExpr();
      SkipSpace();
      if (AtEnd() || Peek() != ')') {
        throw SyntaxError{pos_, "expected ')' to close the '(' at " + std::to_string(open + 1)};
      }
      ++pos_;
      Leave();
      return inner;
    }
    if (IsDigit(c) || c == '.') return ParseNumber();
    if (IsIdentifierStart(c)) return ParseName();
    throw SyntaxError{pos_, "expected a number, a code or '(' but found " + Shown(c)};
  }

  int ParseNumber() {
    const std::size_t start = pos_;
    auto digits = [&] {
      const std::size_t from = pos_;
      while (!AtEnd() && IsDigit(Peek())) ++pos_;
      return pos_ - from;
    };
    const std::size_t integer_digits = digits();
    if (!AtEnd() && Peek() == '.') {
      ++pos_;
      if (digits() == 0) throw SyntaxError{pos_, "expected a digit after '.'"};
    } else if (integer_digits == 0) {
      throw SyntaxError{start, "expected a digit"};
    }
    // An exponent only when the 'e' is followed by digits (with an optional sign).
    if (!AtEnd() && (Peek() == 'e' || Peek() == 'E')) {
      std::size_t p = pos_ + 1;
      if (p < text_.size() && (text_[p] == '+' || text_[p] == '-')) ++p;
      if (p < text_.size() && IsDigit(text_[p])) {
        pos_ = p;
        digits();
      }
    }
    double value = 0;
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    const auto result = std::from_chars(first, last, value);
    if (result.ec == std::errc::result_out_of_range) {
      throw SyntaxError{start, "number " + std::string(first, last) + " is out of range"};
    }
    if (result.ec != std::errc() || result.ptr != last || !std::isfinite(value)) {
      throw SyntaxError{start, "invalid number " + std::string(first, last)};
    }
    Node n;
    n.kind = Kind::kConstant;
    n.constant = value;
    return Add(std::move(n));
  }

  std::string ReadIdentifier() {
    const std::size_t start = pos_;
    while (!AtEnd() && IsIdentifierChar(Peek())) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  static std::optional<Kind> AggregateKind(const std::string& name) {
    if (name == "sum") return Kind::kSum;
    if (name == "min") return Kind::kMin;
    if (name == "max") return Kind::kMax;
    if (name == "mean") return Kind::kMean;
    return std::nullopt;
  }

  static std::string NotACode(const std::string& name) {
    return "'" + name + "' is not an indicator code (codes match [A-Z][A-Z0-9_]*)";
  }

  int ParseName() {
    const std::size_t start = pos_;
    const std::string name = ReadIdentifier();
    const std::size_t after_name = pos_;
    SkipSpace();
    const bool call = !AtEnd() && Peek() == '(';
    if (!call) {
      pos_ = after_name;
      if (AggregateKind(name)) throw SyntaxError{pos_, "expected '(' after " + name};
      if (!IsCode(name)) throw SyntaxError{start, NotACode(name)};
      formula_->references_.insert(name);
      Node n;
      n.kind = Kind::kCode;
      n.code = name;
      return Add(std::move(n));
    }
    const std::optional<Kind> kind = AggregateKind(name);
    if (!kind) {
      throw SyntaxError{start, "unknown function '" + name + "' (expected sum, min, max or mean)"};
    }
    Enter(pos_);
    ++pos_;  // '('
    SkipSpace();
    const std::string takes = name + "() takes a single indicator code";
    if (AtEnd() || !IsIdentifierStart(Peek())) throw SyntaxError{pos_, takes};
    const std::size_t code_start = pos_;
    const std::string code = ReadIdentifier();
    if (!IsCode(code)) throw SyntaxError{code_start, NotACode(code)};
    SkipSpace();
    if (AtEnd() || Peek() != ')') throw SyntaxError{pos_, "expected ')': " + takes};
    ++pos_;
    Leave();
    formula_->references_.insert(code);
    Node n;
    n.kind = *kind;
    n.code = code;
    return Add(std::move(n));
  }

  const std::string& text_;
  Formula* formula_ = nullptr;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

std::optional<Formula> Formula::Parse(const std::string& text, std::string* error) {
  auto fail = [&](std::size_t position, const std::string& message) -> std::optional<Formula> {
    if (error) *error = "at " + std::to_string(position + 1) + ": " + message;
    return std::nullopt;
  };
  if (text.size() > kMaxFormulaLength) {
    return fail(kMaxFormulaLength,
                "the formula is longer than " + std::to_string(kMaxFormulaLength) + " characters");
  }
  Formula formula;
  try {
    Parser(text).Run(&formula);
  } catch (const SyntaxError& e) {
    return fail(e.position, e.message);
  }
  if (error) error->clear();
  return formula;
}

std::string Formula::ToString() const {
  // Precedence of what a node prints as: 1 additive, 2 multiplicative, 3 unary, 4 atom.
  std::vector<std::string> text(nodes_.size());
  std::vector<int> precedence(nodes_.size());
  auto wrapped = [&](int child, bool parenthesize) {
    std::string s = std::move(text[child]);
    return parenthesize ? "(" + s + ")" : s;
  };
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    switch (n.kind) {
      case Kind::kConstant:
        text[i] = FormatConstant(n.constant);
        precedence[i] = 4;
        break;
      case Kind::kCode:
        text[i] = n.code;
        precedence[i] = 4;
        break;
      case Kind::kSum:
      case Kind::kMin:
      case Kind::kMax:
      case Kind::kMean: {
        const char* name = n.kind == Kind::kSum   ? "sum"
                           : n.kind == Kind::kMin ? "min"
                           : n.kind == Kind::kMax ? "max"
                                                  : "mean";
        text[i] = std::string(name) + "(" + n.code + ")";
        precedence[i] = 4;
        break;
      }
      case Kind::kNegate:
        text[i] = "-" + wrapped(n.lhs, precedence[n.lhs] < 3);
        precedence[i] = 3;
        break;
      case Kind::kAdd:
      case Kind::kSub:
      case Kind::kMul:
      case Kind::kDiv: {
        const int p = (n.kind == Kind::kAdd || n.kind == Kind::kSub) ? 1 : 2;
        const char* op = n.kind == Kind::kAdd   ? " + "
                         : n.kind == Kind::kSub ? " - "
                         : n.kind == Kind::kMul ? " * "
                                                : " / ";
        // Left-associative: the right operand needs parentheses at equal precedence too.
        std::string lhs = wrapped(n.lhs, precedence[n.lhs] < p);
        text[i] = lhs + op + wrapped(n.rhs, precedence[n.rhs] <= p);
        precedence[i] = p;
        break;
      }
    }
  }
  return nodes_.empty() ? std::string() : std::move(text.back());
}

Evaluation Formula::Evaluate(const FormulaInputs& inputs) const {
  auto missing = [](std::string reason) {
    Evaluation e;
    e.missing_reason = std::move(reason);
    return e;
  };
  std::vector<double> value(nodes_.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    double v = 0;
    switch (n.kind) {
      case Kind::kConstant:
        v = n.constant;
        break;
      case Kind::kCode: {
        const std::optional<double> got = inputs.Value(n.code);
        if (!got) return missing("no value for " + n.code);
        v = *got;
        break;
      }
      case Kind::kSum:
      case Kind::kMin:
      case Kind::kMax:
      case Kind::kMean: {
        const std::vector<std::optional<double>> communes = inputs.CommuneValues(n.code);
        if (communes.empty()) return missing(n.code + ": no member commune to aggregate");
        std::size_t absent = 0;
        for (const auto& c : communes) absent += c ? 0 : 1;
        if (absent > 0) {
          return missing(n.code + ": " + std::to_string(absent) + " of " +
                         std::to_string(communes.size()) + " communes have no value");
        }
        double sum = 0;
        double lo = std::numeric_limits<double>::infinity();
        double hi = -std::numeric_limits<double>::infinity();
        for (const auto& c : communes) {
          sum += *c;
          lo = std::min(lo, *c);
          hi = std::max(hi, *c);
        }
        const double count = static_cast<double>(communes.size());
        if (n.kind == Kind::kSum) {
          v = sum;
        } else if (n.kind == Kind::kMin) {
          v = lo;
        } else if (n.kind == Kind::kMax) {
          v = hi;
        } else if (std::isfinite(sum)) {
          v = sum / count;
        } else {
          // The sum overflowed: the mean of finite values may still be representable.
          v = 0;
          for (const auto& c : communes) v += *c / count;
        }
        break;
      }
      case Kind::kNegate:
        v = -value[n.lhs];
        break;
      case Kind::kAdd:
        v = value[n.lhs] + value[n.rhs];
        break;
      case Kind::kSub:
        v = value[n.lhs] - value[n.rhs];
        break;
      case Kind::kMul:
        v = value[n.lhs] * value[n.rhs];
        break;
      case Kind::kDiv:
        if (value[n.rhs] == 0) return missing("division by zero");
        v = value[n.lhs] / value[n.rhs];
        break;
    }
    if (!std::isfinite(v)) return missing("result is not a finite number");
    value[i] = v;
  }
  Evaluation e;
  if (value.empty()) return missing("empty formula");
  e.value = value.back();
  return e;
}

bool operator==(const Formula& a, const Formula& b) {
  if (a.nodes_.size() != b.nodes_.size()) return false;
  for (std::size_t i = 0; i < a.nodes_.size(); ++i) {
    const Formula::Node& x = a.nodes_[i];
    const Formula::Node& y = b.nodes_[i];
    if (x.kind != y.kind || x.constant != y.constant || x.code != y.code || x.lhs != y.lhs ||
        x.rhs != y.rhs) {
      return false;
    }
  }
  return true;
}

std::vector<std::string> FindCycle(const std::map<std::string, std::set<std::string>>& references) {
  enum class State { kUnvisited, kOnPath, kDone };
  std::map<std::string, State> state;
  for (const auto& [code, uses] : references) state[code] = State::kUnvisited;

  // Iterative depth-first search; `path` holds the codes on the current path with, for each, the
  // next reference to follow.
  struct Frame {
    const std::string* code;
    std::set<std::string>::const_iterator next;
    std::set<std::string>::const_iterator end;
  };
  for (const auto& [root, root_uses] : references) {
    if (state[root] != State::kUnvisited) continue;
    std::vector<Frame> path{{&root, root_uses.begin(), root_uses.end()}};
    state[root] = State::kOnPath;
    while (!path.empty()) {
      Frame& top = path.back();
      if (top.next == top.end) {
        state[*top.code] = State::kDone;
        path.pop_back();
        continue;
      }
      const std::string& used = *top.next++;
      const auto it = references.find(used);
      if (it == references.end()) continue;  // a plain indicator
      const State s = state[used];
      if (s == State::kDone) continue;
      if (s == State::kOnPath) {
        std::vector<std::string> cycle;
        std::size_t from = 0;
        while (*path[from].code != used) ++from;
        for (std::size_t i = from; i < path.size(); ++i) cycle.push_back(*path[i].code);
        cycle.push_back(used);
        return cycle;
      }
      state[used] = State::kOnPath;
      path.push_back({&it->first, it->second.begin(), it->second.end()});
    }
  }
  return {};
}

}  // namespace ctg::indicators
