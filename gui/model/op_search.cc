#include "gui/model/op_search.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "proto/ir_names.h"

namespace paci::gui {
namespace {

bool IsCompute(ir::OpKind k) {
  return k == ir::FORWARD || k == ir::BACKWARD || k == ir::BACKWARD_INPUT || k == ir::BACKWARD_WEIGHT ||
         k == ir::OPTIMIZER_STEP;
}

std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == ',') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::optional<uint64_t> Number(std::string_view w) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
  if (ec != std::errc() || end != w.data() + w.size() || w.empty()) return std::nullopt;
  return v;
}

// "F", "SEND", "RECV" and the other codes as kinds; nullopt for any other word.
std::optional<std::vector<ir::OpKind>> Kinds(std::string_view w) {
  if (w == "SEND") return std::vector<ir::OpKind>{ir::SEND_ACTIVATION, ir::SEND_GRAD};
  if (w == "RECV") return std::vector<ir::OpKind>{ir::RECV_ACTIVATION, ir::RECV_GRAD};
  if (auto k = ParseOpKindCode(w)) return std::vector<ir::OpKind>{*k};
  return std::nullopt;
}

// "F7" -> kind F and micro-batch 7.
bool SplitKindNumber(std::string_view w, std::vector<ir::OpKind>* kinds, std::optional<uint64_t>* mb) {
  const size_t digits = w.find_first_of("0123456789");
  if (digits == 0 || digits == std::string_view::npos) return false;
  auto k = Kinds(w.substr(0, digits));
  auto n = Number(w.substr(digits));
  if (!k || !n) return false;
  *kinds = *k;
  *mb = n;
  return true;
}

constexpr const char* kHint = " (try \"mb 12\", \"B\", \"stage 3 F 7\", \"send mb 4\", \"op 120\")";

}  // namespace

bool OpQuery::Matches(const OpSpan& op) const {
  if (kinds.empty() ? !IsCompute(op.kind) : std::find(kinds.begin(), kinds.end(), op.kind) == kinds.end())
    return false;
  if (micro_batch && (op.kind == ir::OPTIMIZER_STEP || op.micro_batch != *micro_batch)) return false;
  if (stage && op.stage != *stage) return false;
  if (chunk && op.chunk != *chunk) return false;
  return !op_id || op.op_id == *op_id;
}

Result<OpQuery> ParseOpQuery(std::string_view text) {
  const std::vector<std::string> words = Words(text);
  if (words.empty()) return Status::InvalidArgument(std::string("empty search") + kHint);
  OpQuery q;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    // A keyword that takes a number: the number is the next word.
    auto number_after = [&](const char* what) -> Result<uint64_t> {
      if (i + 1 >= words.size() || !Number(words[i + 1]))
        return Status::InvalidArgument(std::string("\"") + what + "\" needs a number after it" + kHint);
      return *Number(words[++i]);
    };
    if (w == "MB" || w == "MICROBATCH") {
      auto n = number_after("mb");
      if (!n.ok()) return n.status();
      q.micro_batch = *n;
    } else if (w == "STAGE" || w == "S") {
      auto n = number_after("stage");
      if (!n.ok()) return n.status();
      q.stage = static_cast<uint32_t>(*n);
    } else if (w == "CHUNK") {
      auto n = number_after("chunk");
      if (!n.ok()) return n.status();
      q.chunk = static_cast<uint32_t>(*n);
    } else if (w == "OP") {
      auto n = number_after("op");
      if (!n.ok()) return n.status();
      q.op_id = *n;
    } else if (auto n = Number(w)) {
      q.micro_batch = *n;
    } else if (auto k = Kinds(w)) {
      q.kinds.insert(q.kinds.end(), k->begin(), k->end());
      if (i + 1 < words.size() && Number(words[i + 1])) q.micro_batch = *Number(words[++i]);
    } else if (std::vector<ir::OpKind> kinds; SplitKindNumber(w, &kinds, &q.micro_batch)) {
      q.kinds.insert(q.kinds.end(), kinds.begin(), kinds.end());
    } else {
      return Status::InvalidArgument("unknown word \"" + w + "\"" + kHint);
    }
  }
  return q;
}

std::vector<size_t> FindOps(const TraceIndex& index, const OpQuery& query) {
  std::vector<size_t> out;
  const uint32_t s0 = query.stage ? *query.stage : 0;
  const uint32_t s1 = query.stage ? std::min(*query.stage + 1, index.stages()) : index.stages();
  for (uint32_t s = s0; s < s1; ++s) {
    for (int lane = 0; lane < kLanesPerStage; ++lane) {
      const auto [b, e] = index.Row(s, static_cast<ir::Lane>(lane));
      for (size_t i = b; i < e; ++i)
        if (query.Matches(index.op(i))) out.push_back(i);
    }
  }
  std::sort(out.begin(), out.end(), [&](size_t a, size_t b) {
    const OpSpan &x = index.op(a), &y = index.op(b);
    return x.start != y.start ? x.start < y.start : x.stage != y.stage ? x.stage < y.stage : a < b;
  });
  return out;
}

size_t FirstMatchFrom(const TraceIndex& index, const std::vector<size_t>& matches, double t) {
  const auto it =
      std::partition_point(matches.begin(), matches.end(), [&](size_t i) { return index.op(i).start < t; });
  return it == matches.end() ? 0 : static_cast<size_t>(it - matches.begin());
}

size_t StepMatch(size_t count, std::optional<size_t> current, int dir) {
  if (!current) return dir > 0 ? 0 : count - 1;
  return dir > 0 ? (*current + 1) % count : (*current + count - 1) % count;
}

}  // namespace paci::gui
