#include "exec/runtime/fault_injection.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace paci::exec {
namespace {

class FaultInjectingTransport : public Transport {
 public:
  FaultInjectingTransport(std::unique_ptr<Transport> inner, FaultSpec fault)
      : inner_(std::move(inner)), fault_(fault) {}
  uint32_t stage() const override { return inner_->stage(); }
  uint32_t stages() const override { return inner_->stages(); }
  Status Send(uint32_t to, const MessageKey& key, std::span<const float> data) override {
    return Deliver() ? inner_->Send(to, key, data) : Status::Ok();
  }
  Status Recv(uint32_t from, const MessageKey& key, std::vector<float>* out,
              std::chrono::milliseconds timeout) override {
    return inner_->Recv(from, key, out, timeout);
  }
  void Abort(const std::string& reason) override {
    if (fault_.kind != FaultSpec::Kind::kHang) inner_->Abort(reason);
  }
  Status Flush() override { return inner_->Flush(); }
  void BeginExchange() override { inner_->BeginExchange(); }
  Status EndExchange(std::chrono::milliseconds timeout) override { return inner_->EndExchange(timeout); }
  bool rendezvous() const override { return inner_->rendezvous(); }
  bool moves_device_buffers() const override { return inner_->moves_device_buffers(); }
  Status SendDevice(uint32_t to, const MessageKey& key, const void* data, size_t bytes, void* stream,
                    void* sent) override {
    return Deliver() ? inner_->SendDevice(to, key, data, bytes, stream, sent) : Status::Ok();
  }
  Status RecvDevice(uint32_t from, const MessageKey& key, void* data, size_t bytes, void* stream,
                    void* writable) override {
    return inner_->RecvDevice(from, key, data, bytes, stream, writable);
  }

 private:
  std::unique_ptr<Transport> inner_;
  FaultSpec fault_;
  uint64_t sends_ = 0;

  // Whether this send goes out: the first `after_sends` do; then a crash ends the process and a
  // hang drops this and every later message.
  bool Deliver() {
    if (sends_++ < fault_.after_sends) return true;
    if (fault_.kind == FaultSpec::Kind::kCrash) {
      std::fprintf(stderr, "paci: injected fault: stage %u exits now\n", stage());
      std::fflush(stderr);
      std::_Exit(9);  // no destructors, no MPI_Finalize: as a killed process
    }
    return false;
  }
};

// Counts the stage's ops (Forward, Backward, BackwardWeight, OptimizerStep, Send, Recv: one call
// each) and fails the one after `after_sends`, as CudaBackend fails on a CUDA error: from then on
// every op returns the error without reaching the inner backend, and Failure() reports it.
class FaultInjectingBackend : public StageBackend {
 public:
  FaultInjectingBackend(std::unique_ptr<StageBackend> inner, uint32_t stage, FaultSpec fault)
      : inner_(std::move(inner)), stage_(stage), fault_(fault) {}

  Status Forward(const MicroBatchSlot& slot, int64_t version, int64_t ahead, const int* tokens,
                 const int* targets) override {
    if (Fails("Forward")) return failed_;
    return inner_->Forward(slot, version, ahead, tokens, targets);
  }
  Status Backward(const MicroBatchSlot& slot, int64_t version, int64_t drift, float dloss,
                  bool with_weight) override {
    if (Fails("Backward")) return failed_;
    return inner_->Backward(slot, version, drift, dloss, with_weight);
  }
  Status BackwardWeight(const MicroBatchSlot& slot) override {
    if (Fails("BackwardWeight")) return failed_;
    return inner_->BackwardWeight(slot);
  }
  void OptimizerStep(const std::vector<float>& lr, double stale) override {
    if (!Fails("OptimizerStep")) inner_->OptimizerStep(lr, stale);
  }
  void KeepVersion(int64_t version) override {
    if (failed_.ok()) inner_->KeepVersion(version);
  }
  void DropVersion(int64_t version) override { inner_->DropVersion(version); }
  Status Send(Transport& transport, uint32_t to_stage, const MessageKey& key,
              const MicroBatchSlot& slot) override {
    if (Fails("Send")) return failed_;
    return inner_->Send(transport, to_stage, key, slot);
  }
  Status Recv(Transport& transport, uint32_t from_stage, const MessageKey& key, const MicroBatchSlot& slot,
              std::chrono::milliseconds timeout) override {
    if (Fails("Recv")) return failed_;
    return inner_->Recv(transport, from_stage, key, slot, timeout);
  }
  void ReadLosses(size_t first, size_t n, float* out) override { inner_->ReadLosses(first, n, out); }
  uint64_t BeginOp() override { return inner_->BeginOp(); }
  void EndOp(uint64_t timer) override { inner_->EndOp(timer); }
  bool OpTimesIfDone(uint64_t timer, bool wait, OpTimes* times) override {
    return inner_->OpTimesIfDone(timer, wait, times);
  }
  void Synchronize() override { inner_->Synchronize(); }
  uint64_t LiveBytes() const override { return inner_->LiveBytes(); }
  uint64_t PeakBytes() const override { return inner_->PeakBytes(); }
  uint64_t ActivationBytes() const override { return inner_->ActivationBytes(); }
  Status Failure() const override { return failed_.ok() ? inner_->Failure() : failed_; }
  void ExportChunk(uint32_t chunk, ChunkState* out) const override { inner_->ExportChunk(chunk, out); }
  void ImportChunk(uint32_t chunk, const ChunkState& in) override { inner_->ImportChunk(chunk, in); }

 private:
  // Whether this op fails: it is the one after the first `after_sends`, or one after it.
  bool Fails(const char* method) {
    if (!failed_.ok()) return true;
    if (ops_++ < fault_.after_sends) return false;
    failed_ = Status::Internal(fmt::format("injected device failure in {} (stage {}, op {} of the stage)",
                                           method, stage_, ops_ - 1));
    return true;
  }

  std::unique_ptr<StageBackend> inner_;
  uint32_t stage_;
  FaultSpec fault_;
  uint64_t ops_ = 0;
  Status failed_;
};

}  // namespace

Result<FaultSpec> ParseFaultSpec(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream ss(text);
  for (std::string p; std::getline(ss, p, ':');) parts.push_back(p);
  const auto bad = [&] {
    return Status::InvalidArgument(
        "--inject-fault: expected crash:STAGE:SENDS, hang:STAGE:SENDS or device:STAGE:OPS, got '" + text +
        "'");
  };
  if (parts.size() != 3) return bad();
  FaultSpec f;
  if (parts[0] == "crash")
    f.kind = FaultSpec::Kind::kCrash;
  else if (parts[0] == "hang")
    f.kind = FaultSpec::Kind::kHang;
  else if (parts[0] == "device")
    f.kind = FaultSpec::Kind::kDevice;
  else
    return bad();
  try {
    f.stage = static_cast<uint32_t>(std::stoul(parts[1]));
    f.after_sends = std::stoull(parts[2]);
  } catch (...) {
    return bad();
  }
  return f;
}

std::unique_ptr<Transport> WrapWithFault(std::unique_ptr<Transport> inner, const FaultSpec& fault) {
  const bool transport_fault = fault.kind == FaultSpec::Kind::kCrash || fault.kind == FaultSpec::Kind::kHang;
  if (!transport_fault || fault.stage != inner->stage()) return inner;
  return std::make_unique<FaultInjectingTransport>(std::move(inner), fault);
}

std::unique_ptr<StageBackend> WrapBackendWithFault(std::unique_ptr<StageBackend> inner, uint32_t stage,
                                                   const FaultSpec& fault) {
  if (fault.kind != FaultSpec::Kind::kDevice || fault.stage != stage) return inner;
  return std::make_unique<FaultInjectingBackend>(std::move(inner), stage, fault);
}

}  // namespace paci::exec
