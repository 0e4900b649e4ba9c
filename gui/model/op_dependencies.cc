#include "gui/model/op_dependencies.h"

#include <map>
#include <tuple>

#include "sched/op_messages.h"

namespace paci::gui {
namespace {
PlainOp ToPlain(const OpSpan& s) {
  PlainOp p;
  p.id = s.op_id;
  p.stage = s.stage;
  p.chunk = s.chunk;
  p.micro_batch = s.micro_batch;
  p.kind = s.kind;
  return p;
}
}  // namespace

OpDependencies::OpDependencies(const TraceIndex& index, uint32_t chunks) : index_(index) {
  using Key = std::tuple<bool, uint64_t, uint32_t, uint32_t>;
  std::map<Key, size_t> sends;
  std::vector<std::pair<Key, size_t>> recvs;
  for (size_t i = 0; i < index.ops().size(); ++i) {
    const OpSpan& s = index.op(i);
    if (!IsSend(s.kind) && !IsRecv(s.kind)) continue;
    auto m = MessageOf(ToPlain(s), index.stages(), chunks);
    if (!m) continue;
    const Key k{m->is_grad, m->micro_batch, m->from_virtual, m->to_virtual};
    if (IsSend(s.kind)) sends.emplace(k, i); else recvs.emplace_back(k, i);
  }
  for (const auto& [k, r] : recvs) {
    auto it = sends.find(k);
    if (it == sends.end()) continue;
    partner_[r] = it->second;
    partner_[it->second] = r;
  }
}

int64_t OpDependencies::Partner(size_t op) const {
  auto it = partner_.find(op);
  return it == partner_.end() ? -1 : static_cast<int64_t>(it->second);
}

int64_t OpDependencies::SameStage(size_t op, int delta) const {
  const OpSpan& s = index_.op(op);
  if (delta < 0 && s.op_id == 0) return -1;
  const int64_t j = index_.FindOpId(s.op_id + delta);
  return (j >= 0 && index_.op(j).stage == s.stage) ? j : -1;
}

OpEdges OpDependencies::Edges(size_t op) const {
  OpEdges e;
  auto add = [](std::vector<size_t>& v, int64_t i) {
    if (i >= 0) v.push_back(static_cast<size_t>(i));
  };
  const ir::OpKind kind = index_.op(op).kind;
  const int64_t prev = SameStage(op, -1), next = SameStage(op, +1);
  add(e.before, prev);
  add(e.after, next);
  if (IsRecv(kind)) add(e.before, Partner(op));
  if (IsSend(kind)) add(e.after, Partner(op));
  // Through the adjacent receive/send to the compute op on the other stage.
  auto reach = [&](int64_t comm, bool backwards, std::vector<size_t>& out) {
    if (comm < 0) return;
    const int64_t far = Partner(comm);
    if (far < 0) return;
    add(out, far);
    add(out, SameStage(far, backwards ? -1 : +1));
  };
  if (IsCompute(kind)) {
    if (prev >= 0 && IsRecv(index_.op(prev).kind)) reach(prev, true, e.before);
    if (next >= 0 && IsSend(index_.op(next).kind)) reach(next, false, e.after);
  }
  return e;
}

}  // namespace paci::gui
