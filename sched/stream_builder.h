// StreamBuilder: appends compute ops to one stage's stream together with the communication ops
// they imply, so every generator places sends and receives the same way:
//   RECV_ACTIVATION, FORWARD, SEND_ACTIVATION        (receive/send skipped at the pipeline ends)
//   RECV_GRAD, BACKWARD|BACKWARD_INPUT, SEND_GRAD
// Internal to sched/.
#pragma once

#include <cstdint>

#include "google/protobuf/repeated_field.h"
#include "paci.pb.h"

namespace paci {

class StreamBuilder {
 public:
  using Section = google::protobuf::RepeatedPtrField<ir::Op>;

  // stage s of P stages, V chunks per stage; ops go to `out` until Target() changes it.
  StreamBuilder(uint32_t stage, uint32_t stages, uint32_t chunks, Section* out)
      : stage_(stage), stages_(stages), chunks_(chunks), out_(out) {}

  void Target(Section* out) { out_ = out; }

  void Forward(uint64_t mb, uint32_t chunk = 0);
  void Backward(uint64_t mb, uint32_t chunk = 0);       // input and weight gradient together
  void BackwardInput(uint64_t mb, uint32_t chunk = 0);  // zero-bubble B
  void BackwardWeight(uint64_t mb, uint32_t chunk = 0); // zero-bubble W
  void OptimizerStep(uint64_t last_mb);

 private:
  void Add(ir::OpKind kind, uint64_t mb, uint32_t chunk);
  void BackwardKind(ir::OpKind kind, uint64_t mb, uint32_t chunk);
  bool FirstVirtual(uint32_t chunk) const { return chunk == 0 && stage_ == 0; }
  bool LastVirtual(uint32_t chunk) const {
    return chunk + 1 == chunks_ && stage_ + 1 == stages_;
  }

  uint32_t stage_, stages_, chunks_;
  Section* out_;
};

}  // namespace paci
