#include "gui/model/op_style.h"

#include "proto/ir_names.h"

namespace paci::gui {

QColor OpKindColor(ir::OpKind kind) {
  switch (kind) {
    case ir::FORWARD: return QColor(0x3b, 0x7d, 0xd8);          // blue
    case ir::BACKWARD: return QColor(0x2e, 0xa0, 0x4f);         // green
    case ir::BACKWARD_INPUT: return QColor(0x1f, 0x9e, 0x99);   // teal
    case ir::BACKWARD_WEIGHT: return QColor(0x8a, 0x9a, 0x2b);  // olive
    case ir::OPTIMIZER_STEP: return QColor(0xd9, 0x48, 0x3b);   // red: where versions change
    case ir::SEND_ACTIVATION:
    case ir::RECV_ACTIVATION: return QColor(0x9a, 0x8f, 0xc9);  // lavender
    case ir::SEND_GRAD:
    case ir::RECV_GRAD: return QColor(0xc9, 0xa0, 0x6a);  // tan
    default: return QColor(0x88, 0x88, 0x88);
  }
}

QColor OpFill(const OpSpan& op) {
  // Four shades cycle with the micro-batch: enough to separate neighbours, few enough that the
  // kind stays recognisable.
  const int shade = static_cast<int>(op.micro_batch % 4);
  return OpKindColor(op.kind).lighter(100 + 14 * shade);
}

QColor CoverageFill(ir::Lane lane) {
  // Compute in a slate between the forward blue and backward green; communication in grey.
  return lane == ir::LANE_COMPUTE ? QColor(0x3a, 0x6e, 0x8f) : QColor(0x9a, 0x9a, 0xa8);
}

QString OpLabel(const OpSpan& op, bool with_version, uint32_t chunks) {
  QString s = QString::fromStdString(OpKindCode(op.kind));
  if (op.kind != ir::OPTIMIZER_STEP) {
    s += QString::number(op.micro_batch);
    // Interleaved: a stage runs micro-batch 95 once per chunk; "F95" twice in a lane said nothing.
    if (chunks > 1)
      s += op.chunk < 26 ? QString(QChar('a' + static_cast<char>(op.chunk)))
                         : QStringLiteral(".%1").arg(op.chunk);
  }
  if (with_version && op.version >= 0) s += QStringLiteral(" v%1").arg(op.version);
  return s;
}

std::vector<LegendEntry> LegendFor(const TraceIndex& index) {
  struct Kind {
    std::vector<ir::OpKind> kinds;
    const char* text;
  };
  static const Kind kOrder[] = {
      {{ir::FORWARD}, "F  forward"},
      {{ir::BACKWARD}, "B  backward"},
      {{ir::BACKWARD_INPUT}, "I  backward, input grad"},
      {{ir::BACKWARD_WEIGHT}, "W  backward, weight grad"},
      {{ir::OPTIMIZER_STEP}, "OPT  optimizer step"},
      {{ir::SEND_ACTIVATION, ir::RECV_ACTIVATION}, "send/recv activations"},
      {{ir::SEND_GRAD, ir::RECV_GRAD}, "send/recv gradients"},
  };
  bool seen[32] = {};
  auto scan = [&](uint32_t stage) {
    for (int lane = 0; lane < kLanesPerStage; ++lane) {
      const auto [b, e] = index.Row(stage, static_cast<ir::Lane>(lane));
      for (size_t i = b; i < e; ++i) {
        const int k = static_cast<int>(index.op(i).kind);
        if (k >= 0 && k < 32) seen[k] = true;
      }
    }
  };
  if (index.stages() > 0) {
    scan(0);
    if (index.stages() > 1) scan(index.stages() - 1);
  }
  std::vector<LegendEntry> out;
  for (const Kind& k : kOrder) {
    for (ir::OpKind kind : k.kinds) {
      if (!seen[static_cast<int>(kind)]) continue;
      out.push_back({OpKindColor(kind), QString::fromLatin1(k.text)});
      break;
    }
  }
  return out;
}

QString FormatBytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  // Three significant digits or more: "768 MiB", "12.5 MiB", "1.3 GiB" (no "768.0 MiB").
  return QStringLiteral("%1 %2").arg(bytes, 0, 'f', u == 0 || bytes >= 100 ? 0 : 1).arg(units[u]);
}

}  // namespace paci::gui
